import EdgeAuth
import EdgeAuthTesting
import Foundation
import Testing

/// Every provider against a loopback server that serves the provider's own paths (JWKS,
/// discovery), configured the way users configure it (environment variables), with tokens
/// laid out like the provider's real access tokens (docs/providers/*.md).
@Suite("Providers against a loopback identity provider")
struct ProviderLoopbackTests {
    static let rsa = try! SigningKey.generate(.rsa(bits: 2048), kid: "rsa-1")
    static let ec = try! SigningKey.generate(.ec(.p256), kid: "ec-1")
    static let secret = String(repeating: "s", count: 40)
    static let now: Int64 = 1_800_000_000

    static func jwks(_ key: SigningKey, _ algorithm: Algorithm) -> StaticHTTPServer.Route {
        .init(body: Array(JSONValue.object(["keys": [try! key.publicJWK(alg: algorithm)]]).jsonText.utf8))
    }

    /// The server: each provider's JWKS (and discovery) path.
    static func server() async throws -> StaticHTTPServer {
        try await StaticHTTPServer { port in
            let base = "http://127.0.0.1:\(port)"
            let discovery: JSONValue = ["issuer": .string(base + "/custom"), "jwks_uri": .string(base + "/custom/keys")]
            return [
                "/.well-known/jwks.json": jwks(rsa, .rs256),  // Auth0
                "/oauth2/jwks": jwks(rsa, .rs256),  // WorkOS
                "/auth/v1/.well-known/jwks.json": jwks(ec, .es256),  // Supabase
                "/realms/acme/protocol/openid-connect/certs": jwks(rsa, .rs256),  // Keycloak
                "/custom/.well-known/openid-configuration": .init(body: Array(discovery.jsonText.utf8)),
                "/custom/keys": jwks(ec, .es256),
            ]
        }
    }

    static func verifier(_ environment: [String: String]) async throws -> Verifier {
        try await VerifierConfiguration.fromEnvironment(environment).makeVerifier()
    }

    static func token(_ key: SigningKey, _ algorithm: Algorithm, _ claims: [String: JSONValue]) throws -> String {
        var all: [String: JSONValue] = ["iat": .number(String(now - 60)), "exp": .number(String(now + 3600))]
        for (name, value) in claims { all[name] = value }
        var header: [String: JSONValue] = ["alg": .string(algorithm.name), "typ": "JWT"]
        if let kid = key.kid { header["kid"] = .string(kid) }  // Supabase's legacy HS256 tokens have none
        return try TokenFactory(key: key, algorithm: algorithm).rawToken(header: JSONValue.object(header).jsonText, payload: JSONValue.object(all).jsonText)
    }

    @Test("Auth0: RS256 from the tenant's JWKS; roles from the namespaced claim; the issuer needs its trailing slash")
    func auth0() async throws {
        let server = try await Self.server()
        defer { Task { try? await server.stop() } }
        let verifier = try await Self.verifier([
            "MCP_USE_OAUTH_AUTH0_DOMAIN": server.baseURL, "MCP_USE_OAUTH_AUTH0_AUDIENCE": "https://api.acme.example",
            "EDGEAUTH_AUTH0_ROLES_CLAIM": "https://acme.example/roles",
        ])
        var claims: [String: JSONValue] = [
            "iss": .string(server.baseURL + "/"), "sub": "auth0|6651f0c2a5b8e3d4f7a90b12",
            "aud": ["https://api.acme.example", .string(server.baseURL + "/userinfo")], "azp": "q7bKd2LmN9pRs4TvW8yZa1Bc3De5FgHj",
            "scope": "openid profile email read:tools", "permissions": ["read:tools", "call:tools"], "https://acme.example/roles": ["admin"],
        ]
        let identity = try #require(verifier.verify(try Self.token(Self.rsa, .rs256, claims), now: Self.now).identity)
        #expect(identity.id == "auth0|6651f0c2a5b8e3d4f7a90b12" && identity.roles == ["admin"] && identity.clientId == "q7bKd2LmN9pRs4TvW8yZa1Bc3De5FgHj")
        #expect(identity.permissions == ["read:tools", "call:tools"] && identity.scopes == ["openid", "profile", "email", "read:tools"])
        #expect(server.requests("/.well-known/jwks.json") == 1)

        claims["iss"] = .string(server.baseURL)
        #expect(verifier.verify(try Self.token(Self.rsa, .rs256, claims), now: Self.now).reason?.code == "wrongIssuer")
        claims["iss"] = .string(server.baseURL + "/")
        claims["aud"] = "https://other-api.example"
        #expect(verifier.verify(try Self.token(Self.rsa, .rs256, claims), now: Self.now).reason?.code == "wrongAudience")
    }

    @Test("WorkOS: RS256 from /oauth2/jwks; role, organization and permissions; the client id as audience")
    func workOS() async throws {
        let server = try await Self.server()
        defer { Task { try? await server.stop() } }
        let verifier = try await Self.verifier(["EDGEAUTH_WORKOS_DOMAIN": server.baseURL, "MCP_USE_OAUTH_WORKOS_CLIENT_ID": "client_01HXYZ"])
        let claims: [String: JSONValue] = [
            "iss": .string(server.baseURL), "sub": "user_01HXYZABC", "sid": "session_01HXYZ", "org_id": "org_01HXYZ",
            "role": "member", "permissions": ["posts:read"], "jti": "01HXYZJTI", "aud": "client_01HXYZ",
        ]
        let identity = try #require(verifier.verify(try Self.token(Self.rsa, .rs256, claims), now: Self.now).identity)
        #expect(identity.id == "user_01HXYZABC" && identity.roles == ["member"] && identity.organization == "org_01HXYZ")
        #expect(identity.permissions == ["posts:read"] && identity.tokenId == "01HXYZJTI")
        var other = claims
        other["aud"] = "client_other"
        #expect(verifier.verify(try Self.token(Self.rsa, .rs256, other), now: Self.now).reason?.code == "wrongAudience")
        other["aud"] = "client_01HXYZ"
        other["iss"] = "https://api.workos.com"
        #expect(verifier.verify(try Self.token(Self.rsa, .rs256, other), now: Self.now).reason?.code == "wrongIssuer")
    }

    @Test("Supabase: ES256 from the project's JWKS and HS256 with the JWT secret; anon refused; roles from app_metadata only")
    func supabase() async throws {
        let server = try await Self.server()
        defer { Task { try? await server.stop() } }
        let verifier = try await Self.verifier(["EDGEAUTH_SUPABASE_URL": server.baseURL, "EDGEAUTH_SUPABASE_JWT_SECRET": Self.secret])
        let hmac = SigningKey.hmac(secret: Array(Self.secret.utf8))
        var claims: [String: JSONValue] = [
            "iss": .string(server.baseURL + "/auth/v1"), "sub": "7d0e2f6a-3c1b-4e8f-9a2d-5b6c7d8e9f01", "aud": "authenticated",
            "email": "ada@example.com", "phone": "", "role": "authenticated", "aal": "aal1", "amr": [["method": "password", "timestamp": 1_799_999_000]],
            "session_id": "c2b8d1f0-1111-2222-3333-444455556666", "is_anonymous": false,
            "app_metadata": ["provider": "email", "roles": ["editor"]], "user_metadata": ["roles": ["admin"]],
        ]
        for (key, algorithm) in [(Self.ec, Algorithm.es256), (hmac, .hs256)] {
            let identity = try #require(verifier.verify(try Self.token(key, algorithm, claims), now: Self.now).identity, "\(algorithm.name)")
            #expect(identity.roles == ["editor"] && identity.email == "ada@example.com")
        }
        claims["role"] = "anon"
        #expect(verifier.verify(try Self.token(Self.ec, .es256, claims), now: Self.now).reason == .claimValueNotAllowed(claim: "role", value: "anon"))
        claims["role"] = "authenticated"
        claims["aud"] = "anon-key"
        #expect(verifier.verify(try Self.token(Self.ec, .es256, claims), now: Self.now).reason?.code == "wrongAudience")

        // Without the secret, HS256 is never accepted: the JWKS alone decides.
        let jwksOnly = try await Self.verifier(["EDGEAUTH_SUPABASE_URL": server.baseURL])
        claims["aud"] = "authenticated"
        #expect(jwksOnly.verify(try Self.token(Self.ec, .es256, claims), now: Self.now).identity != nil)
        #expect(jwksOnly.verify(try Self.token(hmac, .hs256, claims), now: Self.now).identity == nil)
    }

    @Test("Keycloak: realm roles plus the client's roles, client roles as permissions")
    func keycloak() async throws {
        let server = try await Self.server()
        defer { Task { try? await server.stop() } }
        let verifier = try await Self.verifier([
            "MCP_USE_OAUTH_KEYCLOAK_SERVER_URL": server.baseURL, "MCP_USE_OAUTH_KEYCLOAK_REALM": "acme",
            "MCP_USE_OAUTH_KEYCLOAK_CLIENT_ID": "mcp-server",
        ])
        let claims: [String: JSONValue] = [
            "iss": .string(server.baseURL + "/realms/acme"), "sub": "f3a1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "aud": ["mcp-server", "account"],
            "azp": "mcp-server", "typ": "Bearer", "preferred_username": "ada", "email": "ada@example.com", "name": "Ada Lovelace",
            "given_name": "Ada", "family_name": "Lovelace", "scope": "openid email profile",
            "realm_access": ["roles": ["user", "offline_access"]],
            "resource_access": ["mcp-server": ["roles": ["editor"]], "account": ["roles": ["view-profile"]]],
        ]
        let identity = try #require(verifier.verify(try Self.token(Self.rsa, .rs256, claims), now: Self.now).identity)
        #expect(identity.roles == ["user", "offline_access", "editor"])
        #expect(Set(identity.permissions) == ["mcp-server:editor", "account:view-profile"])
        #expect(identity.username == "ada" && identity.name == "Ada Lovelace" && identity.scopes == ["openid", "email", "profile"])
        var other = claims
        other["aud"] = "account"
        #expect(verifier.verify(try Self.token(Self.rsa, .rs256, other), now: Self.now).reason?.code == "wrongAudience")
        other = claims
        other["iss"] = .string(server.baseURL + "/realms/other")
        #expect(verifier.verify(try Self.token(Self.rsa, .rs256, other), now: Self.now).reason?.code == "wrongIssuer")
    }

    @Test("Custom: keys through OIDC discovery; every field mapped by JSON pointer")
    func custom() async throws {
        let server = try await Self.server()
        defer { Task { try? await server.stop() } }
        let issuer = server.baseURL + "/custom"
        let verifier = try await Self.verifier([
            "EDGEAUTH_ISSUER": issuer, "EDGEAUTH_AUDIENCE": "notes-api",
            "EDGEAUTH_ID_CLAIM": "/user/id", "EDGEAUTH_EMAIL_CLAIM": "/user/contact~1email", "EDGEAUTH_NAME_CLAIM": "/user/display",
            "EDGEAUTH_USERNAME_CLAIM": "/user/login", "EDGEAUTH_PICTURE_CLAIM": "/user/avatar", "EDGEAUTH_ORGANIZATION_CLAIM": "/tenant",
            "EDGEAUTH_ROLES_CLAIM": "/groups, /extra_roles", "EDGEAUTH_PERMISSIONS_CLAIM": "/grants", "EDGEAUTH_SCOPES_CLAIM": "/scp",
        ])
        let claims: [String: JSONValue] = [
            "iss": .string(issuer), "aud": "notes-api", "sub": "ignored",
            "user": ["id": "u-7", "contact/email": "c@example.com", "display": "C. Example", "login": "cex", "avatar": "https://img.example/c.png"],
            "tenant": "t-1", "groups": ["readers"], "extra_roles": "writer", "grants": ["notes:read"], "scp": ["notes"], "scope": "ignored",
        ]
        let identity = try #require(verifier.verify(try Self.token(Self.ec, .es256, claims), now: Self.now).identity)
        #expect(identity.id == "u-7" && identity.email == "c@example.com" && identity.name == "C. Example")
        #expect(identity.username == "cex" && identity.picture == "https://img.example/c.png" && identity.organization == "t-1")
        #expect(identity.roles == ["readers", "writer"] && identity.permissions == ["notes:read"] && identity.scopes == ["notes"])
        #expect(server.requests("/custom/.well-known/openid-configuration") == 1 && server.requests("/custom/keys") == 1)

        #expect(throws: ConfigurationError.self) {
            try VerifierConfiguration.fromEnvironment(["EDGEAUTH_ISSUER": issuer, "EDGEAUTH_ROLES_CLAIM": "groups"])
        }
        do {
            _ = try VerifierConfiguration.fromEnvironment(["EDGEAUTH_ISSUER": issuer, "EDGEAUTH_EMAIL_CLAIM": "/a,/b"])
        } catch {
            #expect(error.message.contains("EDGEAUTH_EMAIL_CLAIM must be one JSON pointer"))
        }
    }
}
