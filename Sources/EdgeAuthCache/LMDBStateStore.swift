internal import CLMDB
import Foundation

/// `StateStore` in an LMDB environment of its own (`state/` in the data directory), apart
/// from the verdict cache: every commit is synced to disk, the file is never rebuilt or
/// evicted, and its format version is migrated forward (a newer format is refused).
@safe public final class LMDBStateStore: StateStore, @unchecked Sendable {
    private let env: OpaquePointer
    private let tables: [StateTable: MDB_dbi]
    private let owner = getpid()
    public let directory: String
    private let groupCommit: GroupCommit

    /// The format this build writes. Each step of `migrations` turns version `n` into `n + 1`.
    public static let formatVersion = 1
    /// Migrations by the version they start from; run in one write transaction at open.
    static let migrations: [Int: @Sendable (any StateWriting) throws -> Void] = [:]

    /// Opens (creating when missing) the store in `directory` (mode 0700; files 0600).
    public init(directory: String, mapSize: Int = 1 << 30) throws(CacheError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // An existing directory too: it holds signing keys and client secrets' hashes.
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
        } catch {
            throw CacheError("creating \(directory): \(error.localizedDescription)")
        }
        self.directory = directory
        var created: OpaquePointer?
        var rc = unsafe mdb_env_create(&created)
        guard rc == 0, let env = unsafe created else { throw CacheError("mdb_env_create", code: rc) }
        rc = unsafe mdb_env_set_mapsize(env, mapSize)
        if rc == 0 { rc = unsafe mdb_env_set_maxdbs(env, UInt32(StateTable.allCases.count + 1)) }
        // Durable commits (no NOSYNC). MDB_NOTLS: Swift tasks hop threads during a read.
        if rc == 0 { rc = unsafe mdb_env_open(env, directory, UInt32(MDB_NOTLS), 0o600) }
        guard rc == 0 else {
            unsafe mdb_env_close(env)
            throw CacheError("opening the state store in \(directory)", code: rc)
        }
        var dead: Int32 = 0
        _ = unsafe mdb_reader_check(env, &dead)
        var handles: [StateTable: MDB_dbi] = [:]
        var metaHandle: MDB_dbi = 0
        var txn: OpaquePointer?
        rc = unsafe mdb_txn_begin(env, nil, 0, &txn)
        guard rc == 0, let txn = unsafe txn else {
            unsafe mdb_env_close(env)
            throw CacheError("starting the state store's setup", code: rc)
        }
        for table in StateTable.allCases where rc == 0 {
            var handle: MDB_dbi = 0
            rc = unsafe mdb_dbi_open(txn, table.rawValue, UInt32(MDB_CREATE), &handle)
            handles[table] = handle
        }
        if rc == 0 { rc = unsafe mdb_dbi_open(txn, "meta", UInt32(MDB_CREATE), &metaHandle) }
        guard rc == 0 else {
            unsafe mdb_txn_abort(txn)
            unsafe mdb_env_close(env)
            throw CacheError("opening the state store's tables", code: rc)
        }
        // The properties are set only once nothing can fail: a throwing initializer of a
        // fully initialized class runs deinit, which would close the environment again.
        let transaction = unsafe Transaction(txn: txn, tables: handles)
        do {
            try Self.migrate(transaction, meta: metaHandle)
        } catch {
            unsafe mdb_txn_abort(txn)
            unsafe mdb_env_close(env)
            throw error
        }
        rc = unsafe mdb_txn_commit(txn)
        guard rc == 0 else {
            unsafe mdb_env_close(env)
            throw CacheError("committing the state store's setup", code: rc)
        }
        unsafe self.env = unsafe env
        tables = handles
        groupCommit = unsafe GroupCommit(env: env)
    }

    deinit {
        // A forked child shares the parent's handle: closing it would release the parent's readers.
        guard getpid() == owner else { return }
        unsafe mdb_env_close(env)
    }

    /// Brings an older format up to `formatVersion`; refuses a newer one (written by a later EdgeAuth).
    private static func migrate(_ transaction: Transaction, meta: MDB_dbi) throws(CacheError) {
        let key = Array("format".utf8)
        let stored = unsafe LMDBEnvironment.get(transaction.txn, meta, key) { unsafe String(decoding: $0, as: UTF8.self) }
        var version = stored.flatMap(Int.init) ?? formatVersion
        guard version <= formatVersion else {
            throw CacheError("the state store is format \(version), newer than this EdgeAuth (\(formatVersion)); upgrade EdgeAuth or restore a backup")
        }
        while version < formatVersion {
            guard let step = migrations[version] else { throw CacheError("no migration of the state store from format \(version)") }
            do { try step(transaction) } catch { throw CacheError("migrating the state store from format \(version): \(error)") }
            version += 1
        }
        let rc = unsafe LMDBEnvironment.put(transaction.txn, meta, key, Array(String(version).utf8))
        guard rc == 0 else { throw CacheError("writing the state store's format", code: rc) }
    }

    public func read<R>(_ body: (any StateReading) throws -> R) throws -> R {
        var txn: OpaquePointer?
        let rc = unsafe mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
        guard rc == 0, let txn = unsafe txn else { throw CacheError("starting a read of the state store", code: rc) }
        defer { unsafe mdb_txn_abort(txn) }
        return try body(unsafe Transaction(txn: txn, tables: tables))
    }

    public func write<R>(_ body: (any StateWriting) throws -> R) throws -> R {
        var txn: OpaquePointer?
        var rc = unsafe mdb_txn_begin(env, nil, 0, &txn)
        guard rc == 0, let txn = unsafe txn else { throw CacheError("starting a write to the state store", code: rc) }
        let result: R
        do {
            result = try body(unsafe Transaction(txn: txn, tables: tables))
        } catch {
            unsafe mdb_txn_abort(txn)
            throw error
        }
        rc = unsafe mdb_txn_commit(txn)
        guard rc == 0 else { throw CacheError("committing to the state store", code: rc) }
        return result
    }

    public func commit<R: Sendable>(_ body: @escaping @Sendable (any StateWriting) throws -> R,
                                    completion: @escaping @Sendable (Result<R, any Error>) -> Void) {
        let tables = self.tables
        // Written by `run` and read by `finish`, both on the writer thread.
        let outcome = Outcome<R>()
        unsafe groupCommit.submit(GroupCommit.Entry(run: { parent in
            var child: OpaquePointer?
            var rc = unsafe mdb_txn_begin(self.env, parent, 0, &child)
            guard rc == 0, let child = unsafe child else {
                outcome.value = .failure(CacheError("starting a nested write to the state store", code: rc))
                return
            }
            do {
                let value = try body(unsafe Transaction(txn: child, tables: tables))
                rc = unsafe mdb_txn_commit(child)
                outcome.value = rc == 0 ? .success(value) : .failure(CacheError("committing a nested write", code: rc))
            } catch {
                unsafe mdb_txn_abort(child)
                outcome.value = .failure(error)
            }
        }, finish: { failure in
            let result = outcome.value ?? .failure(CacheError("the write did not run"))
            // A write that succeeded is durable only if the round's commit was.
            if let failure, case .success = result { completion(.failure(failure)) } else { completion(result) }
        }))
    }

    public func backup(to directory: String) throws {
        let rc = unsafe mdb_env_copy2(env, directory, UInt32(MDB_CP_COMPACT))
        guard rc == 0 else { throw CacheError("copying the state store to \(directory)", code: rc) }
        // The copy holds what the store holds: readable by its owner only.
        _ = unsafe chmod((directory as NSString).appendingPathComponent("data.mdb"), 0o600)
    }

    /// Writes another format number into a closed store (tests of the format check).
    package static func setFormatForTesting(directory: String, version: Int) throws(CacheError) {
        var created: OpaquePointer?
        var rc = unsafe mdb_env_create(&created)
        guard rc == 0, let env = unsafe created else { throw CacheError("mdb_env_create", code: rc) }
        defer { unsafe mdb_env_close(env) }
        rc = unsafe mdb_env_set_maxdbs(env, UInt32(StateTable.allCases.count + 1))
        if rc == 0 { rc = unsafe mdb_env_open(env, directory, UInt32(MDB_NOTLS), 0o600) }
        var txn: OpaquePointer?
        if rc == 0 { rc = unsafe mdb_txn_begin(env, nil, 0, &txn) }
        guard rc == 0, let txn = unsafe txn else { throw CacheError("opening \(directory)", code: rc) }
        var meta: MDB_dbi = 0
        rc = unsafe mdb_dbi_open(txn, "meta", UInt32(MDB_CREATE), &meta)
        if rc == 0 { rc = unsafe LMDBEnvironment.put(txn, meta, Array("format".utf8), Array(String(version).utf8)) }
        guard rc == 0 else {
            unsafe mdb_txn_abort(txn)
            throw CacheError("writing the format", code: rc)
        }
        rc = unsafe mdb_txn_commit(txn)
        guard rc == 0 else { throw CacheError("committing the format", code: rc) }
    }

    /// Records per table (for `edgeauth state` and tests).
    public func counts() throws -> [StateTable: Int] {
        try read { reader in
            var counts: [StateTable: Int] = [:]
            for table in StateTable.allCases {
                var count = 0
                try reader.forEach(table) { _, _ in
                    count += 1
                    return true
                }
                counts[table] = count
            }
            return counts
        }
    }

    private final class Outcome<R>: @unchecked Sendable {
        var value: Result<R, any Error>?
    }

    @safe private final class Transaction: StateWriting {
        let txn: OpaquePointer
        let tables: [StateTable: MDB_dbi]
        static let maxKeyBytes = 511

        init(txn: OpaquePointer, tables: [StateTable: MDB_dbi]) {
            unsafe self.txn = txn
            self.tables = tables
        }

        private func dbi(_ table: StateTable) -> MDB_dbi { tables[table]! }

        private func check(_ key: [UInt8]) throws(CacheError) {
            guard !key.isEmpty, key.count <= Self.maxKeyBytes else { throw CacheError("a state key must be 1 to \(Self.maxKeyBytes) bytes") }
        }

        func get(_ table: StateTable, _ key: [UInt8]) throws -> [UInt8]? {
            try check(key)
            return unsafe LMDBEnvironment.get(txn, dbi(table), key) { unsafe Array($0) }
        }

        func forEach(_ table: StateTable, _ visit: ([UInt8], [UInt8]) throws -> Bool) throws {
            var cursor: OpaquePointer?
            var rc = unsafe mdb_cursor_open(txn, dbi(table), &cursor)
            guard rc == 0, let cursor = unsafe cursor else { throw CacheError("opening a cursor on \(table.rawValue)", code: rc) }
            defer { unsafe mdb_cursor_close(cursor) }
            var k = unsafe MDB_val(), v = unsafe MDB_val()
            rc = unsafe mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
            while rc == 0 {
                let key = unsafe Array(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size))
                let value = unsafe Array(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
                guard try visit(key, value) else { return }
                rc = unsafe mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
            }
            guard rc == MDB_NOTFOUND else { throw CacheError("reading \(table.rawValue)", code: rc) }
        }

        func put(_ table: StateTable, _ key: [UInt8], _ value: [UInt8]) throws {
            try check(key)
            let rc = unsafe LMDBEnvironment.put(txn, dbi(table), key, value)
            guard rc == 0 else { throw CacheError("writing to \(table.rawValue)", code: rc) }
        }

        func delete(_ table: StateTable, _ key: [UInt8]) throws -> Bool {
            try check(key)
            let rc = unsafe key.withUnsafeBytes { bytes in
                var k = unsafe MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                return unsafe mdb_del(txn, dbi(table), &k, nil)
            }
            if rc == MDB_NOTFOUND { return false }
            guard rc == 0 else { throw CacheError("deleting from \(table.rawValue)", code: rc) }
            return true
        }
    }
}
