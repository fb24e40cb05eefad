import EdgeAuth
import Foundation

/// The `oauth` section: EdgeAuth as the OAuth 2.1 authorization server MCP clients log in
/// through (proxy mode). Absent, EdgeAuth only verifies tokens of the configured provider
/// (direct mode). Every member is listed in docs/configuration.md.
public struct OAuthSettings: Sendable, Equatable {
    /// `proxy`: EdgeAuth runs `/authorize`, `/token` and the rest; `direct`: it only
    /// verifies, and its protected-resource metadata names the provider.
    public var mode: Mode = .proxy
    /// The issuer identifier (RFC 8414): by default the resource's origin with a trailing
    /// slash, the form clients derive from the protected-resource metadata.
    public var issuer: String?
    public var lifetimes = Lifetimes()
    /// The algorithm of the access tokens EdgeAuth signs.
    public var signingAlgorithm: SigningAlgorithm = .es256
    /// Whether users confirm a client's access on a consent page (remembered per user, client and scopes).
    public var consent = true
    /// Whether `/register` accepts dynamic client registrations (RFC 7591).
    public var registration = true
    /// The built-in development identity provider's users (loopback only).
    public var developmentUsers: [DevelopmentUser] = DevelopmentUser.defaults
    /// Serve the development identity provider on an address other than loopback (never in production).
    public var allowDevelopmentOffLoopback = false
    public var clientMetadataDocuments = ClientMetadataDocumentSettings()

    public enum Mode: String, Sendable, Equatable { case proxy, direct }

    public enum SigningAlgorithm: String, Sendable, Equatable {
        case es256 = "ES256"
        case edDSA = "EdDSA"
    }

    public struct Lifetimes: Sendable, Equatable {
        public var accessToken = 3600
        public var refreshToken = 30 * 86_400
        public var authorizationCode = 60
        /// How long a user has between `/authorize` and the consent decision.
        public var pendingAuthorization = 600
        public init() {}
    }

    /// `oauth.clientMetadataDocuments`: `client_id`s that are https URLs (A4).
    public struct ClientMetadataDocumentSettings: Sendable, Equatable {
        public var enabled = true
        /// PEM file of certificate authorities trusted besides the system's (tests, private CAs).
        public var trustedCertificates: String?
        /// Fetch documents from loopback, private and link-local addresses (tests only).
        public var allowPrivateAddresses = false
        public var maxBytes = 5 * 1024
        public var timeout: Double = 3
        public init() {}
    }

    public init() {}

    /// The issuer for a resource URL: `scheme://host[:port]/`.
    public static func defaultIssuer(resource: String) -> String {
        guard let components = URLComponents(string: resource), let scheme = components.scheme, let host = components.host else { return resource }
        let shownHost = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(shownHost)\(components.port.map { ":\($0)" } ?? "")/"
    }
}

/// A user of the development identity provider: who may log in without a real provider.
public struct DevelopmentUser: Sendable, Equatable, Codable {
    public var name: String
    public var roles: [String]
    public var permissions: [String]
    /// The scopes this user may grant a client (a client asking for more gets these).
    public var scopes: [String]
    public var email: String?

    public init(name: String, roles: [String] = [], permissions: [String] = [], scopes: [String] = [], email: String? = nil) {
        self.name = name
        self.roles = roles
        self.permissions = permissions
        self.scopes = scopes
        self.email = email
    }

    /// alice (admin, every demo scope and permission) and bob (viewer, `notes:read`).
    public static let defaults = [
        DevelopmentUser(name: "alice", roles: ["admin"], permissions: ["notes:delete"], scopes: ["notes:read", "notes:write"], email: "alice@example.com"),
        DevelopmentUser(name: "bob", roles: ["viewer"], scopes: ["notes:read"], email: "bob@example.com"),
    ]
}

extension OAuthSettings: ConfigurationSection {
    public static var member: String { "oauth" }

    public mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
        let modeName = try section.string("mode", default: mode.rawValue, example: "proxy or direct", environment: "EDGEAUTH_OAUTH_MODE")
        guard let mode = Mode(rawValue: modeName) else { throw section.error("mode", "must be proxy or direct (got \"\(modeName)\")") }
        self.mode = mode
        if let issuer = try section.string("issuer", example: "https://mcp.example.com/", environment: "EDGEAUTH_OAUTH_ISSUER") {
            guard let components = URLComponents(string: issuer), ["https", "http"].contains(components.scheme ?? ""), components.host != nil,
                  components.query == nil, components.fragment == nil
            else {
                throw section.error("issuer", "must be an http(s) URL without query or fragment, like https://mcp.example.com/ (got \"\(issuer)\")")
            }
            self.issuer = issuer
        }
        try section.section(into: &lifetimes)
        let algorithm = try section.string("signingAlgorithm", default: signingAlgorithm.rawValue, example: "ES256 or EdDSA")
        guard let parsed = SigningAlgorithm(rawValue: algorithm) else { throw section.error("signingAlgorithm", "must be ES256 or EdDSA (got \"\(algorithm)\")") }
        signingAlgorithm = parsed
        consent = try section.bool("consent", default: consent)
        registration = try section.bool("registration", default: registration)
        if let users = try section.objects("developmentUsers", expected: "name, roles, permissions, scopes, email", { (user, _) throws(ConfigurationError) in
            guard let name = try user.string("name", example: "alice") else { throw ConfigurationError("\(user.displayName): name is required") }
            return DevelopmentUser(name: name, roles: try user.strings("roles", example: "[\"admin\"]") ?? [],
                                   permissions: try user.strings("permissions", example: "[\"notes:delete\"]") ?? [],
                                   scopes: try user.strings("scopes", example: "[\"notes:read\"]") ?? [], email: try user.string("email", example: "alice@example.com"))
        }) {
            guard Set(users.map(\.name)).count == users.count else { throw section.error("developmentUsers", "names a user twice") }
            developmentUsers = users
        }
        allowDevelopmentOffLoopback = try section.bool("allowDevelopmentOffLoopback", default: allowDevelopmentOffLoopback)
        try section.section(into: &clientMetadataDocuments)
    }
}

/// `oauth.lifetimes`, in seconds.
extension OAuthSettings.Lifetimes: ConfigurationSection {
    public static var member: String { "lifetimes" }

    public mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
        accessToken = try section.integer("accessToken", default: accessToken, in: 60...86_400, unit: .seconds)
        refreshToken = try section.integer("refreshToken", default: refreshToken, in: 60...(365 * 86_400), unit: .seconds)
        authorizationCode = try section.integer("authorizationCode", default: authorizationCode, in: 5...600, unit: .seconds)
        pendingAuthorization = try section.integer("pendingAuthorization", default: pendingAuthorization, in: 30...3600, unit: .seconds)
    }
}

/// `oauth.clientMetadataDocuments`.
extension OAuthSettings.ClientMetadataDocumentSettings: ConfigurationSection {
    public static var member: String { "clientMetadataDocuments" }

    public mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
        enabled = try section.bool("enabled", default: enabled)
        trustedCertificates = try section.string("trustedCertificates", example: "/etc/edgeauth/test-ca.pem") ?? trustedCertificates
        allowPrivateAddresses = try section.bool("allowPrivateAddresses", default: allowPrivateAddresses)
        maxBytes = try section.integer("maxBytes", default: maxBytes, in: 512...(64 * 1024), unit: .bytes)
        timeout = try section.number("timeout", default: timeout, in: 0.1...30, unit: .seconds)
    }
}
