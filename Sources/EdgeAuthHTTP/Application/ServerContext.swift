import EdgeAuth
import EdgeAuthOAuth
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// Everything the application layer needs to answer requests, shared by every connection of a worker.
public final class ServerContext: Sendable {
    public let verifier: Verifier
    public let resource: ProtectedResource
    public let server: ServerConfiguration
    public let handler: any ProtectedHandler
    public let metrics: HTTPMetrics
    /// The rate limits' buckets, shared with the other workers (nil: no rate limiting).
    public let limiter: SharedRateLimiter?
    public let cors: CORSPolicy
    /// The authorization server of proxy mode (nil: EdgeAuth only verifies).
    public let authorization: AuthorizationServer?
    /// TLS of the connections, when EdgeAuth terminates it (`server.tls`).
    public let tls: NIOSSLContext?
    /// The reverse proxy of the `gateway` section, when it forwards requests.
    let gateway: GatewayProxy?
    /// Proxy mode off loopback without TLS of its own: the OAuth routes answer only requests
    /// a trusted reverse proxy forwarded from https (`X-Forwarded-Proto`).
    let oauthNeedsForwardedHTTPS: Bool
    /// Which route answers which path.
    let router: Router
    /// The routes of the admin listener (`server.admin`): health, readiness and metrics.
    let adminRouter: Router
    let logger = Logger(label: "edgeauth.http")
    /// Whether the worker is draining (readiness then fails, so balancers stop sending).
    let draining = Atomic<Bool>(false)
    private let requestCounter = Atomic<UInt64>(0)
    private let requestIDPrefix = RequestID.prefix(pid: getpid())

    public init(verifier: Verifier, resource: ProtectedResource, server: ServerConfiguration, handler: any ProtectedHandler,
                metrics: HTTPMetrics = HTTPMetrics(), limiter: SharedRateLimiter? = nil, authorization: AuthorizationServer? = nil,
                tls: NIOSSLContext? = nil, gateway settings: GatewaySettings? = nil) {
        self.verifier = verifier
        self.resource = resource
        self.server = server
        self.handler = handler
        self.metrics = metrics
        self.limiter = limiter
        self.authorization = authorization
        self.tls = tls
        oauthNeedsForwardedHTTPS = authorization != nil && tls == nil && !LoopbackHost.contains(server.host)
        cors = CORSPolicy(allowedOrigins: server.corsOrigins, ownOrigin: resource.origin, publicPaths: authorization.map { AuthorizationRoutes.publicPaths($0).union(resource.metadataPaths) } ?? [])
        var routes = Routes()
        for path in resource.metadataPaths { routes.add(path: path, MetadataRoute(), metric: .metadata) }
        var operational = Routes()
        operational.add(path: "/healthz", HealthRoute(), metric: .health)
        operational.add(path: "/readyz", ReadinessRoute(), metric: .ready)
        operational.add(path: "/metrics", MetricsRoute(), metric: .metrics)
        adminRouter = Router(routes: operational)
        // With an admin listener, readiness and metrics (worker pids, verdicts by reason) leave the public port.
        routes.add(path: "/healthz", HealthRoute(), metric: .health)
        if server.admin == nil {
            routes.add(path: "/readyz", ReadinessRoute(), metric: .ready)
            routes.add(path: "/metrics", MetricsRoute(), metric: .metrics)
        }
        if let authorization { AuthorizationRoutes.add(authorization, to: &routes) }
        if let settings, let path = settings.forwardAuthPath {
            let forwardAuth = ForwardAuthRoute(settings: settings, resource: resource)
            // Its OPTIONS requests are Envoy's question about a preflight, not a preflight of its own.
            routes.add(path: path, forwardAuth, metric: .forwardAuth, answersOptions: true)
            // Envoy appends the original path to the endpoint's.
            routes.add(prefix: path + "/", forwardAuth, metric: .forwardAuth, answersOptions: true)
        }
        gateway = settings.flatMap { $0.proxies ? GatewayProxy(settings: $0, resource: resource, fallback: handler, authorization: authorization, https: tls != nil,
                                                                   trustedProxies: server.rateLimit.trustedProxies, answersCORS: !server.corsOrigins.isEmpty) : nil }
        router = Router(protectedPath: server.protectedPath, protected: BearerRoute(handler: gateway ?? handler), routes: routes)
    }

    /// The client's address: the peer, or for a trusted proxy the last address in
    /// `X-Forwarded-For` that is not itself a trusted proxy.
    public func clientAddress(_ head: HTTPRequestHead, peer: SocketAddress?) -> String {
        clientAddress(head, peerAddress: peer?.ipAddress ?? "unknown")
    }

    /// The same, from the peer's address as text (formatted once per connection).
    func clientAddress(_ head: HTTPRequestHead, peerAddress address: String) -> String {
        let trusted = server.rateLimit.trustedProxies
        guard !trusted.isEmpty, trusted.contains(address) else { return address }
        let forwarded = head.headers["X-Forwarded-For"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        return forwarded.last { !trusted.contains($0) } ?? address
    }

    func nextRequestID() -> RequestID {
        RequestID(prefix: requestIDPrefix, number: requestCounter.add(1, ordering: .relaxed).newValue)
    }

    /// 429 with the seconds to wait.
    static func tooManyRequests(retryAfter: Int) -> HTTPReply {
        .error(.tooManyRequests, "rate_limited", "too many requests; retry later", headers: [("Retry-After", String(max(1, retryAfter)))])
    }

    static func methodNotAllowed(_ allowed: String) -> HTTPReply {
        .error(.methodNotAllowed, "invalid_request", "method not allowed", headers: [("Allow", allowed)])
    }
}
