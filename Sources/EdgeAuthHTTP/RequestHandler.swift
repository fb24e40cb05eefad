import EdgeAuth
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Everything a connection's handler needs, shared by every connection of a worker.
public final class ServerContext: Sendable {
    public let verifier: Verifier
    public let resource: ProtectedResource
    public let server: ServerConfiguration
    public let handler: any ProtectedHandler
    public let metrics: HTTPMetrics
    /// The rate limits' buckets, shared with the other workers (nil: no rate limiting).
    public let limiter: SharedRateLimiter?
    let logger = Logger(label: "edgeauth.http")
    private let protectedPath: String
    private let protectedPrefix: String
    /// Whether the worker is draining (readiness then fails, so balancers stop sending).
    let draining = Atomic<Bool>(false)
    private let requestCounter = Atomic<UInt64>(0)
    private let requestIDPrefix = RequestID.prefix(pid: getpid())

    public init(verifier: Verifier, resource: ProtectedResource, server: ServerConfiguration, handler: any ProtectedHandler,
                metrics: HTTPMetrics = HTTPMetrics(), limiter: SharedRateLimiter? = nil) {
        self.verifier = verifier
        self.resource = resource
        self.server = server
        self.handler = handler
        self.metrics = metrics
        self.limiter = limiter
        protectedPath = server.protectedPath
        protectedPrefix = server.protectedPath == "/" ? "/" : server.protectedPath + "/"
    }

    /// The client's address: the peer, or for a trusted proxy the last address in
    /// `X-Forwarded-For` that is not itself a trusted proxy.
    public func clientAddress(_ head: HTTPRequestHead, peer: SocketAddress?) -> String {
        clientAddress(head, peerAddress: peer?.ipAddress ?? "unknown")
    }

    /// The same, from the peer's address as text (formatted once per connection).
    func clientAddress(_ head: HTTPRequestHead, peerAddress address: String) -> String {
        let trusted = server.rateLimit.trustedProxies
        guard !trusted.isEmpty, trusted.contains(address) else { return address }
        let forwarded = head.headers["X-Forwarded-For"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        return forwarded.last { !trusted.contains($0) } ?? address
    }

    func nextRequestID() -> RequestID {
        RequestID(prefix: requestIDPrefix, number: requestCounter.add(1, ordering: .relaxed).newValue)
    }

    /// Whether a path is under the protected prefix: the prefix itself or below it.
    func isProtected(_ path: String) -> Bool {
        path == protectedPath || path.hasPrefix(protectedPrefix)
    }

    /// The CORS origin to allow for a request's `Origin`, if any (R8).
    func allowedOrigin(_ origin: String?) -> String? {
        guard let origin, !server.corsOrigins.isEmpty else { return nil }
        if server.corsOrigins.contains("*") { return "*" }
        return server.corsOrigins.contains(origin) ? origin : nil
    }
}

/// One connection: collects each request within the limits, routes it, and answers.
/// The protected prefix needs a bearer token in the `Authorization` header (R2–R6).
///
/// Requests are decoded here (`RequestDecoder`) and answered in order, one at a time: while
/// an answer is awaited (a deferred handler, a key refresh), later pipelined requests stay
/// undecoded in `pending` and the socket is not read, so a client cannot make them grow
/// beyond one read.
final class RequestHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let context: ServerContext
    private let deadline: RequestDeadline

    /// The connection's state, kept behind a pointer that this handler owns: each access to a
    /// stored `var` of a class is an exclusivity check at run time (a call that looks the
    /// access up in a per-thread set), a dozen per request on this path. A handler is only
    /// ever used on its channel's event loop, one call at a time.
    private struct State {
        var head: HTTPRequestHead?
        var body = ByteBuffer()
        /// The request was already answered (too large): ignore the rest of it.
        var answered = false
        /// An early answer closed the connection's output: whatever else arrives is discarded.
        var closing = false
        /// The route of the request being answered, and when it arrived whole (for the metrics).
        var route = HTTPMetrics.Route.other
        var received = NIODeadline.now()
        /// When the last bytes were read.
        var lastRead = NIODeadline.now()
        /// Bytes read and not decoded yet.
        var pending = RequestHandler.empty
        var decoder: RequestDecoder
        /// What the decoder noted in the head of the request being answered.
        var requestFacts = RequestDecoder.HeadFacts()
        /// An answer is being awaited: nothing more is decoded until it is sent.
        var awaiting = false
        var instruments = HTTPMetrics.LastInstruments()
        /// The channel's allocator, fetched once: through the channel it costs a few retains per answer.
        var allocator = ByteBufferAllocator()
    }
    private let state: UnsafeMutablePointer<State>

    private var head: HTTPRequestHead? {
        _read { yield state.pointee.head }
        _modify { yield &state.pointee.head }
    }
    private var body: ByteBuffer {
        _read { yield state.pointee.body }
        _modify { yield &state.pointee.body }
    }
    private var answered: Bool {
        get { state.pointee.answered }
        set { state.pointee.answered = newValue }
    }
    private var closing: Bool {
        get { state.pointee.closing }
        set { state.pointee.closing = newValue }
    }
    private var route: HTTPMetrics.Route {
        get { state.pointee.route }
        set { state.pointee.route = newValue }
    }
    private var received: NIODeadline {
        get { state.pointee.received }
        set { state.pointee.received = newValue }
    }
    private var lastRead: NIODeadline {
        get { state.pointee.lastRead }
        set { state.pointee.lastRead = newValue }
    }
    private var pending: ByteBuffer {
        _read { yield state.pointee.pending }
        _modify { yield &state.pointee.pending }
    }
    private var decoder: RequestDecoder {
        _read { yield state.pointee.decoder }
        _modify { yield &state.pointee.decoder }
    }
    private var requestFacts: RequestDecoder.HeadFacts {
        _read { yield state.pointee.requestFacts }
        _modify { yield &state.pointee.requestFacts }
    }
    private var awaiting: Bool {
        get { state.pointee.awaiting }
        set { state.pointee.awaiting = newValue }
    }

    /// The client address of the request being answered (rate limits).
    private var client = ""
    /// The peer's address, formatted on the connection's first request (`inet_ntop` is not free).
    private var peerAddress: String?
    private static let empty = ByteBuffer()
    /// A read the channel asked for while an answer was awaited, issued once it is sent.
    private var readHeld = false
    /// The awaited answer is the protected handler's (after a key refresh, that one may follow).
    private var awaitingHandler = false

    init(context: ServerContext, deadline: RequestDeadline) {
        self.context = context
        self.deadline = deadline
        state = .allocate(capacity: 1)
        state.initialize(to: State(decoder: RequestDecoder(maxHeaderBytes: context.server.limits.maxHeaderBytes)))
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    func handlerAdded(context channelContext: ChannelHandlerContext) {
        state.pointee.allocator = channelContext.channel.allocator
    }

    func channelActive(context channelContext: ChannelHandlerContext) {
        deadline.start(channelContext)
        channelContext.fireChannelActive()
    }

    func channelInactive(context channelContext: ChannelHandlerContext) {
        deadline.stop()
        channelContext.fireChannelInactive()
    }

    func userInboundEventTriggered(context channelContext: ChannelHandlerContext, event: Any) {
        guard event is RequestDeadline.Drain else { return channelContext.fireUserInboundEventTriggered(event) }
        if deadline.isIdle { channelContext.close(promise: nil) }
    }

    func channelRead(context channelContext: ChannelHandlerContext, data: NIOAny) {
        // One clock read per read: the deadline's start, and the arrival of requests it completes.
        let now = NIODeadline.now()
        deadline.bytesArrived(now: now, channelContext)
        lastRead = now
        guard !closing else { return }
        var bytes = unwrapInboundIn(data)
        if pending.readableBytes == 0 {
            pending = bytes
        } else {
            pending.writeBuffer(&bytes)
        }
        decodePending(channelContext)
    }

    /// Decodes and answers what `pending` holds, until it runs out or an answer is awaited.
    private func decodePending(_ channelContext: ChannelHandlerContext) {
        do {
            while !awaiting, !closing, let part = try decoder.next(from: &pending) {
                process(part, channelContext)
            }
        } catch {
            refuse(error as? RequestDecodingError ?? .malformed("request"), channelContext)
        }
        if pending.readableBytes == 0 {
            // Let go of the read buffer: NIO reuses it for the next read only if nothing else holds it.
            pending = Self.empty
        } else if pending.readerIndex > 1 << 16 {
            pending.discardReadBytes()
        }
    }

    func read(context channelContext: ChannelHandlerContext) {
        if awaiting {
            readHeld = true
        } else {
            channelContext.read()
        }
    }

    /// After an awaited answer was sent: the requests that came meanwhile, then reading again.
    private func resume(_ channelContext: ChannelHandlerContext) {
        awaiting = false
        decodePending(channelContext)
        if !awaiting, readHeld {
            readHeld = false
            channelContext.read()
        }
    }

    private func process(_ part: HTTPServerRequestPart, _ channelContext: ChannelHandlerContext) {
        guard !closing else { return }
        switch part {
        case .head(let head):
            self.head = head
            body.clear()
            answered = false
            let facts = decoder.facts
            requestFacts = facts
            if let length = facts.contentLength, length > context.server.limits.maxBodyBytes {
                answered = true
                send(.error(.payloadTooLarge, "invalid_request", "the request body is larger than \(context.server.limits.maxBodyBytes) bytes"),
                     for: head, requestID: context.nextRequestID(), close: true, channelContext)
            } else if head.version == .http1_1, facts.expectsContinue {
                // The client waits for this before sending its body (curl does, for bodies over 1 KiB).
                channelContext.writeAndFlush(wrapOutboundOut(ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
            }
        case .body(var chunk):
            guard !answered, let head else { return }
            guard body.readableBytes + chunk.readableBytes <= context.server.limits.maxBodyBytes else {
                answered = true
                send(.error(.payloadTooLarge, "invalid_request", "the request body is larger than \(context.server.limits.maxBodyBytes) bytes"),
                     for: head, requestID: context.nextRequestID(), close: true, channelContext)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            self.head = nil
            deadline.requestReceived(channelContext)
            guard !answered else { return }
            received = lastRead
            route(head, channelContext)
        }
    }

    /// A connection error (a reset, a failed write): nothing to answer.
    func errorCaught(context channelContext: ChannelHandlerContext, error: Error) {
        channelContext.close(promise: nil)
    }

    /// A request the decoder refused: 431 beyond the limits, 400 otherwise; then the
    /// connection closes (what follows is discarded).
    private func refuse(_ decodingError: RequestDecodingError, _ channelContext: ChannelHandlerContext) {
        guard !closing else { return }
        let status: HTTPResponseStatus = decodingError == .tooLarge ? .requestHeaderFieldsTooLarge : .badRequest
        let description = status == .badRequest ? "the request is not valid HTTP/1.1" : "the request headers are larger than \(context.server.limits.maxHeaderBytes) bytes"
        let reply = HTTPReply.error(status, "invalid_request", description)
        let channel = channelContext.channel
        closing = true
        channelContext.writeAndFlush(wrapOutboundOut(Self.serialize(reply, version: .http1_1, includeBody: true, requestID: nil, corsOrigin: nil,
                                                                    connectionClose: true, allocator: channel.allocator)))
            .whenComplete { _ in Self.closeLingering(channel) }
    }

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

    private func route(_ head: HTTPRequestHead, _ channelContext: ChannelHandlerContext) {
        let requestID = context.nextRequestID()
        let (path, query) = Self.split(head.uri)
        route = .other
        if case .OPTIONS = head.method {
            route = .preflight
            return send(preflight(head), for: head, requestID: requestID, channelContext)
        }
        if path.hasPrefix("/.well-known/"), context.resource.metadataPaths.contains(path) {
            route = .metadata
            if let limiter = context.limiter, let limit = context.server.rateLimit.oauthPerIP,
               case .limited(let retryAfter) = limiter.check("oauth:" + clientAddress(head, channelContext), limit) {
                return send(tooManyRequests(retryAfter: retryAfter), for: head, requestID: requestID, channelContext)
            }
            guard head.method == .GET || head.method == .HEAD else { return send(methodNotAllowed("GET, HEAD, OPTIONS"), for: head, requestID: requestID, channelContext) }
            return send(.json(.ok, context.resource.metadataDocument, headers: [("Cache-Control", "max-age=3600")]), for: head, requestID: requestID, channelContext)
        }
        switch path {
        case "/healthz":
            route = .health
            return send(.json(.ok, ["status": "ok"]), for: head, requestID: requestID, channelContext)
        case "/readyz":
            route = .ready
            return send(readiness(), for: head, requestID: requestID, channelContext)
        case "/metrics":
            route = .metrics
            let document = context.metrics.exposition(context.verifier)
            return send(HTTPReply(status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4")], body: ByteBuffer(bytes: document)),
                        for: head, requestID: requestID, channelContext)
        default:
            break
        }
        guard context.isProtected(path) else {
            return send(.error(.notFound, "not_found", "no resource at this path"), for: head, requestID: requestID, channelContext)
        }
        route = .protected
        let client = clientAddress(head, channelContext)
        if let limiter = context.limiter {
            let limits = context.server.rateLimit
            // Repeated invalid tokens: refused before they cost a verification.
            if let invalid = limits.invalidTokensPerIP, limiter.isExhausted("bad:" + client, invalid) {
                return send(tooManyRequests(retryAfter: Int((1 / invalid.rate).rounded(.up))), for: head, requestID: requestID, channelContext)
            }
            if let perIP = limits.perIP, case .limited(let retryAfter) = limiter.check("ip:" + client, perIP) {
                return send(tooManyRequests(retryAfter: retryAfter), for: head, requestID: requestID, channelContext)
            }
        }
        self.client = client
        authorize(head, query: query, requestID: requestID, channelContext)
    }

    /// The client's address for the rate limits (the peer's formatted once per connection).
    private func clientAddress(_ head: HTTPRequestHead, _ channelContext: ChannelHandlerContext) -> String {
        let peer = peerAddress ?? {
            let formatted = channelContext.remoteAddress?.ipAddress ?? "unknown"
            peerAddress = formatted
            return formatted
        }()
        return context.clientAddress(head, peerAddress: peer)
    }

    /// R2–R6: the token from the `Authorization` header only, verified, then the scopes.
    private func authorize(_ head: HTTPRequestHead, query: Substring?, requestID: RequestID, _ channelContext: ChannelHandlerContext) {
        let resource = context.resource
        if let query, Self.hasAccessTokenParameter(query) {
            return send(.error(.badRequest, "invalid_request", "access tokens are accepted only in the Authorization header",
                               headers: [("WWW-Authenticate", resource.challenge(error: "invalid_request", description: "access tokens are accepted only in the Authorization header"))]),
                        for: head, requestID: requestID, channelContext)
        }
        let authorization = requestFacts.authorization
        guard requestFacts.authorizationCount <= 1 else {
            return send(.error(.badRequest, "invalid_request", "more than one Authorization header",
                               headers: [("WWW-Authenticate", resource.challenge(error: "invalid_request", description: "more than one Authorization header"))]),
                        for: head, requestID: requestID, channelContext)
        }
        guard let authorization else {
            return send(.error(.unauthorized, "unauthorized", "this resource needs a bearer token", headers: [("WWW-Authenticate", resource.challenge())]),
                        for: head, requestID: requestID, channelContext)
        }
        let token: Substring
        switch Self.bearerToken(authorization) {
        case .notBearer:
            // Another scheme: the same answer as no credentials, naming the scheme to use.
            return send(.error(.unauthorized, "unauthorized", "this resource needs a bearer token", headers: [("WWW-Authenticate", resource.challenge())]),
                        for: head, requestID: requestID, channelContext)
        case .malformed:
            return sendMalformedCredentials(head, requestID: requestID, channelContext)
        case .token(let value):
            token = value
        }
        let verifier = context.verifier
        // The header's own bytes when they are contiguous (a native string): no copy of the token.
        let attempt = token.utf8.withContiguousStorageIfAvailable { verifier.attempt(UnsafeRawBufferPointer($0)) }
            ?? Array(token.utf8).withUnsafeBytes { verifier.attempt($0) }
        switch attempt {
        case .verdict(let verdict):
            finishAuthorization(verdict, token: token, head, requestID: requestID, channelContext)
        case .needsKeyRefresh(let pending):
            // A key published since the last refresh: fetch it off the event loop, then answer.
            let loopBound = NIOLoopBound((self, channelContext), eventLoop: channelContext.eventLoop)
            let eventLoop = channelContext.eventLoop
            let bytes = Array(token.utf8)
            awaiting = true
            Task {
                let verdict = await verifier.verifyAfterKeyRefresh(pending, token: bytes)
                eventLoop.execute {
                    let (handler, channelContext) = loopBound.value
                    handler.finishAuthorization(verdict, token: token, head, requestID: requestID, channelContext)
                    if !handler.awaitingHandler { handler.resume(channelContext) }
                }
            }
        }
    }

    private func sendMalformedCredentials(_ head: HTTPRequestHead, requestID: RequestID, _ channelContext: ChannelHandlerContext) {
        send(.error(.badRequest, "invalid_request", "the Authorization header is not \"Bearer <token>\"",
                    headers: [("WWW-Authenticate", context.resource.challenge(error: "invalid_request", description: "malformed Authorization header"))]),
             for: head, requestID: requestID, channelContext)
    }

    private func finishAuthorization(_ verdict: Verdict, token: Substring, _ head: HTTPRequestHead, requestID: RequestID, _ channelContext: ChannelHandlerContext) {
        // A token that is not token68 can never be valid, so the syntax is checked only for
        // a refused one: a malformed header is a 400, not an invalid token (RFC 6750 §3.1).
        if case .rejected = verdict, !token.utf8.allSatisfy(Self.isToken68) {
            return sendMalformedCredentials(head, requestID: requestID, channelContext)
        }
        let resource = context.resource
        switch verdict {
        case .valid: context.metrics.validVerdict()
        case .rejected(let reason): context.metrics.verdict(reason.code)
        }
        switch verdict {
        case .rejected(.keysUnavailable):
            // The provider or the network, not the token: try again later.
            context.logger.warning("token refused: the provider's keys are unavailable", metadata: ["request_id": "\(requestID)"])
            send(.error(.serviceUnavailable, "temporarily_unavailable", "the authorization server's keys are unavailable; retry later",
                        headers: [("Retry-After", "30")]), for: head, requestID: requestID, channelContext)
        case .rejected(let reason):
            context.logger.debug("token rejected", metadata: ["request_id": "\(requestID)", "reason": "\(reason.code)"])
            if let limiter = context.limiter, let invalid = context.server.rateLimit.invalidTokensPerIP {
                _ = limiter.check("bad:" + client, invalid)
            }
            let description = ProtectedResource.description(of: reason)
            send(.error(.unauthorized, "invalid_token", description,
                        headers: [("WWW-Authenticate", resource.challenge(error: "invalid_token", description: description))]),
                 for: head, requestID: requestID, channelContext)
        case .valid(let identity):
            if let limiter = context.limiter, let perUser = context.server.rateLimit.perUser,
               case .limited(let retryAfter) = limiter.check("user:" + (identity.issuer) + "\u{0}" + identity.id, perUser) {
                return send(tooManyRequests(retryAfter: retryAfter), for: head, requestID: requestID, channelContext)
            }
            // R3: every missing scope in one challenge.
            let missing = resource.requiredScopes.filter { !identity.hasScope($0) }
            guard missing.isEmpty else {
                let description = "the access token lacks the scopes " + missing.joined(separator: " ")
                return send(.error(.forbidden, "insufficient_scope", description,
                                   headers: [("WWW-Authenticate", resource.challenge(error: "insufficient_scope", description: description, scopes: resource.requiredScopes))]),
                            for: head, requestID: requestID, channelContext)
            }
            let request = ProtectedRequest(method: head.method, uri: head.uri, headers: head.headers, body: body, bearerToken: token, id: requestID)
            switch context.handler.respond(to: request, identity: identity) {
            case .reply(let reply):
                send(reply, for: head, requestID: requestID, channelContext)
            case .deferred(let work):
                let loopBound = NIOLoopBound((self, channelContext), eventLoop: channelContext.eventLoop)
                let eventLoop = channelContext.eventLoop
                awaiting = true
                awaitingHandler = true
                Task {
                    let reply = await work()
                    eventLoop.execute {
                        let (handler, channelContext) = loopBound.value
                        handler.send(reply, for: head, requestID: requestID, channelContext)
                        handler.awaitingHandler = false
                        handler.resume(channelContext)
                    }
                }
            }
        }
    }

    // MARK: Other routes

    private func readiness() -> HTTPReply {
        let health = context.verifier.health
        let draining = context.draining.load(ordering: .relaxed)
        let ready = health.ready && !draining
        let body: JSONValue = [
            "status": .string(ready ? "ready" : "not ready"),
            "draining": .bool(draining),
            "keys": .number(String(health.keyCount)),
            "keySets": .array(health.keySets.map { ["state": .string($0.state.rawValue), "ageSeconds": .number(String($0.ageSeconds ?? -1))] }),
            "cache": .bool(health.cached),
        ]
        return .json(ready ? .ok : .serviceUnavailable, body)
    }

    private func preflight(_ head: HTTPRequestHead) -> HTTPReply {
        // The CORS headers themselves are added by `send` for allowed origins (R8).
        var headers = [("Allow", "GET, HEAD, POST, DELETE, OPTIONS")]
        if context.allowedOrigin(head.headers.first(name: "Origin")) != nil, head.headers.contains(name: "Access-Control-Request-Method") {
            headers += [
                ("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"),
                ("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version, Mcp-Session-Id, Last-Event-ID"),
                ("Access-Control-Max-Age", "600"),
            ]
        }
        return HTTPReply(status: .noContent, headers: headers)
    }

    private func tooManyRequests(retryAfter: Int) -> HTTPReply {
        .error(.tooManyRequests, "rate_limited", "too many requests; retry later", headers: [("Retry-After", String(max(1, retryAfter)))])
    }

    private func methodNotAllowed(_ allowed: String) -> HTTPReply {
        .error(.methodNotAllowed, "invalid_request", "method not allowed", headers: [("Allow", allowed)])
    }

    // MARK: Writing

    private func send(_ reply: HTTPReply, for head: HTTPRequestHead, requestID: RequestID, close: Bool = false, _ channelContext: ChannelHandlerContext) {
        let origin = context.server.corsOrigins.isEmpty ? nil : context.allowedOrigin(head.headers.first(name: "Origin"))
        // A draining worker answers, then closes: the client's next request goes to another worker.
        let keepAlive = requestFacts.keepAlive && !close && !context.draining.load(ordering: .relaxed)
        let bytes = Self.serialize(reply, version: head.version, includeBody: !Self.isHEAD(head.method), requestID: requestID, corsOrigin: origin,
                                   connectionClose: !keepAlive, allocator: state.pointee.allocator)
        let now = NIODeadline.now()
        context.metrics.request(route: route, status: Int(reply.status.code), duration: .nanoseconds((now - received).nanoseconds),
                                last: &state.pointee.instruments)
        if keepAlive {
            // No promise: nothing waits for this write, and a future per answer is not free.
            channelContext.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            deadline.requestFinished(now: now, channelContext)
            return
        }
        let done = channelContext.writeAndFlush(wrapOutboundOut(bytes))
        let channel = channelContext.channel
        closing = true
        if close {
            done.whenComplete { _ in Self.closeLingering(channel) }
        } else {
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// The answer as it goes on the wire, in one buffer: status line, the reply's headers,
    /// `Content-Length`, the request id, `Cache-Control: no-store` for errors, the CORS
    /// headers for an allowed origin, `Connection: close`, the body. Header names that are
    /// not tokens are dropped and CR/LF in values become spaces, so no value can start a
    /// header of its own.
    static func serialize(_ reply: HTTPReply, version: HTTPVersion, includeBody: Bool, requestID: RequestID?, corsOrigin: String?,
                          connectionClose: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        let reason = reply.status.reasonPhrase
        let body = includeBody ? reply.body.readableBytes : 0
        // Room for everything: the fixed lines below take under 200 bytes, numbers under 24.
        var bound = 256 + reason.utf8.count + body + (requestID?.prefix.utf8.count ?? 0) + 2 * (corsOrigin?.utf8.count ?? 0)
        for (name, value) in reply.headers { bound += name.utf8.count + value.utf8.count + 4 }
        var buffer = allocator.buffer(capacity: bound)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { room in
            var out = ResponseWriter(cursor: room.baseAddress!)
            out.write(version == .http1_0 ? "HTTP/1.0 " : "HTTP/1.1 ")
            out.decimal(UInt64(reply.status.code))
            out.write(" ")
            out.write(reason)
            out.write("\r\n")
            for (name, value) in reply.headers where name.utf8.count != 14 || name.lowercased() != "content-length" {
                out.header(name, value)
            }
            out.write("Content-Length: ")
            out.decimal(UInt64(reply.body.readableBytes))
            out.write("\r\n")
            if let requestID {
                out.write("X-Request-Id: ")
                out.write(requestID.prefix)
                out.base36(requestID.number)
                out.write("\r\n")
            }
            if reply.status.code >= 400 { out.write("Cache-Control: no-store\r\n") }
            if let corsOrigin {
                out.header("Access-Control-Allow-Origin", corsOrigin)
                out.write("Access-Control-Expose-Headers: WWW-Authenticate, Mcp-Session-Id\r\n")
                if corsOrigin != "*" { out.write("Vary: Origin\r\n") }
            }
            if connectionClose { out.write("Connection: close\r\n") }
            out.write("\r\n")
            if includeBody {
                reply.body.withUnsafeReadableBytes { out.write($0) }
            }
            let written = out.cursor - room.baseAddress!
            precondition(written <= bound)
            return written
        }
        return buffer
    }

    /// Writes an answer through a pointer into room `serialize` reserved for all of it.
    struct ResponseWriter {
        var cursor: UnsafeMutableRawPointer

        mutating func write(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress else { return }
            cursor.copyMemory(from: base, byteCount: bytes.count)
            cursor += bytes.count
        }

        mutating func write(_ text: StaticString) {
            write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        mutating func write(_ text: String) {
            var text = text
            text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
        }

        /// A header line. Names that are not tokens are dropped and CR/LF in values become
        /// spaces, so no value can start a header of its own.
        mutating func header(_ name: String, _ value: String) {
            guard !name.isEmpty, name.utf8.allSatisfy({ RequestDecoder.isTokenCharacter($0) }) else { return }
            write(name)
            write(": ")
            let start = cursor
            write(value)
            for index in 0..<(cursor - start) where start.load(fromByteOffset: index, as: UInt8.self) == 0x0D || start.load(fromByteOffset: index, as: UInt8.self) == 0x0A {
                start.storeBytes(of: 0x20, toByteOffset: index, as: UInt8.self)
            }
            write("\r\n")
        }

        mutating func decimal(_ value: UInt64) { cursor += writeDigits(value, to: cursor) }

        mutating func base36(_ value: UInt64) { cursor += writeDigits(value, radix: 36, to: cursor) }
    }

    // MARK: Parsing

    /// By pattern: `HTTPMethod`'s `==` compares the methods' names as strings.
    static func isHEAD(_ method: HTTPMethod) -> Bool {
        if case .HEAD = method { true } else { false }
    }

    static func split(_ uri: String) -> (path: String, query: Substring?) {
        guard let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (uri, nil) }
        return (String(uri[..<mark]), uri[uri.utf8.index(after: mark)...])
    }

    /// Whether the query carries `access_token` (RFC 6750 §2.3, refused: R6).
    static func hasAccessTokenParameter(_ query: Substring) -> Bool {
        query.split(separator: "&").contains { $0 == "access_token" || $0.hasPrefix("access_token=") }
    }

    enum BearerCredentials: Equatable {
        case token(Substring)
        case notBearer
        case malformed
    }

    /// `Bearer <token68>` (RFC 6750 §2.1): the scheme case-insensitively, one or more
    /// spaces, then the credentials. Whether they are token68 (`isToken68`) is checked
    /// only when the token is refused: a valid token is made of base64url and dots.
    static func bearerToken(_ value: String) -> BearerCredentials {
        var value = value
        // Header values are native strings: this checks their bytes in place, without copying.
        let scanned = value.withUTF8 { bytes -> Scanned in
            var index = 0
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
            let schemeStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: " ") { index += 1 }
            guard index - schemeStart == 6 else { return .notBearer }
            let bearer: StaticString = "bearer"
            for offset in 0..<6 where bytes[schemeStart + offset] | 0x20 != bearer.utf8Start[offset] { return .notBearer }
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
            guard index < bytes.count else { return .malformed }
            return .token(from: index)
        }
        switch scanned {
        case .notBearer: return .notBearer
        case .malformed: return .malformed
        case .token(let offset): return .token(value[value.utf8.index(value.utf8.startIndex, offsetBy: offset)...])
        }
    }

    private enum Scanned {
        case notBearer, malformed
        case token(from: Int)
    }

    /// The characters of `token68` (RFC 9110 §11.2).
    @inline(__always)
    static func isToken68(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
            true
        default:
            false
        }
    }
}
