import Foundation

/// The tables of the authorization server's durable state (docs/oauth-modes.md, "State store").
/// Keys and values are bytes; the records' meaning belongs to EdgeAuthOAuth.
public enum StateTable: String, Sendable, CaseIterable {
    /// Registered clients, by `client_id`.
    case clients
    /// Authorizations between `/authorize` and the redirect back to the client, by id.
    case pending
    /// Authorization codes, by the SHA-256 of the code.
    case codes
    /// Refresh tokens, by the SHA-256 of the token.
    case refreshTokens = "refresh-tokens"
    /// Grant families (one per authorization code, extended by every refresh), by id.
    case grants
    /// Remembered consent, by user and client.
    case consents
    /// Signing and consent keys, by id.
    case keys
    /// Fetched client metadata documents, by URL.
    case clientDocuments = "client-documents"
    /// Revoked access-token ids, by `jti`.
    case revocations
}

/// Durable, transactional state shared by every worker of a server: the authorization
/// server's clients, grants, consents and keys. Writes commit durably (a crash loses no
/// committed record); nothing here is rebuilt or evicted automatically.
/// The LMDB implementation is `LMDBStateStore`; another database can implement the same protocol.
public protocol StateStore: Sendable {
    /// Runs `body` in a read-only snapshot.
    func read<R>(_ body: (any StateReading) throws -> R) throws -> R
    /// Runs `body` in one write transaction, committed durably when it returns, rolled back when it throws.
    func write<R>(_ body: (any StateWriting) throws -> R) throws -> R
    /// The same, off the caller's thread, and grouped: the writes that arrive while a commit
    /// is being made to disk share the next commit (each still all or nothing), so the
    /// store's throughput is not the disk's synced-commit rate. `completion` is called on the
    /// store's writer thread once the write is durable, or failed: it must not block.
    func commit<R: Sendable>(_ body: @escaping @Sendable (any StateWriting) throws -> R,
                             completion: @escaping @Sendable (Result<R, any Error>) -> Void)
    /// Writes a consistent copy of the whole store into `directory` (which must exist and be empty), while it is in use.
    func backup(to directory: String) throws
}

public protocol StateReading {
    func get(_ table: StateTable, _ key: [UInt8]) throws -> [UInt8]?
    /// Calls `visit` with every record of `table` in key order, until it returns false.
    func forEach(_ table: StateTable, _ visit: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool) throws
}

public protocol StateWriting: StateReading {
    func put(_ table: StateTable, _ key: [UInt8], _ value: [UInt8]) throws
    /// Removes a record; true when it existed.
    @discardableResult func delete(_ table: StateTable, _ key: [UInt8]) throws -> Bool
}

extension StateStore {
    /// The grouped commit, awaited: returns once durable.
    public func commit<R: Sendable>(_ body: @escaping @Sendable (any StateWriting) throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in commit(body) { continuation.resume(with: $0) } }
    }
}

extension StateReading {
    public func get(_ table: StateTable, _ key: String) throws -> [UInt8]? { try get(table, Array(key.utf8)) }
}

extension StateWriting {
    public func put(_ table: StateTable, _ key: String, _ value: [UInt8]) throws { try put(table, Array(key.utf8), value) }
    @discardableResult public func delete(_ table: StateTable, _ key: String) throws -> Bool { try delete(table, Array(key.utf8)) }
}
