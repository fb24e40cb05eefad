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
                       now: Int64) throws -> (response: JSONValue, changes: [StateChange]) {
        let lifetime = Int64(settings.lifetimes.accessToken)
        let minted = try AccessTokenMinter.accessToken(keys: keys, issuer: issuer, audience: grant.resource, client: client.clientID, user: grant.user,
                                                       scopes: scopes, lifetime: lifetime, now: now)
        grant.accessTokens = grant.accessTokens.filter { $0.expiresAt > now }.suffix(Self.maxTrackedAccessTokens - 1) + [IssuedAccessToken(jti: minted.jti, expiresAt: now + lifetime)]
        var response: [String: JSONValue] = [
            "access_token": .string(minted.token), "token_type": "Bearer", "expires_in": .number(String(lifetime)),
            "scope": .string(scopes.joined(separator: " ")),
        ]
        var changes: [StateChange] = []
        if client.mayRefresh, rotate {
            let refreshToken = Secrets.random(bytes: 32)
            let digest = Secrets.digestHex(refreshToken)
            grant.expiresAt = max(grant.expiresAt, now + Int64(settings.lifetimes.refreshToken))
            changes.append(try .put(RefreshTokenRecord(grantID: grant.id, expiresAt: grant.expiresAt), .refreshTokens, digest))
            grant.current.append(digest)
            response["refresh_token"] = .string(refreshToken)
        }
        if scopes.contains("openid") {
            response["id_token"] = .string(try AccessTokenMinter.idToken(keys: keys, issuer: issuer, client: client.clientID, user: grant.user, nonce: nonce,
                                                                        lifetime: lifetime, now: now))
        }
        changes.append(try .put(grant, .grants, grant.id))
        return (.object(response), changes)
    }

    /// Applies `changes` in one grouped commit if the record at `table`/`key` still holds
    /// `expected` (nil: absent); false when another request changed it first.
    func commit(_ changes: [StateChange], ifUnchanged table: StateTable, _ key: String, expected: [UInt8]?) async throws -> Bool {
        try await state.store.commit { writer in
            guard try writer.get(table, key) == expected else { return false }
            for change in changes { try change.apply(writer) }
            return true
        }
    }
}
