@_exported public import EdgeAuthCore
@_exported public import EdgeAuthCrypto
@_exported public import EdgeAuthCache
import Foundation
import Logging
import Synchronization

/// The bearer-token verifier: strict parsing, a key bound to the token's
/// algorithm, the signature, then the claims policy. Every outcome is a
/// `Verdict`; nothing is thrown for a bad token.
///
/// Thread-safe: one verifier serves every request of a process.
public final class Verifier: Sendable {
    public let policy: ValidationPolicy
    /// The keys signatures are checked with, remote sets kept fresh.
    public let keyRing: KeyRing
    /// The keys in use now.
    public var keys: KeySet { keyRing.current }
    /// The shared verdict cache, when one is configured.
    public let cache: SharedCache?
    /// This verifier's in-memory copies of verdicts in front of `cache`.
    public let l1: VerdictL1?
    /// How a verified token becomes an `Identity` (a provider's mapping, or the standard claims).
    public let mapping: ClaimMapping
    /// `mapping == .standard`, decided once: the standard mapping has a path that resolves no pointers.
    private let standardMapping: Bool
    /// Whether signatures are checked: always, except in a development verifier.
    public let signatureCheck: SignatureCheck

    public enum SignatureCheck: Sendable, Equatable {
        case required
        /// Claims are parsed, mapped and checked (expiry included); the signature is not.
        /// Identities say `signatureVerified == false`. See `skippingSignaturesForDevelopment`.
        case skippedForDevelopment
    }

    private static let logger = Logger(label: "edgeauth.verifier")
    /// Mixed into every cache key: verifiers with different policies, keys or mappings never share verdicts.
    private let cacheNamespace: [UInt8]

    /// - Parameters:
    ///   - cache: a shared cache, used for every algorithm: a hit is cheaper than
    ///     even an HS256 verification with its identity (docs/cache.md).
    ///   - l1Entries: verdicts kept in this process's memory in front of `cache`
    ///     (0: none; ignored without a cache).
    ///   - mapping: where the identity's fields come from (`Provider.mapping`).
    public convenience init(
        policy: ValidationPolicy, keys: KeySet, cache: SharedCache? = nil, l1Entries: Int = Verifier.defaultL1Entries,
        mapping: ClaimMapping = .standard
    ) {
        self.init(policy: policy, keyRing: KeyRing(keys), cache: cache, l1Entries: l1Entries, mapping: mapping)
    }

    /// A verifier whose keys may change: remote key sets (`KeyRing.load`) are refreshed
    /// as their lifetime ends, and when a token names an unknown key.
    public init(
        policy: ValidationPolicy, keyRing: KeyRing, cache: SharedCache? = nil, l1Entries: Int = Verifier.defaultL1Entries,
        mapping: ClaimMapping = .standard
    ) {
        self.policy = policy
        self.keyRing = keyRing
        self.cache = cache
        self.mapping = mapping
        self.standardMapping = mapping == .standard
        self.signatureCheck = .required
        self.l1 = cache != nil && l1Entries > 0 ? VerdictL1(entries: l1Entries) : nil
        self.cacheNamespace = cache == nil ? [] : Self.namespace(policy: policy, keys: keyRing, mapping: mapping)
    }

    public static let defaultL1Entries = 4096

    private init(developmentPolicy policy: ValidationPolicy, mapping: ClaimMapping) {
        self.policy = policy
        self.keyRing = KeyRing(KeySet(keys: []))
        self.cache = nil
        self.l1 = nil
        self.mapping = mapping
        self.standardMapping = mapping == .standard
        self.signatureCheck = .skippedForDevelopment
        self.cacheNamespace = []
    }

    /// A verifier that does **not** check signatures, so that a token copied from a
    /// provider's dashboard can be tried without network access to its keys. Claims are
    /// still parsed, mapped and checked, expiry included; identities carry
    /// `signatureVerified == false`; nothing is cached. Never a default.
    /// - Parameter bindHosts: every address the server listens on; all must be loopback.
    /// - Throws: `ConfigurationError` when any of them is not loopback.
    public static func skippingSignaturesForDevelopment(
        policy: ValidationPolicy, mapping: ClaimMapping = .standard, bindHosts: [String]
    ) throws(ConfigurationError) -> Verifier {
        let exposed = bindHosts.filter { !LoopbackHost.contains($0) }
        guard !bindHosts.isEmpty, exposed.isEmpty else {
            throw ConfigurationError("development mode (signatures not checked) requires listening on loopback only; "
                + (bindHosts.isEmpty ? "no listen address was given" : "remove \(exposed.joined(separator: ", ")) or turn development mode off"))
        }
        logger.warning("development mode: token signatures are NOT checked; anyone can forge a token for this server")
        return Verifier(developmentPolicy: policy, mapping: mapping)
    }

    /// Verifies the token bytes (without the `Bearer ` prefix), through the cache when there is one.
    /// One pass, no key refresh: `attempt` and `verifyRefreshingKeys` add that.
    /// - Parameter now: seconds since the epoch; defaults to the system clock.
    package func verify(_ token: UnsafeRawBufferPointer, now: Int64? = nil) -> Verdict {
        let now = now ?? Self.currentTime()
        // No cache, or keys past maxStaleness (whose verdicts the cache still holds): verify.
        guard let cache, keyRing.keysCurrent(now: now) else { return verifyUncached(token, now: now) }
        // Read before anything is looked up or verified: a revocation or a key change after
        // this point keeps the verdict below out of the cache (and empties the copy in `l1`).
        let epoch = cache.epoch
        let l1Hash = l1?.hash(token) ?? 0
        if let cached = l1?.lookup(token, hash: l1Hash, now: now, epoch: epoch) {
            return served(cached, now: now)
        }
        // No cache key (libcrypto failed to hash): revocations cannot be checked, so no token is accepted.
        guard let tokenHash = cacheKey(for: token) else { return .rejected(.keysUnavailable) }
        if let (cached, expiry) = cache.lookup(tokenHash: tokenHash, now: now, identity: { identityOfVerified(token) }) {
            l1?.insert(token, hash: l1Hash, verdict: cached, expiry: expiry, epoch: epoch)
            return served(cached, now: now)
        }
        let verdict = verifyUncached(token, now: now)
        switch verdict {
        case .valid(let identity):
            if cache.isRevoked(tokenHash: tokenHash, identity: identity, now: now) { return .rejected(.revoked) }
            cache.store(tokenHash: tokenHash, identity: identity, now: now, epoch: epoch)
            let maxTTL = cache.configuration.maxTTL
            l1?.insert(token, hash: l1Hash, verdict: .valid(identity), expiry: min(identity.expiresAt ?? (now + maxTTL), now + maxTTL), epoch: epoch)
        case .rejected(let reason):
            cache.storeNegative(tokenHash: tokenHash, reason: reason, now: now, epoch: epoch)
            if SharedCache.isCacheableRejection(reason) {
                l1?.insert(token, hash: l1Hash, verdict: .rejected(reason), expiry: now + cache.configuration.negativeTTL, epoch: epoch)
            }
        }
        return verdict
    }

    /// A cached verdict, with the token's times checked again: a cached verdict never
    /// outlives `exp` or the maximum age.
    private func served(_ cached: CachedVerdict, now: Int64) -> Verdict {
        switch cached {
        case .valid(let identity):
            if let reason = policy.checkTimes(of: identity, now: now) { return .rejected(reason) }
            return .valid(identity)
        case .rejected(let reason):
            return .rejected(reason)
        }
    }

    /// Full verification without the cache.
    package func verifyUncached(_ token: UnsafeRawBufferPointer, now: Int64) -> Verdict {
        TokenView.parse(token, limits: policy.limits) { result -> Verdict in
            switch result {
            case .failure(let reason):
                return .rejected(reason)
            case .success(let view):
                let verifying = signatureCheck == .required
                if let reason = policy.checkHeader(view) ?? (verifying ? keyRing.verifySignature(view) : nil) ?? policy.checkClaims(view, now: now) {
                    return .rejected(reason)
                }
                if !verifying { warnOnFirstUnverifiedToken() }
                return .valid(identity(of: view))
            }
        }
    }

    /// The identity a valid token maps to.
    private func identity(of view: TokenView) -> Identity {
        let verified = signatureCheck == .required
        return unsafe standardMapping ? Identity(standardClaimsOf: view, signatureVerified: verified) : Identity(mapping: mapping, view: view, signatureVerified: verified)
    }

    /// The identity of a token the cache holds a valid verdict for: the verdict attests the
    /// signature and the claims checks (the cache key binds it to this verifier's policy and
    /// keys), so only the claims are read again; `served` re-checks the times.
    private func identityOfVerified(_ token: UnsafeRawBufferPointer) -> Identity? {
        TokenView.parse(token, limits: policy.limits) { result -> Identity? in
            guard case .success(let view) = result else { return nil }
            return identity(of: view)
        }
    }

    /// The cache key of a token for this verifier (SHA-256 over the verifier's namespace and the token);
    /// nil when libcrypto could not hash.
    package func cacheKey(for token: UnsafeRawBufferPointer) -> TokenDigest? {
        guard !cacheNamespace.isEmpty else { return nil }
        return cacheNamespace.withUnsafeBytes { OpenSSLSHA256.digest(prefix: $0, token) }
    }

    public func cacheKey(for token: [UInt8]) -> TokenDigest? {
        token.withUnsafeBytes { cacheKey(for: $0) }
    }

    /// A digest of everything that decides a verdict: the policy and the key material
    /// (for a remote set, its source: its changes are handled by key generations).
    private static func namespace(policy: ValidationPolicy, keys: KeyRing, mapping: ClaimMapping) -> [UInt8] {
        var description = "edgeauth-verifier-1\n\(policy.issuers)\n\(policy.audiences)\n\(policy.algorithms.rawValue)\n"
        description += "\(policy.requiredClaims)\n\(policy.leeway)\n\(policy.requireExpiration)\n\(String(describing: policy.maxAge))\n"
        description += "\(policy.refusedClaimValues.sorted { $0.key < $1.key })\n"
        description += "\(String(describing: policy.requiredType))\n\(policy.limits)\n\(mapping)\n"
        for key in keys.fixed.keys {
            description += "\(key.kid ?? "-")|\(key.algorithms.rawValue)|\(Base64URL.encode(key.fingerprint))\n"
        }
        for set in keys.remote {
            description += "remote|\(set.storeKey)\n"
        }
        return OpenSSLSHA256.hash(Array(description.utf8)) ?? []
    }

    /// Verifies the token bytes (without the `Bearer ` prefix), through the cache when there is one.
    public func verify(_ token: RawSpan, now: Int64? = nil) -> Verdict {
        token.withUnsafeBytes { verify($0, now: now) }
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

    private let warnedUnverified = Atomic<Bool>(false)

    private func warnOnFirstUnverifiedToken() {
        if !warnedUnverified.exchange(true, ordering: .relaxed) {
            Self.logger.warning("development mode: accepted a token whose signature was not checked")
        }
    }
}
