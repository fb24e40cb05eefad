import EdgeAuth
import EdgeAuthOAuth
import Foundation
import NIOCore

/// The `server` member of a configuration file: where `edgeauth serve` listens, what it
/// protects, and its limits. Every member is listed in docs/configuration.md.
public struct ServerConfiguration: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Worker processes (0: one per core).
    public var workers = 0
    /// Event-loop threads in each worker. One process with several loops shares one verdict
    /// L1 and groups every loop's grants into the same durable commit of the state store.
    public var eventLoops = 1
    /// The protected prefix: this path and everything under it need a token.
    public var protectedPath = "/mcp"
    /// The canonical URL of the protected resource (RFC 9728 `resource`, RFC 8707): what
    /// clients put in `resource` and what tokens' `aud` names. Default: `http://{host}:{port}{protectedPath}`.
    public var resource: String?
    /// Authorization servers listed in the protected-resource metadata (default: the issuers).
    public var authorizationServers: [String] = []
    /// `scopes_supported` in the metadata (never `offline_access`).
    public var scopesSupported: [String] = []
    /// Scopes every request to the protected prefix needs (403 `insufficient_scope` lists the missing ones).
    public var requiredScopes: [String] = []
    public var resourceName: String?
    public var resourceDocumentation: String?
    /// Browser origins allowed by CORS: exact origins, or `*` (never with credentials).
    public var corsOrigins: [String] = []
    public var limits = Limits()
    public var rateLimit = RateLimits()
    /// TLS terminated by EdgeAuth itself (nil: plain HTTP, or TLS at a reverse proxy).
    public var tls: TLSFiles?
    /// A listener of its own for `/readyz` and `/metrics`, which the public port then does
    /// not serve (nil: they are on the public port).
    public var admin: AdminListener?

    /// `server.admin`: where the operational routes listen, apart from the public port.
    public struct AdminListener: Sendable, Equatable {
        public var host: String
        public var port: Int
        public init(host: String = "127.0.0.1", port: Int) {
            self.host = host
            self.port = port
        }
    }

    /// `server.tls`: PEM files, read when a worker starts (so SIGHUP, which starts new workers, reloads them).
    public struct TLSFiles: Sendable, Equatable {
        public var certificate: String
        public var key: String
        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// Token buckets, shared by every worker (nil: that limit is off).
    public struct RateLimits: Sendable, Equatable {
        /// Requests from one client address to the protected prefix.
        public var perIP: SharedRateLimiter.Limit? = .init(rate: 1000, burst: 2000)
        /// Requests with a valid token of one user (issuer and subject).
        public var perUser: SharedRateLimiter.Limit? = .init(rate: 100, burst: 200)
        /// Rejected tokens from one client address: once spent, the address gets 429 before
        /// its tokens are even verified (guessing and floods of forged tokens).
        public var invalidTokensPerIP: SharedRateLimiter.Limit? = .init(rate: 2, burst: 20)
        /// Requests from one client address to the OAuth routes (the protected-resource
        /// metadata): a budget of their own, stricter than `perIP`, since a client fetches
        /// them once per session and a flood of them is scraping or abuse.
        public var oauthPerIP: SharedRateLimiter.Limit? = .init(rate: 10, burst: 50)
        /// Dynamic client registrations from one client address (`/register`).
        public var registrationPerIP: SharedRateLimiter.Limit? = .init(rate: 1, burst: 20)
        /// Peers whose `X-Forwarded-For` names the client (exact addresses).
        public var trustedProxies: [String] = []
        public init() {}
    }

    public struct Limits: Sendable, Equatable {
        /// Request line and headers together (431 beyond).
        public var maxHeaderBytes = 16 * 1024
        /// Request body (413 beyond).
        public var maxBodyBytes = 1 << 20
        /// Time for a whole request (head and body) once its first byte arrived, or for the
        /// first request of a connection; slower clients get 408 and are disconnected.
        public var requestTimeout: TimeInterval = 10
        /// Time an idle keep-alive connection stays open.
        public var idleTimeout: TimeInterval = 60
        public init() {}
    }

    public init() {}

    /// The canonical resource URL, derived when not configured.
    public var resourceURL: String {
        if let resource { return resource }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(tls == nil ? "http" : "https")://\(shownHost):\(port)\(protectedPath)"
    }

    /// Reads the `server` object.
    /// - Throws: `ConfigurationError` naming the member (or variable).
    /// - Parameter base: the settings the members replace (those given in code, or the defaults).
    /// - Parameter environment: `EDGEAUTH_HOST`, `EDGEAUTH_PORT`, `EDGEAUTH_WORKERS` (none by default).
    public static func parse(_ value: JSONValue?, base: ServerConfiguration = ServerConfiguration(),
                             environment: [String: String] = [:]) throws(ConfigurationError) -> ServerConfiguration {
        try read(value, base: base, environment: environment)
    }
}

/// The `server` section, each member declared once with its default (the value set in code),
/// range and variable. docs/configuration.md lists them.
extension ServerConfiguration: ConfigurationSection {
    public static var member: String { "server" }

    public mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
        host = try section.string("host", default: host, example: "127.0.0.1 or 0.0.0.0", environment: "EDGEAUTH_HOST")
        port = try section.integer("port", default: port, in: 0...65_535, environment: "EDGEAUTH_PORT")
        workers = try section.integer("workers", default: workers, in: 0...256, environment: "EDGEAUTH_WORKERS")
        eventLoops = try section.integer("eventLoops", default: eventLoops, in: 1...64, environment: "EDGEAUTH_EVENT_LOOPS")
        if let path = try section.string("protectedPath", example: "/mcp") {
            guard path.hasPrefix("/"), !path.hasSuffix("/") || path == "/", !path.contains("?"), !path.contains("#") else {
                throw section.error("protectedPath", "must be a path like /mcp (starting with /, no trailing slash, query or fragment)")
            }
            protectedPath = path
        }
        if let resource = try section.string("resource", example: "https://mcp.example.com/mcp") {
            guard let url = URL(string: resource), let scheme = url.scheme, ["https", "http"].contains(scheme), url.host != nil,
                  url.fragment == nil, url.query == nil, !resource.hasSuffix("/")
            else {
                throw section.error("resource", "must be the absolute URL of the protected resource, like https://mcp.example.com/mcp (no trailing slash, query or fragment)")
            }
            self.resource = resource
        }
        authorizationServers = try section.strings("authorizationServers", example: "[\"https://login.example.com/\"]") ?? authorizationServers
        scopesSupported = try section.strings("scopesSupported", example: "[\"notes:read\", \"notes:write\"]") ?? scopesSupported
        if scopesSupported.contains("offline_access") {
            throw section.error("scopesSupported", "must not list offline_access (MCP clients would ask for refresh tokens they should not get)")
        }
        requiredScopes = try section.strings("requiredScopes", example: "[\"notes:read\"]") ?? requiredScopes
        resourceName = try section.string("resourceName", example: "\"Acme notes\"") ?? resourceName
        resourceDocumentation = try section.string("resourceDocumentation", example: "https://docs.example.com/mcp") ?? resourceDocumentation
        corsOrigins = try section.strings("corsOrigins", example: "[\"https://app.example.com\"]") ?? corsOrigins
        for (index, origin) in corsOrigins.enumerated() where origin != "*" {
            guard let url = URL(string: origin), url.scheme != nil, url.host != nil, url.path.isEmpty else {
                throw ConfigurationError("\(section.path(of: "corsOrigins", element: index)) must be an origin like https://app.example.com (scheme, host, optional port; no path), or * (got \"\(origin)\")")
            }
        }
        try section.section(into: &limits)
        try section.section(into: &rateLimit)
        tls = try section.section("tls", expected: "certificate and key") { (files) throws(ConfigurationError) -> TLSFiles? in
            let certificate = try files.string("certificate", example: "/etc/edgeauth/cert.pem", environment: "EDGEAUTH_TLS_CERTIFICATE")
            let key = try files.string("key", example: "/etc/edgeauth/key.pem", environment: "EDGEAUTH_TLS_KEY")
            try files.finish()
            switch (certificate, key) {
            case (nil, nil): return nil
            case (let certificate?, let key?): return TLSFiles(certificate: certificate, key: key)
            default: throw ConfigurationError("\(files.displayName) needs both certificate and key (PEM files)")
            }
        } ?? tls
        admin = try section.section("admin", expected: "port and host") { (listener) throws(ConfigurationError) -> AdminListener? in
            let host = try listener.string("host", default: "127.0.0.1", example: "127.0.0.1", environment: "EDGEAUTH_ADMIN_HOST")
            let port: Int? = try listener.integer("port", in: 0...65_535, environment: "EDGEAUTH_ADMIN_PORT")
            try listener.finish()
            guard let port else {
                guard !listener.isPresent else { throw ConfigurationError("\(listener.displayName) needs a port") }
                return nil
            }
            return AdminListener(host: host, port: port)
        } ?? admin
    }
}

/// `server.limits`: request sizes and times.
extension ServerConfiguration.Limits: ConfigurationSection {
    public static var member: String { "limits" }

    public mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
        maxHeaderBytes = try section.integer("maxHeaderBytes", default: maxHeaderBytes, in: 1024...(1 << 20), unit: .bytes)
        maxBodyBytes = try section.integer("maxBodyBytes", default: maxBodyBytes, in: 0...(64 << 20), unit: .bytes)
        requestTimeout = try section.number("requestTimeout", default: requestTimeout, in: 0.001...3600, unit: .seconds)
        idleTimeout = try section.number("idleTimeout", default: idleTimeout, in: 0.001...3600, unit: .seconds)
    }
}

/// `server.rateLimit`: the token buckets and the proxies trusted to name the client.
extension ServerConfiguration.RateLimits: ConfigurationSection {
    public static var member: String { "rateLimit" }

    public mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
        for (name, path) in [("perIP", \Self.perIP), ("perUser", \Self.perUser), ("invalidTokensPerIP", \Self.invalidTokensPerIP),
                             ("oauthPerIP", \Self.oauthPerIP), ("registrationPerIP", \Self.registrationPerIP)] {
            guard let value = section.value(name) else { continue }
            self[keyPath: path] = try Self.limit(value, section.path(of: name))
        }
        trustedProxies = try section.strings("trustedProxies", example: "[\"10.0.0.5\"]") ?? trustedProxies
        for (index, proxy) in trustedProxies.enumerated() where (try? SocketAddress(ipAddress: proxy, port: 0)) == nil {
            throw ConfigurationError("\(section.path(of: "trustedProxies", element: index)) must be an IP address, like 10.0.0.5 or ::1 (got \"\(proxy)\")")
        }
    }

    /// `{"rate": requests per second, "burst": requests at once}`, or `false` to turn the limit off.
    private static func limit(_ value: JSONValue, _ name: String) throws(ConfigurationError) -> SharedRateLimiter.Limit? {
        if case .bool(false) = value { return nil }
        guard case .object(let members) = value, Set(members.keys).isSubset(of: ["rate", "burst"]),
              let rate = members["rate"]?.doubleValue, rate > 0, rate <= 1_000_000,
              case .number(let text)? = members["burst"], let burst = Int(text), (1...10_000_000).contains(burst)
        else {
            throw ConfigurationError("\(name) must be {\"rate\": requests per second (> 0, at most 1000000), \"burst\": requests at once (1 to 10000000)} or false (got \(ConfigurationReader.show(value)))")
        }
        return SharedRateLimiter.Limit(rate: rate, burst: burst)
    }
}

/// A whole `edgeauth serve` configuration: the verifier's members plus `server`.
public struct ServeConfiguration: Sendable {
    public var verifier: VerifierConfiguration
    public var server: ServerConfiguration
    /// The `oauth` section when the file has one (proxy mode, or direct mode said explicitly).
    public var oauth: OAuthSettings?
    /// The `gateway` section when the file has one (reverse proxy, forward-auth).
    public var gateway: GatewaySettings?

    public init(verifier: VerifierConfiguration, server: ServerConfiguration, oauth: OAuthSettings? = nil, gateway: GatewaySettings? = nil) {
        self.verifier = verifier
        self.server = server
        self.oauth = oauth
        self.gateway = gateway
    }

    /// Reads a configuration file (JSON, or YAML for `.yaml`/`.yml`) with environment overrides.
    /// A new section (like `inspector`) is one more `root.section(into:)` here.
    /// - Parameter server: the settings the file's `server` members replace.
    public static func load(file path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            server: ServerConfiguration = ServerConfiguration()) throws(ConfigurationError) -> ServeConfiguration {
        try assemble(server: server) { (sections) throws(ConfigurationError) in
            try VerifierConfiguration.load(file: path, environment: environment, sections: sections)
        }
    }

    /// The same from a parsed document (what `load(file:)` reads, without the file).
    public static func from(_ document: JSONValue, environment: [String: String] = [:],
                            server: ServerConfiguration = ServerConfiguration()) throws(ConfigurationError) -> ServeConfiguration {
        try assemble(server: server) { (sections) throws(ConfigurationError) in
            try VerifierConfiguration.from(document, environment: environment, sections: sections)
        }
    }

    /// Reads every section around the verifier's members, which `readVerifier` reads with the sections it is given.
    private static func assemble(
        server: ServerConfiguration,
        _ readVerifier: ((inout ConfigurationReader) throws(ConfigurationError) -> Void) throws(ConfigurationError) -> VerifierConfiguration
    ) throws(ConfigurationError) -> ServeConfiguration {
        var settings = server
        var oauth = OAuthSettings()
        var hasOAuth = false
        var gateway = GatewaySettings()
        var hasGateway = false
        let verifier = try readVerifier { (root) throws(ConfigurationError) in
            try root.section(into: &settings)
            hasOAuth = root.contains(OAuthSettings.member)
            try root.section(into: &oauth)
            hasGateway = root.contains(GatewaySettings.member)
            try root.section(into: &gateway)
            // In proxy mode the verifier trusts the tokens EdgeAuth issues (AuthorizationLaunch).
            root.issuerSuppliedBySection = hasOAuth && oauth.mode == .proxy
        }
        if hasGateway {
            try gateway.resolve(with: settings)
            if gateway.upstreamToken != nil, !(hasOAuth && oauth.mode == .proxy) {
                throw ConfigurationError("gateway.upstreamToken needs proxy mode (oauth.mode: proxy): the token is signed with the key EdgeAuth publishes at /jwks")
            }
        }
        return ServeConfiguration(verifier: verifier, server: settings, oauth: hasOAuth ? oauth : nil, gateway: hasGateway ? gateway : nil)
    }
}
