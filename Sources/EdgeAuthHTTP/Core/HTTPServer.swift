import EdgeAuth
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
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
        /// Bind this address beside the other workers (`SO_REUSEPORT`: the kernel spreads
        /// the connections): the admin listener of `edgeauth serve`, whose port the master holds.
        case shared(host: String, port: Int)
    }

    public let context: ServerContext
    /// The listening channel (`.address`), or the accept loop on a shared socket (`.socket`).
    private let channel: Channel?
    private let acceptLoop: AcceptLoop?
    private let connections: Connections

    /// The port the server listens on.
    public let port: Int

    private init(context: ServerContext, channel: Channel?, acceptLoop: AcceptLoop?, connections: Connections, port: Int) {
        self.context = context
        self.channel = channel
        self.acceptLoop = acceptLoop
        self.connections = connections
        self.port = port
    }

    /// The open connections, so a drain can tell each one and knows when the last one closed.
    final class Connections: Sendable {
        private let open = Mutex<[ObjectIdentifier: Channel]>([:])
        /// Accepted sockets handed to the event loops and not registered yet: a drain waits for them too.
        let pending = Atomic<Int>(0)

        func add(_ channel: Channel) {
            open.withLock { $0[ObjectIdentifier(channel)] = channel }
            channel.closeFuture.whenComplete { [self] _ in _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }
        }

        var all: [Channel] { open.withLock { Array($0.values) } }
        var count: Int { open.withLock { $0.count } + pending.load(ordering: .acquiring) }
    }

    /// Starts serving.
    /// - Parameter admin: serve the admin routes (`server.admin`: health, readiness, metrics) in plain HTTP.
    public static func start(_ context: ServerContext, listener: Listener, group: MultiThreadedEventLoopGroup = .singleton,
                             admin: Bool = false) async throws -> HTTPServer {
        let connections = Connections()
        @Sendable func initialize(_ channel: Channel) -> EventLoopFuture<Void> {
            connections.add(channel)
            return channel.eventLoop.makeCompletedFuture { try configure(channel, context: context, admin: admin) }
        }
        switch listener {
        case .address(let host, let port), .shared(let host, let port):
            let shared: SocketOptionValue = if case .shared = listener { 1 } else { 0 }
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(ChannelOptions.socket(SocketOptionLevel(SOL_SOCKET), SO_REUSEPORT), value: shared)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer(initialize)
                .bind(host: host, port: port).get()
            return HTTPServer(context: context, channel: channel, acceptLoop: nil, connections: connections, port: channel.localAddress?.port ?? 0)
        case .socket(let descriptor):
            let bootstrap = ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer(initialize)
            let loop = AcceptLoop(descriptor: descriptor, bootstrap: bootstrap, connections: connections)
            loop.start()
            return HTTPServer(context: context, channel: nil, acceptLoop: loop, connections: connections, port: ListeningSocket.port(of: descriptor))
        }
    }

    /// Adds the request handling of this server (decoding, limits, deadlines, routing,
    /// verification, answers) to a connection's channel: for a bootstrap of the caller's own,
    /// after its TLS handler for instance. Call it on the channel's event loop.
    public static func configure(_ channel: Channel, context: ServerContext) throws {
        try configure(channel, context: context, admin: false)
    }

    static func configure(_ channel: Channel, context: ServerContext, admin: Bool) throws {
        let limits = context.server.limits
        let deadline = RequestDeadline(requestTimeout: limits.requestTimeout, idleTimeout: limits.idleTimeout)
        if !admin, let tls = context.tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
        try channel.pipeline.syncOperations.addHandler(ConnectionHandler(context: context, deadline: deadline, router: admin ? context.adminRouter : context.router))
    }

    /// Stops accepting, answers every request in progress (with `Connection: close`), closes
    /// keep-alive connections waiting between requests once they have waited
    /// `RequestDeadline.drainGrace` (a request that comes first is answered, with
    /// `Connection: close`), and returns when the last connection is closed. A connection accepted but still silent keeps its request deadline: its
    /// request is answered if it comes in time. Other workers sharing the listening socket
    /// go on accepting, so nothing waiting in the accept queue is lost.
    public func drain() async throws {
        context.draining.store(true, ordering: .relaxed)
        try? await channel?.close()
        await acceptLoop?.stop()
        for connection in connections.all {
            connection.pipeline.fireUserInboundEventTriggered(RequestDeadline.Drain())
        }
        while connections.count > 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
    }

}

/// Accepts connections on a listening socket shared with other worker processes and hands
/// each to the event loops. A blocking `accept` wakes one waiting process per connection
/// (the kernel's exclusive wait), where an event loop watching the socket would wake every
/// worker for each connection and all but one would find nothing. The socket's receive
/// timeout (set by `ListeningSocket.open`) lets the loop notice a drain.
final class AcceptLoop: @unchecked Sendable {  // `bootstrap` is used by the accept thread only
    private let descriptor: CInt
    private let bootstrap: ClientBootstrap
    private let connections: HTTPServer.Connections
    private let stopped = Atomic<Bool>(false)
    private let finished = Mutex<(done: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    init(descriptor: CInt, bootstrap: ClientBootstrap, connections: HTTPServer.Connections) {
        self.descriptor = descriptor
        self.bootstrap = bootstrap
        self.connections = connections
    }

    func start() {
        let thread = Thread { [self] in
            run()
            let waiting = finished.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.done = true
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume() }
        }
        thread.name = "edgeauth-accept"
        thread.start()
    }

    private func run() {
        while !stopped.load(ordering: .relaxed) {
            let connection = accept(descriptor, nil, nil)
            if connection < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED, EPROTO:
                    continue
                default:
                    // Out of descriptors or memory: back off instead of spinning.
                    usleep(10_000)
                    continue
                }
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            connections.pending.add(1, ordering: .releasing)
            let connections = self.connections
            bootstrap.withConnectedSocket(connection).whenComplete { result in
                if case .failure = result { close(connection) }
                connections.pending.subtract(1, ordering: .releasing)
            }
        }
    }

    /// Stops accepting; returns once the loop has ended (within the socket's receive timeout).
    func stop() async {
        stopped.store(true, ordering: .relaxed)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = finished.withLock { state -> Bool in
                if !state.done { state.waiting.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }
}

/// Disconnects clients too slow to send a request: a request must arrive whole within
/// `requestTimeout` of its first byte (and the first one within that of the connection),
/// and an idle keep-alive connection is closed after `idleTimeout`. `ConnectionHandler` tells
/// it of every read before decoding, so header bytes trickled one at a time count too.
/// (Part of the request handler rather than a handler of its own: one pipeline step less
/// per read.)
final class RequestDeadline {
    private enum State { case idle, receiving, processing }
    private var state = State.receiving
    /// When the connection is closed unless something happens first (nil: no deadline).
    private var deadline: NIODeadline?
    /// When the connection last became idle.
    private var idleSince = NIODeadline.now()
    /// The one timer of the connection: it checks `deadline` at least every `checkInterval`,
    /// so moving the deadline (twice per request) only updates a field instead of scheduling
    /// and cancelling a task. A deadline is therefore enforced within half a timeout.
    private var timer: Scheduled<Void>?
    private let requestTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let checkInterval: TimeAmount

    init(requestTimeout: TimeInterval, idleTimeout: TimeInterval) {
        self.requestTimeout = .nanoseconds(Int64(requestTimeout * 1e9))
        self.idleTimeout = .nanoseconds(Int64(idleTimeout * 1e9))
        self.checkInterval = .nanoseconds(Int64(min(requestTimeout, idleTimeout) * 0.5e9))
    }

    /// The connection is open: its first request is due within the request timeout.
    func start(_ context: ChannelHandlerContext) {
        arm(requestTimeout, now: .now(), context)
    }

    func stop() {
        timer?.cancel()
        timer = nil
    }

    /// The server is draining (`drain(now:_:)`).
    struct Drain {}

    /// How long a draining server keeps a connection that just became idle. Closing it at
    /// once races the client's next request, which may already be on its way (a client that
    /// sends at full speed always has one): lost, since clients do not retry a POST. Within
    /// the grace, that request is answered with `Connection: close` instead.
    static let drainGrace: TimeAmount = .seconds(1)

    /// Whether a draining server may close the connection now: idle for the grace already.
    /// Otherwise an idle connection closes when its grace ends, and one with a request in
    /// progress after its answer.
    func drain(now: NIODeadline, _ context: ChannelHandlerContext) -> Bool {
        guard state == .idle else { return false }
        let end = idleSince + Self.drainGrace
        if end <= now { return true }
        deadline = min(deadline ?? end, end)
        timer?.cancel()
        schedule(at: end, context)
        return false
    }

    /// Bytes arrived at `now`: the first of a request starts its deadline.
    func bytesArrived(now: NIODeadline, _ context: ChannelHandlerContext) {
        if state == .idle {
            state = .receiving
            arm(requestTimeout, now: now, context)
        }
    }

    /// The whole request arrived: the server is working on it, no client deadline.
    func requestReceived(_ context: ChannelHandlerContext) {
        state = .processing
        deadline = nil
    }

    /// The response went out at `now` on a keep-alive connection: wait for the next request.
    func requestFinished(now: NIODeadline, _ context: ChannelHandlerContext) {
        state = .idle
        idleSince = now
        arm(idleTimeout, now: now, context)
    }

    private func arm(_ timeout: TimeAmount, now: NIODeadline, _ context: ChannelHandlerContext) {
        deadline = now + timeout
        if timer == nil { schedule(at: min(now + timeout, now + checkInterval), context) }
    }

    private func schedule(at due: NIODeadline, _ context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: due) {
            let (handler, context) = loopBound.value
            handler.timerFired(context)
        }
    }

    private func timerFired(_ context: ChannelHandlerContext) {
        timer = nil
        guard let deadline else { return }  // processing: no client deadline now
        let now = NIODeadline.now()
        if deadline <= now {
            context.close(promise: nil)
        } else {
            schedule(at: min(deadline, now + checkInterval), context)
        }
    }
}
