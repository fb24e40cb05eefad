import EdgeAuth
import EdgeAuthTesting
import Testing

/// Provider endpoints as each provider spells them (docs/providers/), and the checks on their settings.
@Suite("Providers: endpoints and settings")
struct ProviderTests {
    @Test("Auth0: the issuer keeps its trailing slash; JWKS, discovery and OAuth endpoints on the tenant")
    func auth0() throws {
        let provider = try Provider.auth0(domain: "acme.us.auth0.com", audience: "https://api.acme.example")
        #expect(provider.endpoints == ProviderEndpoints(
            issuer: "https://acme.us.auth0.com/", jwksURL: "https://acme.us.auth0.com/.well-known/jwks.json",
            discoveryURL: "https://acme.us.auth0.com/.well-known/openid-configuration",
            authorizationEndpoint: "https://acme.us.auth0.com/authorize", tokenEndpoint: "https://acme.us.auth0.com/oauth/token",
            registrationEndpoint: "https://acme.us.auth0.com/oidc/register", revocationEndpoint: "https://acme.us.auth0.com/oauth/revoke"
        ))
        #expect(provider.audiences == ["https://api.acme.example"])
        #expect(provider.algorithms.algorithms == [.rs256, .ps256])
        // A pasted URL is taken as the host it names.
        #expect(try Provider.auth0(domain: "https://acme.us.auth0.com/", audience: "a").endpoints.issuer == "https://acme.us.auth0.com/")
    }

    @Test("WorkOS: a custom domain is used as given, nothing appended")
    func workOS() throws {
        let provider = try Provider.workOS(domain: "auth.acme.example", clientId: "client_01")
        #expect(provider.endpoints.issuer == "https://auth.acme.example")
        #expect(provider.endpoints.jwksURL == "https://auth.acme.example/oauth2/jwks")
        #expect(provider.endpoints.registrationEndpoint == "https://auth.acme.example/oauth2/register")
        #expect(provider.endpoints.discoveryURL == "https://auth.acme.example/.well-known/oauth-authorization-server")
        #expect(provider.audiences == ["client_01"])
        #expect(try Provider.workOS(domain: "acme-xyz.authkit.app").audiences.isEmpty)
    }

    @Test("Supabase: issuer under /auth/v1, OAuth 2.1 endpoints under it, audience authenticated by default")
    func supabase() throws {
        let hosted = try Provider.supabase(projectId: "abcdefghijklmnopqrst")
        #expect(hosted.endpoints.issuer == "https://abcdefghijklmnopqrst.supabase.co/auth/v1")
        #expect(hosted.endpoints.jwksURL == "https://abcdefghijklmnopqrst.supabase.co/auth/v1/.well-known/jwks.json")
        #expect(hosted.endpoints.authorizationEndpoint == "https://abcdefghijklmnopqrst.supabase.co/auth/v1/oauth/authorize")
        #expect(hosted.audiences == ["authenticated"])
        let local = try Provider.supabase(supabaseURL: "http://127.0.0.1:54321/")
        #expect(local.endpoints.issuer == "http://127.0.0.1:54321/auth/v1")
    }

    @Test("Keycloak: realm issuer and the openid-connect endpoints, /auth prefix kept for old servers")
    func keycloak() throws {
        let provider = try Provider.keycloak(serverURL: "https://sso.acme.example/auth/", realm: "acme", clientId: "mcp")
        let oidc = "https://sso.acme.example/auth/realms/acme/protocol/openid-connect"
        #expect(provider.endpoints == ProviderEndpoints(
            issuer: "https://sso.acme.example/auth/realms/acme", jwksURL: oidc + "/certs",
            discoveryURL: "https://sso.acme.example/auth/realms/acme/.well-known/openid-configuration",
            authorizationEndpoint: oidc + "/auth", tokenEndpoint: oidc + "/token",
            registrationEndpoint: "https://sso.acme.example/auth/realms/acme/clients-registrations/openid-connect",
            revocationEndpoint: oidc + "/revoke", introspectionEndpoint: oidc + "/token/introspect"
        ))
        #expect(provider.audiences == ["mcp"])
        #expect(try Provider.keycloak(serverURL: "https://s", realm: "r", clientId: "c", audience: "api").audiences == ["api"])
    }

    @Test("Custom: the issuer exactly as given; discovery derived from it")
    func custom() throws {
        let provider = try Provider.custom(issuer: "https://login.example.com/tenant/", audience: "api")
        #expect(provider.endpoints.issuer == "https://login.example.com/tenant/")
        #expect(provider.endpoints.discoveryURL == "https://login.example.com/tenant/.well-known/openid-configuration")
        #expect(provider.endpoints.jwksURL == nil)
    }

    @Test("a bad setting stops configuration with a message naming it and a valid example")
    func badSettings() {
        let cases: [(String, () throws -> Provider)] = [
            ("auth0.domain", { try Provider.auth0(domain: "", audience: "a") }),
            ("auth0.domain", { try Provider.auth0(domain: "http://acme.us.auth0.com", audience: "a") }),
            ("auth0.domain", { try Provider.auth0(domain: "acme.us.auth0.com/path", audience: "a") }),
            ("auth0.audience", { try Provider.auth0(domain: "acme.us.auth0.com", audience: " ") }),
            ("auth0.rolesClaim", { try Provider.auth0(domain: "acme.us.auth0.com", audience: "a", rolesClaim: "") }),
            ("workos.domain", { try Provider.workOS(domain: "acme xyz.authkit.app") }),
            ("supabase.projectId", { try Provider.supabase(projectId: "Not-A-Ref") }),
            ("supabase.supabaseURL", { try Provider.supabase(supabaseURL: "http://db.example.com") }),
            ("keycloak.serverURL", { try Provider.keycloak(serverURL: "sso.example.com", realm: "r") }),
            ("keycloak.realm", { try Provider.keycloak(serverURL: "https://sso.example.com", realm: "a/b") }),
            ("custom.issuer", { try Provider.custom(issuer: "https://login.example.com/?tenant=1") }),
        ]
        for (setting, make) in cases {
            do {
                _ = try make()
                Issue.record("accepted a bad \(setting)")
            } catch let error as ConfigurationError {
                #expect(error.message.hasPrefix(setting + " "), "\(error.message)")
                #expect(error.message.contains("like "), "\(error.message)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

}

/// Each provider's claim layout (docs/providers/) mapped to an `Identity`.
@Suite("Providers: identity mapping")
struct ProviderMappingTests {
    static let signer = SigningKey.hmac(secret: Array(repeating: 5, count: 32), kid: "m")

    /// Verifies a token with the provider's issuer, audiences and mapping.
    func identity(_ provider: Provider, _ claims: [String: JSONValue]) throws -> Identity {
        let factory = TokenFactory(key: Self.signer, algorithm: .hs256, issuer: provider.endpoints.issuer,
                                   audience: provider.audiences.first ?? "any")
        let policy = ValidationPolicy(issuers: .exactly([provider.endpoints.issuer]),
                                      audiences: provider.audiences.isEmpty ? .any : .anyOf(provider.audiences))
        let verifier = Verifier(policy: policy, keys: KeySet(keys: [try Self.signer.verificationKey()]), mapping: provider.mapping)
        let verdict = verifier.verify(try factory.token(claims: claims), now: factory.now)
        return try #require(verdict.identity, "\(String(describing: verdict.reason))")
    }

    @Test("Auth0: roles from the configured namespaced claim, permissions, scope")
    func auth0() throws {
        let provider = try Provider.auth0(domain: "acme.us.auth0.com", audience: "https://api.acme.example", rolesClaim: "https://acme.example/roles")
        let identity = try identity(provider, [
            "https://acme.example/roles": ["admin"], "https://other.example/roles": ["root"],
            "permissions": ["notes:read"], "scope": "openid notes:read",
        ])
        #expect(identity.roles == ["admin"] && identity.permissions == ["notes:read"] && identity.scopes == ["openid", "notes:read"])
        // Without a configured roles claim no roles are read: no guessed namespace.
        let unconfigured = try self.identity(try Provider.auth0(domain: "acme.us.auth0.com", audience: "https://api.acme.example"),
                                        ["https://acme.example/roles": ["admin"], "roles": ["root"]])
        #expect(unconfigured.roles.isEmpty)
    }

    @Test("Auth0: an issuer without the trailing slash is wrongIssuer, and the explanation says why")
    func auth0IssuerWithoutSlash() throws {
        let provider = try Provider.auth0(domain: "acme.us.auth0.com", audience: "https://api.acme.example")
        let factory = TokenFactory(key: Self.signer, algorithm: .hs256, issuer: "https://acme.us.auth0.com", audience: "https://api.acme.example")
        let verifier = Verifier(policy: provider.policy(), keys: KeySet(keys: [try Self.signer.verificationKey()]), mapping: provider.mapping)
        // The key is HMAC, outside Auth0's algorithms: widen them for this check of the issuer alone.
        var policy = provider.policy()
        policy.algorithms = .all
        let widened = Verifier(policy: policy, keys: verifier.keys, mapping: provider.mapping)
        let reason = try #require(widened.verify(try factory.token(), now: factory.now).reason)
        #expect(reason.code == "wrongIssuer" && reason.explanation.contains("trailing slash"))
        #expect(verifier.verify(try factory.token(), now: factory.now).reason?.code == "algorithmNotAllowed")
    }

    @Test("WorkOS: roles array, else the single role; organization from org_id")
    func workOS() throws {
        let provider = try Provider.workOS(domain: "acme-xyz.authkit.app")
        let both = try identity(provider, ["roles": ["admin", "member"], "role": "admin", "org_id": "org_01", "permissions": ["p"]])
        #expect(both.roles == ["admin", "member"] && both.organization == "org_01" && both.permissions == ["p"])
        #expect(try identity(provider, ["role": "member"]).roles == ["member"])
    }

    @Test("Supabase: roles from app_metadata only, never user_metadata")
    func supabase() throws {
        let provider = try Provider.supabase(projectId: "abcdefghijklmnopqrst")
        let identity = try identity(provider, [
            "app_metadata": ["roles": ["editor"]], "user_metadata": ["roles": ["admin"]], "roles": ["admin"],
            "role": "authenticated", "email": "u@example.com",
        ])
        #expect(identity.roles == ["editor"] && identity.email == "u@example.com" && identity.permissions.isEmpty)
    }

    @Test("Supabase: role anon and service_role are refused unless allowed; authenticated passes")
    func supabaseRoles() throws {
        let provider = try Provider.supabase(projectId: "abcdefghijklmnopqrst")
        let factory = TokenFactory(key: Self.signer, algorithm: .hs256, issuer: provider.endpoints.issuer, audience: "authenticated")
        func verdict(_ role: String, allowed: Set<String> = []) throws -> Verdict {
            let verifier = Verifier(policy: provider.policy(allowedRoles: allowed), keys: KeySet(keys: [try Self.signer.verificationKey()]),
                                    mapping: provider.mapping)
            return verifier.verify(try factory.token(claims: ["role": .string(role)]), now: factory.now)
        }
        #expect(try verdict("authenticated").identity != nil)
        #expect(try verdict("anon").reason == .claimValueNotAllowed(claim: "role", value: "anon"))
        #expect(try verdict("service_role").reason == .claimValueNotAllowed(claim: "role", value: "service_role"))
        #expect(try verdict("service_role", allowed: ["service_role"]).identity != nil)
        #expect(provider.policy().algorithms.contains(.hs256) && provider.policy().issuers == .exactly([provider.endpoints.issuer]))
    }

    @Test("Keycloak: realm roles plus the client's roles; every client role as client:role permission")
    func keycloak() throws {
        let provider = try Provider.keycloak(serverURL: "https://sso.acme.example", realm: "acme", clientId: "mcp/server", audience: "api")
        let identity = try identity(provider, [
            "realm_access": ["roles": ["user", "offline_access"]],
            "resource_access": ["mcp/server": ["roles": ["editor"]], "account": ["roles": ["view-profile"]]],
            "preferred_username": "ada", "scope": "openid email",
        ])
        #expect(identity.roles == ["user", "offline_access", "editor"])
        #expect(Set(identity.permissions) == ["mcp/server:editor", "account:view-profile"])
        #expect(identity.username == "ada" && identity.scopes == ["openid", "email"])
        #expect(identity.hasPermission("account:view-profile"))
    }

    @Test("Custom: any field by JSON pointer, escapes included")
    func custom() throws {
        var mapping = ClaimMapping.standard
        mapping.subject = "/user/id"
        mapping.email = "/user/contact~1email"
        mapping.roles = [.claim("/groups/0"), .claim("/extra", prefix: "x:")]
        mapping.scopes = ["/scp"]
        let factory = TokenFactory(key: Self.signer, algorithm: .hs256)
        let verifier = Verifier(policy: ValidationPolicy(issuers: .any, audiences: .any),
                                keys: KeySet(keys: [try Self.signer.verificationKey()]), mapping: mapping)
        let token = try factory.token(claims: [
            "user": ["id": "u-7", "contact/email": "c@example.com"], "groups": ["first", "second"], "extra": ["a", "b"],
            "scp": ["s1"], "scope": "ignored",
        ])
        let identity = try #require(verifier.verify(token, now: factory.now).identity)
        #expect(identity.id == "u-7" && identity.email == "c@example.com")
        #expect(identity.roles == ["first", "x:a", "x:b"] && identity.scopes == ["s1"])
        let bad = ["no-slash", "/a~2"]
        #expect(bad.allSatisfy { ClaimPointer($0) == nil })
    }

    @Test("the decoded examples of docs/providers map as the pages say")
    func documentedExamples() throws {
        let auth0 = try identity(try Provider.auth0(domain: "acme.us.auth0.com", audience: "https://api.acme.example",
                                                    rolesClaim: "https://acme.example/roles"), [
            "sub": "auth0|6651f0c2a5b8e3d4f7a90b12", "aud": ["https://api.acme.example", "https://acme.us.auth0.com/userinfo"],
            "azp": "q7bKd2LmN9pRs4TvW8yZa1Bc3De5FgHj", "scope": "openid profile email read:tools",
            "permissions": ["read:tools", "call:tools"], "https://acme.example/roles": ["admin"],
        ])
        #expect(auth0.id == "auth0|6651f0c2a5b8e3d4f7a90b12" && auth0.roles == ["admin"])
        #expect(auth0.permissions == ["read:tools", "call:tools"] && auth0.scopes == ["openid", "profile", "email", "read:tools"])
        let keycloak = try identity(try Provider.keycloak(serverURL: "https://sso.acme.example", realm: "acme",
                                                          clientId: "mcp-server", audience: "mcp-server"), [
            "azp": "mcp-server", "preferred_username": "ada", "realm_access": ["roles": ["user"]],
            "resource_access": ["mcp-server": ["roles": ["editor"]], "account": ["roles": ["view-profile"]]], "scope": "openid email",
        ])
        #expect(keycloak.roles == ["user", "editor"])
        #expect(Set(keycloak.permissions) == ["mcp-server:editor", "account:view-profile"])
    }
}


/// Development mode: signatures skipped, everything else enforced, loopback only.
@Suite("Development mode")
struct DevelopmentModeTests {
    static let factory = TokenFactory(key: SigningKey.hmac(secret: Array(repeating: 6, count: 32), kid: "dev"), algorithm: .hs256)

    func verifier(_ hosts: [String] = ["127.0.0.1", "::1", "localhost"]) throws -> Verifier {
        let f = Self.factory
        return try Verifier.skippingSignaturesForDevelopment(
            policy: ValidationPolicy(issuers: .exactly([f.issuer]), audiences: .anyOf([f.audience])), bindHosts: hosts)
    }

    @Test("a token whose key is unknown is accepted, marked unverified; claims are still checked")
    func skipsOnlyTheSignature() throws {
        let f = Self.factory
        let verifier = try verifier()
        let identity = try #require(verifier.verify(try f.token(claims: ["roles": ["admin"]]), now: f.now).identity)
        #expect(!identity.signatureVerified && identity.roles == ["admin"] && verifier.signatureCheck == .skippedForDevelopment)
        var tampered = Array(try f.token().utf8)
        tampered[tampered.count - 3] ^= 0x01
        #expect(verifier.verify(tampered, now: f.now).identity?.signatureVerified == false)
        #expect(verifier.verify(try f.token(), now: f.now + 7200).reason?.code == "expired")
        #expect(verifier.verify(try f.token(claims: ["iss": "https://other.example/"]), now: f.now).reason?.code == "wrongIssuer")
        let unsecured = try f.rawToken(header: #"{"alg":"none"}"#, payload: f.claims().jsonText)
        #expect(verifier.verify(unsecured, now: f.now).reason == .unsecured)
    }

    @Test("refused unless every listen address is loopback")
    func loopbackOnly() {
        #expect(throws: ConfigurationError.self) { try verifier(["0.0.0.0"]) }
        #expect(throws: ConfigurationError.self) { try verifier(["127.0.0.1", "192.168.1.5"]) }
        #expect(throws: ConfigurationError.self) { try verifier([]) }
    }

    @Test("a normal verifier checks signatures and says so")
    func defaultChecks() throws {
        #expect(try Self.factory.verifier().signatureCheck == .required)
    }
}
