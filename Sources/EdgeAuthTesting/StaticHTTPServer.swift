import Foundation
public import NIOCore
public import NIOHTTP1
import NIOPosix
import Synchronization

/// A loopback HTTP server for key-download tests: routes can change while it runs
/// (key rotation, an identity provider going down), answers can be delayed (a slow
/// provider), and every request is counted per path.
public final class StaticHTTPServer: Sendable {
    private let channel = Mutex<Channel?>(nil)
    private let state = Mutex(State())
    public let port: Int

    public struct Route: Sendable {
        public var status: HTTPResponseStatus
        public var body: [UInt8]
        public var headers: [(String, String)]
        /// Time before the answer is sent.
        public var delay: TimeAmount

        public init(status: HTTPResponseStatus = .ok, body: [UInt8], headers: [(String, String)] = [], delay: TimeAmount = .zero) {
            self.status = status
            self.body = body
            self.headers = headers
            self.delay = delay
        }
    }

    private struct State {
        var routes: [String: Route] = [:]
        var requests: [String: Int] = [:]
    }

    public convenience init(routes: [String: Route]) async throws {
        try await self.init { _ in routes }
    }

    /// Routes that depend on the port the server got (documents naming its own URL).
    public init(routesForPort: @Sendable (Int) -> [String: Route]) async throws {
        let box = Mutex<StaticHTTPServer?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(server: box.withLock { $0! }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
        state.withLock { $0.routes = routesForPort(port) }
        self.channel.withLock { $0 = channel }
        box.withLock { $0 = self }
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Replaces (or with nil removes) the answer for a path.
    public func set(_ path: String, _ route: Route?) {
        state.withLock { $0.routes[path] = route }
    }

    /// Requests received for a path so far.
    public func requests(_ path: String) -> Int {
        state.withLock { $0.requests[path] ?? 0 }
    }

    public func stop() async throws {
        try await channel.withLock { $0 }?.close()
    }

    fileprivate func answer(_ path: String) -> Route {
        state.withLock { state in
            state.requests[path, default: 0] += 1
            return state.routes[path] ?? Route(status: .notFound, body: Array("not found".utf8))
        }
    }

    private final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: StaticHTTPServer
        init(server: StaticHTTPServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            let route = server.answer(head.uri)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: String(route.body.count))
            // JSON unless the route says otherwise.
            if !route.headers.contains(where: { $0.0.lowercased() == "content-type" }) { headers.add(name: "Content-Type", value: "application/json") }
            for (name, value) in route.headers { headers.add(name: name, value: value) }
            let respond = { [self] in
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: route.status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: route.body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
            if route.delay == .zero {
                respond()
            } else {
                let loopBound = NIOLoopBound(respond, eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: route.delay) { loopBound.value() }
            }
        }
    }
}
