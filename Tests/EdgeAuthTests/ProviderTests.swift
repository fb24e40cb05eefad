import EdgeAuth
import Testing

/// Provider endpoints as each provider spells them (PROVIDERS.md), and the checks on their settings.
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
