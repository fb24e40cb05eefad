import EdgeAuth
import EdgeAuthOAuth
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The reverse proxy of the gateway: what answers verified requests under a route with an
/// `upstream`. The route's requirements, then its requirements by JSON-RPC method and tool,
/// then the request goes to the upstream with the caller's identity instead of its token,
/// and the answer streams back. Paths no route forwards go to `fallback`.
final class GatewayProxy: ProtectedHandler {
    let settings: GatewaySettings
    let pool: UpstreamPool
    let logger = Logger(label: "edgeauth.gateway")
    private let resource: ProtectedResource
    private let fallback: any ProtectedHandler
    private let authorization: AuthorizationServer?
    private let https: Bool
    /// EdgeAuth answers CORS itself (`server.corsOrigins`): the upstream's CORS headers are dropped.
    let answersCORS: Bool
    private let trustedProxies: [String]
    /// Every upstream once, for `/readyz`.
    private let upstreams: [GatewaySettings.UpstreamURL]

    init(settings: GatewaySettings, resource: ProtectedResource, fallback: any ProtectedHandler, authorization: AuthorizationServer?, https: Bool,
         trustedProxies: [String], answersCORS: Bool) {
        self.settings = settings
        self.answersCORS = answersCORS
        self.trustedProxies = trustedProxies
        self.resource = resource
        self.fallback = fallback
        self.authorization = authorization
        self.https = https
        let needsTLS = settings.routes.contains { $0.upstream?.tls == true }
        pool = UpstreamPool(tls: needsTLS ? Self.tls(trusting: settings.trustedCertificates, logger: logger) : nil)
        var upstreams: [GatewaySettings.UpstreamURL] = []
        for upstream in settings.routes.compactMap(\.upstream) where !upstreams.contains(upstream) { upstreams.append(upstream) }
        self.upstreams = upstreams
    }

    func respond(to request: ProtectedRequest, identity: Identity) -> ProtectedResponse {
        let (path, query) = ConnectionHandler.split(request.uri)
        // The upstream must serve the path the routes matched.
        guard GatewayPath.isNormal(path) else {
            return .reply(.json(.badRequest, GatewayMessages.error(id: nil, code: -32600,
                                                                   message: "the path is not in normal form (doubled slashes, dot segments or needless percent-escapes)")))
        }
        guard let route = settings.route(for: path), let upstream = route.upstream else {
            return fallback.respond(to: request, identity: identity)
        }
        if let refusal = GatewayChecks.refusal(of: route.requirements, identity: identity, resource: resource, what: "this path") {
            return .reply(refusal)
        }
        var toolListIDs: [JSONValue] = []
        if route.inspectsMessages, request.method == .POST {
            switch GatewayMessages.check(request.body, route: route, identity: identity, resource: resource) {
            case .answer(let reply): return .reply(reply)
            case .forward(let ids): toolListIDs = ids
            }
        }
        var token: String?
        if let minted = settings.upstreamToken, let authorization {
            do {
                token = try authorization.upstreamToken(for: identity, audience: upstream.description, lifetime: Int64(minted.lifetime))
            } catch {
                logger.error("gateway: the upstream token could not be signed", metadata: ["error": "\(error)"])
                return .reply(.json(.internalServerError, GatewayMessages.error(id: nil, code: -32603, message: "the gateway could not sign the upstream token")))
            }
        }
        // The rest of the path after the route's prefix, on the upstream's path.
        let rest = route.prefix == "/" ? String(path.dropFirst()) : String(path.dropFirst(route.prefix.count))
        var target = upstream.basePath + (rest.isEmpty ? "" : (rest.hasPrefix("/") ? rest : "/" + rest))
        if target.isEmpty { target = "/" }
        if let query { target += "?" + query }
        guard UpstreamRequestSerializer.isValidTarget(target) else {
            return .reply(.json(.badRequest, GatewayMessages.error(id: nil, code: -32600, message: "the request target cannot be passed on")))
        }
        let headers = GatewayHeaders.request(request.headers, settings: settings, upstream: upstream, peer: request.peer,
                                             trustedPeer: trustedProxies.contains(request.peer), https: https,
                                             identity: IdentityHeaders.of(identity, names: settings.identityHeaders), upstreamToken: token,
                                             bodyLength: request.body.readableBytes, method: request.method)
        let wire = UpstreamRequestSerializer.serialize(method: request.method, target: target, headers: headers, body: request.body, allocator: Self.allocator)
        let forwarded = UpstreamExchange.Request(method: request.method, wire: wire, body: request.body, upstream: upstream, route: route, identity: identity, toolListIDs: toolListIDs)
        return .stream { [self] writer in UpstreamExchange(forwarded, writer: writer, gateway: self).start() }
    }

    private static let allocator = ByteBufferAllocator()

    /// The client side of https upstreams: the system's CAs, and those of `gateway.trustedCertificates`.
    /// Nil (every https upstream then answered 502) if the certificates cannot be loaded.
    private static func tls(trusting certificates: String?, logger: Logger) -> NIOSSLContext? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let certificates { configuration.additionalTrustRoots = [.file(certificates)] }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            logger.error("gateway: the TLS context for https upstreams could not be made", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Whether each upstream accepts a connection now (within a second): `/readyz`.
    func readiness(on loop: any EventLoop) -> EventLoopFuture<[(upstream: GatewaySettings.UpstreamURL, up: Bool)]> {
        let probes = upstreams.map { upstream in
            ClientBootstrap(group: loop)
                .connectTimeout(.nanoseconds(Int64(min(settings.timeouts.connect, 1) * 1e9)))
                .connect(host: upstream.host, port: upstream.port)
                .flatMap { channel in channel.close().map { true } }
                .recover { _ in false }
                .map { (upstream: upstream, up: $0) }
        }
        return EventLoopFuture.whenAllSucceed(probes, on: loop)
    }
}
