import EdgeAuth
import EdgeAuthCache
import Foundation

extension AuthorizationServer {
    /// `/revoke` (RFC 7009, A10): a refresh token ends its grant (and the access tokens it
    /// issued); an access token of this client is refused from then on. An unknown or
    /// invalid token is not an error (RFC 7009 §2.2), so nothing can be probed.
    /// - Parameter inspect: reads an access token this server signed (the verifier), or nil.
    public func revoke(_ parameters: [String: String], authorization: String?, inspect: (String) -> Identity?) async -> Result<Void, OAuthError> {
        do {
            let client = try await authenticateClient(parameters, authorization: authorization)
            guard let token = parameters["token"], !token.isEmpty else { throw OAuthError(.invalidRequest, "token is required") }
            let now = clock()
            let hint = parameters["token_type_hint"]
            if hint != "access_token", token.utf8.count <= 256 {
                let digest = Secrets.digestHex(token)
                let revoked: GrantRecord? = try await state.store.commit { writer in
                    guard let record = try writer.record(RefreshTokenRecord.self, .refreshTokens, digest),
                          let grant = try writer.record(GrantRecord.self, .grants, record.grantID), grant.clientID == client.clientID
                    else { return nil }
                    return try self.revokeGrant(grant.id, reason: "revocation_request", writer: writer, now: now)
                }
                if let revoked {
                    revokeIssuedAccessTokens(revoked, now: now)
                    return .success(())
                }
            }
            if let identity = inspect(token), identity.issuer == issuer, identity.clientId == client.clientID,
               let jti = identity.tokenId, let expiresAt = identity.expiresAt, expiresAt > now {
                try await state.store.commit { writer in try writer.save(RevocationRecord(expiresAt: expiresAt), .revocations, jti) }
                revokeAccessToken(jti, expiresAt)
                audit.info("access token revoked", metadata: ["event": "access_token_revoked", "client_id": .string(client.clientID), "jti": .string(jti)])
            }
            return .success(())
        } catch let error as OAuthError {
            return .failure(error)
        } catch {
            return .failure(storeUnavailable(error))
        }
    }

    /// The access tokens revoked and not yet expired: a starting worker tells its verifier.
    public func activeRevocations() throws -> [(jti: String, expiresAt: Int64)] {
        let now = clock()
        return try state.store.read { reader in
            try reader.records(RevocationRecord.self, .revocations).filter { $0.value.expiresAt > now }.map { ($0.key, $0.value.expiresAt) }
        }
    }
}
