internal import Atomics
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
    /// The mapping as 64-bit words, each used through `UnsafeAtomic` (several processes write them).
    private let words: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
    private let slots: Int
    private let seed: UInt64
    private static let headerBytes = 64
    private static let slotBytes = 16

    /// Maps (creating when needed) the table at `path`.
    public init(path: String, slots: Int = 65_536) throws(CacheError) {
        let size = Self.headerBytes + slots * Self.slotBytes
        // Never through a symbolic link: the table is written through a shared mapping.
        let fd = unsafe open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
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
        let words = unsafe mapped.bindMemory(to: UnsafeAtomic<UInt64>.Storage.self, capacity: size / 8)
        unsafe self.words = unsafe words
        self.slots = slots
        // The hash seed lives in the file: every process must place a key in the same slot.
        let seedWord = unsafe UnsafeAtomic<UInt64>(at: words)
        var seed = seedWord.load(ordering: .acquiring)
        if seed == 0 {
            _ = seedWord.compareExchange(expected: 0, desired: UInt64.random(in: 1...UInt64.max), ordering: .acquiringAndReleasing)
            seed = seedWord.load(ordering: .acquiring)
        }
        self.seed = seed
    }

    deinit { unsafe munmap(mapping, Self.headerBytes + slots * Self.slotBytes) }

    /// Counts one request against `key`'s bucket.
    public func check(_ key: String, _ limit: Limit, now: UInt64 = SharedRateLimiter.microseconds()) -> Decision {
        guard limit.rate > 0, limit.burst > 0 else { return .allowed }
        let interval = UInt64(max(1, (1_000_000 / limit.rate).rounded()))
        let tolerance = interval * UInt64(limit.burst - 1)
        let (_, cell) = slot(for: hash(key), now: now)
        while true {
            let stored = cell.load(ordering: .acquiring)
            let arrival = max(stored, now)
            if arrival - now > tolerance {
                let wait = arrival - now - tolerance
                return .limited(retryAfter: Int((wait + 999_999) / 1_000_000))
            }
            if cell.compareExchange(expected: stored, desired: arrival + interval, ordering: .acquiringAndReleasing).exchanged { return .allowed }
        }
    }

    /// Whether `key`'s bucket is empty now, without counting a request.
    public func isExhausted(_ key: String, _ limit: Limit, now: UInt64 = SharedRateLimiter.microseconds()) -> Bool {
        guard limit.rate > 0, limit.burst > 0 else { return false }
        let interval = UInt64(max(1, (1_000_000 / limit.rate).rounded()))
        let tolerance = interval * UInt64(limit.burst - 1)
        let (_, cell) = slot(for: hash(key), now: now)
        return max(cell.load(ordering: .acquiring), now) - now > tolerance
    }

    /// The slot of a key: its own, a free one it claims, or one whose bucket is full again
    /// (idle: its key no longer matters).
    private func slot(for hash: UInt64, now: UInt64) -> (UnsafeAtomic<UInt64>, UnsafeAtomic<UInt64>) {
        let base = unsafe words + Self.headerBytes / 8
        let first = Int(hash % UInt64(slots))
        func pair(_ index: Int) -> (UnsafeAtomic<UInt64>, UnsafeAtomic<UInt64>) {
            let slot = unsafe base + ((first + index) % slots) * (Self.slotBytes / 8)
            return unsafe (UnsafeAtomic(at: slot), UnsafeAtomic(at: slot + 1))
        }
        for probe in 0..<4 {
            let (key, cell) = pair(probe)
            let owner = key.load(ordering: .acquiring)
            if owner == hash { return (key, cell) }
            if owner == 0, key.compareExchange(expected: 0, desired: hash, ordering: .acquiringAndReleasing).exchanged { return (key, cell) }
            // A bucket whose arrival time has passed holds no debt: take it over, debt-free.
            let arrival = cell.load(ordering: .acquiring)
            if arrival <= now, key.compareExchange(expected: owner, desired: hash, ordering: .acquiringAndReleasing).exchanged {
                _ = cell.compareExchange(expected: arrival, desired: 0, ordering: .acquiringAndReleasing)
                return (key, cell)
            }
        }
        return pair(0)
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
