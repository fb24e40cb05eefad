import EdgeAuth
import EdgeAuthCache
import Foundation

/// A change to the state store decided before its transaction: the transaction itself only
/// checks that what the decision was based on is unchanged, then applies these.
struct StateChange: Sendable {
    enum Operation: Sendable {
        case put([UInt8])
        case delete
    }

    let table: StateTable
    let key: String
    let operation: Operation

    static func put(_ value: some Encodable, _ table: StateTable, _ key: String) throws -> StateChange {
        StateChange(table: table, key: key, operation: .put(try AuthorizationState.encode(value)))
    }

    static func delete(_ table: StateTable, _ key: String) -> StateChange {
        StateChange(table: table, key: key, operation: .delete)
    }

    func apply(_ writer: any StateWriting) throws {
        switch operation {
        case .put(let value): try writer.put(table, key, value)
        case .delete: _ = try writer.delete(table, key)
        }
    }
}

extension AuthorizationServer {
    /// How many unused refresh tokens one previous token may produce (retries, two places).
    static let maxSiblingRefreshTokens = 4
    static let maxTrackedAccessTokens = 64
    /// Attempts of a grant whose records changed between its read and its commit.
    static let maxGrantAttempts = 4

    /// The token response: an access token, a refresh token (rotated, for clients allowed to
    /// refresh), an ID token when `openid` was granted; signed here, outside any transaction,
    /// with the records to store once the transaction confirms the grant still stands.
    func prepareTokens(_ grant: inout GrantRecord, client: ClientRecord, scopes: [String], nonce: String?, rotate: Bool,
                       now: Int64) throws -> (response: [UInt8], changes: [StateChange]) {
        let lifetime = Int64(settings.lifetimes.accessToken)
        let minted = try AccessTokenMinter.accessToken(keys: keys, issuer: issuer, audience: grant.resource, client: client.clientID, user: grant.user,
                                                       scopes: scopes, lifetime: lifetime, now: now)
        grant.accessTokens = grant.accessTokens.filter { $0.expiresAt > now }.suffix(Self.maxTrackedAccessTokens - 1) + [IssuedAccessToken(jti: minted.jti, expiresAt: now + lifetime)]
        var response = JSONObjectWriter(capacity: minted.token.count + 256)
        response.string("access_token", utf8: minted.token)
        response.string("token_type", "Bearer")
        response.integer("expires_in", lifetime)
        response.string("scope", scopes.joined(separator: " "))
        var changes: [StateChange] = []
        if client.mayRefresh, rotate {
            let refreshToken = Secrets.random(bytes: 32)
            let digest = Secrets.digestHex(refreshToken)
            grant.expiresAt = max(grant.expiresAt, now + Int64(settings.lifetimes.refreshToken))
            changes.append(try .put(RefreshTokenRecord(grantID: grant.id, expiresAt: grant.expiresAt), .refreshTokens, digest))
            grant.current.append(digest)
            response.string("refresh_token", refreshToken)
        }
        if scopes.contains("openid") {
            response.string("id_token", utf8: try AccessTokenMinter.idToken(keys: keys, issuer: issuer, client: client.clientID, user: grant.user, nonce: nonce,
                                                                           lifetime: lifetime, now: now))
        }
        changes.append(try .put(grant, .grants, grant.id))
        return (response.finished(), changes)
    }

    /// Applies `changes` in one grouped commit if the record at `table`/`key` still holds
    /// `expected` (nil: absent). Then answers `response`; when another request changed the
    /// record first, runs `retry` (at most `maxGrantAttempts` in all), after that answers `busy`.
    func commit(_ changes: [StateChange], ifUnchanged table: StateTable, _ key: String, expected: [UInt8]?, response: [UInt8],
                attemptsLeft: Int, retry: @escaping @Sendable () -> Void, busy: String, completion: @escaping TokenCompletion) {
        state.store.commit({ writer in
            guard try writer.get(table, key) == expected else { return false }
            for change in changes { try change.apply(writer) }
            return true
        }) { result in
            switch result {
            case .success(true): completion(.success(response))
            case .success(false) where attemptsLeft > 1: retry()
            case .success(false): completion(.failure(OAuthError(.temporarilyUnavailable, busy)))
            case .failure(let error): completion(.failure(self.storeUnavailable(error)))
            }
        }
    }
}
