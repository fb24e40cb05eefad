import EdgeAuth
import NIOCore
import NIOHTTP1

/// The channel handler of one connection: feeds the bytes read to its `ConnectionState`,
/// carries out the actions it returns, asks the router for each whole request's answer and
/// writes the answers in order.
/// `@safe`: its one pointer is allocated in `init`, freed in `deinit`, and never escapes.
@safe final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let context: ServerContext
    private let deadline: RequestDeadline
    /// The public routes, or the admin listener's.
    private let router: Router

    /// Kept behind a pointer that this handler owns: each access to a stored `var` of a class
    /// is an exclusivity check at run time, and this path makes many. A handler is only ever
    /// used on its channel's event loop, one call at a time.
    private struct Slots {
        var state: ConnectionState
        /// What the request being answered is, for the answer and the metrics.
        var head: HTTPRequestHead?
        var keepAlive = true
        var metric = HTTPMetrics.Route.other
        /// When the request being answered arrived whole, and when bytes were last read.
        var received = NIODeadline.now()
        var lastRead = NIODeadline.now()
        var instruments = HTTPMetrics.LastInstruments()
        /// The channel's allocator, fetched once: through the channel it costs a few retains per answer.
        var allocator = ByteBufferAllocator()
        /// The keep-alive answers of the loop's turn, flushed together.
        var flushBatch: FlushBatch?
        /// The peer's address, formatted on the connection's first request (`inet_ntop` is not free).
        var peerAddress: String?
        /// The answer being streamed, and how its body is framed.
        var stream: ResponseWriter?
        var streamFraming = ResponseSerializer.Framing.close
        var streamHasBody = true
        var streamKeepAlive = false
        var streamStatus = 200
        /// The streamed answer's head, held until its first body part, a flush or its end,
        /// so that a short answer goes out as one buffer.
        var streamHead: ByteBuffer?
    }
    private let slots: UnsafeMutablePointer<Slots>

    init(context: ServerContext, deadline: RequestDeadline, router: Router) {
        self.context = context
        self.deadline = deadline
        self.router = router
        unsafe slots = .allocate(capacity: 1)
        let limits = context.server.limits
        unsafe slots.initialize(to: Slots(state: ConnectionState(maxHeaderBytes: limits.maxHeaderBytes, maxBodyBytes: limits.maxBodyBytes)))
    }

    deinit {
        unsafe slots.deinitialize(count: 1)
        unsafe slots.deallocate()
    }

    func handlerAdded(context channelContext: ChannelHandlerContext) {
        unsafe slots.pointee.allocator = channelContext.channel.allocator
        unsafe slots.pointee.flushBatch = FlushBatch.current(channelContext.eventLoop)
    }

    func channelActive(context channelContext: ChannelHandlerContext) {
        deadline.start(channelContext)
        channelContext.fireChannelActive()
    }

    func channelInactive(context channelContext: ChannelHandlerContext) {
        deadline.stop()
        if let stream = unsafe slots.pointee.stream {
            unsafe slots.pointee.stream = nil
            stream.clientClosed()
        }
        channelContext.fireChannelInactive()
    }

    func userInboundEventTriggered(context channelContext: ChannelHandlerContext, event: Any) {
        guard event is RequestDeadline.Drain else { return channelContext.fireUserInboundEventTriggered(event) }
        if deadline.drain(now: .now(), channelContext) { channelContext.close(promise: nil) }
    }

    func channelRead(context channelContext: ChannelHandlerContext, data: NIOAny) {
        // One clock read per read: the deadline's start, and the arrival of requests it completes.
        let now = NIODeadline.now()
        deadline.bytesArrived(now: now, channelContext)
        unsafe slots.pointee.lastRead = now
        var bytes = unwrapInboundIn(data)
        unsafe slots.pointee.state.bytesRead(&bytes)
        perform(channelContext)
    }

    func channelWritabilityChanged(context channelContext: ChannelHandlerContext) {
        if channelContext.channel.isWritable, let stream = unsafe slots.pointee.stream { stream.becameWritable() }
        channelContext.fireChannelWritabilityChanged()
    }

    func read(context channelContext: ChannelHandlerContext) {
        if unsafe slots.pointee.state.readRequested() { channelContext.read() }
    }

    /// A connection error (a reset, a failed write): nothing to answer.
    func errorCaught(context channelContext: ChannelHandlerContext, error: Error) {
        channelContext.close(promise: nil)
    }

    /// Carries out the state's actions until it has none.
    private func perform(_ channelContext: ChannelHandlerContext) {
        while let action = unsafe slots.pointee.state.next() {
            switch action {
            case .continueRequested(let head, let facts):
                continueRequested(head, facts, channelContext)
            case .bodyTooLarge(let head):
                unsafe slots.pointee.head = head
                unsafe slots.pointee.keepAlive = false
                let limit = context.server.limits.maxBodyBytes
                send(.error(.payloadTooLarge, "invalid_request", "the request body is larger than \(limit) bytes"),
                     requestID: context.nextRequestID(), lingering: true, channelContext)
            case .requestEnded:
                deadline.requestReceived(channelContext)
            case .dispatch(let head, let body, let facts):
                deadline.requestReceived(channelContext)
                unsafe slots.pointee.head = head
                unsafe slots.pointee.keepAlive = facts.keepAlive
                unsafe slots.pointee.received = slots.pointee.lastRead
                dispatch(head, body, facts, channelContext)
            case .refuse(let error):
                refuse(error, channelContext)
            }
        }
    }

    /// After an awaited answer was sent: the requests that came meanwhile, then reading again.
    private func resume(_ channelContext: ChannelHandlerContext) {
        unsafe slots.pointee.state.answerSent()
        perform(channelContext)
        if unsafe slots.pointee.state.takeHeldRead() { channelContext.read() }
    }

    /// A request the decoder refused: 431 beyond the header limits, 413 for a chunked body
    /// beyond the body limit, 400 otherwise; then the connection closes (what follows is
    /// discarded). Logged (never the bytes) and counted like any answer.
    private func refuse(_ decodingError: RequestDecodingError, _ channelContext: ChannelHandlerContext) {
        let status: HTTPResponseStatus
        let description: String
        switch decodingError {
        case .tooLarge:
            (status, description) = (.requestHeaderFieldsTooLarge, "the request headers are larger than \(context.server.limits.maxHeaderBytes) bytes")
        case .bodyTooLarge:
            (status, description) = (.payloadTooLarge, "the request body is larger than \(context.server.limits.maxBodyBytes) bytes")
        case .malformed:
            (status, description) = (.badRequest, "the request is not valid HTTP/1.1")
        }
        let requestID = context.nextRequestID()
        context.logger.info("request refused before routing", metadata: [
            "request_id": "\(requestID)", "peer": "\(peerAddress(channelContext))", "status": "\(status.code)", "problem": "\(decodingError)",
        ])
        unsafe context.metrics.request(route: .other, status: Int(status.code), duration: .nanoseconds((NIODeadline.now() - slots.pointee.lastRead).nanoseconds),
                                       last: &slots.pointee.instruments)
        let channel = channelContext.channel
        let bytes = ResponseSerializer.serialize(.error(status, "invalid_request", description), version: .http1_1, includeBody: true, requestID: requestID,
                                                 corsOrigin: nil, connectionClose: true, allocator: channel.allocator)
        channelContext.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in Self.closeLingering(channel) }
    }

    /// `Expect: 100-continue`: `100` unless the route would refuse the request whatever its
    /// body (no such path, no token); then that answer, and the connection closes after it
    /// (RFC 9110 §10.1.1), so the client never sends a body only to have it refused.
    private func continueRequested(_ head: HTTPRequestHead, _ facts: RequestDecoder.HeadFacts, _ channelContext: ChannelHandlerContext) {
        let path = Self.split(head.uri).path
        let entry = router.match(path)
        let refusal: HTTPReply?
        if let entry {
            refusal = entry.route.answerBeforeBody(head, facts: facts, context: context)
        } else {
            refusal = Self.notFound
        }
        guard let refusal else {
            channelContext.writeAndFlush(wrapOutboundOut(ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
            return
        }
        unsafe slots.pointee.state.answeredBeforeBody()
        unsafe slots.pointee.head = head
        unsafe slots.pointee.keepAlive = false
        unsafe slots.pointee.metric = entry?.metric ?? .other
        unsafe slots.pointee.received = slots.pointee.lastRead
        send(refusal, requestID: context.nextRequestID(), lingering: true, channelContext)
    }

    static let notFound = HTTPReply.error(.notFound, "not_found", "no resource at this path")

    /// Closes a connection whose request was answered before it was read whole (413, 431, 400)
    /// without losing the answer: closing at once with unread bytes makes the kernel send a
    /// reset, which can destroy the answer before the client reads it (RFC 9112 §9.6). The
    /// output is closed, what the client still sends is read and discarded, and the
    /// connection closes when the client closes it or after two seconds.
    static func closeLingering(_ channel: Channel) {
        channel.close(mode: .output, promise: nil)
        channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    // MARK: Routing

    @inline(__always)
    private func dispatch(_ head: HTTPRequestHead, _ body: ByteBuffer, _ facts: RequestDecoder.HeadFacts, _ channelContext: ChannelHandlerContext) {
        let requestID = context.nextRequestID()
        let (path, query) = Self.split(head.uri)
        let entry = router.match(path)
        if case .OPTIONS = head.method, entry?.answersOptions != true {
            unsafe slots.pointee.metric = .preflight
            return send(context.cors.preflight(head, path: path), requestID: requestID, channelContext)
        }
        guard let entry else {
            unsafe slots.pointee.metric = .other
            return send(Self.notFound, requestID: requestID, channelContext)
        }
        unsafe slots.pointee.metric = entry.metric
        let peer = peerAddress(channelContext)
        let request = ServerRequest(head: head, path: path, query: query, body: body, peer: peer, client: context.clientAddress(head, peerAddress: peer),
                                    id: requestID, facts: facts, eventLoop: channelContext.eventLoop)
        switch entry.route.respond(to: request, context: context) {
        case .reply(let reply):
            send(reply, requestID: requestID, channelContext)
        case .deferred(let work):
            let answer = answerLater(requestID, channelContext)
            Task { answer(await work()) }
        case .pending(let start):
            start(answerLater(requestID, channelContext))
        case .stream(let start):
            unsafe slots.pointee.state.awaitAnswer()
            let writer = ResponseWriter(handler: self, channelContext: channelContext, requestID: requestID)
            unsafe slots.pointee.stream = writer
            start(writer)
        }
    }

    /// Waits for the answer of a request being worked on elsewhere; the returned function,
    /// called from any thread, writes it on the connection's loop and reads on.
    private func answerLater(_ requestID: RequestID, _ channelContext: ChannelHandlerContext) -> @Sendable (HTTPReply) -> Void {
        let loopBound = NIOLoopBound((self, channelContext), eventLoop: channelContext.eventLoop)
        let eventLoop = channelContext.eventLoop
        unsafe slots.pointee.state.awaitAnswer()
        return { reply in
            eventLoop.execute {
                let (handler, channelContext) = loopBound.value
                handler.send(reply, requestID: requestID, channelContext)
                handler.resume(channelContext)
            }
        }
    }

    /// The peer's address, formatted once per connection.
    private func peerAddress(_ channelContext: ChannelHandlerContext) -> String {
        unsafe slots.pointee.peerAddress ?? {
            let formatted = channelContext.remoteAddress?.ipAddress ?? "unknown"
            unsafe slots.pointee.peerAddress = formatted
            return formatted
        }()
    }

    // MARK: Writing

    /// Writes the answer to the request being answered; closes the connection after it when
    /// the request asked so, the worker drains, or `lingering` (an answer before the request was read whole).
    private func send(_ reply: HTTPReply, requestID: RequestID, lingering: Bool = false, _ channelContext: ChannelHandlerContext) {
        guard let head = unsafe slots.pointee.head else { return }
        // A reply that names its origins itself (the OAuth endpoints: any origin) keeps them.
        let ownOrigins = context.server.corsOrigins.isEmpty || reply.headers.contains(where: { $0.0 == CORSPolicy.allowOriginHeader })
        let origin = ownOrigins ? nil : context.cors.allowedOrigin(head.headers.first(name: "Origin"))
        // A draining worker answers, then closes: the client's next request goes to another worker.
        let keepAlive = unsafe slots.pointee.keepAlive && !lingering && !context.draining.load(ordering: .relaxed)
        let bytes = unsafe ResponseSerializer.serialize(reply, version: head.version, includeBody: !Self.isHEAD(head.method), requestID: requestID,
                                                 corsOrigin: origin, varyOrigin: !ownOrigins && context.cors.variesByOrigin, connectionClose: !keepAlive,
                                                 allocator: slots.pointee.allocator)
        finish(with: bytes, status: Int(reply.status.code), keepAlive: keepAlive, lingering: lingering, channelContext)
    }

    /// Writes the last bytes of an answer, counts it, then waits for the next request or closes.
    @inline(__always)
    private func finish(with bytes: ByteBuffer, status: Int, keepAlive: Bool, lingering: Bool = false, _ channelContext: ChannelHandlerContext) {
        let now = NIODeadline.now()
        unsafe context.metrics.request(route: slots.pointee.metric, status: status, duration: .nanoseconds((now - slots.pointee.received).nanoseconds),
                                last: &slots.pointee.instruments)
        if keepAlive {
            // No promise: nothing waits for this write, and a future per answer is not free.
            // Nothing to add (a streamed answer's end): a write would still cross the pipeline.
            if bytes.readableBytes > 0 { channelContext.write(wrapOutboundOut(bytes), promise: nil) }
            if let batch = unsafe slots.pointee.flushBatch {
                batch.flushLater(channelContext)
            } else {
                channelContext.flush()
            }
            deadline.requestFinished(now: now, channelContext)
            return
        }
        let done = channelContext.writeAndFlush(wrapOutboundOut(bytes))
        let channel = channelContext.channel
        unsafe slots.pointee.state.close()
        if lingering {
            done.whenComplete { _ in Self.closeLingering(channel) }
        } else {
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    // MARK: Streamed answers (ResponseWriter)

    /// A streamed answer that became a whole one.
    func streamReplied(_ reply: HTTPReply, requestID: RequestID, _ channelContext: ChannelHandlerContext) {
        unsafe slots.pointee.stream = nil
        send(reply, requestID: requestID, channelContext)
        resume(channelContext)
    }

    func streamHead(_ status: HTTPResponseStatus, headers: [(String, String)], lines: ByteBuffer?, keep: (UnsafeRawBufferPointer) -> Bool, contentLength: Int?,
                    requestID: RequestID, _ channelContext: ChannelHandlerContext) {
        guard let head = unsafe slots.pointee.head else { return }
        let hasBody = !Self.isHEAD(head.method) && status.code != 204 && status.code != 304 && status.code >= 200
        let framing: ResponseSerializer.Framing = contentLength.map { .length($0) } ?? (head.version == .http1_1 ? .chunked : .close)
        let keepAlive = unsafe slots.pointee.keepAlive && (framing != .close || !hasBody) && !context.draining.load(ordering: .relaxed)
        unsafe slots.pointee.streamFraming = framing
        unsafe slots.pointee.streamHasBody = hasBody
        unsafe slots.pointee.streamKeepAlive = keepAlive
        unsafe slots.pointee.streamStatus = Int(status.code)
        let origin = context.server.corsOrigins.isEmpty ? nil : context.cors.allowedOrigin(head.headers.first(name: "Origin"))
        // A known short body gets room after the head, to join it there (`streamBody`).
        let joined = hasBody ? contentLength.map { $0 <= Self.joinedBodyBytes ? $0 : 0 } ?? 0 : 0
        unsafe slots.pointee.streamHead = unsafe ResponseSerializer.serialize(status: status, headers: headers, lines: lines, keep: keep,
                                                                       framing: hasBody || contentLength != nil ? framing : .length(0), body: nil,
                                                                       version: head.version, requestID: requestID, corsOrigin: origin,
                                                                       varyOrigin: context.cors.variesByOrigin, connectionClose: !keepAlive,
                                                                       extraCapacity: joined, allocator: slots.pointee.allocator)
    }

    /// Body parts up to this size are copied after a held head: one write, where two
    /// writes would each cost a trip through the pipeline.
    static let joinedBodyBytes = 8 * 1024

    /// The held head, if it was not sent yet.
    private func takeStreamHead() -> ByteBuffer? {
        guard let held = unsafe slots.pointee.streamHead else { return nil }
        unsafe slots.pointee.streamHead = nil
        return held
    }

    func streamFlush(_ channelContext: ChannelHandlerContext) {
        if let held = takeStreamHead() { channelContext.write(wrapOutboundOut(held), promise: nil) }
        channelContext.flush()
    }

    func streamBody(_ bytes: ByteBuffer, _ channelContext: ChannelHandlerContext) {
        // An empty chunk would end a chunked body.
        guard unsafe slots.pointee.streamHasBody, bytes.readableBytes > 0 else { return }
        let chunked = unsafe slots.pointee.streamFraming == .chunked
        let held = takeStreamHead()
        if var joined = held, bytes.readableBytes <= Self.joinedBodyBytes {
            if chunked { ResponseSerializer.chunk(bytes, appendingTo: &joined) } else { joined.writeImmutableBuffer(bytes) }
            return channelContext.write(wrapOutboundOut(joined), promise: nil)
        }
        if let held { channelContext.write(wrapOutboundOut(held), promise: nil) }
        let framed = chunked ? unsafe ResponseSerializer.chunk(bytes, allocator: slots.pointee.allocator) : bytes
        channelContext.write(wrapOutboundOut(framed), promise: nil)
    }

    func streamEnded(requestID: RequestID, _ channelContext: ChannelHandlerContext) {
        unsafe slots.pointee.stream = nil
        var last = unsafe slots.pointee.streamHasBody && slots.pointee.streamFraming == .chunked ? ResponseSerializer.lastChunk : ByteBuffer()
        if var held = takeStreamHead() {
            held.writeImmutableBuffer(last)
            last = held
        }
        unsafe finish(with: last, status: slots.pointee.streamStatus, keepAlive: slots.pointee.streamKeepAlive, channelContext)
        resume(channelContext)
    }

    func streamAborted(_ channelContext: ChannelHandlerContext) {
        unsafe slots.pointee.stream = nil
        unsafe slots.pointee.streamHead = nil
        unsafe slots.pointee.state.close()
        channelContext.close(promise: nil)
    }

    /// By pattern: `HTTPMethod`'s `==` compares the methods' names as strings.
    static func isHEAD(_ method: HTTPMethod) -> Bool {
        if case .HEAD = method { true } else { false }
    }

    static func split(_ uri: String) -> (path: String, query: Substring?) {
        guard let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (uri, nil) }
        return (String(uri[..<mark]), uri[uri.utf8.index(after: mark)...])
    }
}
