import NIOCore
import NIOHTTP1

/// An answer written while it is made: a head, body parts as they come, an end (a reverse-
/// proxied event stream). A route answers `.stream` and gets one on the connection's loop;
/// every call must be made on that loop (`eventLoop`). The connection reads no further
/// request until the answer ends.
public final class ResponseWriter: @unchecked Sendable {
    public let eventLoop: any EventLoop
    private weak var handler: ConnectionHandler?
    private let channelContext: ChannelHandlerContext
    private let requestID: RequestID
    private var state = State.created
    /// Called once when the client's connection closed before the answer ended, so the work
    /// behind it (an upstream request) stops.
    public var onClientClosed: (() -> Void)?

    private enum State { case created, streaming, finished }

    init(handler: ConnectionHandler, channelContext: ChannelHandlerContext, requestID: RequestID) {
        eventLoop = channelContext.eventLoop
        self.handler = handler
        self.channelContext = channelContext
        self.requestID = requestID
    }

    /// Whether the head was sent (after which only body parts, `end` or `abort` remain).
    public var headSent: Bool { state != .created }

    /// The whole answer at once, instead of a stream (an error found before the head was sent).
    public func reply(_ reply: HTTPReply) {
        eventLoop.preconditionInEventLoop()
        guard state == .created else { return }
        finish()
        handler?.streamReplied(reply, requestID: requestID, channelContext)
    }

    /// The head, sent with the first `flush` (or `end`). `contentLength` when the body's length
    /// is known; otherwise the body is chunked (HTTP/1.1) or ends with the connection (HTTP/1.0).
    public func head(_ status: HTTPResponseStatus, headers: [(String, String)], contentLength: Int?) {
        unsafe head(status, headers: headers, lines: nil, keep: { _ in true }, contentLength: contentLength)
    }

    /// The head, with header lines already checked and ended with CRLF (an upstream's, passed
    /// on): those whose name `keep` accepts.
    func head(_ status: HTTPResponseStatus, headers: [(String, String)] = [], lines: ByteBuffer?, keep: (UnsafeRawBufferPointer) -> Bool, contentLength: Int?) {
        eventLoop.preconditionInEventLoop()
        guard state == .created else { return }
        state = .streaming
        unsafe handler?.streamHead(status, headers: headers, lines: lines, keep: keep, contentLength: contentLength, requestID: requestID, channelContext)
    }

    /// A part of the body, sent with the next `flush` (or `end`). A producer that stops while
    /// `isWritable` is false, until `onWritable`, goes no faster than the client takes the answer.
    public func write(_ bytes: ByteBuffer) {
        eventLoop.preconditionInEventLoop()
        guard state == .streaming else { return }
        handler?.streamBody(bytes, channelContext)
    }

    /// Whether the connection takes more now (its buffered output is below NIO's high-water mark).
    public var isWritable: Bool { channelContext.channel.isWritable }

    /// Called when the connection takes more again after `isWritable` was false.
    public var onWritable: (() -> Void)?

    func becameWritable() {
        let callback = onWritable
        onWritable = nil
        callback?()
    }

    /// Sends what was written: the head and parts so far (an event the client should see now).
    public func flush() {
        eventLoop.preconditionInEventLoop()
        guard state == .streaming else { return }
        handler?.streamFlush(channelContext)
    }

    /// The end of the body: the connection goes on with its next request.
    public func end() {
        eventLoop.preconditionInEventLoop()
        guard state == .streaming else { return }
        finish()
        handler?.streamEnded(requestID: requestID, channelContext)
    }

    /// The answer cannot be finished (its source failed after the head was sent): the
    /// connection closes, so the client sees an incomplete answer rather than a short one.
    public func abort() {
        eventLoop.preconditionInEventLoop()
        guard state != .finished else { return }
        finish()
        handler?.streamAborted(channelContext)
    }

    /// The client went away before the end.
    func clientClosed() {
        guard state != .finished else { return }
        let callback = onClientClosed
        finish()
        callback?()
    }

    /// The answer is over: the callbacks go, and with them what they hold (the producer
    /// usually holds this writer: kept, the two would never be freed).
    private func finish() {
        state = .finished
        onClientClosed = nil
        onWritable = nil
    }
}
