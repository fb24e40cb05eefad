import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Connections to the upstreams, kept open between requests. A connection belongs to the
/// event loop that opened it (the worker's), so a request and its upstream exchange run on
/// one thread without hand-offs; idle ones wait per loop and upstream, in that loop's own
/// list (no lock, no hashing: a loop has a few upstreams at most).
final class UpstreamPool: Sendable {
    /// A connection handed to one exchange.
    struct Lease {
        let channel: Channel
        let handler: UpstreamHandler
        /// It served a request before: the upstream may have closed it meanwhile.
        let reused: Bool
    }

    /// One loop's idle connections, by upstream. Only used on that loop's thread.
    private final class LoopIdle {
        var upstreams: [(upstream: GatewaySettings.UpstreamURL, leases: [Lease])] = []

        func index(of upstream: GatewaySettings.UpstreamURL) -> Int {
            if let index = upstreams.firstIndex(where: { Self.same($0.upstream, upstream) }) { return index }
            upstreams.append((upstream, []))
            return upstreams.count - 1
        }

        /// The same connection target (the path does not matter).
        private static func same(_ a: GatewaySettings.UpstreamURL, _ b: GatewaySettings.UpstreamURL) -> Bool {
            a.port == b.port && a.tls == b.tls && a.host == b.host
        }
    }

    private let perLoop = PerLoop<LoopIdle>()
    private let tls: NIOSSLContext?
    /// Idle connections kept per loop and upstream; more are closed when released.
    private let maxIdle = 64

    init(tls: NIOSSLContext?) {
        self.tls = tls
    }

    /// The idle connections of the loop running the calling thread.
    private func idle(_ loop: any EventLoop) -> LoopIdle {
        perLoop.value(on: loop) { LoopIdle() }
    }

    /// An idle connection of this loop to `upstream`, if there is one.
    func idleLease(_ upstream: GatewaySettings.UpstreamURL, on loop: any EventLoop) -> Lease? {
        let idle = idle(loop)
        let index = idle.index(of: upstream)
        while let lease = idle.upstreams[index].leases.popLast() {
            if lease.channel.isActive { return Lease(channel: lease.channel, handler: lease.handler, reused: true) }
        }
        return nil
    }

    /// A new connection of this loop to `upstream`.
    func connect(_ upstream: GatewaySettings.UpstreamURL, on loop: any EventLoop, connectTimeout: TimeAmount) -> EventLoopFuture<Lease> {
        let tls = upstream.tls ? self.tls : nil
        // Never in the clear to an https upstream.
        if upstream.tls, tls == nil { return loop.makeFailedFuture(NIOSSLError.failedToLoadCertificate) }
        let handler = UpstreamHandler()
        return ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: upstream.host.first?.isNumber == true ? nil : upstream.host))
                    }
                    // Requests go out as bytes (`UpstreamRequestSerializer`); answers are parsed by the handler.
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: upstream.host, port: upstream.port)
            .map { [self] channel in
                // Once per connection: an idle one that closes leaves the pool.
                channel.closeFuture.whenComplete { [self] _ in
                    let idle = idle(channel.eventLoop)
                    let index = idle.index(of: upstream)
                    idle.upstreams[index].leases.removeAll { $0.channel === channel }
                }
                return Lease(channel: channel, handler: handler, reused: false)
            }
    }

    /// A connection whose exchange ended cleanly, for the next request. It keeps reading, so
    /// that the upstream closing it (or sending what no request asked for) closes it here.
    func release(_ lease: Lease, upstream: GatewaySettings.UpstreamURL) {
        lease.handler.exchange = nil
        let idle = idle(lease.channel.eventLoop)
        let index = idle.index(of: upstream)
        guard idle.upstreams[index].leases.count < maxIdle else { return lease.channel.close(promise: nil) }
        idle.upstreams[index].leases.append(lease)
    }
}

/// The end of an upstream connection's pipeline: parses the answer and hands its parts to
/// the exchange that owns the connection. Without one, anything read is unexpected and closes it.
final class UpstreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    /// Set and read on the connection's loop only.
    var exchange: UpstreamExchange?
    private let parser = UpstreamResponseParser()

    /// Called when a request was sent: what comes next is its answer.
    func expectAnswer(requestIsHEAD: Bool) {
        parser.expectAnswer(requestIsHEAD: requestIsHEAD)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else { return context.close(promise: nil) }
        do {
            try parser.feed(unwrapInboundIn(data)) { exchange.received($0) }
        } catch {
            if self.exchange === exchange { self.exchange = nil }
            exchange.upstreamFailed(error)
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.readComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let exchange = self.exchange
        self.exchange = nil
        // An answer without a length ends with the connection.
        if parser.connectionEnded() {
            exchange?.received(.end)
        } else {
            exchange?.upstreamClosed()
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let exchange = self.exchange
        self.exchange = nil
        exchange?.upstreamFailed(error)
        context.close(promise: nil)
    }
}
