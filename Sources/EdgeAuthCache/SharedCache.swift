internal import CLMDB
public import EdgeAuthCore
import Foundation
import Logging
import Synchronization

/// Settings of the shared verdict cache.
public struct CacheConfiguration: Sendable, Hashable {
    /// Directory of the LMDB environment (created with mode 0700; files 0600).
    public var directory: String
    /// Size of the memory map: the most the cache can hold.
    public var mapSizeBytes: Int
    /// Reader slots: at least the number of threads of all processes reading at once.
    public var maxReaders: UInt32
    /// Longest time a verdict is served from the cache, whatever the token's `exp`.
    public var maxTTL: Int64
    /// Lifetime of negative entries (bad signature, malformed).
    public var negativeTTL: Int64

    public init(directory: String, mapSizeBytes: Int = CacheConfiguration.defaultMapSizeBytes, maxReaders: UInt32 = 256, maxTTL: Int64 = 600, negativeTTL: Int64 = 10) {
        self.directory = directory
        self.mapSizeBytes = mapSizeBytes
        self.maxReaders = maxReaders
        self.maxTTL = maxTTL
        self.negativeTTL = negativeTTL
    }
}

extension CacheConfiguration {
    /// The map is sparse: it costs address space, and memory and disk only as verdicts fill it.
    public static let defaultMapSizeBytes = 1 << 30
}

/// What the cache knows about a token.
public enum CachedVerdict: Sendable, Equatable {
    case valid(Identity)
    case rejected(Reason)
}

/// Counters of this process's use of the cache.
public struct CacheStatistics: Sendable, Equatable {
    public var hits = 0
    public var negativeHits = 0
    public var misses = 0
    public var stores = 0
    /// Stores left out because the map was full (each a miss later, never an error).
    public var skippedStores = 0
    /// Verdicts removed before their expiry to make room, soonest-expiring first.
    public var evictions = 0
    /// Expired verdicts removed.
    public var expiredRemovals = 0
    public var errors = 0
    /// Write transactions of this process, and the time they waited for LMDB's writer lock.
    public var writeTransactions = 0
    public var writeLockWaitNanoseconds: UInt64 = 0
    public init() {}
}

/// Verified-token results shared by every process on the host through one LMDB
/// memory map. Keys are SHA-256 digests of the token bytes: no token is ever
/// written to disk. Every failure degrades to a miss; the caller verifies in full.
public final class SharedCache: Sendable {
    public let configuration: CacheConfiguration
    /// The open environment; replaced when the cache files were deleted under us.
    private let opened: Mutex<OpenedEnvironment>
    /// When (monotonic nanoseconds) to next check that the files are still the ones opened.
    private let nextFileCheck = Atomic<UInt64>(0)
    let counters = Mutex(CacheStatistics())
    /// Eviction and expired-verdict removal, off the request path.
    let maintenance = CacheMaintenance()
    private let reportedFailure = Atomic<Bool>(false)
    private let logger = Logger(label: "edgeauth.cache")

    /// The cache of `configuration.directory` for this process: opened on first use,
    /// then shared, because LMDB allows one open environment per file per process.
    /// An instance opened before a `fork()` is never handed to the child.
    /// - Throws: `CacheError` when the directory cannot be created or opened, or is
    ///   already open in this process with other settings.
    public static func open(_ configuration: CacheConfiguration) throws(CacheError) -> SharedCache {
        let key = URL(fileURLWithPath: configuration.directory).standardizedFileURL.resolvingSymlinksInPath().path
        let pid = getpid()
        return try registry.withLock { (entries: inout [String: RegistryEntry]) throws(CacheError) -> SharedCache in
            if let entry = entries[key], entry.pid == pid {
                let open = entry.cache
                var requested = configuration
                requested.directory = open.configuration.directory
                guard requested == open.configuration else {
                    throw CacheError("cache directory \(configuration.directory) is already open in this process with other settings; give every user of it the same settings")
                }
                return open
            }
            let cache = try SharedCache(configuration)
            entries[key] = RegistryEntry(cache: cache, pid: pid)
            return cache
        }
    }

    /// Strong references: an open cache lives as long as its process. (A weak
    /// reference would give every `SharedCache` a side table, and every retain on
    /// the verification path would take the slow reference-counting path.)
    private struct RegistryEntry {
        let cache: SharedCache
        let pid: pid_t
    }

    private static let registry = Mutex<[String: RegistryEntry]>([:])

    /// Opens (or creates) the cache; a file of another format or a corrupt one is rebuilt.
    /// Use `open(_:)`, which keeps one instance per directory and process.
    private init(_ configuration: CacheConfiguration) throws(CacheError) {
        self.configuration = configuration
        opened = Mutex(try Self.openEnvironment(configuration))
        nextFileCheck.store(Self.monotonicNanoseconds() + Self.fileCheckInterval, ordering: .relaxed)
    }

    struct OpenedEnvironment: @unchecked Sendable {
        let environment: LMDBEnvironment
        let epoch: SharedEpoch
        /// Identity of `data.mdb` when it was opened.
        let device: UInt64
        let inode: UInt64
    }

    private static func openEnvironment(_ configuration: CacheConfiguration) throws(CacheError) -> OpenedEnvironment {
        let directory = configuration.directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
        } catch {
            throw CacheError("cannot create cache directory \(directory): \(error)")
        }
        let environment: LMDBEnvironment
        do {
            environment = try LMDBEnvironment(directory: directory, mapSize: configuration.mapSizeBytes, maxReaders: configuration.maxReaders)
        } catch where error.lmdbCode.map(LMDBEnvironment.corruptionCodes.contains) == true {
            // A cache holds nothing that cannot be recomputed: rebuild it.
            Logger(label: "edgeauth.cache").warning("rebuilding cache", metadata: ["directory": "\(directory)", "cause": "\(error)"])
            for file in ["data.mdb", "lock.mdb"] {
                try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(file))
            }
            environment = try LMDBEnvironment(directory: directory, mapSize: configuration.mapSizeBytes, maxReaders: configuration.maxReaders)
        }
        let epoch = try SharedEpoch(path: (directory as NSString).appendingPathComponent("epoch"))
        let (device, inode) = fileIdentity(directory) ?? (0, 0)
        return OpenedEnvironment(environment: environment, epoch: epoch, device: device, inode: inode)
    }

    private static func fileIdentity(_ directory: String) -> (UInt64, UInt64)? {
        var info = stat()
        guard unsafe stat((directory as NSString).appendingPathComponent("data.mdb"), &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    static let fileCheckInterval: UInt64 = 1_000_000_000

    static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        unsafe clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// The environment to use now. At most once a second it checks that `data.mdb` is
    /// still the file that was opened: when the directory was deleted (or the file
    /// replaced), this process would otherwise go on alone in an unlinked file, so it
    /// opens the new one and shares the cache with the other processes again.
    var environment: LMDBEnvironment { current.environment }

    var current: OpenedEnvironment {
        let now = Self.monotonicNanoseconds()
        let due = nextFileCheck.load(ordering: .relaxed)
        // One thread per interval does the check: two environments opened on the same
        // file in one process would break LMDB's locks.
        if now >= due, nextFileCheck.compareExchange(expected: due, desired: now + Self.fileCheckInterval, ordering: .relaxed).exchanged {
            reopenIfReplaced()
        }
        return opened.withLock { $0 }
    }

    /// A number shared by every process of the cache that changes whenever a verdict
    /// cached before may no longer be served (a revocation, a key generation bump,
    /// the files reopened). Per-process copies of verdicts (`VerdictL1`) remember it
    /// and are dropped when it changes.
    public var epoch: UInt64 { Self.epoch(of: current) }

    static func epoch(of opened: OpenedEnvironment) -> UInt64 {
        // The identity of the files is part of it: reopened files start their own count.
        opened.epoch.value &+ (opened.inode &* 0x9E37_79B9_7F4A_7C15)
    }

    private func reopenIfReplaced() {
        let current = opened.withLock { ($0.device, $0.inode) }
        if let identity = Self.fileIdentity(configuration.directory), identity == current { return }
        do {
            let fresh = try Self.openEnvironment(configuration)
            opened.withLock { $0 = fresh }
            logger.warning("cache files were removed or replaced; reopened", metadata: ["directory": "\(configuration.directory)"])
        } catch {
            recordFailure("reopen")
        }
    }

    /// This process's counters.
    public var statistics: CacheStatistics {
        var statistics = counters.withLock { $0 }
        let writes = environment.writeStatistics
        statistics.writeTransactions = writes.transactions
        statistics.writeLockWaitNanoseconds = writes.lockWaitNanoseconds
        return statistics
    }

    // MARK: Helpers

    func recordFailure(_ operation: String) {
        counters.withLock { $0.errors += 1 }
        // Log once per process: a broken cache must not flood the log, and verification goes on without it.
        if !reportedFailure.exchange(true, ordering: .relaxed) {
            logger.error("cache \(operation) failed; verifying without the cache", metadata: ["directory": "\(configuration.directory)"])
        }
    }

    static func encode(_ value: Int64) -> [UInt8] {
        unsafe withUnsafeBytes(of: value.littleEndian) { unsafe Array($0) }
    }

    static func decodeInt64(_ raw: UnsafeRawBufferPointer) -> Int64? {
        guard raw.count == 8 else { return nil }
        return unsafe Int64(littleEndian: raw.loadUnaligned(as: Int64.self))
    }
}
