import EdgeAuthCache
import Foundation

extension AuthorizationServer {
    /// Deletions per grouped commit: a sweep never holds the store's write lock long enough
    /// to stall the grants of the other workers.
    static let sweepBatch = 500

    /// Removes what has expired: pending authorizations, codes, refresh tokens, grants,
    /// revocations, stale client documents and retired keys no token can need. The expired
    /// records are found in a read; each batch of them is deleted in a commit of its own,
    /// after checking that the record is still the one that was found. Returns how many.
    @discardableResult
    public func sweep() async throws -> Int {
        let now = clock()
        let publishFor = Int64(settings.lifetimes.accessToken)
        let expired: [(table: StateTable, key: String, value: [UInt8])] = try state.store.read { reader in
            var found: [(StateTable, String, [UInt8])] = []
            func collect<T: Decodable>(_ type: T.Type, _ table: StateTable, _ isExpired: (T) -> Bool) throws {
                try reader.forEach(table) { key, value in
                    if let record = try? AuthorizationState.decode(type, value), isExpired(record) {
                        found.append((table, String(decoding: key, as: UTF8.self), value))
                    }
                    return true
                }
            }
            try collect(PendingAuthorization.self, .pending) { $0.expiresAt <= now }
            // A used code is kept until it expires, so that a replay is recognised (A2).
            try collect(CodeRecord.self, .codes) { $0.expiresAt <= now }
            try collect(RefreshTokenRecord.self, .refreshTokens) { $0.expiresAt <= now }
            try collect(GrantRecord.self, .grants) { grant in
                grant.expiresAt <= now && grant.accessTokens.allSatisfy { $0.expiresAt <= now }
                    || (grant.revokedAt.map { $0 + publishFor <= now } ?? false)
            }
            try collect(RevocationRecord.self, .revocations) { $0.expiresAt <= now }
            try collect(ClientDocumentRecord.self, .clientDocuments) { $0.freshUntil + ClientMetadataDocuments.maxFreshness <= now }
            return found
        }
        var removed = 0
        var start = 0
        while start < expired.count {
            let batch = Array(expired[start..<min(start + Self.sweepBatch, expired.count)])
            removed += try await state.store.commit { writer in
                var count = 0
                // A record changed since the read (a refreshed grant) is no longer expired: kept.
                for record in batch where try writer.get(record.table, record.key) == record.value {
                    if try writer.delete(record.table, record.key) { count += 1 }
                }
                return count
            }
            start += Self.sweepBatch
        }
        removed += try await state.store.commit { writer in try ServerKeys.sweep(writer, publishFor: publishFor, now: now) }
        return removed
    }
}
