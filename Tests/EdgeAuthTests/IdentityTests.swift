import EdgeAuth
import EdgeAuthTesting
import Testing

@Suite("Identity from standard claims")
struct IdentityTests {
    static let factory = TokenFactory(key: SigningKey.hmac(secret: Array(repeating: 9, count: 32), kid: "h"), algorithm: .hs256)

    @Test("maps sub, email, name, username, picture, roles, permissions, scope, client, organization and times")
    func standardMapping() throws {
        let f = Self.factory
        let token = try f.token(claims: [
            "aud": [.string(f.audience), "https://issuer.example/userinfo"],
            "email": "alice@example.com", "name": "Alice", "preferred_username": "alice", "picture": "https://img.example/a.png",
            "roles": ["admin", "viewer"], "permissions": ["notes:read", "notes:delete"], "scope": "openid  notes:read notes:write",
            "azp": "client-azp", "org_id": "org_1", "jti": "t-1", "custom": ["nested": [1, 2]],
        ])
        let identity = try #require(try f.verifier().verify(token, now: f.now).identity)
        #expect(identity.id == "user-123")
        #expect(identity.email == "alice@example.com" && identity.name == "Alice" && identity.username == "alice")
        #expect(identity.picture == "https://img.example/a.png")
        #expect(identity.roles == ["admin", "viewer"])
        #expect(identity.permissions == ["notes:read", "notes:delete"])
        #expect(identity.scopes == ["openid", "notes:read", "notes:write"])
        #expect(identity.audience == [f.audience, "https://issuer.example/userinfo"])
        #expect(identity.clientId == "client-azp" && identity.organization == "org_1" && identity.tokenId == "t-1")
        #expect(identity.issuer == f.issuer && identity.expiresAt == f.now + 3600 && identity.issuedAt == f.now)
        #expect(identity.signatureVerified)
        #expect(identity.claims["custom"]?["nested"] == [1, 2])
        #expect(identity.jsonValue["roles"] == ["admin", "viewer"])
    }

    @Test("client_id wins over azp, and an scp array is used when scope is absent")
    func alternateClaims() throws {
        let f = Self.factory
        let token = try f.token(claims: ["client_id": "cid", "azp": "other", "scp": ["a", "b"]])
        let identity = try #require(try f.verifier().verify(token, now: f.now).identity)
        #expect(identity.clientId == "cid")
        #expect(identity.scopes == ["a", "b"])
        #expect(identity.email == nil && identity.roles.isEmpty)
    }
}
