public import EdgeAuthCore

/// A set of keys from one source, with the problems of keys that were skipped.
public struct KeySet: Sendable {
    public let keys: [VerificationKey]
    /// One message per key that could not be used (unsupported `kty`, short RSA, `use: enc`…).
    public let skipped: [String]
    /// Most keys tried for a token without `kid` (bounds the work an attacker can cause).
    public static let maxKeysTriedWithoutKid = 4

    public init(keys: [VerificationKey], skipped: [String] = []) {
        self.keys = keys
        self.skipped = skipped
    }

    /// Imports a JWKS document (`{"keys": [...]}`). Unusable keys are skipped with a
    /// message, never fatal for the others.
    /// - Parameter secretKeys: whether `oct` keys (HMAC secrets) are taken; not from a
    ///   document fetched from a URL, which anyone can read, so a secret in it forges tokens.
    /// - Throws: `CryptoError` when the document itself is not a JWKS.
    public init(jwks document: JSONValue, secretKeys: Bool = true) throws(CryptoError) {
        guard let entries = document["keys"]?.arrayValue else {
            throw CryptoError(.invalidKey, "a JWKS must be an object with a \"keys\" array")
        }
        var keys = [VerificationKey]()
        var skipped = [String]()
        for (index, entry) in entries.enumerated() {
            if !secretKeys, entry["kty"]?.stringValue == "oct" {
                let kid = entry["kid"]?.stringValue.map { " (kid \"\($0)\")" } ?? ""
                skipped.append("key \(index)\(kid) skipped: an oct key (an HMAC secret) in a published key set is readable by anyone")
                continue
            }
            do {
                keys.append(try VerificationKey(jwk: entry))
            } catch {
                let kid = entry["kid"]?.stringValue.map { " (kid \"\($0)\")" } ?? ""
                skipped.append("key \(index)\(kid) skipped: \(error.reason)")
            }
        }
        self.init(keys: keys, skipped: skipped)
    }

    /// Parses and imports JWKS JSON text.
    public init(jwksJSON bytes: some Collection<UInt8>, secretKeys: Bool = true) throws(CryptoError) {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw CryptoError(.invalidKey, "JWKS is not valid JSON: \(error.explanation)")
        }
        try self.init(jwks: document, secretKeys: secretKeys)
    }

    /// Selects the key for `view` and verifies its signature. Returns nil when it verifies.
    ///
    /// With a `kid`, only keys with exactly that `kid` are candidates; without one,
    /// keys whose type allows the token's algorithm are tried, at most
    /// `maxKeysTriedWithoutKid`. Keys are never taken from the token (`jwk`, `jku`, `x5u`).
    public func verifySignature(_ view: TokenView) -> Reason? {
        let algorithm = unsafe view.algorithm
        if let kid = unsafe view.kid {
            var sawKid = false
            for key in keys {
                guard let kidBytes = key.kidBytes,
                      unsafe kidBytes.withUnsafeBytes({ unsafe JSONText.equal(view.header, kid, $0) })
                else { continue }
                sawKid = true
                guard key.algorithms.contains(algorithm) else { continue }
                return unsafe key.verify(algorithm, signingInput: view.signingInput, signature: view.signature) ? nil : .badSignature
            }
            if sawKid { return unsafe .keyAlgorithmMismatch(kid: view.kidString, algorithm: algorithm.name) }
            return unsafe .unknownKey(kid: view.kidString)
        }
        var tried = 0
        for key in keys where key.algorithms.contains(algorithm) {
            if unsafe key.verify(algorithm, signingInput: view.signingInput, signature: view.signature) { return nil }
            tried += 1
            if tried == Self.maxKeysTriedWithoutKid { break }
        }
        return tried == 0 ? .unknownKey(kid: nil) : .badSignature
    }
}
