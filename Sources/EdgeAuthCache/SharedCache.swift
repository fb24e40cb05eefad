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

    public init(directory: String, mapSizeBytes: Int = 128 << 20, maxReaders: UInt32 = 256, maxTTL: Int64 = 600, negativeTTL: Int64 = 10) {
        self.directory = directory
        self.mapSizeBytes = mapSizeBytes
        self.maxReaders = maxReaders
        self.maxTTL = maxTTL
        self.negativeTTL = negativeTTL
    }
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
    public var errors = 0
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
    private let counters = Mutex(CacheStatistics())
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
    public var epoch: UInt64 {
        let opened = current
        // The identity of the files is part of it: reopened files start their own count.
        return opened.epoch.value &+ (opened.inode &* 0x9E37_79B9_7F4A_7C15)
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
    public var statistics: CacheStatistics { counters.withLock { $0 } }

    // MARK: Verdicts

    /// The cached verdict for a token, if one is stored, unexpired at `now`, made
    /// under the issuer's current key generation, and not revoked.
    public func lookup(tokenHash: TokenDigest, now: Int64) -> CachedVerdict? {
        lookupWithExpiry(tokenHash: tokenHash, now: now)?.verdict
    }

    /// `lookup(tokenHash:now:)`, with the time until which the entry may be served.
    public func lookupWithExpiry(tokenHash: TokenDigest, now: Int64) -> (verdict: CachedVerdict, expiry: Int64)? {
        let environment = self.environment
        var expiry: Int64 = 0
        let result: CachedVerdict?? = try? unsafe environment.read { txn -> CachedVerdict? in
            guard let entry = unsafe LMDBEnvironment.get(txn, environment.verdicts, tokenHash, { raw -> VerdictEntry? in
                // Expired entries are not decoded at all.
                guard let validity = unsafe VerdictEntry.validity(of: raw), now < validity.expiry else { return nil }
                return unsafe VerdictEntry.decode(raw)
            }) else { return nil }
            expiry = entry.expiry
            switch entry.content {
            case .negative(let reason):
                return .rejected(reason)
            case .identity(let identity):
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
    public func store(tokenHash: TokenDigest, identity: Identity, now: Int64) {
        let expiry = min(identity.expiresAt ?? (now + configuration.maxTTL), now + configuration.maxTTL)
        guard expiry > now else { return }
        unsafe write(tokenHash: tokenHash) { environment, txn in
            let generation = unsafe currentGeneration(environment, txn, issuer: identity.storage.entry(.issuer))
            return VerdictEntry(expiry: expiry, generation: generation, content: .identity(identity)).encoded
        }
    }

    /// Stores a short negative entry. Only for outcomes that cannot change with time:
    /// bad signatures and malformed tokens (never `expired`/`notYetValid`).
    public func storeNegative(tokenHash: TokenDigest, reason: Reason, now: Int64) {
        guard Self.isCacheableRejection(reason) else { return }
        unsafe write(tokenHash: tokenHash) { _, _ in
            VerdictEntry(expiry: now + configuration.negativeTTL, generation: 0, content: .negative(reason)).encoded
        }
    }

    /// Rejections that depend only on the token bytes and the keys.
    public static func isCacheableRejection(_ reason: Reason) -> Bool {
        switch reason {
        case .badSignature, .malformed, .unsecured: true
        default: false
        }
    }

    private func write(tokenHash: TokenDigest, _ value: (LMDBEnvironment, OpaquePointer) -> [UInt8]) {
        let environment = self.environment
        let db = environment.verdicts
        func put() throws(CacheError) {
            try unsafe environment.write { txn in unsafe LMDBEnvironment.put(txn, db, tokenHash, value(environment, txn)) }
        }
        do {
            try put()
        } catch where error.lmdbCode == LMDBEnvironment.mapFull {
            // Full map: sweep what has expired, then evict every verdict if that was not enough.
            sweepExpired(now: Int64(Date().timeIntervalSince1970))
            if (try? put()) == nil {
                _ = try? unsafe environment.write { txn in unsafe LMDBEnvironment.drop(txn, db) }
                guard (try? put()) != nil else {
                    recordFailure("store")
                    return
                }
            }
        } catch {
            recordFailure("store")
            return
        }
        counters.withLock { $0.stores += 1 }
    }

    /// Removes expired verdicts; returns how many.
    @discardableResult
    public func sweepExpired(now: Int64) -> Int {
        var removed = 0
        let environment = self.environment
        let db = environment.verdicts
        _ = try? unsafe environment.write { txn in
            let (rc, count) = unsafe LMDBEnvironment.sweep(txn, db) { raw in unsafe VerdictEntry.expiry(of: raw).map { $0 <= now } ?? true }
            removed = count
            return rc
        }
        return removed
    }

    /// Removes every verdict and starts a new epoch: nothing cached before is served again.
    public func dropAllVerdicts() throws(CacheError) {
        let environment = self.environment
        let db = environment.verdicts
        try unsafe environment.write { txn in unsafe LMDBEnvironment.drop(txn, db) }
        current.epoch.increment()
    }

    // MARK: Revocation

    /// Revokes one token (by its cache key, `Verifier.cacheKey(for:)`) until `until`.
    public func revoke(tokenHash: TokenDigest, until: Int64) throws(CacheError) {
        let environment = self.environment
        let db = environment.revokedTokens
        try unsafe environment.write { txn in unsafe LMDBEnvironment.put(txn, db, tokenHash, Self.encode(until)) }
        current.epoch.increment()
    }

    /// Revokes every token with this `jti` until `until`.
    public func revoke(tokenID: String, until: Int64) throws(CacheError) {
        let result = unsafe Array(tokenID.utf8).withUnsafeBytes { id in Result { () throws(CacheError) in try unsafe revoke(tokenID: id, until: until) } }
        try result.get()
    }

    /// Revokes every token whose `jti` has these UTF-8 bytes until `until`.
    package func revoke(tokenID: UnsafeRawBufferPointer, until: Int64) throws(CacheError) {
        let environment = self.environment
        let db = environment.revokedIDs
        try unsafe environment.write { txn in unsafe LMDBEnvironment.put(txn, db, tokenID, Self.encode(until)) }
        current.epoch.increment()
    }

    /// Whether a token is revoked (by cache key, or by `jti` when given).
    public func isRevoked(tokenHash: TokenDigest, tokenID: String?, now: Int64) -> Bool {
        let environment = self.environment
        guard let tokenID else {
            return unsafe (try? environment.read { unsafe isRevoked(environment, $0, tokenHash: tokenHash, tokenID: nil, now: now) }) ?? false
        }
        return unsafe Array(tokenID.utf8).withUnsafeBytes { id in
            unsafe (try? environment.read { unsafe isRevoked(environment, $0, tokenHash: tokenHash, tokenID: id, now: now) }) ?? false
        }
    }

    /// Whether a verified token is revoked (by cache key, or by the identity's `jti`).
    public func isRevoked(tokenHash: TokenDigest, identity: Identity, now: Int64) -> Bool {
        let environment = self.environment
        return unsafe (try? environment.read { unsafe isRevoked(environment, $0, tokenHash: tokenHash, tokenID: identity.storage.entry(.tokenId), now: now) }) ?? false
    }

    private func isRevoked(_ environment: LMDBEnvironment, _ txn: OpaquePointer, tokenHash: TokenDigest, tokenID: UnsafeRawBufferPointer?, now: Int64) -> Bool {
        if let until = unsafe LMDBEnvironment.get(txn, environment.revokedTokens, tokenHash, unsafe Self.decodeInt64), now < until { return true }
        guard let tokenID = unsafe tokenID, unsafe !tokenID.isEmpty else { return false }
        return unsafe LMDBEnvironment.get(txn, environment.revokedIDs, tokenID, unsafe Self.decodeInt64).map { now < $0 } ?? false
    }

    // MARK: Key generations

    /// The current key generation of an issuer (0 until first bumped).
    public func generation(issuer: String) -> UInt64 {
        let environment = self.environment
        return unsafe Array(issuer.utf8).withUnsafeBytes { issuer in
            unsafe (try? environment.read { unsafe currentGeneration(environment, $0, issuer: issuer) }) ?? 0
        }
    }

    /// Starts a new key generation for an issuer: every verdict stored before stops being served.
    public func bumpGeneration(issuer: String) throws(CacheError) {
        let environment = self.environment
        let db = environment.generations
        let name = Array(issuer.utf8)
        try unsafe environment.write { txn in
            let next = unsafe name.withUnsafeBytes { unsafe currentGeneration(environment, txn, issuer: $0) } &+ 1
            return unsafe LMDBEnvironment.put(txn, db, name, Self.encode(Int64(bitPattern: next)))
        }
        current.epoch.increment()
    }

    private func currentGeneration(_ environment: LMDBEnvironment, _ txn: OpaquePointer, issuer: UnsafeRawBufferPointer?) -> UInt64 {
        // LMDB refuses empty keys; a token without `iss` has generation 0 forever.
        guard let issuer = unsafe issuer, unsafe !issuer.isEmpty else { return 0 }
        return unsafe LMDBEnvironment.get(txn, environment.generations, issuer, unsafe Self.decodeInt64).map { UInt64(bitPattern: $0) } ?? 0
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
