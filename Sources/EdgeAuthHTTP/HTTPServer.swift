import EdgeAuth
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The HTTP/1.1 server of one process: keep-alive, pipelining, size limits, slow-client
/// deadlines, and a graceful drain.
public final class HTTPServer: Sendable {
    /// Where to listen.
    public enum Listener: Sendable {
        /// Bind this address (port 0: any free port).
        case address(host: String, port: Int)
        /// Adopt a socket that is already bound and listening (a worker of `edgeauth serve`).
        case socket(CInt)
    }

    public let context: ServerContext
    private let channel: Channel
    private let connections: Connections

    /// The port the server listens on.
    public var port: Int { channel.localAddress?.port ?? 0 }

    private init(context: ServerContext, channel: Channel, connections: Connections) {
        self.context = context
        self.channel = channel
        self.connections = connections
    }

    /// The open connections, so a drain can tell each one and knows when the last one closed.
    private final class Connections: Sendable {
        private let open = Mutex<[ObjectIdentifier: Channel]>([:])

        func add(_ channel: Channel) {
            open.withLock { $0[ObjectIdentifier(channel)] = channel }
            channel.closeFuture.whenComplete { [self] _ in _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }
        }

        var all: [Channel] { open.withLock { Array($0.values) } }
        var count: Int { open.withLock { $0.count } }
    }

    /// Starts serving.
    public static func start(_ context: ServerContext, listener: Listener, group: MultiThreadedEventLoopGroup = .singleton) async throws -> HTTPServer {
        let connections = Connections()
        let limits = context.server.limits
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldCount = 256
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let deadline = RequestDeadline(requestTimeout: limits.requestTimeout, idleTimeout: limits.idleTimeout)
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(deadline)
                    try operations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: decoderLimits)))
                    try operations.addHandler(HTTPResponseEncoder())
                    try operations.addHandler(HTTPServerPipelineHandler())
                    try operations.addHandler(RequestHandler(context: context, deadline: deadline))
                }
            }
        let channel: Channel
        switch listener {
        case .address(let host, let port):
            channel = try await bootstrap.bind(host: host, port: port).get()
        case .socket(let descriptor):
            channel = try await bootstrap.withBoundSocket(descriptor).get()
        }
        return HTTPServer(context: context, channel: channel, connections: connections)
    }

    /// Stops accepting, answers every request in progress (with `Connection: close`), closes
    /// keep-alive connections waiting between requests, and returns when the last connection
    /// is closed. A connection accepted but still silent keeps its request deadline: its
    /// request is answered if it comes in time. Other workers sharing the listening socket
    /// go on accepting, so nothing waiting in the accept queue is lost.
    public func drain() async throws {
        context.draining.store(true, ordering: .relaxed)
        try? await channel.close()
        for connection in connections.all {
            connection.pipeline.fireUserInboundEventTriggered(RequestDeadline.Drain())
        }
        while connections.count > 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Returns when the listening socket is closed (by `drain`).
    public func waitUntilClosed() async throws {
        try await channel.closeFuture.get()
    }
}

/// Disconnects clients too slow to send a request: a request must arrive whole within
/// `requestTimeout` of its first byte (and the first one within that of the connection),
/// and an idle keep-alive connection is closed after `idleTimeout`. Sits before the HTTP
/// decoder, so header bytes trickled one at a time count too.
final class RequestDeadline: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State { case idle, receiving, processing }
    private var state = State.receiving
    private var timer: Scheduled<Void>?
    private let requestTimeout: TimeAmount
    private let idleTimeout: TimeAmount

    init(requestTimeout: TimeInterval, idleTimeout: TimeInterval) {
        self.requestTimeout = .nanoseconds(Int64(requestTimeout * 1e9))
        self.idleTimeout = .nanoseconds(Int64(idleTimeout * 1e9))
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(requestTimeout, context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    /// The server is draining: a connection waiting between requests closes now.
    struct Drain {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is Drain {
            if state == .idle { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if state == .idle {
            state = .receiving
            arm(requestTimeout, context)
        }
        context.fireChannelRead(data)
    }

    /// The decoder produced a request head: the request is still arriving.
    func requestStarted(_ context: ChannelHandlerContext) {}

    /// The whole request arrived: the server is working on it, no client deadline.
    func requestReceived(_ context: ChannelHandlerContext) {
        state = .processing
        timer?.cancel()
        timer = nil
    }

    /// The response went out on a keep-alive connection: wait for the next request.
    func requestFinished(_ context: ChannelHandlerContext) {
        state = .idle
        arm(idleTimeout, context)
    }

    private func arm(_ timeout: TimeAmount, _ context: ChannelHandlerContext) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }
}
