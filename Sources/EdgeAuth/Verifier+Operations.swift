/// What a health check or an operator needs to know of a verifier.
public struct VerifierHealth: Sendable {
    /// The keys usable now.
    public let keyCount: Int
    /// Each remote key set's state.
    public let keySets: [KeySetStatus]
    /// Whether verdicts are cached.
    public let cached: Bool

    /// Whether tokens can be verified: some key, and no remote set unavailable.
    public var ready: Bool { keyCount > 0 && !keySets.contains { $0.state == .unavailable } }
}

/// The verdict cache's counters, the in-process layer's included.
public struct VerifierCacheStatistics: Sendable, Equatable {
    public var l1Hits: Int
    public var hits: Int
    public var negativeHits: Int
    public var misses: Int
    public var stores: Int
    /// Stores left out because the map was full.
    public var skippedStores: Int
    /// Verdicts evicted before their expiry to make room, and expired ones removed.
    public var evictions: Int
    public var expiredRemovals: Int
    public var errors: Int
    /// The time this process's write transactions waited for LMDB's writer lock.
    public var writeTransactions: Int
    public var writeLockWaitNanoseconds: UInt64
}

/// Why a revocation was not recorded.
public enum RevocationError: Error, Sendable {
    /// Revocations live in the shared cache, and this verifier has none.
    case noCache
    case cache(CacheError)
}

extension Verifier {
    public var health: VerifierHealth {
        VerifierHealth(keyCount: keyCount, keySets: keyRing.status(), cached: cache != nil)
    }

    /// The number of keys usable now.
    public var keyCount: Int { keys.keys.count }

    /// Why keys of the configured sources were left out (unsupported type, too short, …).
    public var skippedKeys: [String] { keyRing.skipped }

    /// Keeps the remote key sets fresh whether or not tokens arrive, until the task is
    /// cancelled: a server runs it in each process.
    public func maintainKeys() async { await keyRing.maintain() }

    /// The state of each remote key set, for health checks and metrics.
    public var keyStatus: [KeySetStatus] { keyRing.status() }

    /// The cache's counters; nil without a cache.
    public var cacheStatistics: VerifierCacheStatistics? {
        guard let statistics = cache?.statistics else { return nil }
        return VerifierCacheStatistics(l1Hits: l1?.hits ?? 0, hits: statistics.hits, negativeHits: statistics.negativeHits,
                                       misses: statistics.misses, stores: statistics.stores, skippedStores: statistics.skippedStores,
                                       evictions: statistics.evictions, expiredRemovals: statistics.expiredRemovals, errors: statistics.errors,
                                       writeTransactions: statistics.writeTransactions, writeLockWaitNanoseconds: statistics.writeLockWaitNanoseconds)
    }

    /// How full the shared cache's map is (host-wide); nil without a cache.
    public var cacheOccupancy: CacheOccupancy? { cache?.occupancy }

    /// Refuses this token (in every process sharing the cache) until `until`.
    package func revoke(token: UnsafeRawBufferPointer, until: Int64) throws(RevocationError) {
        guard let cache else { throw .noCache }
        guard let key = cacheKey(for: token) else { throw .cache(CacheError("the token's cache key could not be computed")) }
        do { try cache.revoke(tokenHash: key, until: until) } catch { throw .cache(error) }
    }

    /// Refuses this token (in every process sharing the cache) until `until`.
    public func revoke(token: [UInt8], until: Int64) throws(RevocationError) {
        let result = token.withUnsafeBytes { bytes in Result { () throws(RevocationError) in try revoke(token: bytes, until: until) } }
        try result.get()
    }

    /// Refuses every token with this `jti` (its UTF-8 bytes) until `until`.
    package func revoke(tokenID: UnsafeRawBufferPointer, until: Int64) throws(RevocationError) {
        guard let cache else { throw .noCache }
        do { try cache.revoke(tokenID: tokenID, until: until) } catch { throw .cache(error) }
    }

    /// Refuses every token with this `jti` until `until`.
    public func revoke(tokenID: String, until: Int64) throws(RevocationError) {
        let result = Array(tokenID.utf8).withUnsafeBytes { id in Result { () throws(RevocationError) in try revoke(tokenID: id, until: until) } }
        try result.get()
    }
}
