import EdgeAuth
import EdgeAuthCache
import Foundation

/// Typed records over a `StateStore`: each table's key and JSON encoding in one place.
struct AuthorizationState: Sendable {
    let store: any StateStore

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        if let record = value as? any StateRecord { return record.encoded }
        return Array(try encoder.encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]?) throws -> T? {
        guard let bytes else { return nil }
        if let recordType = type as? any StateRecord.Type {
            let document = try JSONValue.parse(bytes, limits: JSONLimits(maxDepth: 8, maxMembers: 4096))
            return try recordType.init(document: document) as? T
        }
        return try JSONDecoder().decode(type, from: Data(bytes))
    }

    static func consentKey(user: String, clientID: String) -> String { user + "\u{0}" + clientID }

    /// Marks a grant revoked, forgets its refresh tokens and records its live access tokens
    /// as revoked; returns the grant (nil when absent or revoked already).
    static func revokeGrant(_ id: String, writer: any StateWriting, now: Int64) throws -> GrantRecord? {
        guard var grant = try writer.record(GrantRecord.self, .grants, id), grant.revokedAt == nil else { return nil }
        grant.revokedAt = now
        for digest in grant.current + (grant.previous.map { [$0] } ?? []) { try writer.delete(.refreshTokens, digest) }
        grant.current = []
        grant.previous = nil
        try writer.save(grant, .grants, id)
        for issued in grant.accessTokens where issued.expiresAt > now {
            try writer.save(RevocationRecord(expiresAt: issued.expiresAt), .revocations, issued.jti)
        }
        return grant
    }
}

/// Typed reads and writes inside one transaction.
extension StateReading {
    func record<T: Decodable>(_ type: T.Type, _ table: StateTable, _ key: String) throws -> T? {
        try AuthorizationState.decode(type, try get(table, key))
    }

    func records<T: Decodable>(_ type: T.Type, _ table: StateTable) throws -> [(key: String, value: T)] {
        var out: [(String, T)] = []
        try forEach(table) { key, value in
            if let decoded = try? AuthorizationState.decode(type, value) { out.append((String(decoding: key, as: UTF8.self), decoded)) }
            return true
        }
        return out
    }
}

extension StateWriting {
    func save(_ value: some Encodable, _ table: StateTable, _ key: String) throws {
        try put(table, key, try AuthorizationState.encode(value))
    }
}
