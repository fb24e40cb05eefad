internal import CLMDB
import Dispatch
import Foundation
import Synchronization

/// How full the cache's map is: host-wide, the same in every process.
public struct CacheOccupancy: Sendable, Equatable {
    /// Verdicts stored (valid and negative).
    public var entries: Int
    /// Bytes of the pages every table uses (free pages, reusable, not counted).
    public var usedBytes: Int
    /// The map's size: the most the cache can hold.
    public var mapBytes: Int

    public var fill: Double { mapBytes > 0 ? Double(usedBytes) / Double(mapBytes) : 0 }
}

/// Runs a process's cache maintenance on one background queue, never on a request: a pass
/// removes expired verdicts and, once the map is fuller than `highWatermark`, evicts the
/// soonest-expiring ones down to `lowWatermark`, `batchSize` at a time in short write
/// transactions, so that other writers (every worker's stores) wait at most one batch.
///
/// Why soonest-expiring first: an entry lives `min(exp, now + maxTTL)`, so for tokens living
/// longer than `maxTTL` this order is insertion order, and a verdict that expires sooner has
/// fewer hits left to serve. Stores ask for a pass every `storesBetweenChecks` stores, and
/// at once when one was skipped because the map was full.
final class CacheMaintenance: Sendable {
    static let storesBetweenChecks = 256
    static let highWatermark = 0.80
    static let lowWatermark = 0.70
    static let batchSize = 256
    /// Between two batches: lets another process's writer take the lock (it is not fair).
    static let pauseMicroseconds: UInt32 = 200

    private let queue = DispatchQueue(label: "edgeauth.cache.maintenance", qos: .utility)
    private let scheduled = Atomic<Bool>(false)

    /// Returns once the passes scheduled so far have run.
    func wait() { queue.sync {} }

    /// Schedules a pass unless one is scheduled or running.
    func request(for cache: SharedCache) {
        guard !scheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        queue.async {
            cache.maintain(now: Int64(Date().timeIntervalSince1970))
            self.scheduled.store(false, ordering: .releasing)
        }
    }
}

extension SharedCache {
    /// Returns once the maintenance passes this process scheduled so far have run.
    package func waitForMaintenance() { maintenance.wait() }

    /// How full the map is now; nil when LMDB could not say.
    public var occupancy: CacheOccupancy? {
        guard let usage = try? environment.usage() else { return nil }
        return CacheOccupancy(entries: usage.verdicts, usedBytes: usage.usedPages * usage.pageSize, mapBytes: usage.mapPages * usage.pageSize)
    }

    /// One maintenance pass (what the background queue runs): removes every verdict expired at
    /// `now`, and evicts the soonest-expiring ones while the map is fuller than the watermarks
    /// allow. Returns how many verdicts it evicted and how many expired ones it removed.
    @discardableResult
    public func maintain(now: Int64) -> (evicted: Int, expired: Int) {
        var evicting = false
        var total = (evicted: 0, expired: 0)
        while let usage = try? environment.usage() {
            let fill = Double(usage.usedPages) / Double(usage.mapPages)
            if fill >= CacheMaintenance.highWatermark { evicting = true }
            if evicting && fill <= CacheMaintenance.lowWatermark { evicting = false }
            // Most passes find nothing to do: a read says so without taking the writer lock.
            if !evicting, soonestExpiry().map({ $0 > now }) ?? true { break }
            // Deleting copies every page it touches: a batch must fit in the room left.
            var limit = min(CacheMaintenance.batchSize, max(1, (usage.mapPages - usage.usedPages) / 4))
            var outcome = evictBatch(limit: limit, now: now, expiredOnly: !evicting)
            while case .failure(let error) = outcome, error.lmdbCode == LMDBEnvironment.mapFull, limit > 1 {
                limit /= 2
                outcome = evictBatch(limit: limit, now: now, expiredOnly: !evicting)
            }
            guard case .success(let batch) = outcome else {
                // So full that not even one deletion has room (a store racing this pass took it):
                // capacity, not a failure; the next skipped store asks for another pass.
                if case .failure(let error) = outcome, error.lmdbCode == LMDBEnvironment.mapFull { break }
                recordFailure("eviction")
                break
            }
            total.evicted += batch.removed - batch.expired
            total.expired += batch.expired
            if batch.visited == 0 || (!evicting && batch.visited < limit) { break }
            usleep(CacheMaintenance.pauseMicroseconds)
        }
        return total
    }

    /// The expiry of the verdict that expires first; nil when there is none (or LMDB failed).
    func soonestExpiry() -> Int64? {
        let environment = self.environment
        let found: Int64?? = try? unsafe environment.read { txn -> Int64? in
            var cursor: OpaquePointer?
            guard unsafe mdb_cursor_open(txn, environment.expiryIndex, &cursor) == 0, let cursor = unsafe cursor else { return nil }
            defer { unsafe mdb_cursor_close(cursor) }
            var key = unsafe MDB_val(), value = unsafe MDB_val()
            guard unsafe mdb_cursor_get(cursor, &key, &value, MDB_FIRST) == 0 else { return nil }
            return unsafe ExpiryIndexKey.parse(UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size))?.expiry
        }
        return found ?? nil
    }

    /// Visits up to `limit` keys of the expiry index in one write transaction, soonest-expiring
    /// first, removing each with its verdict; with `expiredOnly`, stops at the first that expires
    /// after `now`.
    package func evictBatch(limit: Int, now: Int64, expiredOnly: Bool) -> Result<(visited: Int, removed: Int, expired: Int), CacheError> {
        let environment = self.environment
        var visited = 0, removed = 0, expired = 0
        do {
            try unsafe environment.write { txn in
                var cursor: OpaquePointer?
                var rc = unsafe mdb_cursor_open(txn, environment.expiryIndex, &cursor)
                guard rc == 0, let cursor = unsafe cursor else { return rc }
                defer { unsafe mdb_cursor_close(cursor) }
                var key = unsafe MDB_val(), value = unsafe MDB_val()
                rc = unsafe mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
                while rc == 0 && visited < limit {
                    let indexKey = unsafe UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
                    if let (expiry, tokenHash) = unsafe ExpiryIndexKey.parse(indexKey) {
                        if expiredOnly && expiry > now { break }
                        // The verdict goes only when the index key is its own (not one it replaced).
                        let stored = unsafe LMDBEnvironment.get(txn, environment.verdicts, tokenHash) { unsafe VerdictEntry.expiry(of: $0) }
                        if stored == expiry {
                            rc = unsafe LMDBEnvironment.delete(txn, environment.verdicts, tokenHash)
                            guard rc == 0 else { return rc }
                            removed += 1
                            if expiry <= now { expired += 1 }
                        }
                    }
                    rc = unsafe mdb_cursor_del(cursor, 0)
                    guard rc == 0 else { return rc }
                    visited += 1
                    rc = unsafe mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
                }
                return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc
            }
        } catch {
            return .failure(error)
        }
        counters.withLock {
            $0.evictions += removed - expired
            $0.expiredRemovals += expired
        }
        return .success((visited, removed, expired))
    }
}
