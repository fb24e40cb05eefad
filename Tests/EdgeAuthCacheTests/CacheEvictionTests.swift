import EdgeAuth
import EdgeAuthTestThreads
import EdgeAuthTesting
import Foundation
import Testing

/// The cache at capacity: compact entries, eviction soonest-expiring first in bounded batches,
/// stores skipped (never failed) when the map is full.
@Suite("Verdict cache eviction and sizing")
final class CacheEvictionTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-evict-\(UUID().uuidString)").path
    deinit { try? FileManager.default.removeItem(atPath: directory) }  // each test has its own directory

    static let now: Int64 = 1_800_000_000

    func cache(mapSizeBytes: Int = 1 << 20, maxTTL: Int64 = 10_000_000) throws -> SharedCache {
        try SharedCache.open(CacheConfiguration(directory: directory, mapSizeBytes: mapSizeBytes, maxTTL: maxTTL))
    }

    /// A distinct cache key for each number.
    static func key(_ number: Int) -> TokenDigest {
        var digest = TokenDigest()
        digest.words = (UInt64(number), 0x5EED, UInt64(number) &* 0x9E37_79B9_7F4A_7C15, 7)
        return digest
    }

    static func identity(expiresAt: Int64) -> Identity {
        Identity(id: "user", issuer: "https://issuer.example/", audience: ["https://api.example"], expiresAt: expiresAt, tokenId: "jti")
    }

    /// Stores verdicts for keys `range`, the i-th expiring at `expiry(i)`.
    func fill(_ cache: SharedCache, _ range: Range<Int>, expiry: (Int) -> Int64) {
        for i in range { cache.store(tokenHash: Self.key(i), identity: Self.identity(expiresAt: expiry(i)), now: Self.now, epoch: cache.epoch) }
    }

    func isStored(_ cache: SharedCache, _ number: Int, now: Int64 = CacheEvictionTests.now) -> Bool {
        cache.lookup(tokenHash: Self.key(number), now: now, identity: { Self.identity(expiresAt: now + 1) }) != nil
    }

    @Test("a valid verdict's entry holds no identity: bytes per entry stay small as the cache grows", .ownThread)
    func compactEntries() throws {
        let cache = try cache(mapSizeBytes: 64 << 20)
        fill(cache, 0..<20_000) { Self.now + 600 + Int64($0 % 300) }
        let occupancy = try #require(cache.occupancy)
        #expect(occupancy.entries == 20_000)
        // Verdict and expiry-index key together, LMDB's page overhead included (docs/cache.md).
        #expect(occupancy.usedBytes / occupancy.entries < 200, "\(occupancy.usedBytes / occupancy.entries) bytes per entry")
    }

    @Test("stores twice what the map holds: background passes evict in time, never everything, and nothing fails", .ownThread)
    func evictionKeepsUp() throws {
        let cache = try cache()
        let count = 12_000
        fill(cache, 0..<count) { Self.now + 1_000 + Int64($0) }
        cache.waitForMaintenance()
        let stats = cache.statistics
        #expect(stats.errors == 0 && stats.evictions > 0)
        #expect(stats.stores + stats.skippedStores == count)
        let occupancy = try #require(cache.occupancy)
        #expect(occupancy.fill < 0.85 && occupancy.entries > 1_000, "fill \(occupancy.fill), \(occupancy.entries) entries")
        // The latest stores are kept.
        #expect(((count - 100)..<count).allSatisfy { isStored(cache, $0) })
    }

    @Test("a pass over a map above the high watermark evicts down to the low one", .ownThread)
    func passEvictsToLowWatermark() throws {
        let cache = try cache()
        // A pass is asked for every 256 stores: filling in steps of fewer, checking after each,
        // finds the map above the high watermark before a pass brings it down, or the pass ran.
        var index = 0
        while (cache.occupancy?.fill ?? 1) < 0.8, index < 20_000 {
            fill(cache, index..<(index + 10)) { Self.now + 1_000 + Int64($0) }
            index += 10
        }
        cache.maintain(now: Self.now)
        cache.waitForMaintenance()
        let occupancy = try #require(cache.occupancy)
        #expect(occupancy.fill <= 0.71, "fill \(occupancy.fill)")
        #expect(occupancy.entries > 1_000 && cache.statistics.evictions > 0)
    }

    @Test("eviction takes the soonest-expiring verdicts first, whatever the order they were stored in")
    func evictionOrder() throws {
        let cache = try cache(mapSizeBytes: 64 << 20)
        // Expiries in reverse order of insertion.
        fill(cache, 0..<1_000) { Self.now + 100_000 - Int64($0) }
        let batch = try cache.evictBatch(limit: 100, now: Self.now, expiredOnly: false).get()
        #expect(batch.visited == 100 && batch.removed == 100 && batch.expired == 0)
        #expect((0..<900).allSatisfy { isStored(cache, $0) })
        #expect((900..<1_000).allSatisfy { !isStored(cache, $0) })
    }

    @Test("after eviction the freed room takes new verdicts: stores succeed again", .ownThread)
    func storesResumeAfterEviction() throws {
        let cache = try cache()
        fill(cache, 0..<12_000) { Self.now + 1_000 + Int64($0) }
        cache.waitForMaintenance()
        cache.maintain(now: Self.now)
        let before = cache.statistics
        fill(cache, 100_000..<100_100) { _ in Self.now + 50_000 }
        #expect(cache.statistics.stores == before.stores + 100)
        #expect((100_000..<100_100).allSatisfy { isStored(cache, $0) })
    }

    @Test("expired verdicts are removed by a pass whether or not the map is full; unexpired ones stay")
    func expiredRemoved() throws {
        let cache = try cache(mapSizeBytes: 64 << 20)
        fill(cache, 0..<1_000) { Self.now + 10 + Int64($0 % 2) * 1_000 }
        let result = cache.maintain(now: Self.now + 500)
        #expect(result.expired == 500 && result.evicted == 0)
        #expect(cache.statistics.expiredRemovals == 500)
        #expect(cache.occupancy?.entries == 500)
        #expect((0..<1_000).filter { isStored(cache, $0, now: Self.now + 500) }.count == 500)
    }

    @Test("a pass with nothing expired and room to spare writes nothing: it never takes the writer lock")
    func idlePassTakesNoLock() throws {
        let cache = try cache(mapSizeBytes: 64 << 20)
        fill(cache, 0..<100) { Self.now + 1_000 + Int64($0) }
        cache.waitForMaintenance()
        let before = cache.statistics.writeTransactions
        #expect(cache.maintain(now: Self.now + 500) == (0, 0))
        #expect(cache.statistics.writeTransactions == before)
        #expect(cache.maintain(now: Self.now + 1_010).expired == 11)  // expiry <= now: 1 000 to 1 010
    }

    @Test("storing a verdict again replaces its expiry-index key: the older key never evicts the newer verdict")
    func replacedVerdictKeepsOneIndexKey() throws {
        let cache = try cache(mapSizeBytes: 64 << 20)
        cache.store(tokenHash: Self.key(1), identity: Self.identity(expiresAt: Self.now + 100), now: Self.now, epoch: cache.epoch)
        cache.store(tokenHash: Self.key(1), identity: Self.identity(expiresAt: Self.now + 5_000), now: Self.now, epoch: cache.epoch)
        let result = cache.maintain(now: Self.now + 200)
        #expect(result.expired == 0)
        #expect(isStored(cache, 1, now: Self.now + 200))
        #expect(cache.occupancy?.entries == 1)
    }

    @Test("a damaged entry is a miss, never a verdict: a rejection cannot turn into a pass")
    func damagedEntryIsMiss() throws {
        let cache = try cache(mapSizeBytes: 8 << 20)
        cache.storeNegative(tokenHash: Self.key(9), reason: .badSignature, now: Self.now, epoch: cache.epoch)
        #expect(cache.lookup(tokenHash: Self.key(9), now: Self.now, identity: { nil })?.verdict == .rejected(.badSignature))
        // Flip the kind byte of the stored entry on disk: 0x02 (negative) to 0x01 (valid).
        let path = directory + "/data.mdb"
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let pattern = Data([2]) + withUnsafeBytes(of: (Self.now + 10).littleEndian) { Data($0) }
        let found = try #require(data.range(of: pattern))
        data[found.lowerBound] = 1
        try data.write(to: URL(fileURLWithPath: path))
        #expect(cache.lookup(tokenHash: Self.key(9), now: Self.now, identity: { Self.identity(expiresAt: Self.now + 60) }) == nil)
    }

    @Test("write transactions and their wait for the writer lock are counted")
    func writerLockCounted() throws {
        let cache = try cache(mapSizeBytes: 8 << 20)
        fill(cache, 0..<10) { _ in Self.now + 60 }
        #expect(cache.statistics.writeTransactions >= 10)
    }
}
