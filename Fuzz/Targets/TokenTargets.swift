import EdgeAuthCore
import EdgeAuthCrypto
import Foundation

/// The verification path's parsers: the token, the JSON scanner, base64url, JWK and JWKS import.
enum TokenTargets {
    /// The bench-data keys (the corpus holds their tokens, so mutations reach the signature check).
    static let keys: KeySet = {
        let path = ProcessInfo.processInfo.environment["EDGEAUTH_FUZZ_JWKS"] ?? "bench-data/jwks-with-hmac.json"
        guard let data = FileManager.default.contents(atPath: path), let keys = try? KeySet(jwksJSON: Array(data)) else {
            fatalError("cannot read the key set \(path) (run from the repository, or set EDGEAUTH_FUZZ_JWKS)")
        }
        return keys
    }()
    static let policy = ValidationPolicy(issuers: .exactly(["https://edgeauth-bench.us.auth0.com/"]), audiences: .anyOf(["https://api.edgeauth.test"]),
                                         requiredClaims: ["sub"])

    /// Token view, header and claims checks, then the signature: what `Verifier` does before its cache.
    static let token = FuzzTarget(name: "token") { bytes in
        let keys = keys
        TokenView.parse(bytes) { result in
            guard case .success(let view) = result else { return }
            _ = policy.checkHeader(view)
            _ = policy.checkClaims(view, now: 1_764_003_600)
            _ = keys.verifySignature(view)
        }
    }

    /// A document that parses writes back to text that parses to the same value.
    static let json = FuzzTarget(name: "json") { bytes in
        guard let value = try? JSONValue.parse(bytes) else { return }
        let written = value.jsonText
        try require((try? JSONValue.parse(written)) == value, "JSON written back reads differently: \(written)")
    }

    /// What decodes encodes back to the same text: one spelling per byte string.
    static let base64url = FuzzTarget(name: "base64url") { bytes in
        let text = bytes.text
        guard let decoded = try? Base64URL.decode(text) else { return }
        try require(Base64URL.encode(decoded) == text, "base64url \(text) decodes to bytes that encode differently")
    }

    static let jwk = FuzzTarget(name: "jwk") { bytes in
        guard let value = try? JSONValue.parse(bytes) else { return }
        _ = try? VerificationKey(jwk: value)
    }

    static let jwks = FuzzTarget(name: "jwks") { bytes in
        _ = try? KeySet(jwksJSON: bytes)
    }
}
