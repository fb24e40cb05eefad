internal import CLMDB
import Foundation

/// Token buckets shared by every process that maps the same file: the rate limits of
/// `edgeauth serve` hold for the whole server, not once per worker.
///
/// Each bucket is one GCRA cell (the "theoretical arrival time" of the next request,
/// in microseconds of the system-wide monotonic clock), updated with a compare-and-swap
/// in a `MAP_SHARED` table: a check costs a hash and one atomic operation, no lock and
/// no write transaction. Keys are hashed into a fixed table (4 probes); when every probe
/// is taken by another live key, the first slot is shared, which can only make a limit
/// stricter for the keys involved, never looser.
@safe public final class SharedRateLimiter: @unchecked Sendable {
    /// A limit: `rate` requests per second on average, `burst` at once.
    public struct Limit: Sendable, Equatable {
        public var rate: Double
        public var burst: Int
        public init(rate: Double, burst: Int) {
            self.rate = rate
            self.burst = burst
        }
    }

    public enum Decision: Sendable, Equatable {
        case allowed
        /// Refused: retry after this many seconds (at least 1, as `Retry-After` counts).
        case limited(retryAfter: Int)
    }

    private let mapping: UnsafeMutableRawPointer
    private let slots: Int
    private let seed: UInt64
    private static let headerBytes = 64
    private static let slotBytes = 16

    /// Maps (creating when needed) the table at `path`.
    public init(path: String, slots: Int = 65_536) throws(CacheError) {
        let size = Self.headerBytes + slots * Self.slotBytes
        let fd = unsafe open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CacheError(unsafe "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard unsafe fstat(fd, &info) == 0, info.st_size >= size || ftruncate(fd, off_t(size)) == 0 else {
            throw CacheError(unsafe "cannot size \(path): \(String(cString: strerror(errno)))")
        }
        guard let mapped = unsafe mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), unsafe mapped != MAP_FAILED else {
            throw CacheError(unsafe "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        unsafe mapping = unsafe mapped
        self.slots = slots
        // The hash seed lives in the file: every process must place a key in the same slot.
        let seedWord = unsafe mapped.assumingMemoryBound(to: UInt64.self)
        var seed = unsafe edgeauth_shared_load(seedWord)
        if seed == 0 {
            _ = unsafe edgeauth_shared_compare_exchange(seedWord, 0, UInt64.random(in: 1...UInt64.max))
            seed = unsafe edgeauth_shared_load(seedWord)
        }
        self.seed = seed
    }

    deinit { unsafe munmap(mapping, Self.headerBytes + slots * Self.slotBytes) }

    /// Counts one request against `key`'s bucket.
    public func check(_ key: String, _ limit: Limit, now: UInt64 = SharedRateLimiter.microseconds()) -> Decision {
        guard limit.rate > 0, limit.burst > 0 else { return .allowed }
        let interval = UInt64(max(1, (1_000_000 / limit.rate).rounded()))
        let tolerance = interval * UInt64(limit.burst - 1)
        let (_, cell) = unsafe slot(for: hash(key), now: now)
        while true {
            let stored = unsafe edgeauth_shared_load(cell)
            let arrival = max(stored, now)
            if arrival - now > tolerance {
                let wait = arrival - now - tolerance
                return .limited(retryAfter: Int((wait + 999_999) / 1_000_000))
            }
            if unsafe edgeauth_shared_compare_exchange(cell, stored, arrival + interval) != 0 { return .allowed }
        }
    }

    /// Whether `key`'s bucket is empty now, without counting a request.
    public func isExhausted(_ key: String, _ limit: Limit, now: UInt64 = SharedRateLimiter.microseconds()) -> Bool {
        guard limit.rate > 0, limit.burst > 0 else { return false }
        let interval = UInt64(max(1, (1_000_000 / limit.rate).rounded()))
        let tolerance = interval * UInt64(limit.burst - 1)
        let (_, cell) = unsafe slot(for: hash(key), now: now)
        return unsafe max(edgeauth_shared_load(cell), now) - now > tolerance
    }

    /// The slot of a key: its own, a free one it claims, or one whose bucket is full again
    /// (idle: its key no longer matters).
    private func slot(for hash: UInt64, now: UInt64) -> (UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt64>) {
        let base = unsafe mapping + Self.headerBytes
        let first = Int(hash % UInt64(slots))
        func words(_ index: Int) -> (UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt64>) {
            let slot = unsafe (base + ((first + index) % slots) * Self.slotBytes).assumingMemoryBound(to: UInt64.self)
            return unsafe (slot, slot + 1)
        }
        for probe in 0..<4 {
            let (key, cell) = unsafe words(probe)
            let owner = unsafe edgeauth_shared_load(key)
            if owner == hash { return unsafe (key, cell) }
            if owner == 0, unsafe edgeauth_shared_compare_exchange(key, 0, hash) != 0 { return unsafe (key, cell) }
            // A bucket whose arrival time has passed holds no debt: take it over, debt-free.
            let arrival = unsafe edgeauth_shared_load(cell)
            if arrival <= now, unsafe edgeauth_shared_compare_exchange(key, owner, hash) != 0 {
                _ = unsafe edgeauth_shared_compare_exchange(cell, arrival, 0)
                return unsafe (key, cell)
            }
        }
        return unsafe words(0)
    }

    private func hash(_ key: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        hash ^= hash >> 33
        hash = hash &* 0xFF51_AFD7_ED55_8CCD
        hash ^= hash >> 33
        return hash == 0 ? 1 : hash
    }

    /// The system-wide monotonic clock in microseconds (the same in every process).
    public static func microseconds() -> UInt64 {
        var time = timespec()
        unsafe clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
    }
}
