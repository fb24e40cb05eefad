import EdgeAuth
import EdgeAuthCache
import Foundation

extension AuthorizationServer {
    /// `grant_type=authorization_code` (A2): the code is checked and the tokens signed from a
    /// read of the store; the commit only confirms the code is still unused and stores the grant.
    func exchangeCode(_ parameters: [String: String], client: ClientRecord, attemptsLeft: Int = AuthorizationServer.maxGrantAttempts, completion: @escaping TokenCompletion) {
        do {
            guard let code = parameters["code"], !code.isEmpty, code.utf8.count <= 256 else { throw OAuthError(.invalidRequest, "code is required") }
            guard let verifier = parameters["code_verifier"] else { throw OAuthError(.invalidRequest, "code_verifier is required (PKCE)") }
            guard (43...128).contains(verifier.utf8.count), verifier.utf8.allSatisfy(Self.isUnreserved) else {
                throw OAuthError(.invalidRequest, "code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)")
            }
            let now = clock()
            let digest = Secrets.digestHex(code)
            let stored = try state.store.read { reader in try reader.get(.codes, digest) }
            guard let stored, var record = try? AuthorizationState.decode(CodeRecord.self, stored), record.clientID == client.clientID else {
                throw OAuthError(.invalidGrant, "the authorization code is invalid")
            }
            if let grantID = record.grantID {
                // A second exchange: the code leaked. Everything it issued is revoked (A2).
                return revokeFamily(grantID, reason: "code_replay", now: now,
                                    answering: OAuthError(.invalidGrant, "the authorization code was already used; the tokens it issued are revoked"),
                                    completion: completion)
            }
            guard record.expiresAt > now else {
                return state.store.commit({ writer in
                    if try writer.get(.codes, digest) == stored { try writer.delete(.codes, digest) }
                }) { result in
                    switch result {
                    case .success: completion(.failure(OAuthError(.invalidGrant, "the authorization code has expired")))
                    case .failure(let error): completion(.failure(self.storeUnavailable(error)))
                    }
                }
            }
            // RFC 6749 §4.1.3: required, and identical, when the authorization request had one.
            guard parameters["redirect_uri"] == record.redirectURI || !record.redirectURIGiven && parameters["redirect_uri"] == nil else {
                throw OAuthError(.invalidGrant, "redirect_uri does not match the authorization request")
            }
            guard Secrets.constantTimeEqual(Array(Secrets.s256(verifier).utf8), Array(record.codeChallenge.utf8)) else {
                throw OAuthError(.invalidGrant, "the code_verifier does not match the code_challenge (PKCE)")
            }
            if let resource = parameters["resource"], resource != record.resource {
                throw OAuthError(.invalidTarget, "resource does not match the authorization request")
            }
            var grant = GrantRecord(id: Secrets.random(bytes: 18), clientID: client.clientID, user: record.user, scopes: record.scopes,
                                    resource: record.resource, createdAt: now, expiresAt: now + Int64(settings.lifetimes.refreshToken),
                                    current: [], previous: nil, accessTokens: [], revokedAt: nil)
            let (response, changes) = try prepareTokens(&grant, client: client, scopes: record.scopes, nonce: record.nonce, rotate: true, now: now)
            // The code is kept, marked used, until it expires: a replay is recognised (A2).
            record.grantID = grant.id
            let issued = grant
            commit(changes + [try .put(record, .codes, digest)], ifUnchanged: .codes, digest, expected: stored, response: response, attemptsLeft: attemptsLeft,
                   retry: { self.exchangeCode(parameters, client: client, attemptsLeft: attemptsLeft - 1, completion: completion) },
                   busy: "the authorization code is being exchanged by another request") { result in
                // Answered first: the audit line is written on the commit's thread, which other grants wait for.
                completion(result)
                if case .success = result {
                    self.audit.info("grant issued", metadata: ["event": "grant_issued", "grant": .string(issued.id), "client_id": .string(client.clientID),
                                                               "sub": .string(issued.user.subject), "scope": .string(issued.scopes.joined(separator: " "))])
                }
            }
        } catch {
            completion(.failure(oauthError(error)))
        }
    }
}
