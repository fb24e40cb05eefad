@_exported public import EdgeAuthCore
@_exported public import EdgeAuthCrypto
@_exported public import EdgeAuthCache
import Foundation

/// The bearer-token verifier: strict parsing, a key bound to the token's
/// algorithm, the signature, then the claims policy. Every outcome is a
/// `Verdict`; nothing is thrown for a bad token.
///
/// Thread-safe: one verifier serves every request of a process.
public final class Verifier: Sendable {
    public let policy: ValidationPolicy
    public let keys: KeySet
    /// The shared verdict cache, when one is configured.
    public let cache: SharedCache?
    /// Mixed into every cache key: verifiers with different policies or keys never share verdicts.
    private let cacheNamespace: [UInt8]

    /// - Parameter cache: a shared cache, used for every algorithm: a hit (2.6 µs) is
    ///   cheaper than even an HS256 verification with its identity (5.7 µs; docs/cache.md).
    public init(policy: ValidationPolicy, keys: KeySet, cache: SharedCache? = nil) {
        self.policy = policy
        self.keys = keys
        self.cache = cache
        self.cacheNamespace = cache == nil ? [] : Self.namespace(policy: policy, keys: keys)
    }

    /// Verifies the token bytes (without the `Bearer ` prefix).
    /// - Parameter now: seconds since the epoch; defaults to the system clock.
    public func verify(_ token: UnsafeRawBufferPointer, now: Int64? = nil) -> Verdict {
        let now = now ?? Self.currentTime()
        guard let cache else { return verifyUncached(token, now: now) }
        let tokenHash = cacheNamespace.withUnsafeBytes { SHA256.digest(prefix: $0, token) }
        switch cache.lookup(tokenHash: tokenHash, now: now) {
        case .valid(let identity)?:
            // Re-check time on every hit: a cached verdict never outlives exp or the maximum age.
            if let reason = policy.checkTimes(of: identity, now: now) { return .rejected(reason) }
            return .valid(identity)
        case .rejected(let reason)?:
            return .rejected(reason)
        case nil:
            let verdict = verifyUncached(token, now: now)
            switch verdict {
            case .valid(let identity):
                if cache.isRevoked(tokenHash: tokenHash, identity: identity, now: now) { return .rejected(.revoked) }
                cache.store(tokenHash: tokenHash, identity: identity, now: now)
            case .rejected(let reason):
                cache.storeNegative(tokenHash: tokenHash, reason: reason, now: now)
            }
            return verdict
        }
    }

    /// Full verification without the cache.
    public func verifyUncached(_ token: UnsafeRawBufferPointer, now: Int64) -> Verdict {
        TokenView.parse(token, limits: policy.limits) { result -> Verdict in
            switch result {
            case .failure(let reason):
                return .rejected(reason)
            case .success(let view):
                if let reason = policy.checkHeader(view) ?? keys.verifySignature(view) ?? policy.checkClaims(view, now: now) {
                    return .rejected(reason)
                }
                return .valid(Identity(standardClaimsOf: view))
            }
        }
    }

    /// The cache key of a token for this verifier (SHA-256 over the verifier's namespace and the token).
    public func cacheKey(for token: [UInt8]) -> TokenDigest {
        token.withUnsafeBytes { token in cacheNamespace.withUnsafeBytes { SHA256.digest(prefix: $0, token) } }
    }

    /// A digest of everything that decides a verdict: the policy and the key material.
    private static func namespace(policy: ValidationPolicy, keys: KeySet) -> [UInt8] {
        var description = "edgeauth-verifier-1\n\(policy.issuers)\n\(policy.audiences)\n\(policy.algorithms.rawValue)\n"
        description += "\(policy.requiredClaims)\n\(policy.leeway)\n\(policy.requireExpiration)\n\(String(describing: policy.maxAge))\n"
        description += "\(String(describing: policy.requiredType))\n\(policy.limits)\n"
        for key in keys.keys {
            description += "\(key.kid ?? "-")|\(key.algorithms.rawValue)|\(Base64URL.encode(key.fingerprint))\n"
        }
        return SHA256.hash(Array(description.utf8))
    }

    /// Verifies a token given as text.
    public func verify(_ token: String, now: Int64? = nil) -> Verdict {
        var token = token
        return token.withUTF8 { verify(UnsafeRawBufferPointer($0), now: now) }
    }

    /// Verifies a token given as bytes.
    public func verify(_ token: [UInt8], now: Int64? = nil) -> Verdict {
        token.withUnsafeBytes { verify($0, now: now) }
    }

    /// Seconds since the epoch from the system clock.
    public static func currentTime() -> Int64 {
        Int64(Date().timeIntervalSince1970)
    }
}
