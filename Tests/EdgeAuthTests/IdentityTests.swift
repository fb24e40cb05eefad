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
        #expect(identity.jsonText == identity.jsonValue.jsonText, "the direct writer and the generic one agree")
        let sparse = Identity(id: "quote\"and\\back\u{1}slash\n\t\r é ✓", issuer: "https://i.example/")
        #expect(sparse.jsonText == sparse.jsonValue.jsonText && (try? JSONValue.parse(sparse.jsonText)) == sparse.jsonValue)
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

@Suite("Identity storage")
struct IdentityStorageTests {
    static let factory = IdentityTests.factory

    @Test("escaped strings are stored unescaped; lists accept a single string; scopes split on any run of spaces")
    func escapesAndShapes() throws {
        let f = Self.factory
        let token = try f.token(claims: [
            "name": "Zo\u{00EB} \"Z\" \\ \u{1F600}", "roles": "admin", "permissions": [1, "p:1", .null, "p\u{0000}2"],
            "scope": "  a  b ", "jti": "j/1",
        ])
        let identity = try #require(try f.verifier().verify(token, now: f.now).identity)
        #expect(identity.name == "Zo\u{00EB} \"Z\" \\ \u{1F600}")
        #expect(identity.roles == ["admin"])
        #expect(identity.permissions == ["p:1", "p\u{0000}2"])
        #expect(identity.scopes == ["a", "b"])
        #expect(identity.hasRole("admin") && !identity.hasRole("Admin") && !identity.hasRole("admi"))
        #expect(identity.hasPermission("p\u{0000}2") && !identity.hasPermission("p"))
        #expect(identity.hasScope("b"[...]) && !identity.hasScope(""))
        #expect(identity.hasAudience(f.audience))
    }

    @Test("lists longer than the planned entries, empty strings and plain values read back whole")
    func manyEntries() throws {
        let roles = (0..<150).map { "role-\($0)" }
        let payload = #"{"sub":"","iss":"i","roles":["# + roles.map { "\"\($0)\"" }.joined(separator: ",")
            + #"],"permissions":["","p"],"scope":"a b c","exp":1}"#
        let identity = try Identity(standardClaimsOfPayload: Array(payload.utf8))
        #expect(identity.roles == roles)
        #expect(identity.permissions == ["", "p"])
        #expect(identity.scopes == ["a", "b", "c"])
        #expect(identity.id == "" && identity.issuer == "i" && identity.email == nil)
        let short = try Identity(standardClaimsOfPayload: Array(#"{"sub":"s","roles":["","r"],"permissions":"p","exp":1}"#.utf8))
        #expect(short.roles == ["", "r"] && short.permissions == ["p"] && short.id == "s")
    }

    @Test("an identity built from values reads back the same values")
    func fromValues() throws {
        let identity = Identity(
            id: "u1", email: "e@x", name: nil, roles: ["r 1", "r2"], permissions: ["p"], scopes: ["s 1", "s2"],
            issuer: "https://iss/", audience: ["a"], expiresAt: 10, issuedAt: 5, clientId: "c", organization: "o",
            tokenId: "t", signatureVerified: false
        )
        #expect(identity.id == "u1" && identity.email == "e@x" && identity.name == nil)
        #expect(identity.roles == ["r 1", "r2"] && identity.permissions == ["p"] && identity.scopes == ["s 1", "s2"])
        #expect(identity.issuer == "https://iss/" && identity.audience == ["a"])
        #expect(identity.expiresAt == 10 && identity.issuedAt == 5)
        #expect(identity.clientId == "c" && identity.organization == "o" && identity.tokenId == "t")
        #expect(!identity.signatureVerified)
        #expect(identity == Identity(
            id: "u1", email: "e@x", roles: ["r 1", "r2"], permissions: ["p"], scopes: ["s 1", "s2"],
            issuer: "https://iss/", audience: ["a"], expiresAt: 10, issuedAt: 5, clientId: "c", organization: "o",
            tokenId: "t", signatureVerified: false
        ))
        #expect(identity != Identity(id: "u2", issuer: "https://iss/"))
    }

    @Test("a payload that breaks the token rules is refused when mapping a document directly")
    func documentRules() {
        #expect(throws: Reason.malformed(.duplicateMember)) {
            try Identity(standardClaimsOfPayload: Array(#"{"sub":"a","sub":"b"}"#.utf8))
        }
        #expect(throws: Reason.invalidClaim("exp")) {
            try Identity(standardClaimsOfPayload: Array(#"{"sub":"a","exp":"soon"}"#.utf8))
        }
    }
}
