import EdgeAuth
import EdgeAuthCache
import Foundation

extension AuthorizationServer {
    /// `grant_type=refresh_token` (A9): rotation for public clients, the previous token
    /// accepted until one of its successors is used, an older one revoking the grant. The
    /// decision and the signing are made from a read; the commit confirms the grant is unchanged.
    func refresh(_ parameters: [String: String], client: ClientRecord, attemptsLeft: Int = AuthorizationServer.maxGrantAttempts, completion: @escaping TokenCompletion) {
        do {
            guard let token = parameters["refresh_token"], !token.isEmpty, token.utf8.count <= 256 else { throw OAuthError(.invalidRequest, "refresh_token is required") }
            let now = clock()
            let digest = Secrets.digestHex(token)
            let read = try state.store.read { reader -> (RefreshTokenRecord, [UInt8])? in
                guard let record = try reader.record(RefreshTokenRecord.self, .refreshTokens, digest),
                      let grant = try reader.get(.grants, record.grantID) else { return nil }
                return (record, grant)
            }
            guard let (record, stored) = read, var grant = try? AuthorizationState.decode(GrantRecord.self, stored), grant.clientID == client.clientID else {
                throw OAuthError(.invalidGrant, "the refresh token is invalid")
            }
            guard grant.revokedAt == nil else { throw OAuthError(.invalidGrant, "the refresh token has been revoked") }
            guard record.expiresAt > now, grant.expiresAt > now else { throw OAuthError(.invalidGrant, "the refresh token has expired") }
            let isCurrent = grant.current.contains(digest)
            // The token the current ones replaced stays usable until one of them is used:
            // a client whose response was lost, or that refreshes from two places, is not logged out.
            let isGrace = !isCurrent && grant.previous == digest && grant.current.count < Self.maxSiblingRefreshTokens
            guard isCurrent || isGrace else {
                // An older token again: it was stolen, or a copy of the client went astray. The family ends.
                return revokeFamily(grant.id, reason: "refresh_reuse", now: now,
                                    answering: OAuthError(.invalidGrant, "the refresh token was already used; its grant is revoked"), completion: completion)
            }
            var scopes = grant.scopes
            if let asked = Self.scopeList(parameters["scope"]) {
                guard Set(asked).isSubset(of: grant.scopes) else { throw OAuthError(.invalidScope, "a refresh may only narrow the granted scope") }
                scopes = asked
            }
            if let resource = parameters["resource"], resource != grant.resource {
                throw OAuthError(.invalidTarget, "resource does not match the grant")
            }
            var changes: [StateChange] = []
            if isCurrent, client.isPublic {
                // The used token becomes the previous one. Its unused siblings (issued from the
                // same previous token) are forgotten; the older tokens stay recorded until they
                // expire, so that presenting one again is recognised as reuse.
                changes += grant.current.filter { $0 != digest }.map { .delete(.refreshTokens, $0) }
                grant.previous = digest
                grant.current = []
            }
            let (response, issued) = try prepareTokens(&grant, client: client, scopes: scopes, nonce: nil, rotate: client.isPublic, now: now)
            commit(changes + issued, ifUnchanged: .grants, grant.id, expected: stored, response: response, attemptsLeft: attemptsLeft,
                   retry: { self.refresh(parameters, client: client, attemptsLeft: attemptsLeft - 1, completion: completion) },
                   busy: "the grant is being refreshed by another request; retry", completion: completion)
        } catch {
            completion(.failure(oauthError(error)))
        }
    }
}
