import NIOCore

/// Reads an upstream's answers off its connection (RFC 9112): the head, then the body framed
/// by `Content-Length`, by chunks, or by the connection's end. Body parts are slices of what
/// was read, never copies. Strict wherever leniency would let one answer be read two ways by
/// EdgeAuth and its client: folded lines, space before a colon, control bytes, more than one
/// length, `Transfer-Encoding` beside `Content-Length`, and codings other than `chunked`
/// are all refused (the client gets a 502).
///
/// A class: what an event sets off may come back to it (an exchange that fails closes the
/// connection, whose end the parser is told about) while `feed` is still running.
final class UpstreamResponseParser {
    enum Event {
        case head(UpstreamResponseHead)
        case body(ByteBuffer)
        case end
    }

    /// Why an answer is not valid HTTP.
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The most a head (or an answer's trailers) may take.
    static let maxHeadBytes = 64 * 1024

    private enum State {
        /// Before an answer's head (or after an interim 1xx one).
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The line end after a chunk's data.
        case chunkDataEnd
        case trailers
        case untilClose
        /// The answer ended: any byte now is one no request asked for.
        case done
    }

    private var state = State.done
    /// What was read but not yet used: a head or a line cut by the read's end.
    private var pending = ByteBuffer()
    private var requestIsHEAD = false
    /// The bytes of the current answer's trailer section so far.
    private var trailerBytes = 0

    /// Ready for the answer to a new request.
    func expectAnswer(requestIsHEAD: Bool) {
        state = .head
        pending.clear()
        trailerBytes = 0
        self.requestIsHEAD = requestIsHEAD
    }

    /// Passes each event in `bytes` to `emit`. Throws on anything that is not a valid answer,
    /// or on bytes after the answer's end.
    func feed(_ bytes: ByteBuffer, _ emit: (Event) -> Void) throws(Failure) {
        var buffer: ByteBuffer
        if pending.readableBytes > 0 {
            var bytes = bytes
            pending.writeBuffer(&bytes)
            buffer = pending
            pending = ByteBuffer()
        } else {
            buffer = bytes
        }
        while buffer.readableBytes > 0 {
            guard try step(&buffer, emit) else {
                pending = buffer
                return
            }
        }
    }

    /// The connection ended. True when that ends the answer (a body framed by the end).
    func connectionEnded() -> Bool {
        guard case .untilClose = state else { return false }
        state = .done
        return true
    }

    /// One step on `buffer`. False when it needs more bytes than `buffer` has.
    private func step(_ buffer: inout ByteBuffer, _ emit: (Event) -> Void) throws(Failure) -> Bool {
        switch state {
        case .head:
            guard let (head, length) = try Self.head(in: buffer, requestIsHEAD: requestIsHEAD) else {
                guard buffer.readableBytes <= Self.maxHeadBytes else { throw Failure("the answer's head is larger than \(Self.maxHeadBytes) bytes") }
                return false
            }
            buffer.moveReaderIndex(forwardBy: length)
            if head.status < 200 { return true }
            emit(.head(head))
            switch head.framing {
            case .none: finish(emit)
            case .length(0): finish(emit)
            case .length(let length): state = .fixed(remaining: length)
            case .chunked: state = .chunkSize
            case .untilClose: state = .untilClose
            }
        case .fixed(let remaining):
            let part = buffer.readSlice(length: min(remaining, buffer.readableBytes))!
            emit(.body(part))
            if remaining == part.readableBytes { finish(emit) } else { state = .fixed(remaining: remaining - part.readableBytes) }
        case .untilClose:
            emit(.body(buffer.readSlice(length: buffer.readableBytes)!))
        case .chunkSize:
            // Chunk lines and trailers follow the request decoder's grammar, and its limits.
            guard let line = try Self.checked("a chunk's size line", { try RequestDecoder.readLine(&buffer, limit: RequestDecoder.maxChunkLine) }) else { return false }
            let size = try Self.checked("a chunk's size line") { try RequestDecoder.chunkSize(line) }
            state = size == 0 ? .trailers : .chunkData(remaining: size)
        case .chunkData(let remaining):
            let part = buffer.readSlice(length: min(remaining, buffer.readableBytes))!
            emit(.body(part))
            state = remaining == part.readableBytes ? .chunkDataEnd : .chunkData(remaining: remaining - part.readableBytes)
        case .chunkDataEnd:
            guard buffer.readableBytes >= 2 else { return false }
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw Failure("a chunk is longer than its size") }
            state = .chunkSize
        case .trailers:
            // Trailers are checked as header lines, then dropped: none of them is passed on.
            guard let line = try Self.checked("a trailer", { try RequestDecoder.readLine(&buffer, limit: Self.maxHeadBytes) }) else { return false }
            trailerBytes += line.readableBytes + 2
            guard trailerBytes <= Self.maxHeadBytes else { throw Failure("the answer's trailers are larger than \(Self.maxHeadBytes) bytes") }
            guard line.readableBytes > 0 else {
                finish(emit)
                return true
            }
            // A trailer may not reframe the body, as in requests.
            let framing = try Self.checked("a trailer") {
                try unsafe line.withUnsafeReadableBytes { bytes in
                    let name = try unsafe RequestDecoder.field(bytes[...]).name
                    return unsafe HeaderBytes.same(name, "content-length") || HeaderBytes.same(name, "transfer-encoding")
                }
            }
            guard !framing else { throw Failure("the answer has a trailer that reframes its body") }
        case .done:
            // The connection is out of step with its requests: the handler closes it.
            throw Failure("bytes after the end of the answer")
        }
        return true
    }

    private func finish(_ emit: (Event) -> Void) {
        state = .done
        emit(.end)
    }

    /// `body` with the request decoder's errors as this parser's.
    private static func checked<T>(_ what: StaticString, _ body: () throws -> T) throws(Failure) -> T {
        do {
            return try body()
        } catch RequestDecodingError.malformed(let part) {
            throw Failure("\(what) is not valid (\(part))")
        } catch {
            throw Failure("\(what) is too long")
        }
    }

    /// The head at the start of `buffer` and its length, or nil when its end has not come.
    private static func head(in buffer: ByteBuffer, requestIsHEAD: Bool) throws(Failure) -> (UpstreamResponseHead, Int)? {
        let result: Result<(UpstreamResponseHead, Int)?, Failure> = unsafe buffer.withUnsafeReadableBytes { bytes in
            do throws(Failure) {
                return .success(try unsafe parseHead(bytes, buffer: buffer, requestIsHEAD: requestIsHEAD))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func parseHead(_ bytes: UnsafeRawBufferPointer, buffer: ByteBuffer, requestIsHEAD: Bool) throws(Failure) -> (UpstreamResponseHead, Int)? {
        let limit = min(bytes.count, maxHeadBytes)
        // The status line: `HTTP/1.x NNN reason`.
        guard let statusEnd = try unsafe lineEnd(bytes, from: 0, limit: limit) else { return nil }
        let statusLine = unsafe UnsafeRawBufferPointer(rebasing: bytes[0..<statusEnd.content])
        guard statusLine.count >= 12, unsafe statusLine.starts(with: "HTTP/1.".utf8),
              unsafe statusLine[7] == UInt8(ascii: "0") || statusLine[7] == UInt8(ascii: "1"), unsafe statusLine[8] == 0x20,
              unsafe statusLine[9...11].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              unsafe statusLine.count == 12 || statusLine[12] == 0x20,
              unsafe RequestDecoder.isFieldValue(UnsafeRawBufferPointer(rebasing: statusLine.dropFirst(12)))
        else { throw Failure("the answer's status line is not valid HTTP/1.1") }
        let http10 = unsafe statusLine[7] == UInt8(ascii: "0")
        let status = unsafe statusLine[9...11].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        // HTTP/1.0 has no interim answers (RFC 9110 §15.2).
        guard status >= 200 || status >= 100 && status != 101 && !http10 else { throw Failure("the answer's status \(status) is not one EdgeAuth can pass on") }

        var contentLength: Int?
        var chunked = false
        var close = false
        var keepAlive = false
        var namesOptions = false
        var contentType: Range<Int>?
        var index = statusEnd.next
        let fieldsStart = index
        while true {
            guard let end = try unsafe lineEnd(bytes, from: index, limit: limit) else {
                if bytes.count >= maxHeadBytes { throw Failure("the answer's head is larger than \(maxHeadBytes) bytes") }
                return nil
            }
            if end.content == index {
                let fields = buffer.getSlice(at: buffer.readerIndex + fieldsStart, length: index - fieldsStart)!
                let framing: UpstreamResponseHead.Framing
                if requestIsHEAD || status < 200 || status == 204 || status == 304 {
                    framing = .none
                } else if chunked {
                    framing = .chunked
                } else if let contentLength {
                    framing = .length(contentLength)
                } else {
                    framing = .untilClose
                }
                let persistent = !close && (!http10 || keepAlive) && framing != .untilClose
                let head = UpstreamResponseHead(status: status, fields: fields, framing: framing, contentLength: contentLength, keepAlive: persistent,
                                                namesConnectionOptions: namesOptions, contentType: contentType)
                return (head, end.next)
            }
            let line = unsafe UnsafeRawBufferPointer(rebasing: bytes[index..<end.content])
            guard let field = try? unsafe RequestDecoder.field(line[...]) else { throw Failure("the answer has a header line that is not valid") }
            switch unsafe field.name.count {
            case 10 where unsafe HeaderBytes.same(field.name, "connection"):
                unsafe HeaderBytes.forEachElement(field.value) { token in
                    if unsafe HeaderBytes.same(token, "close") {
                        close = true
                    } else if unsafe HeaderBytes.same(token, "keep-alive") {
                        keepAlive = true
                    } else {
                        namesOptions = true
                    }
                }
            case 12 where unsafe HeaderBytes.same(field.name, "content-type"):
                let start = unsafe field.value.baseAddress.map { unsafe $0 - bytes.baseAddress! - fieldsStart } ?? 0
                contentType = unsafe start..<(start + field.value.count)
            case 14 where unsafe HeaderBytes.same(field.name, "content-length"):
                // One length, digits only: no list, not even of equal values (as llhttp).
                guard contentLength == nil, let length = unsafe decimal(field.value) else { throw Failure("the answer's Content-Length is not valid") }
                contentLength = length
            case 17 where unsafe HeaderBytes.same(field.name, "transfer-encoding"):
                // Not followed by whitespace either, which llhttp refuses; never in HTTP/1.0 (RFC 9112 §6.1).
                guard !chunked, !http10, unsafe HeaderBytes.same(field.value, "chunked"), unsafe line.last != 0x20 && line.last != 0x09 else {
                    throw Failure("the answer's Transfer-Encoding is not `chunked` alone")
                }
                chunked = true
            default:
                break
            }
            guard !(chunked && contentLength != nil) else { throw Failure("the answer has both Transfer-Encoding and Content-Length") }
            index = end.next
        }
    }

    /// Where the line from `start` ends: its content's end (before CRLF) and the next line's
    /// start. A bare LF is refused, as llhttp does: accepting it (RFC 9112 §2.2 allows either)
    /// would let EdgeAuth read lines another parser does not.
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer, from start: Int, limit: Int) throws(Failure) -> (content: Int, next: Int)? {
        guard start < limit, let newline = unsafe bytes[start..<limit].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        guard unsafe newline > start && bytes[newline - 1] == 0x0D else { throw Failure("the answer's head has a line that ends without CR") }
        return (newline - 1, newline + 1)
    }

    /// Digits only, at most 15 of them.
    private static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard unsafe !bytes.isEmpty, bytes.count <= 15 else { return nil }
        var value = 0
        for unsafe byte in unsafe bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

/// An upstream answer's head, as the parser read it.
struct UpstreamResponseHead {
    enum Framing: Equatable {
        /// No body (an answer to HEAD, 204, 304).
        case none
        case length(Int)
        case chunked
        /// The body ends with the connection.
        case untilClose
    }

    let status: Int
    /// The header lines as received (each ending in CRLF), already checked.
    let fields: ByteBuffer
    let framing: Framing
    /// The `Content-Length` it declares (for an answer to HEAD, that of the answer to GET).
    let contentLength: Int?
    /// The connection may serve another request after this answer.
    let keepAlive: Bool
    /// A `Connection` header lists more than `close` and `keep-alive`: header names that are
    /// about this connection only.
    let namesConnectionOptions: Bool
    /// Where the `Content-Type` value is in `fields`.
    let contentType: Range<Int>?

    /// Whether the `Content-Type` is `expected` (lowercase), its parameters aside.
    func hasMediaType(_ expected: String) -> Bool {
        guard let contentType else { return false }
        let view = fields.readableBytesView
        return MediaType.matches(view[(view.startIndex + contentType.lowerBound)..<(view.startIndex + contentType.upperBound)], expected)
    }

    /// Each header line's name and value (without the spaces around it), in order.
    func forEachField(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        unsafe ResponseSerializer.forEachLine(fields) { _, line in
            if let field = try? unsafe RequestDecoder.field(line.dropLast(2)) { unsafe body(field.name, field.value) }
        }
    }
}
