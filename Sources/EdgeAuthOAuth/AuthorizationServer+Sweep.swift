import EdgeAuthCache
import Foundation

extension AuthorizationServer {
    /// Removes what has expired: pending authorizations, codes, refresh tokens, grants,
    /// revocations, stale client documents and retired keys no token can need. Returns how many.
    @discardableResult
    public func sweep() throws -> Int {
        let now = clock()
        let publishFor = Int64(settings.lifetimes.accessToken)
        return try state.store.write { writer in
            var removed = 0
            func drop<T: Decodable>(_ type: T.Type, _ table: StateTable, _ expired: (T) -> Bool) throws {
                for (key, record) in try writer.records(type, table) where expired(record) {
                    if try writer.delete(table, key) { removed += 1 }
                }
            }
            try drop(PendingAuthorization.self, .pending) { $0.expiresAt <= now }
            // A used code is kept until it expires, so that a replay is recognised (A2).
            try drop(CodeRecord.self, .codes) { $0.expiresAt <= now }
            try drop(RefreshTokenRecord.self, .refreshTokens) { $0.expiresAt <= now }
            try drop(GrantRecord.self, .grants) { grant in
                grant.expiresAt <= now && grant.accessTokens.allSatisfy { $0.expiresAt <= now }
                    || (grant.revokedAt.map { $0 + publishFor <= now } ?? false)
            }
            try drop(RevocationRecord.self, .revocations) { $0.expiresAt <= now }
            try drop(ClientDocumentRecord.self, .clientDocuments) { $0.freshUntil + ClientMetadataDocuments.maxFreshness <= now }
            removed += try ServerKeys.sweep(writer, publishFor: publishFor, now: now)
            return removed
        }
    }
}
