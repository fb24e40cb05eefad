import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

// The floor of an HTTP/1.1 server on SwiftNIO's channel pipeline (docs/benchmarks.md,
// "HTTP server"): one event loop, one handler that finds each request's blank line and
// answers a fixed 204. No parsing, routing or verification: what is left is NIO's own
// cost per request, to compare edgeauth serve and nginx with.
//   swift run -c release NIOFloor PORT
final class Floor: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    var pending = ByteBuffer()
    static let answer = ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n")
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if pending.readableBytes == 0 { pending = bytes } else { pending.writeBuffer(&bytes) }
        while true {
            let end: Int? = pending.withUnsafeReadableBytes { b in
                guard let base = b.baseAddress else { return nil }
                var i = 3
                while i < b.count, let hit = memchr(base + i, 0x0A, b.count - i) {
                    i = UnsafeRawPointer(hit) - base
                    if b[i - 1] == 0x0D, b[i - 2] == 0x0A, b[i - 3] == 0x0D { return i + 1 }
                    i += 1
                }
                return nil
            }
            guard let end else { break }
            pending.moveReaderIndex(forwardBy: end)
            context.writeAndFlush(wrapOutboundOut(Self.answer), promise: nil)
        }
        if pending.readableBytes == 0 { pending = ByteBuffer() }
    }
}
let port = Int(CommandLine.arguments[1])!
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Floor()) } }
    .bind(host: "127.0.0.1", port: port).wait()
try channel.closeFuture.wait()
