import EdgeAuth
import EdgeAuthCache
import Foundation

extension AuthorizationServer {
    /// `/token`: the `authorization_code` and `refresh_token` grants (A2, A9, A11).
    /// - Parameter authorization: the request's `Authorization` header (`client_secret_basic`).
    public func token(_ parameters: [String: String], authorization: String?) async -> Result<JSONValue, OAuthError> {
        do {
            let client = try await authenticateClient(parameters, authorization: authorization)
            switch parameters["grant_type"] {
            case "authorization_code"?:
                return .success(try await exchangeCode(parameters, client: client))
            case "refresh_token"?:
                guard client.mayRefresh else { throw OAuthError(.unauthorizedClient, "this client is not registered for the refresh_token grant") }
                return .success(try await refresh(parameters, client: client))
            case nil:
                throw OAuthError(.invalidRequest, "grant_type is required")
            case let other?:
                throw OAuthError(.unsupportedGrantType, "grant_type \(ClientRegistration.shown(other)) is not supported (authorization_code, refresh_token)")
            }
        } catch let error as OAuthError {
            return .failure(error)
        } catch {
            return .failure(storeUnavailable(error))
        }
    }

    // MARK: Client authentication (A11)

    /// The client of a token or revocation request: `none` (a public client names itself),
    /// `client_secret_post` or `client_secret_basic`; secrets compared in constant time.
    func authenticateClient(_ parameters: [String: String], authorization: String?) async throws(OAuthError) -> ClientRecord {
        var clientID = parameters["client_id"]
        var secret = parameters["client_secret"]
        if let authorization, authorization.lowercased().hasPrefix("basic ") {
            guard secret == nil else { throw OAuthError(.invalidRequest, "use one client authentication method, not two") }
            guard let decoded = Data(base64Encoded: authorization.dropFirst(6).trimmingCharacters(in: .whitespaces)),
                  let text = String(validating: Array(decoded), as: UTF8.self), let colon = text.firstIndex(of: ":"),
                  let id = String(text[..<colon]).removingPercentEncoding, let password = String(text[text.index(after: colon)...]).removingPercentEncoding
            else { throw OAuthError(.invalidClient, "the Basic credentials are malformed") }
            guard clientID == nil || clientID == id else { throw OAuthError(.invalidRequest, "client_id differs from the Basic credentials") }
            clientID = id
            secret = password
        }
        guard let clientID, !clientID.isEmpty else { throw OAuthError(.invalidClient, "the request names no client (client_id or Basic credentials)") }
        guard let client = try await client(clientID) else { throw OAuthError(.invalidClient, "unknown client") }
        if let digest = client.secretDigest {
            guard let secret, Secrets.constantTimeEqual(Secrets.digest(secret), Array(hex: digest)) else {
                throw OAuthError(.invalidClient, "client authentication failed")
            }
        } else if secret != nil {
            throw OAuthError(.invalidClient, "this client was registered without a secret (token_endpoint_auth_method none)")
        }
        return client
    }

    // MARK: authorization_code (A2)

    /// What a grant's transaction decided: the answer, and the grants whose access tokens to
    /// refuse (revoked) or to note in the audit log (issued) once it is durable.
    private struct GrantOutcome: Sendable {
        var result: Result<JSONValue, OAuthError>
        var revoked: GrantRecord?
        var issued: GrantRecord?
    }

    private func exchangeCode(_ parameters: [String: String], client: ClientRecord) async throws -> JSONValue {
        guard let code = parameters["code"], !code.isEmpty, code.utf8.count <= 256 else { throw OAuthError(.invalidRequest, "code is required") }
        guard let verifier = parameters["code_verifier"] else { throw OAuthError(.invalidRequest, "code_verifier is required (PKCE)") }
        guard (43...128).contains(verifier.utf8.count), verifier.utf8.allSatisfy(Self.isUnreserved) else {
            throw OAuthError(.invalidRequest, "code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)")
        }
        let now = clock()
        let digest = Secrets.digestHex(code)
        let outcome = try await state.store.commit { writer -> GrantOutcome in
            func refuse(_ error: OAuthError) -> GrantOutcome { GrantOutcome(result: .failure(error)) }
            guard var record = try writer.record(CodeRecord.self, .codes, digest), record.clientID == client.clientID else {
                return refuse(OAuthError(.invalidGrant, "the authorization code is invalid"))
            }
            if let grantID = record.grantID {
                // A second exchange: the code leaked. Everything it issued is revoked (A2).
                var outcome = refuse(OAuthError(.invalidGrant, "the authorization code was already used; the tokens it issued are revoked"))
                outcome.revoked = try self.revokeGrant(grantID, reason: "code_replay", writer: writer, now: now)
                return outcome
            }
            guard record.expiresAt > now else {
                try writer.delete(.codes, digest)
                return refuse(OAuthError(.invalidGrant, "the authorization code has expired"))
            }
            // RFC 6749 §4.1.3: required, and identical, when the authorization request had one.
            guard parameters["redirect_uri"] == record.redirectURI || !record.redirectURIGiven && parameters["redirect_uri"] == nil else {
                return refuse(OAuthError(.invalidGrant, "redirect_uri does not match the authorization request"))
            }
            guard Secrets.constantTimeEqual(Array(Secrets.s256(verifier).utf8), Array(record.codeChallenge.utf8)) else {
                return refuse(OAuthError(.invalidGrant, "the code_verifier does not match the code_challenge (PKCE)"))
            }
            if let resource = parameters["resource"], resource != record.resource {
                return refuse(OAuthError(.invalidTarget, "resource does not match the authorization request"))
            }
            var grant = GrantRecord(id: Secrets.random(bytes: 18), clientID: client.clientID, user: record.user, scopes: record.scopes,
                                    resource: record.resource, createdAt: now, expiresAt: now + Int64(self.settings.lifetimes.refreshToken),
                                    current: [], previous: nil, accessTokens: [], revokedAt: nil)
            record.grantID = grant.id
            try writer.save(record, .codes, digest)
            let response = try self.issueTokens(&grant, client: client, scopes: record.scopes, nonce: record.nonce, rotate: true, writer: writer, now: now)
            try writer.save(grant, .grants, grant.id)
            return GrantOutcome(result: .success(response), issued: grant)
        }
        if let replayed = outcome.revoked { revokeIssuedAccessTokens(replayed, now: now) }
        if let issued = outcome.issued {
            audit.info("grant issued", metadata: ["event": "grant_issued", "grant": .string(issued.id), "client_id": .string(client.clientID),
                                                  "sub": .string(issued.user.subject), "scope": .string(issued.scopes.joined(separator: " "))])
        }
        return try outcome.result.get()
    }

    // MARK: refresh_token (A9)

    private func refresh(_ parameters: [String: String], client: ClientRecord) async throws -> JSONValue {
        guard let token = parameters["refresh_token"], !token.isEmpty, token.utf8.count <= 256 else { throw OAuthError(.invalidRequest, "refresh_token is required") }
        let now = clock()
        let digest = Secrets.digestHex(token)
        let outcome = try await state.store.commit { writer -> GrantOutcome in
            func refuse(_ error: OAuthError) -> GrantOutcome { GrantOutcome(result: .failure(error)) }
            guard let record = try writer.record(RefreshTokenRecord.self, .refreshTokens, digest),
                  var grant = try writer.record(GrantRecord.self, .grants, record.grantID), grant.clientID == client.clientID
            else { return refuse(OAuthError(.invalidGrant, "the refresh token is invalid")) }
            guard grant.revokedAt == nil else { return refuse(OAuthError(.invalidGrant, "the refresh token has been revoked")) }
            guard record.expiresAt > now, grant.expiresAt > now else { return refuse(OAuthError(.invalidGrant, "the refresh token has expired")) }
            let isCurrent = grant.current.contains(digest)
            // The token the current ones replaced stays usable until one of them is used:
            // a client whose response was lost, or that refreshes from two places, is not logged out.
            let isGrace = !isCurrent && grant.previous == digest && grant.current.count < Self.maxSiblingRefreshTokens
            guard isCurrent || isGrace else {
                // An older token again: it was stolen, or a copy of the client went astray. The family ends.
                var outcome = refuse(OAuthError(.invalidGrant, "the refresh token was already used; its grant is revoked"))
                outcome.revoked = try self.revokeGrant(grant.id, reason: "refresh_reuse", writer: writer, now: now)
                return outcome
            }
            var scopes = grant.scopes
            if let asked = Self.scopeList(parameters["scope"]) {
                guard Set(asked).isSubset(of: grant.scopes) else { return refuse(OAuthError(.invalidScope, "a refresh may only narrow the granted scope")) }
                scopes = asked
            }
            if let resource = parameters["resource"], resource != grant.resource {
                return refuse(OAuthError(.invalidTarget, "resource does not match the grant"))
            }
            if isCurrent, client.isPublic {
                // The used token becomes the previous one. Its unused siblings (issued from the
                // same previous token) are forgotten; the older tokens stay recorded until they
                // expire, so that presenting one again is recognised as reuse.
                for sibling in grant.current where sibling != digest { try writer.delete(.refreshTokens, sibling) }
                grant.previous = digest
                grant.current = []
            }
            let response = try self.issueTokens(&grant, client: client, scopes: scopes, nonce: nil, rotate: client.isPublic, writer: writer, now: now)
            try writer.save(grant, .grants, grant.id)
            return GrantOutcome(result: .success(response))
        }
        if let revoked = outcome.revoked { revokeIssuedAccessTokens(revoked, now: now) }
        return try outcome.result.get()
    }

    /// How many unused refresh tokens one previous token may produce (retries, two places).
    static let maxSiblingRefreshTokens = 4
    static let maxTrackedAccessTokens = 64

    /// The token response: an access token, a refresh token (rotated, for clients allowed
    /// to refresh), an ID token when `openid` was granted.
    private func issueTokens(_ grant: inout GrantRecord, client: ClientRecord, scopes: [String], nonce: String?, rotate: Bool,
                             writer: any StateWriting, now: Int64) throws -> JSONValue {
        let lifetime = Int64(settings.lifetimes.accessToken)
        let minted = try AccessTokenMinter.accessToken(keys: keys, issuer: issuer, audience: grant.resource, client: client.clientID, user: grant.user,
                                                       scopes: scopes, lifetime: lifetime, now: now)
        grant.accessTokens = grant.accessTokens.filter { $0.expiresAt > now }.suffix(Self.maxTrackedAccessTokens - 1) + [IssuedAccessToken(jti: minted.jti, expiresAt: now + lifetime)]
        var response: [String: JSONValue] = [
            "access_token": .string(minted.token), "token_type": "Bearer", "expires_in": .number(String(lifetime)),
            "scope": .string(scopes.joined(separator: " ")),
        ]
        if client.mayRefresh {
            if rotate {
                let refreshToken = Secrets.random(bytes: 32)
                let digest = Secrets.digestHex(refreshToken)
                grant.expiresAt = max(grant.expiresAt, now + Int64(settings.lifetimes.refreshToken))
                try writer.save(RefreshTokenRecord(grantID: grant.id, expiresAt: grant.expiresAt), .refreshTokens, digest)
                grant.current.append(digest)
                response["refresh_token"] = .string(refreshToken)
            }
        }
        if scopes.contains("openid") {
            response["id_token"] = .string(try AccessTokenMinter.idToken(keys: keys, issuer: issuer, client: client.clientID, user: grant.user, nonce: nonce,
                                                                        lifetime: lifetime, now: now))
        }
        return .object(response)
    }

    /// Marks a grant revoked and forgets its refresh tokens; returns it so that its access tokens are revoked after the commit.
    func revokeGrant(_ id: String, reason: String, writer: any StateWriting, now: Int64) throws -> GrantRecord? {
        guard let grant = try AuthorizationState.revokeGrant(id, writer: writer, now: now) else { return nil }
        audit.warning("grant revoked", metadata: ["event": "refresh_family_revoked", "grant": .string(id), "client_id": .string(grant.clientID),
                                                  "sub": .string(grant.user.subject), "reason": .string(reason)])
        return grant
    }

    func revokeIssuedAccessTokens(_ grant: GrantRecord, now: Int64) {
        for issued in grant.accessTokens where issued.expiresAt > now { revokeAccessToken(issued.jti, issued.expiresAt) }
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"): true
        default: false
        }
    }
}

extension Array where Element == UInt8 {
    /// Bytes from lowercase or uppercase hex (empty when it is not hex).
    init(hex: String) {
        var bytes: [UInt8] = []
        var high: UInt8?
        for byte in hex.utf8 {
            guard let value = JSONText.hexValue(byte) else { self = []; return }
            if let h = high { bytes.append(h << 4 | value); high = nil } else { high = value }
        }
        self = high == nil ? bytes : []
    }
}
