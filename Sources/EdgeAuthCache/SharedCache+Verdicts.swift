internal import CLMDB
public import EdgeAuthCore
import Foundation

/// Storing and serving verdicts.
extension SharedCache {
    /// The cached verdict for a token, if one is stored, unexpired at `now`, made under the
    /// issuer's current key generation, and not revoked; with the time until which it may be served.
    ///
    /// A valid verdict is stored without its identity (the token carries it):
    /// - Parameter identity: rebuilds the identity from the token's claims, without checking the
    ///   signature again (what the entry attests). Called at most once, inside the read; nil makes
    ///   the lookup a miss.
    public func lookup(tokenHash: TokenDigest, now: Int64, identity: () -> Identity?) -> (verdict: CachedVerdict, expiry: Int64)? {
        let environment = self.environment
        var expiry: Int64 = 0
        let result: CachedVerdict?? = try? unsafe environment.read { txn -> CachedVerdict? in
            guard let entry = unsafe LMDBEnvironment.get(txn, environment.verdicts, tokenHash, { unsafe VerdictEntry.decode($0) }),
                  now < entry.expiry
            else { return nil }
            expiry = entry.expiry
            switch entry.content {
            case .negative(let reason):
                return .rejected(reason)
            case .valid:
                guard let identity = identity() else { return nil }
                let storage = identity.storage
                guard unsafe entry.generation == currentGeneration(environment, txn, issuer: storage.entry(.issuer)) else { return nil }
                if unsafe isRevoked(environment, txn, tokenHash: tokenHash, tokenID: storage.entry(.tokenId), now: now) { return .rejected(.revoked) }
                return .valid(identity)
            }
        }
        guard let found = result else {
            recordFailure("lookup")
            return nil
        }
        counters.withLock { stats in
            switch found {
            case .valid?: stats.hits += 1
            case .rejected?: stats.negativeHits += 1
            case nil: stats.misses += 1
            }
        }
        return found.map { ($0, expiry) }
    }

    /// Stores a valid verdict until `min(exp, now + maxTTL)`, under the issuer's current generation.
    /// - Parameter epoch: the cache's `epoch` read before the token was verified. When it moved
    ///   since, nothing is stored: the keys may have changed under the verification (a key
    ///   generation bumped after it would otherwise be written into a verdict of the old keys).
    public func store(tokenHash: TokenDigest, identity: Identity, now: Int64, epoch: UInt64) {
        let expiry = min(identity.expiresAt ?? (now + configuration.maxTTL), now + configuration.maxTTL)
        guard expiry > now else { return }
        unsafe write(tokenHash: tokenHash, expiry: expiry, epoch: epoch) { environment, txn in
            let generation = unsafe currentGeneration(environment, txn, issuer: identity.storage.entry(.issuer))
            return VerdictEntry(expiry: expiry, generation: generation, content: .valid).encoded
        }
    }

    /// Stores a short negative entry. Only for outcomes that cannot change with time:
    /// bad signatures and malformed tokens (never `expired`/`notYetValid`).
    /// - Parameter epoch: as for `store`.
    public func storeNegative(tokenHash: TokenDigest, reason: Reason, now: Int64, epoch: UInt64) {
        guard Self.isCacheableRejection(reason) else { return }
        let expiry = now + configuration.negativeTTL
        unsafe write(tokenHash: tokenHash, expiry: expiry, epoch: epoch) { _, _ in
            VerdictEntry(expiry: expiry, generation: 0, content: .negative(reason)).encoded
        }
    }

    /// Rejections that depend only on the token bytes and the keys.
    public static func isCacheableRejection(_ reason: Reason) -> Bool {
        switch reason {
        case .badSignature, .malformed, .unsecured: true
        default: false
        }
    }

    /// Puts the verdict and its expiry-index key in one transaction (replacing the index key of
    /// a verdict stored before for the same token). A full map skips the store: the token is a
    /// miss next time, and eviction is asked to make room.
    /// The epoch is compared inside the transaction: a generation bump commits after the
    /// epoch moved for the document that caused it, so a transaction that reads the new
    /// generation sees that move too.
    private func write(tokenHash: TokenDigest, expiry: Int64, epoch: UInt64, _ value: (LMDBEnvironment, OpaquePointer) -> [UInt8]) {
        let opened = current
        let environment = opened.environment
        var stale = false
        do {
            try unsafe environment.write { txn in
                guard Self.epoch(of: opened) == epoch else {
                    stale = true
                    return 0
                }
                if let previous = unsafe LMDBEnvironment.get(txn, environment.verdicts, tokenHash, { unsafe VerdictEntry.expiry(of: $0) }),
                   previous != expiry {
                    let rc = unsafe LMDBEnvironment.delete(txn, environment.expiryIndex, ExpiryIndexKey.make(expiry: previous, tokenHash: tokenHash))
                    guard rc == 0 || rc == MDB_NOTFOUND else { return rc }
                }
                let rc = unsafe LMDBEnvironment.put(txn, environment.verdicts, tokenHash, value(environment, txn))
                guard rc == 0 else { return rc }
                return unsafe LMDBEnvironment.put(txn, environment.expiryIndex, ExpiryIndexKey.make(expiry: expiry, tokenHash: tokenHash), [])
            }
        } catch where error.lmdbCode == LMDBEnvironment.mapFull {
            counters.withLock { $0.skippedStores += 1 }
            maintenance.request(for: self)
            return
        } catch {
            recordFailure("store")
            return
        }
        // A verdict made while the keys may have changed is not kept: the next request verifies again.
        if stale { return }
        let stores = counters.withLock { stats in
            stats.stores += 1
            return stats.stores
        }
        if stores % CacheMaintenance.storesBetweenChecks == 0 { maintenance.request(for: self) }
    }

    /// Removes every verdict and starts a new epoch: nothing cached before is served again.
    public func dropAllVerdicts() throws(CacheError) {
        let environment = self.environment
        try unsafe environment.write { txn in
            let rc = unsafe LMDBEnvironment.drop(txn, environment.verdicts)
            return rc == 0 ? unsafe LMDBEnvironment.drop(txn, environment.expiryIndex) : rc
        }
        current.epoch.increment()
    }
}
