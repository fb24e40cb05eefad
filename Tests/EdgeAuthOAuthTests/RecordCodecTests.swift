import EdgeAuth
@testable import EdgeAuthOAuth
import Foundation
import Testing

@Suite("state records: EdgeAuth's JSON and Foundation's coders read each other's records")
struct RecordCodecTests {
    static let user = AuthenticatedUser(subject: "alice", roles: ["admin"], permissions: ["notes:delete"], scopes: ["notes:read"], email: "a@example.com")

    func roundTrip<T: Codable & StateRecord & Equatable>(_ value: T) throws {
        let ours = value.encoded
        let foundations = Array(try JSONEncoder().encode(value))
        #expect(try JSONDecoder().decode(T.self, from: Data(ours)) == value)
        #expect(try T(document: try JSONValue.parse(foundations)) == value)
        #expect(try T(document: try JSONValue.parse(ours)) == value)
        #expect(try AuthorizationState.decode(T.self, try AuthorizationState.encode(value)) == value)
    }

    @Test("codes, grants, refresh tokens and clients")
    func records() throws {
        try roundTrip(CodeRecord(clientID: "c", redirectURI: "http://127.0.0.1/cb", redirectURIGiven: true, codeChallenge: "x", user: Self.user,
                                 scopes: ["notes:read"], resource: "http://127.0.0.1:8080/mcp", nonce: nil, expiresAt: 1_800_000_000, grantID: "g"))
        try roundTrip(GrantRecord(id: "g", clientID: "c", user: Self.user, scopes: ["openid"], resource: "r", createdAt: 1, expiresAt: 2, current: ["d1", "d2"],
                                  previous: nil, accessTokens: [IssuedAccessToken(jti: "j", expiresAt: 3)], revokedAt: 4))
        try roundTrip(RefreshTokenRecord(grantID: "g", expiresAt: 5))
        try roundTrip(ClientRecord(clientID: "ea_1", secretDigest: nil, name: "Client \"quoted\" é", redirectURIs: ["https://a.example/cb"],
                                   grantTypes: ["authorization_code"], tokenEndpointAuthMethod: "none", applicationType: "web", scope: nil,
                                   createdAt: 6, registeredFrom: "::1", documentHost: nil))
    }

    @Test("a damaged record is an error, not a default")
    func damaged() {
        #expect(throws: RecordError.self) { try RefreshTokenRecord(document: ["grantID": "g"]) }
        #expect(throws: RecordError.self) { try RefreshTokenRecord(document: ["grantID": "g", "expiresAt": "soon"]) }
    }
}
