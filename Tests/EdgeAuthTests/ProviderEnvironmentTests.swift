import EdgeAuth
import Testing

/// Providers from environment variables: EDGEAUTH_* and the mcp-use aliases.
@Suite("Providers from the environment")
struct ProviderEnvironmentTests {
    @Test("a provider is configured by EDGEAUTH_PROVIDER or any provider variable, aliases included")
    func isConfigured() {
        #expect(ProviderSetup.isConfigured(in: ["EDGEAUTH_PROVIDER": "auth0"]))
        #expect(ProviderSetup.isConfigured(in: ["MCP_USE_OAUTH_KEYCLOAK_REALM": "acme"]))
        #expect(ProviderSetup.isConfigured(in: ["EDGEAUTH_ISSUER": "https://id.example/"]))
        #expect(!ProviderSetup.isConfigured(in: ["EDGEAUTH_CACHE_DIR": "/tmp/x", "EDGEAUTH_LEEWAY": "5", "PATH": "/bin"]))
    }

    @Test("Auth0 from EDGEAUTH_* variables, the provider inferred from them; keys from its JWKS")
    func auth0() throws {
        let setup = try ProviderSetup.fromEnvironment([
            "EDGEAUTH_AUTH0_DOMAIN": "acme.us.auth0.com", "EDGEAUTH_AUTH0_AUDIENCE": "https://api.acme.example",
            "EDGEAUTH_AUTH0_ROLES_CLAIM": "https://acme.example/roles",
        ])
        #expect(setup.provider == (try Provider.auth0(domain: "acme.us.auth0.com", audience: "https://api.acme.example", rolesClaim: "https://acme.example/roles")))
        #expect(setup.keySources == [.jwksURL("https://acme.us.auth0.com/.well-known/jwks.json")])
    }

    @Test("mcp-use names are aliases: the same value is fine, different values are refused")
    func aliases() throws {
        let setup = try ProviderSetup.fromEnvironment([
            "MCP_USE_OAUTH_KEYCLOAK_SERVER_URL": "https://sso.acme.example", "MCP_USE_OAUTH_KEYCLOAK_REALM": "acme",
            "EDGEAUTH_KEYCLOAK_REALM": "acme", "MCP_USE_OAUTH_KEYCLOAK_CLIENT_ID": "mcp",
        ])
        #expect(setup.provider.endpoints.issuer == "https://sso.acme.example/realms/acme" && setup.provider.audiences == ["mcp"])
        #expect(throws: ConfigurationError.self) {
            try ProviderSetup.fromEnvironment(["EDGEAUTH_AUTH0_DOMAIN": "a.auth0.com", "MCP_USE_OAUTH_AUTH0_DOMAIN": "b.auth0.com",
                                               "EDGEAUTH_AUTH0_AUDIENCE": "x"])
        }
    }

    @Test("Supabase: the JWT secret stays in its variable (only the name is kept); allowed roles; JWKS first")
    func supabase() throws {
        let setup = try ProviderSetup.fromEnvironment([
            "EDGEAUTH_PROVIDER": "supabase", "MCP_USE_OAUTH_SUPABASE_PROJECT_ID": "abcdefghijklmnopqrst",
            "MCP_USE_OAUTH_SUPABASE_JWT_SECRET": "a-secret-of-at-least-thirty-two-bytes!!", "EDGEAUTH_SUPABASE_ALLOWED_ROLES": "service_role, ",
        ])
        #expect(setup.keySources == [
            .jwksURL("https://abcdefghijklmnopqrst.supabase.co/auth/v1/.well-known/jwks.json"),
            .hmacSecretEnvironment("MCP_USE_OAUTH_SUPABASE_JWT_SECRET"),
        ])
        #expect(setup.allowedRoles == ["service_role"])
    }

    @Test("a missing or invalid setting names the variable and shows a valid value", arguments: [
        (["EDGEAUTH_PROVIDER": "okta"], "EDGEAUTH_PROVIDER must be one of"),
        ([:], "no identity provider configured"),
        (["EDGEAUTH_AUTH0_DOMAIN": "a.auth0.com", "EDGEAUTH_ISSUER": "https://x/"], "several providers"),
        (["EDGEAUTH_AUTH0_DOMAIN": "a.auth0.com"], "EDGEAUTH_AUTH0_AUDIENCE (or MCP_USE_OAUTH_AUTH0_AUDIENCE) is required, like https://"),
        (["MCP_USE_OAUTH_AUTH0_DOMAIN": "http://a.auth0.com", "EDGEAUTH_AUTH0_AUDIENCE": "x"], "MCP_USE_OAUTH_AUTH0_DOMAIN must be a host name like"),
        (["EDGEAUTH_KEYCLOAK_SERVER_URL": "sso.example.com", "EDGEAUTH_KEYCLOAK_REALM": "r"], "EDGEAUTH_KEYCLOAK_SERVER_URL must be an https URL like"),
        (["EDGEAUTH_PROVIDER": "supabase"], "EDGEAUTH_SUPABASE_PROJECT_ID (or MCP_USE_OAUTH_SUPABASE_PROJECT_ID) is required"),
        (["EDGEAUTH_WORKOS_DOMAIN": "  "], "EDGEAUTH_WORKOS_DOMAIN is set but empty"),
    ])
    func errors(_ environment: [String: String], _ message: String) {
        do {
            _ = try ProviderSetup.fromEnvironment(environment)
            Issue.record("accepted \(environment)")
        } catch {
            #expect(error.message.hasPrefix(message) || error.message.contains(message), "\(error.message)")
        }
    }
}
