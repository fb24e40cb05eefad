import EdgeAuth
import Foundation

/// The `gateway` section: EdgeAuth in front of MCP servers in any language, as the reverse
/// proxy itself (`routes` with an `upstream`) or as the service another proxy asks
/// (`forwardAuth`). docs/gateway.md; every member is listed in docs/configuration.md.
public struct GatewaySettings: Sendable, Equatable {
    public var routes: [Route] = []
    public var identityHeaders = IdentityHeaderNames()
    /// A JWT signed by EdgeAuth for the upstream, in this header (nil: none). Proxy mode only.
    public var upstreamToken: UpstreamToken?
    /// The forward-auth endpoint's path (nil: off).
    public var forwardAuthPath: String?
    public var timeouts = Timeouts()
    /// The largest answer from an upstream, and the largest event of an event stream.
    public var maxResponseBytes = 8 << 20
    /// A PEM file of CA certificates trusted for https upstreams, besides the system's (an
    /// internal CA).
    public var trustedCertificates: String?

    /// A prefix, what a caller needs there, and where its requests go.
    public struct Route: Sendable, Equatable {
        public var prefix: String
        /// Where requests under `prefix` are forwarded, the rest of their path appended (nil:
        /// requirements for forward-auth only).
        public var upstream: UpstreamURL?
        /// Needed for every request under `prefix`.
        public var requirements = Requirements()
        /// Needed for a JSON-RPC method (`resources/read`), in every element of a batch.
        public var methods: [String: Requirements] = [:]
        /// Needed to call a tool (`tools/call` by `params.name`), which `tools/list` then hides from callers without it.
        public var tools: [String: Requirements] = [:]

        public init(prefix: String, upstream: UpstreamURL? = nil) {
            self.prefix = prefix
            self.upstream = upstream
        }

        /// Whether JSON-RPC bodies must be read: requirements by method or tool.
        var inspectsMessages: Bool { !methods.isEmpty || !tools.isEmpty }

        func covers(_ path: String) -> Bool {
            prefix == "/" || path == prefix || path.hasPrefix(prefix + "/")
        }
    }

    /// `{scopes, roles, permissions}`: every one listed is needed.
    public struct Requirements: Sendable, Equatable {
        public var scopes: [String] = []
        public var roles: [String] = []
        public var permissions: [String] = []
        public init(scopes: [String] = [], roles: [String] = [], permissions: [String] = []) {
            self.scopes = scopes
            self.roles = roles
            self.permissions = permissions
        }

        public var requirement: Requirement {
            .allOf(scopes.map(Requirement.scope) + roles.map(Requirement.role) + permissions.map(Requirement.permission))
        }

        /// Whether the caller has every one listed; checked in place, before `requirement`
        /// is built to say what is missing.
        func isMet(by identity: Identity) -> Bool {
            scopes.allSatisfy { identity.hasScope($0) } && roles.allSatisfy { identity.hasRole($0) } && permissions.allSatisfy { identity.hasPermission($0) }
        }
    }

    /// An `http` or `https` URL: scheme, host, port, and the path requests are appended to.
    public struct UpstreamURL: Sendable, Equatable, CustomStringConvertible {
        public let tls: Bool
        public let host: String
        public let port: Int
        /// The path without a trailing slash ("" for the root).
        public let basePath: String
        public let description: String
        /// The `Host` header: the host, and the port unless it is the scheme's.
        let hostHeader: String

        public init?(_ text: String) {
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil, url.user == nil
            else { return nil }
            tls = scheme == "https"
            self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
            port = url.port ?? (tls ? 443 : 80)
            let path = url.path
            basePath = path == "/" ? "" : (path.hasSuffix("/") ? String(path.dropLast()) : path)
            description = text
            let shown = self.host.contains(":") ? "[\(self.host)]" : self.host
            hostHeader = port == (tls ? 443 : 80) ? shown : "\(shown):\(port)"
        }
    }

    /// The names of the headers that carry the caller's identity.
    public struct IdentityHeaderNames: Sendable, Equatable {
        /// Every incoming header whose name starts with it is removed (spoofing).
        public var prefix = "X-EdgeAuth-"
        public var user = "X-EdgeAuth-User"
        public var email = "X-EdgeAuth-Email"
        public var roles = "X-EdgeAuth-Roles"
        public var permissions = "X-EdgeAuth-Permissions"
        public var scopes = "X-EdgeAuth-Scopes"
        public var clientID = "X-EdgeAuth-Client-Id"
        public init() {}

        var all: [String] { [user, email, roles, permissions, scopes, clientID] }
    }

    public struct UpstreamToken: Sendable, Equatable {
        public var header = "X-EdgeAuth-Token"
        /// Seconds.
        public var lifetime = 60
        public init() {}
    }

    /// Seconds.
    public struct Timeouts: Sendable, Equatable {
        /// To open a connection to the upstream.
        public var connect: TimeInterval = 5
        /// From the request sent to the answer's head, and between parts of an answer that is not an event stream.
        public var response: TimeInterval = 60
        /// Between events of an event stream (`text/event-stream`).
        public var streamIdle: TimeInterval = 300
        public init() {}
    }

    public init() {}

    /// Whether EdgeAuth forwards requests itself.
    public var proxies: Bool { routes.contains { $0.upstream != nil } }

    /// The route of a path: the longest prefix that covers it.
    func route(for path: String) -> Route? {
        var best: Route?
        for route in routes where route.covers(path) && route.prefix.utf8.count > (best?.prefix.utf8.count ?? -1) { best = route }
        return best
    }
}

extension GatewaySettings: ConfigurationSection {
    public static var member: String { "gateway" }

    public mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
        let shorthand = try section.string("upstream", example: "http://127.0.0.1:9000/mcp")
        if let read = try section.objects("routes", expected: "prefix, upstream, requirements, methods, tools", { (route, _) throws(ConfigurationError) -> Route in
            try Self.route(&route)
        }) {
            routes = read
        }
        if let shorthand {
            guard routes.isEmpty else { throw section.error("upstream", "is the shorthand for one route: give it, or routes, not both") }
            guard let url = UpstreamURL(shorthand) else { throw section.error("upstream", Self.urlProblem) }
            // The prefix is filled in with server.protectedPath once both sections are read.
            routes = [Route(prefix: "", upstream: url)]
        }
        var seen = Set<String>()
        for (index, route) in routes.enumerated() where !route.prefix.isEmpty && !seen.insert(route.prefix).inserted {
            throw ConfigurationError("\(section.path(of: "routes", element: index)).prefix \"\(route.prefix)\" is given twice")
        }
        try section.section(into: &identityHeaders)
        upstreamToken = try section.section("upstreamToken", expected: "header and lifetime") { (token) throws(ConfigurationError) -> UpstreamToken? in
            var value = upstreamToken ?? UpstreamToken()
            value.header = try token.string("header", default: value.header, example: "X-EdgeAuth-Token")
            value.lifetime = try token.integer("lifetime", default: value.lifetime, in: 5...3600, unit: .seconds)
            guard token.isPresent else { return upstreamToken }
            guard Self.isHeaderName(value.header) else { throw token.error("header", "must be a header name, like X-EdgeAuth-Token") }
            return value
        }
        forwardAuthPath = try section.section("forwardAuth", expected: "path") { (forward) throws(ConfigurationError) -> String? in
            let path = try forward.string("path", default: "/auth/verify", example: "/auth/verify")
            guard forward.isPresent else { return forwardAuthPath }
            guard path.hasPrefix("/"), !path.contains("?"), !path.contains("#") else { throw forward.error("path", "must be a path like /auth/verify") }
            return path
        }
        try section.section(into: &timeouts)
        maxResponseBytes = try section.integer("maxResponseBytes", default: maxResponseBytes, in: 1024...(256 << 20), unit: .bytes)
        trustedCertificates = try section.string("trustedCertificates", example: "/etc/edgeauth/upstream-ca.pem") ?? trustedCertificates
    }

    /// Refuses a `trustedCertificates` file that cannot be read or holds no certificate: checked
    /// when the server starts, not when the file is read (the file may be for another machine).
    public func checkFiles() throws(ConfigurationError) {
        guard let path = trustedCertificates else { return }
        guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else { throw ConfigurationError("gateway.trustedCertificates: cannot read \(path)") }
        guard pem.contains("-----BEGIN CERTIFICATE-----") else { throw ConfigurationError("gateway.trustedCertificates: \(path) holds no PEM certificate") }
    }

    private static let urlProblem = "must be an http or https URL like http://127.0.0.1:9000/mcp (no query, fragment or credentials)"

    private static func route(_ route: inout ConfigurationReader) throws(ConfigurationError) -> Route {
        guard let prefix = try route.string("prefix", example: "/mcp") else { throw ConfigurationError("\(route.displayName) needs a prefix, like /mcp") }
        guard prefix.hasPrefix("/"), !prefix.hasSuffix("/") || prefix == "/", !prefix.contains("?"), !prefix.contains("#") else {
            throw route.error("prefix", "must be a path like /mcp (starting with /, no trailing slash, query or fragment)")
        }
        var value = Route(prefix: prefix)
        if let text = try route.string("upstream", example: "http://127.0.0.1:9000/mcp") {
            guard let url = UpstreamURL(text) else { throw route.error("upstream", urlProblem) }
            value.upstream = url
        }
        value.requirements = try route.section("requirements", expected: "scopes, roles, permissions") { (needs) throws(ConfigurationError) in try requirements(&needs) }
        value.methods = try named(&route, "methods", example: "resources/read")
        value.tools = try named(&route, "tools", example: "delete_note")
        return value
    }

    /// `{name: {scopes, roles, permissions}}`.
    private static func named(_ route: inout ConfigurationReader, _ member: String, example: String) throws(ConfigurationError) -> [String: Requirements] {
        var out: [String: Requirements] = [:]
        try route.section(member, expected: "\(example): {scopes, roles, permissions}") { (names) throws(ConfigurationError) in
            for name in names.memberNames {
                try names.section(name, expected: "scopes, roles, permissions") { (needs) throws(ConfigurationError) in out[name] = try requirements(&needs) }
            }
        }
        return out
    }

    private static func requirements(_ needs: inout ConfigurationReader) throws(ConfigurationError) -> Requirements {
        Requirements(scopes: try needs.strings("scopes", example: "[\"notes:read\"]") ?? [],
                     roles: try needs.strings("roles", example: "[\"admin\"]") ?? [],
                     permissions: try needs.strings("permissions", example: "[\"notes:delete\"]") ?? [])
    }

    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { RequestDecoder.isTokenCharacter($0) }
    }

    /// Checks what needs the `server` section too: the shorthand's prefix, and that every
    /// forwarded prefix lies under the protected path (the resource clients get tokens for).
    mutating func resolve(with server: ServerConfiguration) throws(ConfigurationError) {
        for index in routes.indices where routes[index].prefix.isEmpty { routes[index].prefix = server.protectedPath }
        let protected = GatewaySettings.Route(prefix: server.protectedPath)
        for (index, route) in routes.enumerated() where route.upstream != nil && !protected.covers(route.prefix) {
            throw ConfigurationError("gateway.routes[\(index)].prefix \"\(route.prefix)\" must be server.protectedPath (\(server.protectedPath)) or under it: only requests there are verified")
        }
        if let path = forwardAuthPath, protected.covers(path) {
            throw ConfigurationError("gateway.forwardAuth.path \"\(path)\" must not be under server.protectedPath (\(server.protectedPath))")
        }
    }
}

/// `gateway.identityHeaders`.
extension GatewaySettings.IdentityHeaderNames: ConfigurationSection {
    public static var member: String { "identityHeaders" }

    public mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
        for (name, path) in [("prefix", \Self.prefix), ("user", \Self.user), ("email", \Self.email), ("roles", \Self.roles),
                             ("permissions", \Self.permissions), ("scopes", \Self.scopes), ("clientId", \Self.clientID)] {
            let value = try section.string(name, default: self[keyPath: path], example: self[keyPath: path])
            guard GatewaySettings.isHeaderName(value) else { throw section.error(name, "must be a header name (letters, digits and -), like \(self[keyPath: path])") }
            self[keyPath: path] = value
        }
        let prefix = self.prefix.lowercased()
        for name in all where !name.lowercased().hasPrefix(prefix) {
            throw ConfigurationError("\(section.displayName): \(name) must start with the prefix \(self.prefix), so that a client's own \(name) is removed")
        }
    }
}

/// `gateway.timeouts`.
extension GatewaySettings.Timeouts: ConfigurationSection {
    public static var member: String { "timeouts" }

    public mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
        connect = try section.number("connect", default: connect, in: 0.01...300, unit: .seconds)
        response = try section.number("response", default: response, in: 0.01...3600, unit: .seconds)
        streamIdle = try section.number("streamIdle", default: streamIdle, in: 0.01...86_400, unit: .seconds)
    }
}
