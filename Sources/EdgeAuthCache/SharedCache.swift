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
    private let environment: LMDBEnvironment
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
            if let entry = entries[key], entry.pid == pid, let open = entry.cache {
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

    private struct RegistryEntry {
        weak var cache: SharedCache?
        let pid: pid_t
    }

    private static let registry = Mutex<[String: RegistryEntry]>([:])

    /// Opens (or creates) the cache; a file of another format or a corrupt one is rebuilt.
    /// Use `open(_:)`, which keeps one instance per directory and process.
    private init(_ configuration: CacheConfiguration) throws(CacheError) {
        self.configuration = configuration
        let directory = configuration.directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
        } catch {
            throw CacheError("cannot create cache directory \(directory): \(error)")
        }
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
    }

    /// This process's counters.
    public var statistics: CacheStatistics { counters.withLock { $0 } }

    // MARK: Verdicts

    /// The cached verdict for a token, if one is stored, unexpired at `now`, made
    /// under the issuer's current key generation, and not revoked.
    public func lookup(tokenHash: [UInt8], now: Int64) -> CachedVerdict? {
        let result: CachedVerdict?? = try? environment.read { txn -> CachedVerdict? in
            guard let entry = LMDBEnvironment.get(txn, environment.verdicts, tokenHash, { VerdictEntry.decode($0) }),
                  now < entry.expiry
            else { return nil }
            switch entry.content {
            case .negative(let reason):
                return .rejected(reason)
            case .identity(let identity):
                guard entry.generation == currentGeneration(txn, issuer: identity.issuer) else { return nil }
                if isRevoked(txn, tokenHash: tokenHash, tokenID: identity.tokenId, now: now) { return .rejected(.revoked) }
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
        return found
    }

    /// Stores a valid verdict until `min(exp, now + maxTTL)`, under the issuer's current generation.
    public func store(tokenHash: [UInt8], identity: Identity, now: Int64) {
        let expiry = min(identity.expiresAt ?? (now + configuration.maxTTL), now + configuration.maxTTL)
        guard expiry > now else { return }
        write(tokenHash: tokenHash) { txn in
            VerdictEntry(expiry: expiry, generation: currentGeneration(txn, issuer: identity.issuer), content: .identity(identity)).encoded
        }
    }

    /// Stores a short negative entry. Only for outcomes that cannot change with time:
    /// bad signatures and malformed tokens (never `expired`/`notYetValid`).
    public func storeNegative(tokenHash: [UInt8], reason: Reason, now: Int64) {
        guard Self.isCacheableRejection(reason) else { return }
        write(tokenHash: tokenHash) { _ in
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

    private func write(tokenHash: [UInt8], _ value: (OpaquePointer) -> [UInt8]) {
        let db = environment.verdicts
        func put() throws(CacheError) {
            try environment.write { txn in LMDBEnvironment.put(txn, db, tokenHash, value(txn)) }
        }
        do {
            try put()
        } catch where error.lmdbCode == LMDBEnvironment.mapFull {
            // Full map: sweep what has expired, then evict every verdict if that was not enough.
            sweepExpired(now: Int64(Date().timeIntervalSince1970))
            if (try? put()) == nil {
                _ = try? environment.write { txn in LMDBEnvironment.drop(txn, db) }
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
        let db = environment.verdicts
        _ = try? environment.write { txn in
            let (rc, count) = LMDBEnvironment.sweep(txn, db) { raw in VerdictEntry.expiry(of: raw).map { $0 <= now } ?? true }
            removed = count
            return rc
        }
        return removed
    }

    // MARK: Revocation

    /// Revokes one token (by the SHA-256 of its bytes) until `until`.
    public func revoke(tokenHash: [UInt8], until: Int64) throws(CacheError) {
        let db = environment.revokedTokens
        try environment.write { txn in LMDBEnvironment.put(txn, db, tokenHash, Self.encode(until)) }
    }

    /// Revokes every token with this `jti` until `until`.
    public func revoke(tokenID: String, until: Int64) throws(CacheError) {
        let db = environment.revokedIDs
        try environment.write { txn in LMDBEnvironment.put(txn, db, Array(tokenID.utf8), Self.encode(until)) }
    }

    /// Whether a token is revoked (by hash, or by `jti` when given).
    public func isRevoked(tokenHash: [UInt8], tokenID: String?, now: Int64) -> Bool {
        (try? environment.read { isRevoked($0, tokenHash: tokenHash, tokenID: tokenID, now: now) }) ?? false
    }

    private func isRevoked(_ txn: OpaquePointer, tokenHash: [UInt8], tokenID: String?, now: Int64) -> Bool {
        if let until = LMDBEnvironment.get(txn, environment.revokedTokens, tokenHash, Self.decodeInt64), now < until { return true }
        guard var tokenID else { return false }
        let until = tokenID.withUTF8 { LMDBEnvironment.get(txn, environment.revokedIDs, UnsafeRawBufferPointer($0), Self.decodeInt64) }
        return until.map { now < $0 } ?? false
    }

    // MARK: Key generations

    /// The current key generation of an issuer (0 until first bumped).
    public func generation(issuer: String) -> UInt64 {
        (try? environment.read { currentGeneration($0, issuer: issuer) }) ?? 0
    }

    /// Starts a new key generation for an issuer: every verdict stored before stops being served.
    public func bumpGeneration(issuer: String) throws(CacheError) {
        let db = environment.generations
        try environment.write { txn in
            let next = currentGeneration(txn, issuer: issuer) &+ 1
            return LMDBEnvironment.put(txn, db, Array(issuer.utf8), Self.encode(Int64(bitPattern: next)))
        }
    }

    private func currentGeneration(_ txn: OpaquePointer, issuer: String) -> UInt64 {
        var issuer = issuer
        return issuer.withUTF8 {
            LMDBEnvironment.get(txn, environment.generations, UnsafeRawBufferPointer($0), Self.decodeInt64).map { UInt64(bitPattern: $0) } ?? 0
        }
    }

    // MARK: Helpers

    private func recordFailure(_ operation: String) {
        counters.withLock { $0.errors += 1 }
        // Log once per process: a broken cache must not flood the log, and verification goes on without it.
        if !reportedFailure.exchange(true, ordering: .relaxed) {
            logger.error("cache \(operation) failed; verifying without the cache", metadata: ["directory": "\(configuration.directory)"])
        }
    }

    static func encode(_ value: Int64) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    static func decodeInt64(_ raw: UnsafeRawBufferPointer) -> Int64? {
        guard raw.count == 8 else { return nil }
        return Int64(littleEndian: raw.loadUnaligned(as: Int64.self))
    }
}
