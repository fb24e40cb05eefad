import EdgeAuth
import Foundation

/// The committed benchmark data set (`bench-data/` at the repository root).
enum BenchData {
    /// `<repo>/bench-data`, found from this file's path: `<repo>/Benchmarks/TokenVerification/BenchData.swift`.
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TokenVerification
        .deletingLastPathComponent()  // Benchmarks
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("bench-data")

    /// Inside the tokens' validity window (iat 1764000000, exp iat + 86400).
    static let now: Int64 = 1_764_003_600

    static let auth0Issuer = "https://edgeauth-bench.us.auth0.com/"
    static let keycloakIssuer = "https://sso.edgeauth.test/realms/bench"
    static let audience = "https://api.edgeauth.test"

    static func bytes(_ relativePath: String) -> [UInt8] {
        let url = directory.appendingPathComponent(relativePath)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            fatalError("cannot read \(url.path): run `python3 bench-data/generate.py`")
        }
        return Array(data)
    }

    static func text(_ relativePath: String) -> String {
        String(decoding: bytes(relativePath), as: UTF8.self)
    }

    /// `tokens/<shape>-<alg>.jwt`.
    static func token(_ shape: String, _ algorithm: Algorithm) -> [UInt8] {
        bytes("tokens/\(shape)-\(algorithm.name.lowercased()).jwt")
    }

    /// The private key file that signed tokens of `algorithm` (PKCS#8 PEM), or the HMAC secret.
    static func keyFile(_ algorithm: Algorithm) -> String {
        switch algorithm {
        case .hs256, .hs384, .hs512: "keys/hmac.secret"
        case .rs256, .rs384, .rs512, .ps256, .ps384, .ps512: "keys/rsa-2048.pem"
        case .es256: "keys/p-256.pem"
        case .es384: "keys/p-384.pem"
        case .es512: "keys/p-521.pem"
        case .edDSA: "keys/ed25519.pem"
        }
    }

    /// Every public key plus the HMAC secret, as EdgeAuth keys.
    static let keySet: KeySet = {
        do {
            let set = try KeySet(jwksJSON: bytes("jwks-with-hmac.json"))
            precondition(set.skipped.isEmpty, "bench-data/jwks-with-hmac.json: \(set.skipped)")
            return set
        } catch {
            fatalError("bench-data/jwks-with-hmac.json: \(error)")
        }
    }()

    /// The JWKS entries, for building jwt-kit keys from the same material.
    static let jwks: [[String: String]] = {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes("jwks-with-hmac.json"))) as? [String: Any],
              let keys = object["keys"] as? [[String: String]]
        else { fatalError("bench-data/jwks-with-hmac.json is not a JWKS of string members") }
        return keys
    }()

    static func jwk(for algorithm: Algorithm) -> [String: String] {
        guard let entry = jwks.first(where: { $0["alg"] == algorithm.name }) else {
            fatalError("no JWK for \(algorithm.name) in bench-data/jwks-with-hmac.json")
        }
        return entry
    }

    /// The token's header `kid`, if any (the generator omits it on HMAC tokens).
    static func kid(of token: [UInt8]) -> String? {
        guard let dot = token.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        var text = String(decoding: token[..<dot], as: UTF8.self)
        text = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text),
              let header = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return header["kid"] as? String
    }

    /// The bytes the signature covers and the decoded signature (JWS form).
    static func signingInputAndSignature(_ token: [UInt8]) -> (input: [UInt8], signature: [UInt8]) {
        guard let lastDot = token.lastIndex(of: UInt8(ascii: ".")) else { fatalError("not a compact JWS") }
        var text = String(decoding: token[(lastDot + 1)...], as: UTF8.self)
        text = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let signature = Data(base64Encoded: text) else { fatalError("signature is not base64url") }
        return (Array(token[..<lastDot]), Array(signature))
    }
}
