import EdgeAuth
import Foundation
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix

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
    private let quiesce: ServerQuiescingHelper

    /// The port the server listens on.
    public var port: Int { channel.localAddress?.port ?? 0 }

    private init(context: ServerContext, channel: Channel, quiesce: ServerQuiescingHelper) {
        self.context = context
        self.channel = channel
        self.quiesce = quiesce
    }

    /// Starts serving.
    public static func start(_ context: ServerContext, listener: Listener, group: MultiThreadedEventLoopGroup = .singleton) async throws -> HTTPServer {
        let quiesce = ServerQuiescingHelper(group: group)
        let limits = context.server.limits
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldCount = 256
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
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
        return HTTPServer(context: context, channel: channel, quiesce: quiesce)
    }

    /// Stops accepting, lets every request in progress finish, closes idle connections,
    /// and returns when the last connection is closed.
    public func drain() async throws {
        context.draining.store(true, ordering: .relaxed)
        let promise = channel.eventLoop.makePromise(of: Void.self)
        quiesce.initiateShutdown(promise: promise)
        try await promise.futureResult.get()
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
