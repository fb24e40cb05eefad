import EdgeAuth
import Foundation

/// The external test vectors kept in the repository at `Tests/Vectors` (provenance and
/// licences in `Tests/Vectors/README.md`). `EDGEAUTH_VECTORS` names another directory of the
/// same layout instead.
public enum Vectors {
    public static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["EDGEAUTH_VECTORS"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.appendingPathComponent("Tests/Vectors")
    }

    /// The package root, found from this source file's location.
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Loads and parses a JSON vector file.
    public static func load(_ relativePath: String) throws -> JSONValue {
        let data = try Data(contentsOf: directory.appendingPathComponent(relativePath))
        return try JSONValue.parse(Array(data))
    }
}

/// Builds signed tokens for tests.
public struct TokenFactory: Sendable {
    public let key: SigningKey
    public let algorithm: Algorithm
    public let issuer: String
    public let audience: String
    public let now: Int64

    public init(key: SigningKey, algorithm: Algorithm, issuer: String = "https://issuer.example/", audience: String = "https://api.example", now: Int64 = 1_764_000_000) {
        self.key = key
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self.now = now
    }

    /// Standard claims valid at `now` for an hour, merged with `extra` (which wins).
    public func claims(_ extra: [String: JSONValue] = [:]) -> JSONValue {
        var members: [String: JSONValue] = [
            "iss": .string(issuer), "aud": .string(audience), "sub": "user-123",
            "iat": .number(String(now)), "exp": .number(String(now + 3600)),
        ]
        for (name, value) in extra { members[name] = value }
        return .object(members)
    }

    /// The standard header (`alg`, `typ`, and `kid` when the key has one) merged with `extra`.
    public func header(_ extra: [String: JSONValue] = [:]) -> JSONValue {
        var members: [String: JSONValue] = ["alg": .string(algorithm.name), "typ": "JWT"]
        if let kid = key.kid { members["kid"] = .string(kid) }
        for (name, value) in extra { members[name] = value }
        return .object(members)
    }

    /// A signed token with the standard header and claims plus the given extras.
    public func token(claims extra: [String: JSONValue] = [:], header headerExtra: [String: JSONValue] = [:]) throws -> String {
        try TokenSigner.sign(header: header(headerExtra), claims: claims(extra), key: key, algorithm: algorithm)
    }

    /// A signed token over raw header and payload text (need not be valid JSON).
    public func rawToken(header: String, payload: String) throws -> String {
        try TokenSigner.sign(rawHeader: Array(header.utf8), rawPayload: Array(payload.utf8), key: key, algorithm: algorithm)
    }

    /// A verifier that trusts this factory's key with the factory's issuer and audience.
    public func verifier(leeway: Int64 = 30, configure: (inout ValidationPolicy) -> Void = { _ in }) throws -> Verifier {
        var policy = ValidationPolicy(issuers: .exactly([issuer]), audiences: .anyOf([audience]), leeway: leeway)
        configure(&policy)
        return Verifier(policy: policy, keys: KeySet(keys: [try key.verificationKey()]))
    }
}

/// Decodes hexadecimal text (test vectors, OpenSSL output); non-hex characters are skipped.
public func hexBytes(_ text: some StringProtocol) -> [UInt8] {
    let digits = text.utf8.compactMap { byte -> UInt8? in
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
    return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}
