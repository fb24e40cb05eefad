import EdgeAuth
import NIOCore
import NIOHTTP1

/// One request forwarded to an upstream and its answer streamed back, on the client
/// connection's event loop: the upstream is read no faster than the client takes the answer,
/// a client that goes away closes the upstream request, and an upstream that fails, hangs
/// or answers garbage gets the client a clean error.
final class UpstreamExchange: @unchecked Sendable {
    struct Request {
        let method: HTTPMethod
        /// The request as it goes on the wire (`UpstreamRequestSerializer`).
        let wire: ByteBuffer
        /// Its body, for the JSON-RPC ids of an error answered in its place.
        let body: ByteBuffer
        let upstream: GatewaySettings.UpstreamURL
        let route: GatewaySettings.Route
        let identity: Identity
        /// The ids of the `tools/list` requests whose answers are filtered.
        let toolListIDs: [JSONValue]
    }

    private let request: Request
    private let writer: ResponseWriter
    private let gateway: GatewayProxy
    private let loop: any EventLoop
    private var lease: UpstreamPool.Lease?
    private var phase = Phase.connecting
    private var attempts = 0
    /// When the upstream has taken too long (checked by `ExchangeDeadlines` while armed), and
    /// the timeout that set it.
    private(set) var deadline = NIODeadline.distantFuture
    private var timeout = 0.0
    /// The exchange's place among the loop's `ExchangeDeadlines` (nil: not armed).
    var watchIndex: Int?
    private lazy var deadlines = ExchangeDeadlines.current(loop)
    /// The upstream is not read while the client's connection has too much to write.
    private var paused = false
    /// Bytes of the answer passed on so far.
    private var passed = 0
    private var answer = Answer.passing
    private var keepAlive = true
    private var isEventStream = false
    /// The ids of the request's messages that an event of the answer already answered.
    private var answered: [JSONValue] = []

    private enum Phase { case connecting, waitingHead, body, done }

    /// How the answer goes to the client.
    private enum Answer {
        case passing
        /// Read whole to be filtered (a JSON `tools/list` answer).
        case buffering(UpstreamResponseHead, ByteBuffer)
        /// Event by event (an event stream).
        case events(EventStreamSplitter)
    }

    init(_ request: Request, writer: ResponseWriter, gateway: GatewayProxy) {
        self.request = request
        self.writer = writer
        self.gateway = gateway
        loop = writer.eventLoop
    }

    func start() {
        writer.onClientClosed = { [self] in
            phase = .done
            stopTimer()
            lease?.channel.close(promise: nil)
            lease = nil
        }
        connect()
    }

    private var settings: GatewaySettings { gateway.settings }

    /// Whether `tools/list` answers are filtered: those of the request's `tools/list` messages,
    /// or on a GET stream (a stream resumed with `Last-Event-ID` may replay one) any answer with tools.
    private var filtersToolLists: Bool {
        !request.route.tools.isEmpty && (!request.toolListIDs.isEmpty || request.method == .GET)
    }

    /// The ids whose answers are filtered (nil: any).
    private var toolListIDs: [JSONValue]? { request.method == .GET ? nil : request.toolListIDs }

    private func connect() {
        attempts += 1
        // A retry opens a new connection: the idle ones may have been closed like the last.
        if attempts == 1, let lease = gateway.pool.idleLease(request.upstream, on: loop) { return send(on: lease) }
        let timeout = TimeAmount.nanoseconds(Int64(settings.timeouts.connect * 1e9))
        gateway.pool.connect(request.upstream, on: loop, connectTimeout: timeout).hop(to: loop).whenComplete { [self] result in
            guard phase == .connecting else {
                if case .success(let lease) = result { lease.channel.close(promise: nil) }
                return
            }
            switch result {
            case .failure(let error):
                fail(.badGateway, "the upstream MCP server is unavailable (\(Self.describe(error)))")
            case .success(let lease):
                send(on: lease)
            }
        }
    }

    private func send(on lease: UpstreamPool.Lease) {
        self.lease = lease
        lease.handler.exchange = self
        phase = .waitingHead
        let channel = lease.channel
        // A connection that closed before this exchange owned it told nobody: decide here.
        guard channel.isActive else {
            lease.handler.exchange = nil
            return upstreamClosed()
        }
        lease.handler.expectAnswer(requestIsHEAD: ConnectionHandler.isHEAD(request.method))
        // No promise: a write that fails closes the connection, and `upstreamClosed` decides.
        channel.write(request.wire, promise: nil)
        FlushBatch.current(loop).flushLater(channel)
        arm(settings.timeouts.response)
    }

    // MARK: The upstream's answer (UpstreamHandler)

    func received(_ part: UpstreamResponseParser.Event) {
        switch (part, phase) {
        case (.head(let head), .waitingHead):
            phase = .body
            started(head)
        case (.body(let bytes), .body):
            arm(isEventStream ? settings.timeouts.streamIdle : settings.timeouts.response)
            forward(bytes)
        case (.end, .body):
            finished()
        default:
            break
        }
    }

    /// What one read of the upstream brought goes to the client in one write.
    func readComplete() {
        if phase == .body { writer.flush() }
    }

    func upstreamClosed() {
        switch phase {
        case .waitingHead:
            // Nothing came back: a connection the upstream closed while it was idle here. The
            // request may not have reached it; only one that may be repeated is sent again.
            if lease?.reused == true, attempts < 2, Self.isIdempotent(request.method) {
                stopTimer()
                lease = nil
                phase = .connecting
                return connect()
            }
            fail(.badGateway, "the upstream MCP server closed the connection without answering")
        case .body:
            failMidAnswer("the upstream MCP server closed the connection in the middle of its answer")
        case .connecting, .done:
            break
        }
    }

    func upstreamFailed(_ error: Error) {
        switch phase {
        case .waitingHead:
            fail(.badGateway, error is UpstreamResponseParser.Failure ? "the upstream MCP server's answer is not valid HTTP (\(error))" : "the upstream MCP server's connection failed")
        case .body:
            // A parser error is garbage; anything else is the connection failing.
            failMidAnswer(error is UpstreamResponseParser.Failure ? "the upstream MCP server's answer is not valid HTTP (\(error))"
                                                                 : "the upstream MCP server closed the connection in the middle of its answer")
        case .connecting, .done: break
        }
    }

    // MARK: Answering

    private func started(_ head: UpstreamResponseHead) {
        keepAlive = head.keepAlive
        isEventStream = head.hasMediaType("text/event-stream")
        arm(isEventStream ? settings.timeouts.streamIdle : settings.timeouts.response)
        let filtering = filtersToolLists
        if filtering, head.hasMediaType("application/json") {
            answer = .buffering(head, ByteBuffer())
            return
        }
        // An event stream is passed on event by event when its events are read: to filter
        // `tools/list`, or to know which requests are still unanswered should it break.
        if isEventStream, filtering || request.method == .POST {
            answer = .events(EventStreamSplitter(maxEventBytes: settings.maxResponseBytes))
            sendHead(head, contentLength: nil)
            return
        }
        let length = head.contentLength
        // An event stream is bounded by its events; any other answer as a whole.
        if !isEventStream, case .length(let length) = head.framing, length > settings.maxResponseBytes {
            return fail(.badGateway, "the upstream MCP server's answer is larger than \(settings.maxResponseBytes) bytes")
        }
        sendHead(head, contentLength: length)
    }

    /// The answer's head to the client, with the upstream's headers it gets.
    private func sendHead(_ head: UpstreamResponseHead, contentLength: Int?) {
        let ownCORS = gateway.answersCORS
        unsafe writer.head(HTTPResponseStatus(statusCode: head.status), lines: head.fields,
                    keep: { name in unsafe GatewayHeaders.passesToClient(name, of: head, ownCORS: ownCORS) }, contentLength: contentLength)
    }

    private func forward(_ bytes: ByteBuffer) {
        switch answer {
        case .passing:
            if !isEventStream {
                passed += bytes.readableBytes
                guard passed <= settings.maxResponseBytes else {
                    return failMidAnswer("the upstream MCP server's answer is larger than \(settings.maxResponseBytes) bytes")
                }
            }
            write(bytes)
        case .buffering(let head, var whole):
            guard whole.readableBytes + bytes.readableBytes <= settings.maxResponseBytes else {
                return fail(.badGateway, "the upstream MCP server's answer is larger than \(settings.maxResponseBytes) bytes")
            }
            var bytes = bytes
            whole.writeBuffer(&bytes)
            answer = .buffering(head, whole)
        case .events(var splitter):
            let events: [ByteBuffer]
            do {
                events = try splitter.feed(bytes)
            } catch {
                return failMidAnswer("an event of the upstream MCP server is larger than \(settings.maxResponseBytes) bytes")
            }
            answer = .events(splitter)
            for event in events { write(passedOn(event)) }
        }
    }

    /// An event as it goes to the client: a `tools/list` answer filtered; answered ids noted.
    private func passedOn(_ event: ByteBuffer) -> ByteBuffer {
        guard let data = EventStreamSplitter.data(of: event), let message = try? JSONValue.parse(Array(data.utf8)) else { return event }
        if let id = message["id"], message["result"] != nil || message["error"] != nil { answered.append(id) }
        guard filtersToolLists else { return event }
        var changed = false
        let kept = GatewayMessages.filtered(message, toolListIDs: toolListIDs, route: request.route, identity: request.identity, changed: &changed)
        return changed ? EventStreamSplitter.event(event, replacingDataWith: kept.jsonText) : event
    }

    private func write(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        writer.write(bytes)
        guard !writer.isWritable, !paused, let channel = lease?.channel else { return }
        paused = true
        channel.setOption(.autoRead, value: false).whenComplete { _ in }
        writer.onWritable = { [self] in
            guard paused else { return }
            paused = false
            lease?.channel.setOption(.autoRead, value: true).whenComplete { _ in }
        }
    }

    private func finished() {
        switch answer {
        case .passing:
            break
        case .buffering(let head, let whole):
            let body = GatewayMessages.filtered(whole, toolListIDs: toolListIDs, route: request.route, identity: request.identity) ?? whole
            sendHead(head, contentLength: body.readableBytes)
            write(body)
        case .events(var splitter):
            if let rest = splitter.rest() { write(rest) }
        }
        phase = .done
        stopTimer()
        writer.end()
        if let lease {
            self.lease = nil
            guard keepAlive else { return lease.channel.close(promise: nil) }
            // An idle connection reads, so that the upstream closing it is noticed.
            if paused { lease.channel.setOption(.autoRead, value: true).whenComplete { _ in } }
            gateway.pool.release(lease, upstream: request.upstream)
        }
    }

    /// No answer can be given: 502 or 504 with a JSON-RPC error for the request.
    private func fail(_ status: HTTPResponseStatus, _ message: String) {
        guard phase != .done else { return }
        phase = .done
        stopTimer()
        closeUpstream()
        gateway.logger.warning("gateway: \(message)", metadata: ["upstream": "\(request.upstream)"])
        if writer.headSent { return writer.abort() }
        let ids = GatewayMessages.requestIDs(request.body)
        let error = GatewayMessages.error(id: ids.count == 1 ? ids[0] : nil, code: status == .gatewayTimeout ? -32001 : -32000, message: message)
        writer.reply(.json(status, error))
    }

    /// The answer broke after its head went out. An event stream ends with a JSON-RPC error
    /// for every request it had not answered, so the client's calls fail instead of waiting;
    /// any other answer is cut (the connection closes).
    private func failMidAnswer(_ message: String) {
        guard phase == .body else { return }
        guard writer.headSent else { return fail(.badGateway, message) }
        phase = .done
        stopTimer()
        closeUpstream()
        gateway.logger.warning("gateway: \(message)", metadata: ["upstream": "\(request.upstream)"])
        guard case .events = answer else { return writer.abort() }
        for id in GatewayMessages.requestIDs(request.body) where !answered.contains(id) {
            let error = GatewayMessages.error(id: id, code: -32000, message: message)
            writer.write(ByteBuffer(string: "event: message\ndata: \(error.jsonText)\n\n"))
        }
        writer.end()
    }

    private func closeUpstream() {
        if let lease {
            self.lease = nil
            lease.handler.exchange = nil
            lease.channel.close(promise: nil)
        }
    }

    /// Moves the deadline to `seconds` from now.
    private func arm(_ seconds: Double) {
        deadline = NIODeadline.now() + .nanoseconds(Int64(seconds * 1e9))
        timeout = seconds
        deadlines.watch(self)
    }

    private func stopTimer() {
        deadlines.unwatch(self)
    }

    /// Called by `ExchangeDeadlines` once `deadline` has passed.
    func deadlinePassed() {
        stopTimer()
        guard phase == .waitingHead || phase == .body else { return }
        let seconds = Self.show(timeout)
        if phase == .waitingHead {
            fail(.gatewayTimeout, "the upstream MCP server did not answer within \(seconds) s")
        } else {
            failMidAnswer("the upstream MCP server sent nothing for \(seconds) s")
        }
    }

    private static func show(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS, .PUT, .DELETE, .TRACE: true
        default: false
        }
    }

    private static func describe(_ error: Error) -> String {
        if case ChannelError.connectTimeout = error { return "connect timed out" }
        return "connection failed"
    }
}
