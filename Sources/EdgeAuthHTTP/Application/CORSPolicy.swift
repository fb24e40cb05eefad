import NIOHTTP1

/// Which browser origins may call the server (R8), decided in one place for every route:
/// the CORS headers of an answer, the preflight, and the refusal of pages from other
/// origins (DNS rebinding).
public struct CORSPolicy: Sendable {
    /// Exact origins, or `*`.
    public let allowedOrigins: [String]
    /// The resource's own origin: its pages may always call it.
    public let ownOrigin: String

    /// Paths any origin may call without credentials: the authorization server's metadata,
    /// `/token`, `/register`, `/revoke` and `/jwks`, which browser-based MCP clients call
    /// from their own origin.
    public let publicPaths: Set<String>

    /// Whether answers depend on the request's `Origin` (a list of origins, not `*`): every
    /// answer then says `Vary: Origin`, refused origins' too, so a cache keeps them apart.
    public let variesByOrigin: Bool

    public init(allowedOrigins: [String], ownOrigin: String, publicPaths: Set<String> = []) {
        self.allowedOrigins = allowedOrigins
        self.ownOrigin = ownOrigin
        self.publicPaths = publicPaths
        variesByOrigin = !allowedOrigins.isEmpty && !allowedOrigins.contains("*")
    }

    static let allowOriginHeader = "Access-Control-Allow-Origin"

    /// The headers of an answer on a public path to a browser request (one with `Origin`).
    static func publicHeaders(origin: String?) -> [(String, String)] {
        guard origin != nil else { return [] }
        return [(allowOriginHeader, "*"), ("Access-Control-Expose-Headers", "WWW-Authenticate")]
    }

    /// The value of `Access-Control-Allow-Origin` for a request's `Origin`, if the origin is allowed.
    public func allowedOrigin(_ origin: String?) -> String? {
        guard let origin, !allowedOrigins.isEmpty else { return nil }
        if allowedOrigins.contains("*") { return "*" }
        return allowedOrigins.contains(origin) ? origin : nil
    }

    /// Whether a request with this `Origin` may be served at all: none (not a browser), the
    /// resource's own origin, or an allowed one. Anything else is a page of another site.
    public func permits(origin: String?) -> Bool {
        guard let origin else { return true }
        return origin == ownOrigin || allowedOrigins.contains("*") || allowedOrigins.contains(origin)
    }

    /// The answer to `OPTIONS`: the methods, and for an allowed origin's preflight what it may send.
    /// (The allow-origin header itself is added to every answer for an allowed origin.)
    func preflight(_ head: HTTPRequestHead, path: String) -> HTTPReply {
        var headers = [("Allow", "GET, HEAD, POST, DELETE, OPTIONS")]
        if publicPaths.contains(path), head.headers.contains(name: "Origin"), head.headers.contains(name: "Access-Control-Request-Method") {
            headers += [
                (Self.allowOriginHeader, "*"),
                ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
                ("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version"),
                ("Access-Control-Max-Age", "600"),
            ]
            return HTTPReply(status: .noContent, headers: headers)
        }
        if allowedOrigin(head.headers.first(name: "Origin")) != nil, head.headers.contains(name: "Access-Control-Request-Method") {
            headers += [
                ("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"),
                ("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version, Mcp-Session-Id, Last-Event-ID"),
                ("Access-Control-Max-Age", "600"),
            ]
        }
        return HTTPReply(status: .noContent, headers: headers)
    }

    /// The answer to a request from an origin that `permits` refuses.
    public static let forbiddenOrigin = HTTPReply.error(.forbidden, "forbidden_origin", "requests from this origin are not allowed")
}
