internal import CLMDB
import Foundation

/// Data that MCP tools keep per user, shared by every worker process of a host: an LMDB
/// environment of its own (not the verdict cache, which may be dropped at any time), with
/// durable commits. Entries are keyed by the verified user and a name the tool chooses;
/// read-modify-write runs in one write transaction, so concurrent workers never lose an update.
@safe public final class UserDataStore: @unchecked Sendable {
    private let env: OpaquePointer
    private let dbi: MDB_dbi
    private let owner = getpid()
    /// Largest value a tool may store under one name.
    public static let maxValueBytes = 1 << 20
    static let maxKeyBytes = 511 // LMDB's default maximum key size

    /// Opens (creating when missing) the store in `directory`.
    public init(directory: String, mapSize: Int = 256 << 20) throws(CacheError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CacheError("creating \(directory): \(error.localizedDescription)")
        }
        var created: OpaquePointer?
        var rc = unsafe mdb_env_create(&created)
        guard rc == 0, let env = unsafe created else { throw CacheError("mdb_env_create", code: rc) }
        rc = unsafe mdb_env_set_mapsize(env, mapSize)
        if rc == 0 { rc = unsafe mdb_env_set_maxdbs(env, 1) }
        // MDB_NOTLS: Swift tasks hop threads between begin and end of a read.
        if rc == 0 { rc = unsafe mdb_env_open(env, directory, UInt32(MDB_NOTLS), 0o600) }
        guard rc == 0 else {
            unsafe mdb_env_close(env)
            throw CacheError("opening the user data in \(directory)", code: rc)
        }
        var dead: Int32 = 0
        _ = unsafe mdb_reader_check(env, &dead)
        var txn: OpaquePointer?
        var handle: MDB_dbi = 0
        rc = unsafe mdb_txn_begin(env, nil, 0, &txn)
        if rc == 0, let txn = unsafe txn {
            rc = unsafe mdb_dbi_open(txn, "user-data", UInt32(MDB_CREATE), &handle)
            if rc == 0 { rc = unsafe mdb_txn_commit(txn) } else { unsafe mdb_txn_abort(txn) }
        }
        guard rc == 0 else {
            unsafe mdb_env_close(env)
            throw CacheError("opening the user-data database", code: rc)
        }
        unsafe self.env = unsafe env
        self.dbi = handle
    }

    deinit {
        guard getpid() == owner else { return }
        unsafe mdb_env_close(env)
    }

    /// The value stored for `user` under `name`.
    public func value(user: String, name: String) throws(CacheError) -> [UInt8]? {
        let key = try Self.key(user: user, name: name)
        var txn: OpaquePointer?
        let rc = unsafe mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
        guard rc == 0, let txn = unsafe txn else { throw CacheError("starting a read transaction", code: rc) }
        defer { unsafe mdb_txn_abort(txn) }
        return unsafe LMDBEnvironment.get(txn, dbi, key) { unsafe Array($0) }
    }

    /// Reads the value for `user` under `name`, lets `body` change it (nil deletes), and
    /// writes it back atomically with respect to every other process.
    public func update<R>(user: String, name: String, _ body: (inout [UInt8]?) throws -> R) throws -> R {
        let key = try Self.key(user: user, name: name)
        var txn: OpaquePointer?
        var rc = unsafe mdb_txn_begin(env, nil, 0, &txn)
        guard rc == 0, let txn = unsafe txn else { throw CacheError("starting a write transaction", code: rc) }
        var committed = false
        defer { if !committed { unsafe mdb_txn_abort(txn) } }
        var value = unsafe LMDBEnvironment.get(txn, dbi, key) { unsafe Array($0) }
        let result = try body(&value)
        if let value {
            guard value.count <= Self.maxValueBytes else { throw CacheError("a user data value is limited to \(Self.maxValueBytes) bytes") }
            rc = unsafe LMDBEnvironment.put(txn, dbi, key, value)
        } else {
            rc = unsafe key.withUnsafeBytes { bytes in
                var k = unsafe MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                let deleted = unsafe mdb_del(txn, dbi, &k, nil)
                return deleted == MDB_NOTFOUND ? 0 : deleted
            }
        }
        guard rc == 0 else { throw CacheError("writing user data", code: rc) }
        rc = unsafe mdb_txn_commit(txn)
        committed = true
        guard rc == 0 else { throw CacheError("committing user data", code: rc) }
        return result
    }

    /// How many users have a value under `name`, and those values' total size.
    public func census(name: String) throws(CacheError) -> (users: Int, bytes: Int) {
        var txn: OpaquePointer?
        var rc = unsafe mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
        guard rc == 0, let txn = unsafe txn else { throw CacheError("starting a read transaction", code: rc) }
        defer { unsafe mdb_txn_abort(txn) }
        var cursor: OpaquePointer?
        rc = unsafe mdb_cursor_open(txn, dbi, &cursor)
        guard rc == 0, let cursor = unsafe cursor else { throw CacheError("opening a cursor", code: rc) }
        defer { unsafe mdb_cursor_close(cursor) }
        let suffix = [0] + Array(name.utf8)
        var users = 0, bytes = 0
        var k = unsafe MDB_val(), v = unsafe MDB_val()
        rc = unsafe mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
        while rc == 0 {
            let key = unsafe UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
            if key.count > suffix.count, unsafe key.suffix(suffix.count).elementsEqual(suffix) {
                users += 1
                unsafe bytes += v.mv_size
            }
            rc = unsafe mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
        }
        guard rc == MDB_NOTFOUND else { throw CacheError("reading user data", code: rc) }
        return (users, bytes)
    }

    /// `user` NUL `name`: neither may contain NUL, so no two pairs share a key.
    static func key(user: String, name: String) throws(CacheError) -> [UInt8] {
        guard !user.isEmpty, !name.isEmpty, !user.utf8.contains(0), !name.utf8.contains(0) else {
            throw CacheError("user data keys need a non-empty user and name without NUL")
        }
        let key = Array(user.utf8) + [0] + Array(name.utf8)
        guard key.count <= maxKeyBytes else { throw CacheError("user id and name together are limited to \(maxKeyBytes) bytes") }
        return key
    }
}
