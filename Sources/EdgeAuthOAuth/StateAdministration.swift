import EdgeAuthCache
import Foundation
import Logging

/// What operators see and do in the state store (`edgeauth clients|grants|consents`): list
/// records and revoke them. Revoking a grant ends its refresh tokens at once and records its
/// access tokens as revoked; `revokedAccessTokens` tells the caller which ones to refuse in
/// the verdict cache too. Every change is written to the audit log.
public struct StateAdministration: Sendable {
    let state: AuthorizationState
    let clock: @Sendable () -> Int64
    let audit = Logger(label: "edgeauth.oauth.audit")

    public init(store: any StateStore, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        state = AuthorizationState(store: store)
        self.clock = clock
    }

    /// The access tokens a revocation ended, with their expiry.
    public typealias RevokedAccessTokens = [(jti: String, expiresAt: Int64)]

    public func clients() throws -> [ClientRecord] {
        try state.store.read { reader in try reader.records(ClientRecord.self, .clients).map(\.value) }.sorted { $0.createdAt < $1.createdAt }
    }

    /// Grants not revoked nor expired, of one user or all.
    public func grants(user: String? = nil) throws -> [GrantRecord] {
        let now = clock()
        return try state.store.read { reader in try reader.records(GrantRecord.self, .grants).map(\.value) }
            .filter { $0.revokedAt == nil && ($0.expiresAt > now || $0.accessTokens.contains { $0.expiresAt > now }) && (user == nil || $0.user.subject == user) }
            .sorted { $0.createdAt < $1.createdAt }
    }

    public func consents(user: String? = nil) throws -> [ConsentRecord] {
        try state.store.read { reader in try reader.records(ConsentRecord.self, .consents).map(\.value) }
            .filter { user == nil || $0.user == user }.sorted { $0.decidedAt < $1.decidedAt }
    }

    /// Removes a registered client and revokes every grant it holds; false when there is no such client.
    public func revokeClient(_ clientID: String) throws -> (found: Bool, revoked: RevokedAccessTokens) {
        let now = clock()
        let outcome = try state.store.write { writer -> (Bool, RevokedAccessTokens) in
            let found = try writer.delete(.clients, clientID)
            var revoked: RevokedAccessTokens = []
            for (id, grant) in try writer.records(GrantRecord.self, .grants) where grant.clientID == clientID && grant.revokedAt == nil {
                revoked += try Self.revokeGrant(id, writer: writer, now: now)
            }
            for (key, consent) in try writer.records(ConsentRecord.self, .consents) where consent.clientID == clientID {
                try writer.delete(.consents, key)
            }
            return (found, revoked)
        }
        if outcome.0 { audit.notice("client revoked", metadata: ["event": "client_revoked", "client_id": .string(clientID)]) }
        return outcome
    }

    /// Revokes the grants of a user (every client), or one grant by id.
    public func revokeGrants(user: String? = nil, grantID: String? = nil) throws -> (grants: Int, revoked: RevokedAccessTokens) {
        let now = clock()
        let outcome = try state.store.write { writer -> (Int, RevokedAccessTokens) in
            var count = 0
            var revoked: RevokedAccessTokens = []
            for (id, grant) in try writer.records(GrantRecord.self, .grants) where grant.revokedAt == nil {
                guard (user.map { grant.user.subject == $0 } ?? true), (grantID.map { id == $0 } ?? true) else { continue }
                revoked += try Self.revokeGrant(id, writer: writer, now: now)
                count += 1
            }
            return (count, revoked)
        }
        audit.notice("grants revoked", metadata: ["event": "refresh_family_revoked", "reason": "operator", "sub": .string(user ?? ""),
                                                  "grant": .string(grantID ?? ""), "count": .stringConvertible(outcome.0)])
        return outcome
    }

    /// Forgets remembered consent (the next login asks again); returns how many records.
    public func revokeConsents(user: String? = nil, clientID: String? = nil) throws -> Int {
        let count = try state.store.write { writer -> Int in
            var count = 0
            for (key, consent) in try writer.records(ConsentRecord.self, .consents) {
                guard (user.map { consent.user == $0 } ?? true), (clientID.map { consent.clientID == $0 } ?? true) else { continue }
                if try writer.delete(.consents, key) { count += 1 }
            }
            return count
        }
        audit.notice("consent revoked", metadata: ["event": "consent", "decision": "revoked", "sub": .string(user ?? ""),
                                                   "client_id": .string(clientID ?? ""), "count": .stringConvertible(count)])
        return count
    }

    private static func revokeGrant(_ id: String, writer: any StateWriting, now: Int64) throws -> RevokedAccessTokens {
        let grant = try AuthorizationState.revokeGrant(id, writer: writer, now: now)
        return grant?.accessTokens.filter { $0.expiresAt > now }.map { ($0.jti, $0.expiresAt) } ?? []
    }
}
