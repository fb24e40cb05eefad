internal import CLMDB
import EdgeAuthCore
import Foundation
import Synchronization

/// One LMDB environment opened by this process (LMDB environments must not
/// cross `fork`: every process opens its own).
@safe final class LMDBEnvironment: @unchecked Sendable {
    let env: OpaquePointer
    let verdicts: MDB_dbi
    let revokedTokens: MDB_dbi
    let revokedIDs: MDB_dbi
    let generations: MDB_dbi
    let counters: MDB_dbi
    let meta: MDB_dbi
    let keySets: MDB_dbi
    /// Verdicts by expiry (`ExpiryIndexKey`): eviction's order.
    let expiryIndex: MDB_dbi

    /// Bumped whenever the on-disk layout changes; another value means "rebuild".
    static let formatVersion = "edgeauth-cache-2"

    /// Flags chosen for a cache, where losing recent writes on a crash is harmless:
    /// - `MDB_NOSYNC`/`MDB_NOMETASYNC`: no fsync per commit (the OS writes back
    ///   eventually; a crash loses at most recent entries, never consistency).
    /// - `MDB_NOTLS`: read transactions are not bound to threads, so Swift tasks
    ///   may hop threads without exhausting reader slots.
    /// - `MDB_NORDAHEAD`: lookups are random; read-ahead only evicts useful pages.
    static let flags = UInt32(MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOTLS | MDB_NORDAHEAD)

    init(directory: String, mapSize: Int, maxReaders: UInt32) throws(CacheError) {
        var created: OpaquePointer?
        var rc = unsafe mdb_env_create(&created)
        guard rc == 0, let env = unsafe created else { throw CacheError("mdb_env_create", code: rc) }
        unsafe self.env = unsafe env
        // Until every stored property is set, a throw leaves the environment to this init to
        // close; after that, a throw runs `deinit`, which closes it (closing it here too would
        // free it twice).
        var initialized = false
        defer { if !initialized { unsafe mdb_env_close(env) } }
        rc = unsafe mdb_env_set_maxdbs(env, 12)
        if rc == 0 { rc = unsafe mdb_env_set_mapsize(env, mapSize) }
        if rc == 0 { rc = unsafe mdb_env_set_maxreaders(env, maxReaders) }
        guard rc == 0 else { throw CacheError("configuring the LMDB environment", code: rc) }
        rc = unsafe mdb_env_open(env, directory, Self.flags, 0o600)
        guard rc == 0 else { throw CacheError("opening the cache in \(directory)", code: rc) }
        // Reader slots of processes that died (kill -9) would otherwise pin old pages forever.
        var dead: Int32 = 0
        _ = unsafe mdb_reader_check(env, &dead)

        var txn: OpaquePointer?
        rc = unsafe mdb_txn_begin(env, nil, 0, &txn)
        guard rc == 0, let txn = unsafe txn else { throw CacheError("starting the setup transaction", code: rc) }
        let names = ["verdicts", "revoked-tokens", "revoked-ids", "generations", "counters", "meta", "key-sets", "verdict-expiry"]
        var handles = [MDB_dbi](repeating: 0, count: names.count)
        for (index, name) in names.enumerated() {
            rc = unsafe mdb_dbi_open(txn, name, UInt32(MDB_CREATE), &handles[index])
            if rc != 0 {
                unsafe mdb_txn_abort(txn)
                throw CacheError("opening sub-database \(name)", code: rc)
            }
        }
        (verdicts, revokedTokens, revokedIDs, generations, counters, meta) = (handles[0], handles[1], handles[2], handles[3], handles[4], handles[5])
        (keySets, expiryIndex) = (handles[6], handles[7])
        initialized = true
        // An existing file written by another format version is rejected so the caller rebuilds it.
        let stored = unsafe Self.get(txn, meta, Array("format".utf8)) { unsafe Array($0) }
        if let stored, stored != Array(Self.formatVersion.utf8) {
            unsafe mdb_txn_abort(txn)
            throw CacheError("cache format \(String(decoding: stored, as: UTF8.self)) is not \(Self.formatVersion)", code: MDB_VERSION_MISMATCH)
        }
        if stored == nil {
            rc = unsafe Self.put(txn, meta, Array("format".utf8), Array(Self.formatVersion.utf8))
            if rc != 0 {
                unsafe mdb_txn_abort(txn)
                throw CacheError("writing the cache format", code: rc)
            }
        }
        rc = unsafe mdb_txn_commit(txn)
        guard rc == 0 else { throw CacheError("committing the setup transaction", code: rc) }
    }

    /// The process that opened the environment.
    private let owner = getpid()

    deinit {
        // In a child of fork() the handle is a copy of the parent's: closing it would
        // release the parent's reader slots in the shared lock file. Leave it alone.
        guard getpid() == owner else { return }
        readers.withLock { pool in
            for txn in pool { unsafe mdb_txn_abort(txn.pointer) }
        }
        unsafe mdb_env_close(env)
    }

    /// Reset read transactions kept for reuse: `mdb_txn_renew` on one of them
    /// costs no allocation, where `mdb_txn_begin` mallocs a new transaction.
    /// Each keeps its reader slot, so the pool is small.
    private let readers: Mutex<[ReadTransaction]> = {
        var pool = [ReadTransaction]()
        pool.reserveCapacity(LMDBEnvironment.pooledReaders)
        return Mutex(pool)
    }()
    static let pooledReaders = 4

    @safe private struct ReadTransaction: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// Runs `body` in a read-only transaction.
    func read<R>(_ body: (OpaquePointer) -> R) throws(CacheError) -> R {
        var txn: OpaquePointer?
        if let pooled = readers.withLock({ $0.popLast() }) {
            let rc = unsafe mdb_txn_renew(pooled.pointer)
            if rc == 0 { unsafe txn = unsafe pooled.pointer } else { unsafe mdb_txn_abort(pooled.pointer) }
        }
        if unsafe txn == nil {
            let rc = unsafe mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
            guard rc == 0 else { throw CacheError("starting a read transaction", code: rc) }
        }
        guard let txn = unsafe txn else { throw CacheError("starting a read transaction") }
        let result = unsafe body(txn)
        unsafe mdb_txn_reset(txn)
        let kept = readers.withLock { pool -> Bool in
            guard pool.count < Self.pooledReaders else { return false }
            unsafe pool.append(ReadTransaction(pointer: txn))
            return true
        }
        if !kept { unsafe mdb_txn_abort(txn) }
        return result
    }

    /// Write transactions begun by this process, and the time `mdb_txn_begin` waited for the
    /// writer lock (another process's or thread's transaction) before them.
    private let writes = Atomic<Int>(0)
    private let lockWait = Atomic<UInt64>(0)

    var writeStatistics: (transactions: Int, lockWaitNanoseconds: UInt64) {
        (writes.load(ordering: .relaxed), lockWait.load(ordering: .relaxed))
    }

    private static func nanoseconds() -> UInt64 {
        var time = timespec()
        unsafe clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Runs `body` in a write transaction and commits it; `body` returns an LMDB code (0 = success).
    func write(_ body: (OpaquePointer) -> Int32) throws(CacheError) {
        var txn: OpaquePointer?
        let asked = Self.nanoseconds()
        var rc = unsafe mdb_txn_begin(env, nil, 0, &txn)
        lockWait.add(Self.nanoseconds() &- asked, ordering: .relaxed)
        writes.add(1, ordering: .relaxed)
        guard rc == 0, let txn = unsafe txn else { throw CacheError("starting a write transaction", code: rc) }
        rc = unsafe body(txn)
        guard rc == 0 else {
            unsafe mdb_txn_abort(txn)
            throw CacheError("writing to the cache", code: rc)
        }
        rc = unsafe mdb_txn_commit(txn)
        guard rc == 0 else { throw CacheError("committing to the cache", code: rc) }
    }

    /// Reads `key` and hands the borrowed value to `decode` (valid only inside the call).
    static func get<R>(_ txn: OpaquePointer, _ dbi: MDB_dbi, _ key: UnsafeRawBufferPointer, _ decode: (UnsafeRawBufferPointer) -> R?) -> R? {
        var k = unsafe MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = unsafe MDB_val()
        guard unsafe mdb_get(txn, dbi, &k, &v) == 0 else { return nil }
        return unsafe decode(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    static func get<R>(_ txn: OpaquePointer, _ dbi: MDB_dbi, _ key: [UInt8], _ decode: (UnsafeRawBufferPointer) -> R?) -> R? {
        unsafe key.withUnsafeBytes { unsafe get(txn, dbi, $0, decode) }
    }

    static func get<R>(_ txn: OpaquePointer, _ dbi: MDB_dbi, _ key: TokenDigest, _ decode: (UnsafeRawBufferPointer) -> R?) -> R? {
        unsafe key.withUnsafeBytes { unsafe get(txn, dbi, $0, decode) }
    }

    static func put(_ txn: OpaquePointer, _ dbi: MDB_dbi, _ key: UnsafeRawBufferPointer, _ value: [UInt8]) -> Int32 {
        unsafe value.withUnsafeBytes { valueBytes in
            var k = unsafe MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
            var v = unsafe MDB_val(mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
            return unsafe mdb_put(txn, dbi, &k, &v, 0)
        }
    }

    static func put(_ txn: OpaquePointer, _ dbi: MDB_dbi, _ key: [UInt8], _ value: [UInt8]) -> Int32 {
        unsafe key.withUnsafeBytes { unsafe put(txn, dbi, $0, value) }
    }

    static func put(_ txn: OpaquePointer, _ dbi: MDB_dbi, _ key: TokenDigest, _ value: [UInt8]) -> Int32 {
        unsafe key.withUnsafeBytes { unsafe put(txn, dbi, $0, value) }
    }

    static func delete(_ txn: OpaquePointer, _ dbi: MDB_dbi, _ key: [UInt8]) -> Int32 {
        unsafe key.withUnsafeBytes { key in
            var k = unsafe MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
            return unsafe mdb_del(txn, dbi, &k, nil)
        }
    }

    static func delete(_ txn: OpaquePointer, _ dbi: MDB_dbi, _ key: UnsafeRawBufferPointer) -> Int32 {
        var k = unsafe MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        return unsafe mdb_del(txn, dbi, &k, nil)
    }

    /// Pages in use by every tree (LMDB's free list and catalogue included, free pages not),
    /// the pages the map can hold, the page size, and the number of verdicts.
    func usage() throws(CacheError) -> (usedPages: Int, mapPages: Int, pageSize: Int, verdicts: Int) {
        var info = unsafe MDB_envinfo()
        let rc = unsafe mdb_env_info(env, &info)
        guard rc == 0 else { throw CacheError("reading the map's size", code: rc) }
        let handles: [MDB_dbi] = [0, 1, verdicts, revokedTokens, revokedIDs, generations, counters, meta, keySets, expiryIndex]
        return try unsafe read { txn in
            var used = 2  // the meta pages
            var pageSize = 4096
            var entries = 0
            for dbi in handles {
                var stat = MDB_stat()
                guard unsafe mdb_stat(txn, dbi, &stat) == 0 else { continue }
                used += Int(stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages)
                pageSize = Int(stat.ms_psize)
                if dbi == verdicts { entries = Int(stat.ms_entries) }
            }
            return unsafe (used, info.me_mapsize / pageSize, pageSize, entries)
        }
    }

    static func drop(_ txn: OpaquePointer, _ dbi: MDB_dbi) -> Int32 {
        unsafe mdb_drop(txn, dbi, 0)
    }

    static let mapFull = MDB_MAP_FULL
    static let corruptionCodes: Set<Int32> = [MDB_INVALID, MDB_CORRUPTED, MDB_VERSION_MISMATCH, MDB_PANIC]
}
