/// A provider configured from environment variables: `EDGEAUTH_*`, with the
/// names mcp-use reads (`MCP_USE_OAUTH_*`) accepted as aliases.
public struct ProviderSetup: Sendable, Equatable {
    public var provider: Provider
    /// Where the verification keys come from (the provider's JWKS; Supabase's JWT secret).
    public var keySources: [KeySource]
    /// Supabase `role` values accepted although refused by default.
    public var allowedRoles: Set<String>

    public init(provider: Provider, keySources: [KeySource], allowedRoles: Set<String> = []) {
        self.provider = provider
        self.keySources = keySources
        self.allowedRoles = allowedRoles
    }

    /// Reads the provider from `environment`.
    /// - Throws: `ConfigurationError` naming the variable and what a valid value looks like.
    public static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> ProviderSetup {
        let env = Variables(environment)
        let kind = try env.providerKind()
        var keys = [KeySource]()
        var allowedRoles = Set<String>()
        let provider: Provider
        switch kind {
        case "auth0":
            provider = try env.rewritingErrors { () throws(ConfigurationError) -> Provider in
                try Provider.auth0(
                    domain: try env.required("EDGEAUTH_AUTH0_DOMAIN", alias: "MCP_USE_OAUTH_AUTH0_DOMAIN", example: "acme.us.auth0.com"),
                    audience: try env.required("EDGEAUTH_AUTH0_AUDIENCE", alias: "MCP_USE_OAUTH_AUTH0_AUDIENCE", example: "https://api.example.com"),
                    rolesClaim: try env.optional("EDGEAUTH_AUTH0_ROLES_CLAIM"),
                    permissionsClaim: try env.optional("EDGEAUTH_AUTH0_PERMISSIONS_CLAIM") ?? "permissions"
                )
            }
        case "workos":
            provider = try env.rewritingErrors { () throws(ConfigurationError) -> Provider in
                try Provider.workOS(
                    domain: try env.required("EDGEAUTH_WORKOS_DOMAIN", example: "acme-xyz.authkit.app"),
                    clientId: try env.optional("EDGEAUTH_WORKOS_CLIENT_ID", alias: "MCP_USE_OAUTH_WORKOS_CLIENT_ID")
                )
            }
        case "supabase":
            let audience = try env.optional("EDGEAUTH_SUPABASE_AUDIENCE") ?? "authenticated"
            let projectId = try env.optional("EDGEAUTH_SUPABASE_PROJECT_ID", alias: "MCP_USE_OAUTH_SUPABASE_PROJECT_ID")
            let url = try env.optional("EDGEAUTH_SUPABASE_URL")
            provider = try env.rewritingErrors { () throws(ConfigurationError) -> Provider in
                switch (projectId, url) {
                case (let id?, nil): return try Provider.supabase(projectId: id, audience: audience)
                case (nil, let url?): return try Provider.supabase(supabaseURL: url, audience: audience)
                case (.some, .some):
                    throw ConfigurationError("set EDGEAUTH_SUPABASE_PROJECT_ID or EDGEAUTH_SUPABASE_URL, not both")
                case (nil, nil):
                    throw ConfigurationError("EDGEAUTH_SUPABASE_PROJECT_ID (or EDGEAUTH_SUPABASE_URL for a self-hosted project) is required, like abcdefghijklmnopqrst")
                }
            }
            // The legacy HS256 secret stays in the environment: only the variable's name is kept.
            if let name = env.present("EDGEAUTH_SUPABASE_JWT_SECRET", alias: "MCP_USE_OAUTH_SUPABASE_JWT_SECRET") {
                keys.append(.hmacSecretEnvironment(name))
            }
            if let roles = try env.optional("EDGEAUTH_SUPABASE_ALLOWED_ROLES") {
                allowedRoles = Set(roles.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            }
        case "keycloak":
            provider = try env.rewritingErrors { () throws(ConfigurationError) -> Provider in
                try Provider.keycloak(
                    serverURL: try env.required("EDGEAUTH_KEYCLOAK_SERVER_URL", alias: "MCP_USE_OAUTH_KEYCLOAK_SERVER_URL", example: "https://sso.example.com"),
                    realm: try env.required("EDGEAUTH_KEYCLOAK_REALM", alias: "MCP_USE_OAUTH_KEYCLOAK_REALM", example: "acme"),
                    clientId: try env.optional("EDGEAUTH_KEYCLOAK_CLIENT_ID", alias: "MCP_USE_OAUTH_KEYCLOAK_CLIENT_ID"),
                    audience: try env.optional("EDGEAUTH_KEYCLOAK_AUDIENCE")
                )
            }
        default:  // "custom", checked by providerKind()
            provider = try env.rewritingErrors { () throws(ConfigurationError) -> Provider in
                try Provider.custom(
                    issuer: try env.required("EDGEAUTH_ISSUER", example: "https://login.example.com/"),
                    jwksURL: try env.required("EDGEAUTH_JWKS_URL", example: "https://login.example.com/.well-known/jwks.json"),
                    audience: try env.optional("EDGEAUTH_AUDIENCE")
                )
            }
        }
        if let jwksURL = provider.endpoints.jwksURL { keys.insert(.jwksURL(jwksURL), at: 0) }
        return ProviderSetup(provider: provider, keySources: keys, allowedRoles: allowedRoles)
    }

    /// The environment, read with the checks every variable gets.
    private struct Variables {
        let values: [String: String]
        init(_ values: [String: String]) { self.values = values }

        static let kinds = ["auth0", "workos", "supabase", "keycloak", "custom"]
        /// A variable that identifies each provider, for choosing one when EDGEAUTH_PROVIDER is not set.
        static let markers: [(String, [String])] = [
            ("auth0", ["EDGEAUTH_AUTH0_DOMAIN", "MCP_USE_OAUTH_AUTH0_DOMAIN"]),
            ("workos", ["EDGEAUTH_WORKOS_DOMAIN"]),
            ("supabase", ["EDGEAUTH_SUPABASE_PROJECT_ID", "EDGEAUTH_SUPABASE_URL", "MCP_USE_OAUTH_SUPABASE_PROJECT_ID"]),
            ("keycloak", ["EDGEAUTH_KEYCLOAK_SERVER_URL", "MCP_USE_OAUTH_KEYCLOAK_SERVER_URL"]),
            ("custom", ["EDGEAUTH_ISSUER"]),
        ]

        func providerKind() throws(ConfigurationError) -> String {
            if let chosen = try optional("EDGEAUTH_PROVIDER") {
                let kind = chosen.lowercased()
                guard Self.kinds.contains(kind) else {
                    throw ConfigurationError("EDGEAUTH_PROVIDER must be one of \(Self.kinds.joined(separator: ", ")) (got \"\(chosen)\")")
                }
                return kind
            }
            let found = Self.markers.filter { _, names in names.contains { values[$0] != nil } }.map(\.0)
            guard found.count == 1 else {
                throw ConfigurationError(found.isEmpty
                    ? "no identity provider configured: set EDGEAUTH_PROVIDER (\(Self.kinds.joined(separator: ", "))) and its variables, e.g. EDGEAUTH_AUTH0_DOMAIN=acme.us.auth0.com"
                    : "variables of several providers are set (\(found.joined(separator: ", "))): set EDGEAUTH_PROVIDER to the one to use")
            }
            return found[0]
        }

        /// The name under which a value is set (`name`, else `alias`).
        func present(_ name: String, alias: String? = nil) -> String? {
            if values[name] != nil { return name }
            if let alias, values[alias] != nil { return alias }
            return nil
        }

        func optional(_ name: String, alias: String? = nil) throws(ConfigurationError) -> String? {
            let value = values[name], aliased = alias.flatMap { values[$0] }
            if let value, let aliased, value != aliased {
                throw ConfigurationError("\(name) and \(alias!) are both set, to different values: keep one")
            }
            guard let raw = value ?? aliased else { return nil }
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw ConfigurationError("\(present(name, alias: alias)!) is set but empty") }
            return trimmed
        }

        func required(_ name: String, alias: String? = nil, example: String) throws(ConfigurationError) -> String {
            guard let value = try optional(name, alias: alias) else {
                throw ConfigurationError("\(name)\(alias.map { " (or \($0))" } ?? "") is required, like \(example)")
            }
            return value
        }

        /// Runs `make`, replacing a setting's name (`auth0.domain`) at the start of an error
        /// with the variable that carried it.
        func rewritingErrors(_ make: () throws(ConfigurationError) -> Provider) throws(ConfigurationError) -> Provider {
            do {
                return try make()
            } catch {
                let settings: [String: [String]] = [
                    "auth0.domain": ["EDGEAUTH_AUTH0_DOMAIN", "MCP_USE_OAUTH_AUTH0_DOMAIN"],
                    "auth0.audience": ["EDGEAUTH_AUTH0_AUDIENCE", "MCP_USE_OAUTH_AUTH0_AUDIENCE"],
                    "auth0.rolesClaim": ["EDGEAUTH_AUTH0_ROLES_CLAIM"],
                    "auth0.permissionsClaim": ["EDGEAUTH_AUTH0_PERMISSIONS_CLAIM"],
                    "workos.domain": ["EDGEAUTH_WORKOS_DOMAIN"],
                    "workos.clientId": ["EDGEAUTH_WORKOS_CLIENT_ID", "MCP_USE_OAUTH_WORKOS_CLIENT_ID"],
                    "supabase.projectId": ["EDGEAUTH_SUPABASE_PROJECT_ID", "MCP_USE_OAUTH_SUPABASE_PROJECT_ID"],
                    "supabase.supabaseURL": ["EDGEAUTH_SUPABASE_URL"],
                    "supabase.audience": ["EDGEAUTH_SUPABASE_AUDIENCE"],
                    "keycloak.serverURL": ["EDGEAUTH_KEYCLOAK_SERVER_URL", "MCP_USE_OAUTH_KEYCLOAK_SERVER_URL"],
                    "keycloak.realm": ["EDGEAUTH_KEYCLOAK_REALM", "MCP_USE_OAUTH_KEYCLOAK_REALM"],
                    "keycloak.clientId": ["EDGEAUTH_KEYCLOAK_CLIENT_ID", "MCP_USE_OAUTH_KEYCLOAK_CLIENT_ID"],
                    "keycloak.audience": ["EDGEAUTH_KEYCLOAK_AUDIENCE"],
                    "custom.issuer": ["EDGEAUTH_ISSUER"],
                    "custom.jwksURL": ["EDGEAUTH_JWKS_URL"],
                    "custom.audience": ["EDGEAUTH_AUDIENCE"],
                ]
                for (setting, names) in settings where error.message.hasPrefix(setting + " ") {
                    let variable = names.first { values[$0] != nil } ?? names[0]
                    throw ConfigurationError(variable + error.message.dropFirst(setting.count))
                }
                throw error
            }
        }
    }
}
