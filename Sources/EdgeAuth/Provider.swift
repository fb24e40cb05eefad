import Foundation

/// The OAuth and OIDC addresses of an identity provider, spelled exactly as the
/// provider spells them (the issuer is compared byte for byte with `iss`).
public struct ProviderEndpoints: Sendable, Equatable {
    public var issuer: String
    public var jwksURL: String?
    public var discoveryURL: String?
    public var authorizationEndpoint: String?
    public var tokenEndpoint: String?
    /// Dynamic client registration (RFC 7591), where the provider offers it.
    public var registrationEndpoint: String?
    public var revocationEndpoint: String?
    public var introspectionEndpoint: String?

    public init(
        issuer: String, jwksURL: String? = nil, discoveryURL: String? = nil, authorizationEndpoint: String? = nil,
        tokenEndpoint: String? = nil, registrationEndpoint: String? = nil, revocationEndpoint: String? = nil,
        introspectionEndpoint: String? = nil
    ) {
        self.issuer = issuer
        self.jwksURL = jwksURL
        self.discoveryURL = discoveryURL
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.registrationEndpoint = registrationEndpoint
        self.revocationEndpoint = revocationEndpoint
        self.introspectionEndpoint = introspectionEndpoint
    }
}

/// An identity provider EdgeAuth knows (docs/providers/): its configuration, checked
/// when it is created, and the endpoints and defaults that follow from it.
public struct Provider: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Auth0: `domain` is the tenant host (`acme.us.auth0.com`), `audience` the API identifier.
        case auth0(domain: String, audience: String, rolesClaim: String?, permissionsClaim: String)
        /// WorkOS AuthKit: `domain` is the AuthKit host (`acme-xyz.authkit.app` or a custom domain).
        case workOS(domain: String, clientId: String?)
        /// Supabase: `baseURL` is `https://<project>.supabase.co` or a self-hosted URL.
        case supabase(baseURL: String, audience: String)
        /// Keycloak: `serverURL` (with `/auth` on old versions) and the realm.
        case keycloak(serverURL: String, realm: String, clientId: String?, audience: String?)
        /// Any OIDC/OAuth issuer, with its claims mapped by JSON pointer.
        case custom(issuer: String, jwksURL: String?, audience: String?, mapping: ClaimMapping)
    }

    public let kind: Kind
    /// `https`, or `http` for an Auth0/WorkOS domain given as a loopback URL (a local test IdP).
    private let scheme: String

    private init(_ kind: Kind, scheme: String = "https") {
        self.kind = kind
        self.scheme = scheme
    }

    // MARK: Creating, with the inputs checked

    public static func auth0(domain: String, audience: String, rolesClaim: String? = nil, permissionsClaim: String = "permissions") throws(ConfigurationError) -> Provider {
        let (scheme, host) = try host(domain, setting: "auth0.domain", example: "acme.us.auth0.com")
        try nonEmpty(audience, setting: "auth0.audience", example: "https://api.example.com")
        if let rolesClaim { try nonEmpty(rolesClaim, setting: "auth0.rolesClaim", example: "https://acme.example/roles") }
        try nonEmpty(permissionsClaim, setting: "auth0.permissionsClaim", example: "permissions")
        return Provider(.auth0(domain: host, audience: audience, rolesClaim: rolesClaim, permissionsClaim: permissionsClaim), scheme: scheme)
    }

    public static func workOS(domain: String, clientId: String? = nil) throws(ConfigurationError) -> Provider {
        // Taken as given: a custom domain is as valid as `*.authkit.app`, so nothing is appended.
        let (scheme, host) = try host(domain, setting: "workos.domain", example: "acme-xyz.authkit.app")
        if let clientId { try nonEmpty(clientId, setting: "workos.clientId", example: "client_01H…") }
        return Provider(.workOS(domain: host, clientId: clientId), scheme: scheme)
    }

    /// Supabase by project reference (`abcdefghijklmnopqrst`).
    public static func supabase(projectId: String, audience: String = "authenticated") throws(ConfigurationError) -> Provider {
        guard !projectId.isEmpty, projectId.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }) else {
            throw ConfigurationError("supabase.projectId must be the project reference: lowercase letters and digits, like abcdefghijklmnopqrst (got \"\(projectId)\")")
        }
        try nonEmpty(audience, setting: "supabase.audience", example: "authenticated")
        return Provider(.supabase(baseURL: "https://\(projectId).supabase.co", audience: audience))
    }

    /// Supabase by URL (self-hosted, or the project URL).
    public static func supabase(supabaseURL: String, audience: String = "authenticated") throws(ConfigurationError) -> Provider {
        let base = try baseURL(supabaseURL, setting: "supabase.supabaseURL", example: "https://abcdefghijklmnopqrst.supabase.co")
        try nonEmpty(audience, setting: "supabase.audience", example: "authenticated")
        return Provider(.supabase(baseURL: base, audience: audience))
    }

    public static func keycloak(serverURL: String, realm: String, clientId: String? = nil, audience: String? = nil) throws(ConfigurationError) -> Provider {
        let base = try baseURL(serverURL, setting: "keycloak.serverURL", example: "https://sso.example.com")
        guard !realm.isEmpty, !realm.contains("/"), realm.trimmingCharacters(in: .whitespaces) == realm else {
            throw ConfigurationError("keycloak.realm must be a realm name without slashes or surrounding spaces, like acme (got \"\(realm)\")")
        }
        if let clientId { try nonEmpty(clientId, setting: "keycloak.clientId", example: "mcp-server") }
        if let audience { try nonEmpty(audience, setting: "keycloak.audience", example: "mcp-server") }
        return Provider(.keycloak(serverURL: base, realm: realm, clientId: clientId, audience: audience))
    }

    /// An issuer kept exactly as given: it must equal the tokens' `iss`.
    /// - Parameter mapping: where the identity's fields are in the tokens (`ClaimMapping`).
    public static func custom(issuer: String, jwksURL: String? = nil, audience: String? = nil, mapping: ClaimMapping = .standard) throws(ConfigurationError) -> Provider {
        _ = try baseURL(issuer, setting: "custom.issuer", example: "https://login.example.com/", keepTrailingSlash: true)
        if let jwksURL { _ = try baseURL(jwksURL, setting: "custom.jwksURL", example: "https://login.example.com/.well-known/jwks.json", keepTrailingSlash: true) }
        if let audience { try nonEmpty(audience, setting: "custom.audience", example: "https://api.example.com") }
        return Provider(.custom(issuer: issuer, jwksURL: jwksURL, audience: audience, mapping: mapping))
    }

    // MARK: What follows from the configuration

    public var name: String {
        switch kind {
        case .auth0: "auth0"
        case .workOS: "workos"
        case .supabase: "supabase"
        case .keycloak: "keycloak"
        case .custom: "custom"
        }
    }

    public var endpoints: ProviderEndpoints {
        switch kind {
        case .auth0(let domain, _, _, _):
            // The issuer ends with a slash, exactly as Auth0 writes `iss`.
            let base = "\(scheme)://\(domain)"
            return ProviderEndpoints(
                issuer: base + "/", jwksURL: base + "/.well-known/jwks.json",
                discoveryURL: base + "/.well-known/openid-configuration", authorizationEndpoint: base + "/authorize",
                tokenEndpoint: base + "/oauth/token", registrationEndpoint: base + "/oidc/register",
                revocationEndpoint: base + "/oauth/revoke"
            )
        case .workOS(let domain, _):
            let base = "\(scheme)://\(domain)"
            return ProviderEndpoints(
                // AuthKit publishes RFC 8414 authorization-server metadata.
                issuer: base, jwksURL: base + "/oauth2/jwks", discoveryURL: base + "/.well-known/oauth-authorization-server",
                authorizationEndpoint: base + "/oauth2/authorize", tokenEndpoint: base + "/oauth2/token",
                registrationEndpoint: base + "/oauth2/register", introspectionEndpoint: base + "/oauth2/introspection"
            )
        case .supabase(let baseURL, _):
            let issuer = baseURL + "/auth/v1"
            return ProviderEndpoints(
                issuer: issuer, jwksURL: issuer + "/.well-known/jwks.json",
                discoveryURL: issuer + "/.well-known/openid-configuration",
                authorizationEndpoint: issuer + "/oauth/authorize", tokenEndpoint: issuer + "/oauth/token"
            )
        case .keycloak(let serverURL, let realm, _, _):
            let issuer = "\(serverURL)/realms/\(realm)"
            let oidc = issuer + "/protocol/openid-connect"
            return ProviderEndpoints(
                issuer: issuer, jwksURL: oidc + "/certs", discoveryURL: issuer + "/.well-known/openid-configuration",
                authorizationEndpoint: oidc + "/auth", tokenEndpoint: oidc + "/token",
                registrationEndpoint: issuer + "/clients-registrations/openid-connect",
                revocationEndpoint: oidc + "/revoke", introspectionEndpoint: oidc + "/token/introspect"
            )
        case .custom(let issuer, let jwksURL, _, _):
            // OIDC discovery (RFC 8414 / OIDC Discovery §4): the issuer, then the well-known path.
            let trimmed = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
            return ProviderEndpoints(issuer: issuer, jwksURL: jwksURL, discoveryURL: trimmed + "/.well-known/openid-configuration")
        }
    }

    /// The `aud` values a token must carry (empty: the audience is not checked,
    /// which only a custom provider without an audience allows).
    public var audiences: [String] {
        switch kind {
        case .auth0(_, let audience, _, _): [audience]
        case .workOS(_, let clientId): clientId.map { [$0] } ?? []
        case .supabase(_, let audience): [audience]
        case .keycloak(_, _, let clientId, let audience): (audience ?? clientId).map { [$0] } ?? []
        case .custom(_, _, let audience, _): audience.map { [$0] } ?? []
        }
    }

    /// How the provider's tokens map to an `Identity` (docs/providers/).
    public var mapping: ClaimMapping {
        var mapping = ClaimMapping.standard
        switch kind {
        case .auth0(_, _, let rolesClaim, let permissionsClaim):
            // Roles only through the configured namespaced claim; never a guessed namespace.
            mapping.roles = rolesClaim.map { [.claim(ClaimPointer(claim: $0))] } ?? []
            mapping.permissions = [.claim(ClaimPointer(claim: permissionsClaim))]
        case .workOS:
            mapping.roles = [.firstOf(["/roles", "/role"])]
        case .supabase:
            // App-controlled metadata only: `user_metadata` is editable by the user.
            mapping.roles = [.claim("/app_metadata/roles")]
            mapping.permissions = []
        case .keycloak(_, _, let clientId, _):
            mapping.roles = [.claim("/realm_access/roles")]
            if let clientId {
                mapping.roles.append(.claim(ClaimPointer(components: ["resource_access", clientId, "roles"])))
            }
            mapping.permissions = [.rolesOfEachMember("/resource_access")]
        case .custom(_, _, _, let custom):
            mapping = custom
        }
        return mapping
    }

    /// The claims policy for the provider's tokens: its issuer exactly, its audiences,
    /// its algorithms, and (Supabase) the `role` values refused unless `allowedRoles` names them.
    public func policy(leeway: Int64 = 30, allowedRoles: Set<String> = []) -> ValidationPolicy {
        var policy = ValidationPolicy(
            issuers: .exactly([endpoints.issuer]),
            audiences: audiences.isEmpty ? .any : .anyOf(audiences),
            algorithms: algorithms, leeway: leeway
        )
        if case .supabase = kind {
            // `anon` is the public API key's role and `service_role` bypasses row-level security:
            // neither is a signed-in user.
            let refused = ["anon", "service_role"].filter { !allowedRoles.contains($0) }
            if !refused.isEmpty { policy.refusedClaimValues = ["role": refused] }
        }
        return policy
    }

    /// The JWS algorithms the provider signs access tokens with.
    public var algorithms: AlgorithmSet {
        switch kind {
        case .auth0: AlgorithmSet([.rs256, .ps256])
        case .workOS: AlgorithmSet([.rs256])
        // HS256 only with the project's JWT secret; JWKS keys sign ES256 or RS256.
        case .supabase: AlgorithmSet([.es256, .rs256, .hs256])
        case .keycloak, .custom: AlgorithmSet.asymmetric
        }
    }

    // MARK: Input checks

    private static func nonEmpty(_ value: String, setting: String, example: String) throws(ConfigurationError) {
        guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ConfigurationError("\(setting) must not be empty; a valid value looks like \(example)")
        }
    }

    /// A host name given bare or as `https://host[/]` (or `http://` for a loopback host).
    private static func host(_ value: String, setting: String, example: String) throws(ConfigurationError) -> (scheme: String, host: String) {
        var host = value
        var scheme = "https"
        if host.hasPrefix("https://") { host.removeFirst("https://".count) }
        if host.hasPrefix("http://"), let url = URL(string: value), let name = url.host, LoopbackHost.contains(name) {
            host.removeFirst("http://".count)
            scheme = "http"
        }
        if host.hasSuffix("/") { host.removeLast() }
        let allowed = host.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
        }
        guard !host.isEmpty, allowed, !host.hasPrefix("."), !host.hasSuffix(".") else {
            throw ConfigurationError("\(setting) must be a host name like \(example), without a scheme other than https:// or a path (got \"\(value)\")")
        }
        return (scheme, host)
    }

    /// An https URL (http for loopback hosts), without query or fragment; the trailing slash
    /// removed unless kept.
    private static func baseURL(_ value: String, setting: String, example: String, keepTrailingSlash: Bool = false) throws(ConfigurationError) -> String {
        guard let url = URL(string: value), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
              url.query == nil, url.fragment == nil,
              scheme == "https" || (scheme == "http" && LoopbackHost.contains(host))
        else {
            throw ConfigurationError("\(setting) must be an https URL like \(example) (plain http only for localhost; no query or fragment) (got \"\(value)\")")
        }
        return !keepTrailingSlash && value.hasSuffix("/") ? String(value.dropLast()) : value
    }
}
