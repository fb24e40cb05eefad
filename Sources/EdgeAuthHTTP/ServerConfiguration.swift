import EdgeAuth
import Foundation
import NIOCore

/// The `server` member of a configuration file: where `edgeauth serve` listens, what it
/// protects, and its limits. Every member is listed in docs/server.md.
public struct ServerConfiguration: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Worker processes (0: one per core).
    public var workers = 0
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

    static let members: Set<String> = [
        "host", "port", "workers", "protectedPath", "resource", "authorizationServers", "scopesSupported", "requiredScopes",
        "resourceName", "resourceDocumentation", "corsOrigins", "limits", "rateLimit",
    ]
    static let limitMembers: Set<String> = ["maxHeaderBytes", "maxBodyBytes", "requestTimeout", "idleTimeout"]

    /// The canonical resource URL, derived when not configured.
    public var resourceURL: String {
        if let resource { return resource }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "http://\(shownHost):\(port)\(protectedPath)"
    }

    /// Reads the `server` object.
    /// - Throws: `ConfigurationError` naming the member.
    /// - Parameter base: the settings the members replace (those given in code, or the defaults).
    public static func parse(_ value: JSONValue?, base: ServerConfiguration = ServerConfiguration()) throws(ConfigurationError) -> ServerConfiguration {
        var configuration = base
        guard let value else { return configuration }
        guard case .object(let object) = value else { throw ConfigurationError("server must be an object") }
        for name in object.keys.sorted() where !members.contains(name) {
            throw ConfigurationError("server: unknown member \"\(name)\" (known: \(members.sorted().joined(separator: ", ")))")
        }
        if let host = try string(object["host"], "server.host") { configuration.host = host }
        if let port = try integer(object["port"], "server.port", 0...65_535) { configuration.port = port }
        if let workers = try integer(object["workers"], "server.workers", 0...256) { configuration.workers = workers }
        if let path = try string(object["protectedPath"], "server.protectedPath") {
            guard path.hasPrefix("/"), !path.hasSuffix("/") || path == "/", !path.contains("?"), !path.contains("#") else {
                throw ConfigurationError("server.protectedPath must be a path like /mcp (starting with /, no trailing slash, query or fragment)")
            }
            configuration.protectedPath = path
        }
        if let resource = try string(object["resource"], "server.resource") {
            guard let url = URL(string: resource), let scheme = url.scheme, ["https", "http"].contains(scheme), url.host != nil,
                  url.fragment == nil, url.query == nil, !resource.hasSuffix("/")
            else {
                throw ConfigurationError("server.resource must be the absolute URL of the protected resource, like https://mcp.example.com/mcp (no trailing slash, query or fragment)")
            }
            configuration.resource = resource
        }
        if object["authorizationServers"] != nil { configuration.authorizationServers = try strings(object["authorizationServers"], "server.authorizationServers") }
        if object["scopesSupported"] != nil { configuration.scopesSupported = try strings(object["scopesSupported"], "server.scopesSupported") }
        if configuration.scopesSupported.contains("offline_access") {
            throw ConfigurationError("server.scopesSupported must not list offline_access (MCP clients would ask for refresh tokens they should not get)")
        }
        if object["requiredScopes"] != nil { configuration.requiredScopes = try strings(object["requiredScopes"], "server.requiredScopes") }
        if let value = try string(object["resourceName"], "server.resourceName") { configuration.resourceName = value }
        if let value = try string(object["resourceDocumentation"], "server.resourceDocumentation") { configuration.resourceDocumentation = value }
        if object["corsOrigins"] != nil { configuration.corsOrigins = try strings(object["corsOrigins"], "server.corsOrigins") }
        for origin in configuration.corsOrigins where origin != "*" {
            guard let url = URL(string: origin), url.scheme != nil, url.host != nil, url.path.isEmpty else {
                throw ConfigurationError("server.corsOrigins: \"\(origin)\" must be an origin like https://app.example.com (scheme, host, optional port; no path), or *")
            }
        }
        if let limits = object["limits"] {
            guard case .object(let members) = limits else { throw ConfigurationError("server.limits must be an object") }
            for name in members.keys.sorted() where !limitMembers.contains(name) {
                throw ConfigurationError("server.limits: unknown member \"\(name)\" (known: \(limitMembers.sorted().joined(separator: ", ")))")
            }
            if let bytes = try integer(members["maxHeaderBytes"], "server.limits.maxHeaderBytes", 1024...(1 << 20)) { configuration.limits.maxHeaderBytes = bytes }
            if let bytes = try integer(members["maxBodyBytes"], "server.limits.maxBodyBytes", 0...(64 << 20)) { configuration.limits.maxBodyBytes = bytes }
            if let seconds = try seconds(members["requestTimeout"], "server.limits.requestTimeout") { configuration.limits.requestTimeout = seconds }
            if let seconds = try seconds(members["idleTimeout"], "server.limits.idleTimeout") { configuration.limits.idleTimeout = seconds }
        }
        if let rateLimit = object["rateLimit"] {
            guard case .object(let members) = rateLimit else { throw ConfigurationError("server.rateLimit must be an object") }
            let known: Set<String> = ["perIP", "perUser", "invalidTokensPerIP", "oauthPerIP", "trustedProxies"]
            for name in members.keys.sorted() where !known.contains(name) {
                throw ConfigurationError("server.rateLimit: unknown member \"\(name)\" (known: \(known.sorted().joined(separator: ", ")))")
            }
            for (name, path) in [("perIP", \RateLimits.perIP), ("perUser", \RateLimits.perUser), ("invalidTokensPerIP", \RateLimits.invalidTokensPerIP),
                                 ("oauthPerIP", \RateLimits.oauthPerIP)] {
                guard let value = members[name] else { continue }
                configuration.rateLimit[keyPath: path] = try limit(value, "server.rateLimit.\(name)")
            }
            if members["trustedProxies"] != nil { configuration.rateLimit.trustedProxies = try strings(members["trustedProxies"], "server.rateLimit.trustedProxies") }
            for proxy in configuration.rateLimit.trustedProxies where (try? SocketAddress(ipAddress: proxy, port: 0)) == nil {
                throw ConfigurationError("server.rateLimit.trustedProxies: \"\(proxy)\" is not an IP address (like 10.0.0.5 or ::1)")
            }
        }
        return configuration
    }

    /// `{"rate": requests per second, "burst": requests at once}`, or `false` to turn the limit off.
    private static func limit(_ value: JSONValue, _ name: String) throws(ConfigurationError) -> SharedRateLimiter.Limit? {
        if case .bool(false) = value { return nil }
        guard case .object(let members) = value, Set(members.keys).isSubset(of: ["rate", "burst"]),
              let rate = members["rate"]?.doubleValue, rate > 0, rate <= 1_000_000,
              let burst = try integer(members["burst"], name + ".burst", 1...10_000_000)
        else {
            throw ConfigurationError("\(name) must be {\"rate\": requests per second (> 0), \"burst\": requests at once (≥ 1)} or false")
        }
        return SharedRateLimiter.Limit(rate: rate, burst: burst)
    }

    private static func string(_ value: JSONValue?, _ name: String) throws(ConfigurationError) -> String? {
        guard let value else { return nil }
        guard case .string(let text) = value, !text.isEmpty else { throw ConfigurationError("\(name) must be a non-empty string") }
        return text
    }

    private static func strings(_ value: JSONValue?, _ name: String) throws(ConfigurationError) -> [String] {
        guard let value else { return [] }
        switch value {
        case .string(let text) where !text.isEmpty: return [text]
        case .array(let items):
            var out = [String]()
            for item in items {
                guard case .string(let text) = item, !text.isEmpty else { throw ConfigurationError("\(name) must contain only non-empty strings") }
                out.append(text)
            }
            return out
        default: throw ConfigurationError("\(name) must be a string or an array of strings")
        }
    }

    private static func integer(_ value: JSONValue?, _ name: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value else { return nil }
        guard case .number(let text) = value, let number = Int(text), range.contains(number) else {
            throw ConfigurationError("\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    private static func seconds(_ value: JSONValue?, _ name: String) throws(ConfigurationError) -> TimeInterval? {
        guard let value else { return nil }
        guard let seconds = value.doubleValue, seconds > 0, seconds <= 3600 else {
            throw ConfigurationError("\(name) must be a number of seconds from 0 to 3600")
        }
        return seconds
    }
}

/// A whole `edgeauth serve` configuration: the verifier's members plus `server`.
public struct ServeConfiguration: Sendable {
    public var verifier: VerifierConfiguration
    public var server: ServerConfiguration

    public init(verifier: VerifierConfiguration, server: ServerConfiguration) {
        self.verifier = verifier
        self.server = server
    }

    /// Reads a configuration file (JSON, or YAML for `.yaml`/`.yml`) with environment overrides.
    /// - Parameter server: the settings the file's `server` members replace.
    public static func load(file path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            server: ServerConfiguration = ServerConfiguration()) throws(ConfigurationError) -> ServeConfiguration {
        var serverValue: JSONValue?
        let verifier = try VerifierConfiguration.load(file: path, environment: environment) { document in
            guard case .object(var members) = document else { return document }
            serverValue = members.removeValue(forKey: "server")
            return .object(members)
        }
        do {
            return ServeConfiguration(verifier: verifier, server: try ServerConfiguration.parse(serverValue, base: server))
        } catch {
            throw ConfigurationError("\(path): \(error.message)")
        }
    }
}
