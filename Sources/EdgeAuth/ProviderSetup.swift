/// A provider with the keys and options that come with its configuration,
/// built from named settings wherever they are stored: environment variables
/// (`EDGEAUTH_*`, with mcp-use's `MCP_USE_OAUTH_*` names as aliases) or the C
/// library's JSON configuration.
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

    /// The settings each provider reads, by name.
    public static let settings: [String: [String]] = [
        "auth0": ["domain", "audience", "rolesClaim", "permissionsClaim"],
        "workos": ["domain", "clientId"],
        "supabase": ["projectId", "supabaseURL", "audience", "allowedRoles", "jwtSecretEnv"],
        "keycloak": ["serverURL", "realm", "clientId", "audience"],
        "custom": ["issuer", "jwksURL", "audience"] + claimSettings.map(\.setting),
    ]

    /// The custom provider's claim mapping: one JSON pointer per field, a comma-separated
    /// list of pointers for the lists (every one adds its elements; scopes: the first present).
    static let claimSettings: [(setting: String, example: String)] = [
        ("idClaim", "/sub"), ("emailClaim", "/email"), ("nameClaim", "/name"), ("usernameClaim", "/preferred_username"),
        ("pictureClaim", "/picture"), ("organizationClaim", "/org_id"), ("rolesClaim", "/realm_access/roles,/groups"),
        ("permissionsClaim", "/permissions"), ("scopesClaim", "/scope,/scp"),
    ]

    /// Where settings are read from, and how to name one in a message.
    public struct SettingSource {
        /// The value of a setting, nil when not set.
        public var value: (String) throws(ConfigurationError) -> String?
        /// The setting as the user wrote it (`EDGEAUTH_AUTH0_DOMAIN`, `provider.domain`).
        public var describe: (String) -> String

        public init(value: @escaping (String) throws(ConfigurationError) -> String?, describe: @escaping (String) -> String) {
            self.value = value
            self.describe = describe
        }
    }

    /// Builds provider `name` from its settings.
    /// - Throws: `ConfigurationError` naming the setting and what a valid value looks like.
    public static func fromSettings(provider name: String, _ source: SettingSource) throws(ConfigurationError) -> ProviderSetup {
        func text(_ key: String) throws(ConfigurationError) -> String? { try source.value(key) }
        func required(_ key: String, example: String) throws(ConfigurationError) -> String {
            guard let value = try text(key) else { throw ConfigurationError("\(source.describe(key)) is required, like \(example)") }
            return value
        }
        var keys = [KeySource]()
        var allowedRoles = Set<String>()
        let provider: Provider
        do throws(ConfigurationError) {
            switch name {
            case "auth0":
                provider = try Provider.auth0(
                    domain: try required("domain", example: "acme.us.auth0.com"),
                    audience: try required("audience", example: "https://api.example.com"),
                    rolesClaim: try text("rolesClaim"), permissionsClaim: try text("permissionsClaim") ?? "permissions"
                )
            case "workos":
                provider = try Provider.workOS(domain: try required("domain", example: "acme-xyz.authkit.app"), clientId: try text("clientId"))
            case "supabase":
                let audience = try text("audience") ?? "authenticated"
                switch (try text("projectId"), try text("supabaseURL")) {
                case (let id?, nil): provider = try Provider.supabase(projectId: id, audience: audience)
                case (nil, let url?): provider = try Provider.supabase(supabaseURL: url, audience: audience)
                case (.some, .some):
                    throw ConfigurationError("set \(source.describe("projectId")) or \(source.describe("supabaseURL")), not both")
                case (nil, nil):
                    throw ConfigurationError("\(source.describe("projectId")) is required, like abcdefghijklmnopqrst; or \(source.describe("supabaseURL")) for a self-hosted project")
                }
                // The legacy HS256 secret stays in its environment variable: only the name is kept.
                if let variable = try text("jwtSecretEnv") { keys.append(.hmacSecretEnvironment(variable)) }
                if let roles = try text("allowedRoles") {
                    allowedRoles = Set(roles.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
                }
            case "keycloak":
                provider = try Provider.keycloak(
                    serverURL: try required("serverURL", example: "https://sso.example.com"),
                    realm: try required("realm", example: "acme"),
                    clientId: try text("clientId"), audience: try text("audience")
                )
            case "custom":
                provider = try Provider.custom(
                    issuer: try required("issuer", example: "https://login.example.com/"),
                    jwksURL: try text("jwksURL"),
                    audience: try text("audience"),
                    mapping: try customMapping(source)
                )
            default:
                throw ConfigurationError("the provider must be one of \(settings.keys.sorted().joined(separator: ", ")) (got \"\(name)\")")
            }
        } catch {
            // The factories name settings as `auth0.domain`: say it the way the user wrote it.
            let prefix = name + "."
            if error.message.hasPrefix(prefix), let key = settings[name]?.first(where: { error.message.hasPrefix(prefix + $0 + " ") }) {
                throw ConfigurationError(source.describe(key) + error.message.dropFirst(prefix.count + key.count))
            }
            throw error
        }
        if let jwksURL = provider.endpoints.jwksURL {
            keys.insert(.jwksURL(jwksURL), at: 0)
        } else {
            // A custom issuer without a JWKS URL: the one its discovery document names.
            keys.insert(.discovery(issuer: provider.endpoints.issuer), at: 0)
        }
        return ProviderSetup(provider: provider, keySources: keys, allowedRoles: allowedRoles)
    }

    /// The claim mapping of the custom provider's `*Claim` settings (unset: the standard claim).
    private static func customMapping(_ source: SettingSource) throws(ConfigurationError) -> ClaimMapping {
        var mapping = ClaimMapping.standard
        for (setting, example) in claimSettings {
            guard let text = try source.value(setting) else { continue }
            var pointers = [ClaimPointer]()
            for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let pointer = ClaimPointer(item) else {
                    throw ConfigurationError("\(source.describe(setting)) must be a JSON pointer like \(example) (RFC 6901: starts with /, ~0 for ~ and ~1 for /) (got \"\(item)\")")
                }
                pointers.append(pointer)
            }
            let isList = ["rolesClaim", "permissionsClaim", "scopesClaim"].contains(setting)
            guard !pointers.isEmpty, isList || pointers.count == 1 else {
                throw ConfigurationError("\(source.describe(setting)) must be \(isList ? "one or more JSON pointers separated by commas" : "one JSON pointer"), like \(example)")
            }
            switch setting {
            case "idClaim": mapping.subject = pointers[0]
            case "emailClaim": mapping.email = pointers[0]
            case "nameClaim": mapping.name = pointers[0]
            case "usernameClaim": mapping.username = pointers[0]
            case "pictureClaim": mapping.picture = pointers[0]
            case "organizationClaim": mapping.organization = pointers[0]
            case "rolesClaim": mapping.roles = pointers.map { .claim($0) }
            case "permissionsClaim": mapping.permissions = pointers.map { .claim($0) }
            default: mapping.scopes = pointers
            }
        }
        return mapping
    }

    // MARK: The environment

    /// Variables read for each setting: `EDGEAUTH_<PROVIDER>_<SETTING>`, then mcp-use's name.
    static func variables(provider: String, setting: String) -> [String] {
        switch (provider, setting) {
        case ("custom", _): return ["EDGEAUTH_" + snakeCase(setting)]
        case ("supabase", "jwtSecretEnv"): return ["EDGEAUTH_SUPABASE_JWT_SECRET", "MCP_USE_OAUTH_SUPABASE_JWT_SECRET"]
        case ("supabase", "supabaseURL"): return ["EDGEAUTH_SUPABASE_URL"]
        default:
            let name = provider.uppercased() + "_" + snakeCase(setting)
            let aliased: Set = ["AUTH0_DOMAIN", "AUTH0_AUDIENCE", "WORKOS_CLIENT_ID", "SUPABASE_PROJECT_ID",
                                "KEYCLOAK_SERVER_URL", "KEYCLOAK_REALM", "KEYCLOAK_CLIENT_ID"]
            return ["EDGEAUTH_" + name] + (aliased.contains(name) ? ["MCP_USE_OAUTH_" + name] : [])
        }
    }

    /// `serverURL` → `SERVER_URL`, `jwksURL` → `JWKS_URL`.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        var previousLower = false
        for character in name {
            if character.isUppercase, previousLower { out += "_" }
            out += character.uppercased()
            previousLower = character.isLowercase
        }
        return out
    }

    /// Whether the environment names a provider: `EDGEAUTH_PROVIDER`, or any provider's variable.
    public static func isConfigured(in environment: [String: String]) -> Bool {
        environment["EDGEAUTH_PROVIDER"] != nil || settings.contains { kind, names in
            names.contains { setting in variables(provider: kind, setting: setting).contains { environment[$0] != nil } }
        }
    }

    /// Reads the provider from `environment`: `EDGEAUTH_PROVIDER`, or the one provider
    /// whose variables are set.
    /// - Throws: `ConfigurationError` naming the variable and what a valid value looks like.
    public static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> ProviderSetup {
        let kinds = settings.keys.sorted()
        let name: String
        if let chosen = environment["EDGEAUTH_PROVIDER"] {
            name = chosen.trimmingCharacters(in: .whitespaces).lowercased()
            guard settings[name] != nil else {
                throw ConfigurationError("EDGEAUTH_PROVIDER must be one of \(kinds.joined(separator: ", ")) (got \"\(chosen)\")")
            }
        } else {
            let found = kinds.filter { kind in
                settings[kind]!.contains { setting in variables(provider: kind, setting: setting).contains { environment[$0] != nil } }
                    && (kind != "custom" || environment["EDGEAUTH_ISSUER"] != nil)
            }
            guard found.count == 1 else {
                throw ConfigurationError(found.isEmpty
                    ? "no identity provider configured: set EDGEAUTH_PROVIDER (\(kinds.joined(separator: ", "))) and its variables, e.g. EDGEAUTH_AUTH0_DOMAIN=acme.us.auth0.com"
                    : "variables of several providers are set (\(found.joined(separator: ", "))): set EDGEAUTH_PROVIDER to the one to use")
            }
            name = found[0]
        }
        let source = SettingSource(
            value: { (setting) throws(ConfigurationError) -> String? in
                let names = variables(provider: name, setting: setting)
                let set = names.filter { environment[$0] != nil }
                guard let first = set.first else { return nil }
                if setting == "jwtSecretEnv" { return first }  // the variable's name, never its value
                let values = Set(set.map { environment[$0]!.trimmingCharacters(in: .whitespacesAndNewlines) })
                guard values.count == 1 else { throw ConfigurationError("\(set.joined(separator: " and ")) are both set, to different values: keep one") }
                guard let value = values.first, !value.isEmpty else { throw ConfigurationError("\(first) is set but empty") }
                return value
            },
            describe: { setting in
                let names = variables(provider: name, setting: setting)
                let set = names.filter { environment[$0] != nil }
                if let first = set.first { return first }
                return names.count > 1 ? "\(names[0]) (or \(names.dropFirst().joined(separator: ", ")))" : names[0]
            }
        )
        return try fromSettings(provider: name, source)
    }
}
