@testable import EdgeAuthHTTP
@testable import EdgeAuthOAuth
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// The HTTP/1.1 request decoder, against SwiftNIO's (llhttp) on the same bytes, and the
/// `Authorization` header's parsers.
enum HTTPTargets {
    /// A request as both decoders see it.
    struct Request: Equatable {
        var method: String
        var uri: String
        var version: HTTPVersion
        var fields: [String]
        var body: [UInt8] = []
    }

    /// The requests a decoder completed before it stopped, and whether it stopped on an error.
    struct Outcome {
        var requests: [Request] = []
        var refused = false
    }

    /// For any bytes: EdgeAuth's decoder reads the same requests whether the bytes arrive at
    /// once or in pieces, and every request it completes, NIO's decoder completes alike
    /// (boundaries, method, target, version, fields, body) — unless a documented deliberate
    /// difference explains NIO's refusal (docs/security.md, "Differential HTTP parsing").
    static let request = FuzzTarget(name: "http-request") { bytes in
        let whole = edgeAuth(bytes, pieces: 1)
        let split = edgeAuth(bytes, pieces: 1 + Int(bytes.first ?? 0) % 7)
        try require(whole.requests == split.requests && whole.refused == split.refused, "the decoder reads split bytes differently")
        guard !whole.requests.isEmpty else { return }
        let nio = swiftNIO(bytes)
        for (index, request) in whole.requests.enumerated() {
            guard index < nio.requests.count else {
                try require(nio.refused && isDeliberateDifference(request), "NIO did not complete request \(index): \(request)")
                return
            }
            let expected = asEdgeAuthReads(nio.requests[index])
            try require(expected == request, "request \(index) differs: EdgeAuth \(request), NIO \(nio.requests[index])")
        }
    }

    /// `Authorization: Bearer …` as the protected routes read it, and Basic credentials as `/token` does.
    static let authorization = FuzzTarget(name: "authorization") { bytes in
        let value = bytes.text
        if case .token(let token) = BearerRoute.bearerToken(value) {
            try require(!token.isEmpty && value.utf8.count > token.utf8.count, "bearer credentials out of the value")
            _ = token.utf8.allSatisfy(BearerRoute.isToken68)
        }
        _ = try? ClientCredentials([:], authorization: value)
    }

    /// Methods llhttp does not know: EdgeAuth accepts any token as a method (RFC 9110 §9.1),
    /// NIO's parser refuses what is not in its table.
    static let llhttpMethods: Set<String> = [
        "DELETE", "GET", "HEAD", "POST", "PUT", "CONNECT", "OPTIONS", "TRACE", "COPY", "LOCK", "MKCOL", "MOVE", "PROPFIND",
        "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND", "ACL", "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE",
        "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PATCH", "PURGE", "MKCALENDAR", "LINK", "UNLINK", "SOURCE", "QUERY",
    ]

    static func isDeliberateDifference(_ request: Request) -> Bool {
        !llhttpMethods.contains(request.method)
    }

    /// A field value without its trailing whitespace, as EdgeAuth reads it (RFC 9110 §5.5: not
    /// part of the value); llhttp keeps it.
    static func trimmed(_ value: String) -> String {
        var value = Substring(value)
        while value.last == " " || value.last == "\t" { value = value.dropLast() }
        return String(value)
    }

    /// What EdgeAuth makes of a request NIO read, where both read the same bytes but present
    /// them differently: an absolute-form target as its path with its authority as `Host`
    /// (RFC 9112 §3.2.2).
    static func asEdgeAuthReads(_ request: Request) -> Request {
        var request = request
        let uri = request.uri
        guard !uri.hasPrefix("/"), uri != "*", let scheme = ["http://", "https://"].first(where: { uri.lowercased().hasPrefix($0) }) else { return request }
        let rest = uri.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let path = rest.dropFirst(authority.count)
        request.uri = path.hasPrefix("/") ? String(path) : "/" + path
        if let host = request.fields.firstIndex(where: { $0.lowercased().hasPrefix("host:") }) {
            request.fields[host] = request.fields[host].prefix { $0 != ":" } + ": " + authority
        } else {
            request.fields.append("Host: " + authority)
        }
        return request
    }

    /// The requests EdgeAuth's decoder reads, up to the first after which the connection
    /// closes (HTTP/1.0 without keep-alive, `Connection: close`): the server reads nothing
    /// after it, and neither does llhttp.
    static func edgeAuth(_ bytes: UnsafeRawBufferPointer, pieces: Int) -> Outcome {
        var decoder = RequestDecoder(maxHeaderBytes: 16 * 1024)
        var outcome = Outcome()
        var current: Request?
        var keepAlive = true
        var buffer = ByteBuffer()
        let step = max(1, (bytes.count + pieces - 1) / pieces)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + step)
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
            offset = end
            do {
                while let part = try decoder.next(from: &buffer) {
                    switch part {
                    case .head(let head):
                        current = Request(method: head.method.rawValue, uri: head.uri, version: head.version, fields: head.headers.map { "\($0.name): \($0.value)" })
                        keepAlive = decoder.facts.keepAlive
                    case .body(var chunk):
                        current?.body += chunk.readBytes(length: chunk.readableBytes) ?? []
                    case .end:
                        if let request = current { outcome.requests.append(request) }
                        current = nil
                        if !keepAlive { return outcome }
                    }
                }
            } catch {
                outcome.refused = true
                return outcome
            }
        }
        return outcome
    }

    static func swiftNIO(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        defer { _ = try? channel.finish() }
        var outcome = Outcome()
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        do {
            try channel.writeInbound(buffer)
        } catch {
            outcome.refused = true
        }
        var current: Request?
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let head):
                current = Request(method: head.method.rawValue, uri: head.uri, version: head.version, fields: head.headers.map { "\($0.name): \(trimmed($0.value))" })
            case .body(var chunk):
                current?.body += chunk.readBytes(length: chunk.readableBytes) ?? []
            case .end:
                if let request = current { outcome.requests.append(request) }
                current = nil
            }
        }
        return outcome
    }
}

/// The gateway's parser of upstream answers, against SwiftNIO's (llhttp) on the same bytes.
enum UpstreamAnswerTargets {
    /// An answer as a parser read it.
    struct Answer: Equatable {
        var status: Int
        var body: [UInt8] = []
    }

    /// For any bytes after a GET: EdgeAuth's parser reads the same events whether the bytes
    /// arrive at once or in pieces, and an answer it completes, NIO's decoder completes alike
    /// (status and body). EdgeAuth refuses more than NIO (docs/gateway.md, "What the gateway
    /// refuses from an upstream"), never less.
    static let answer = FuzzTarget(name: "http-response") { bytes in
        let whole = edgeAuth(bytes, pieces: 1)
        let split = edgeAuth(bytes, pieces: 1 + Int(bytes.first ?? 0) % 7)
        try require(whole == split, "the parser reads split bytes differently: \(whole) against \(split)")
        guard let answer = whole.answer else { return }
        let nio = swiftNIO(bytes)
        try require(nio == answer, "EdgeAuth read \(answer), NIO \(String(describing: nio))")
    }

    struct Outcome: Equatable {
        /// The first answer, if it completed.
        var answer: Answer?
        var refused = false
    }

    static func edgeAuth(_ bytes: UnsafeRawBufferPointer, pieces: Int) -> Outcome {
        let parser = UpstreamResponseParser()
        parser.expectAnswer(requestIsHEAD: false)
        var outcome = Outcome()
        var current: Answer?
        let emit: (UpstreamResponseParser.Event) -> Void = { event in
            switch event {
            case .head(let head): current = Answer(status: head.status)
            case .body(let part): current?.body += Array(part.readableBytesView)
            case .end: if outcome.answer == nil { outcome.answer = current }
            }
        }
        let step = max(1, (bytes.count + pieces - 1) / pieces)
        var offset = 0
        do {
            while offset < bytes.count {
                let end = min(bytes.count, offset + step)
                try parser.feed(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[offset..<end])), emit)
                offset = end
            }
            if parser.connectionEnded() { emit(.end) }
        } catch {
            outcome.refused = true
        }
        return outcome
    }

    /// NIO's first answer to a GET, the connection closed after the bytes.
    static func swiftNIO(_ bytes: UnsafeRawBufferPointer) -> Answer? {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
        _ = try? channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")))
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        _ = try? channel.writeInbound(buffer)
        _ = try? channel.finish()
        var current: Answer?
        while let part = try? channel.readInbound(as: HTTPClientResponsePart.self) {
            switch part {
            case .head(let head) where head.status.code >= 200: current = Answer(status: Int(head.status.code))
            case .head: continue
            case .body(let chunk): current?.body += Array(chunk.readableBytesView)
            case .end: if current != nil { return current }
            }
        }
        return nil
    }
}
