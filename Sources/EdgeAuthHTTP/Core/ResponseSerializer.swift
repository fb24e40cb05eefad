import EdgeAuth
import NIOCore
import NIOHTTP1

/// Writes answers as they go on the wire.
enum ResponseSerializer {
    /// The answer as it goes on the wire, in one buffer: status line, the reply's headers,
    /// `Content-Length`, the request id, `Cache-Control: no-store` for errors, the CORS
    /// headers for an allowed origin (`Vary: Origin` alone when `varyOrigin` and the origin is
    /// refused: the answer still depends on it), `Connection: close`, the body. Header names that are
    /// not tokens are dropped and CR/LF in values become spaces, so no value can start a
    /// header of its own.
    static func serialize(_ reply: HTTPReply, version: HTTPVersion, includeBody: Bool, requestID: RequestID?, corsOrigin: String?, varyOrigin: Bool = false,
                          connectionClose: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        unsafe serialize(status: reply.status, headers: reply.headers, framing: .length(reply.body.readableBytes), body: includeBody ? reply.body : nil,
                  version: version, requestID: requestID, corsOrigin: corsOrigin, varyOrigin: varyOrigin, connectionClose: connectionClose, allocator: allocator)
    }

    /// How the body of an answer ends.
    enum Framing: Equatable {
        /// `Content-Length`.
        case length(Int)
        /// `Transfer-Encoding: chunked` (HTTP/1.1).
        case chunked
        /// With the connection (HTTP/1.0, or no length known).
        case close
    }

    /// The head of an answer (and its body, when given), framed as said. The reply's own
    /// `Content-Length` and `Transfer-Encoding` are replaced by the framing's.
    /// `lines`: header lines already checked and ended with CRLF (an upstream's); those whose
    /// name `keep` accepts are copied as they are. `extraCapacity`: room left after the
    /// head, for a body appended to the same buffer.
    static func serialize(status: HTTPResponseStatus, headers: [(String, String)], lines: ByteBuffer? = nil, keep: (UnsafeRawBufferPointer) -> Bool = { _ in true },
                          framing: Framing, body: ByteBuffer?, version: HTTPVersion, requestID: RequestID?, corsOrigin: String?, varyOrigin: Bool = false,
                          connectionClose: Bool, extraCapacity: Int = 0, allocator: ByteBufferAllocator) -> ByteBuffer {
        let reason = status.reasonPhrase
        let bodyBytes = (body?.readableBytes ?? 0) + extraCapacity
        // Room for everything: the fixed lines below take under 200 bytes, numbers under 24.
        var bound = 256 + reason.utf8.count + bodyBytes + (lines?.readableBytes ?? 0) + (requestID?.prefix.utf8.count ?? 0) + 2 * (corsOrigin?.utf8.count ?? 0)
        for (name, value) in headers { bound += name.utf8.count + value.utf8.count + 4 }
        var buffer = allocator.buffer(capacity: bound)
        unsafe buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { room in
            guard let start = room.baseAddress else { return 0 }
            var out = unsafe Writer(cursor: start, end: start + room.count)
            out.write(version == .http1_0 ? "HTTP/1.0 " : "HTTP/1.1 ")
            out.decimal(UInt64(status.code))
            out.write(" ")
            out.write(reason)
            out.write("\r\n")
            for (name, value) in headers where !Self.isFraming(name) {
                out.header(name, value)
            }
            if let lines {
                unsafe Self.forEachLine(lines) { name, line in
                    if unsafe keep(name) { unsafe out.write(line) }
                }
            }
            switch framing {
            case .length(let length):
                out.write("Content-Length: ")
                out.decimal(UInt64(length))
                out.write("\r\n")
            case .chunked:
                out.write("Transfer-Encoding: chunked\r\n")
            case .close:
                break
            }
            if let requestID {
                out.write("X-Request-Id: ")
                out.write(requestID.prefix)
                out.base36(requestID.number)
                out.write("\r\n")
            }
            if status.code >= 400, !headers.contains(where: { HeaderBytes.same($0.0, "cache-control") }), !(lines.map { Self.has("cache-control", in: $0) } ?? false) {
                out.write("Cache-Control: no-store\r\n")
            }
            if let corsOrigin {
                out.header("Access-Control-Allow-Origin", corsOrigin)
                out.write("Access-Control-Expose-Headers: WWW-Authenticate, Mcp-Session-Id\r\n")
                if corsOrigin != "*" { out.write("Vary: Origin\r\n") }
            } else if varyOrigin {
                out.write("Vary: Origin\r\n")
            }
            if connectionClose { out.write("Connection: close\r\n") }
            out.write("\r\n")
            if let body {
                unsafe body.withUnsafeReadableBytes { unsafe out.write($0) }
            }
            return unsafe out.cursor - start
        }
        return buffer
    }

    /// Whether header lines (each ended with CRLF) have a field named `lowercase`.
    private static func has(_ lowercase: StaticString, in lines: ByteBuffer) -> Bool {
        var found = false
        unsafe forEachLine(lines) { name, _ in
            if unsafe HeaderBytes.same(name, lowercase) { found = true }
        }
        return found
    }

    /// Each of checked header lines (each `name:value` ended with CRLF): its name, and the
    /// whole line with its end.
    static func forEachLine(_ lines: ByteBuffer, _ body: (_ name: UnsafeRawBufferPointer, _ line: UnsafeRawBufferPointer) -> Void) {
        unsafe lines.withUnsafeReadableBytes { bytes in
            var start = 0
            while start < bytes.count {
                let end = unsafe bytes[start...].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? bytes.count
                let line = unsafe UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                if let colon = unsafe line.firstIndex(of: UInt8(ascii: ":")) { unsafe body(UnsafeRawBufferPointer(rebasing: line[..<colon]), line) }
                start = end
            }
        }
    }

    /// `Content-Length` and `Transfer-Encoding`, which only the framing writes.
    @inline(__always)
    private static func isFraming(_ name: String) -> Bool {
        HeaderBytes.same(name, "content-length") || HeaderBytes.same(name, "transfer-encoding")
    }

    /// One chunk of a chunked body: its size in hex, the bytes, CRLF.
    static func chunk(_ bytes: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 8 + bytes.readableBytes + 4)
        chunk(bytes, appendingTo: &out)
        return out
    }

    /// The same chunk written at the end of `out`.
    static func chunk(_ bytes: ByteBuffer, appendingTo out: inout ByteBuffer) {
        out.writeString(String(bytes.readableBytes, radix: 16))
        out.writeStaticString("\r\n")
        out.writeImmutableBuffer(bytes)
        out.writeStaticString("\r\n")
    }

    /// The end of a chunked body (no trailers).
    static let lastChunk = ByteBuffer(staticString: "0\r\n\r\n")

    /// Writes a message (an answer, or the gateway's request upstream) through a pointer into
    /// room reserved for all of it. Never past `end`: were the room miscounted, the message
    /// would come out short, not overrun memory.
    @safe struct Writer {
        var cursor: UnsafeMutableRawPointer
        let end: UnsafeMutableRawPointer

        @inline(__always)
        mutating func write(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, unsafe bytes.count <= end - cursor else { return }
            unsafe cursor.copyMemory(from: base, byteCount: bytes.count)
            unsafe cursor += bytes.count
        }

        @inline(__always)
        mutating func write(_ text: StaticString) {
            unsafe write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        @inline(__always)
        mutating func write(_ text: String) {
            var text = text
            text.withUTF8 { unsafe write(UnsafeRawBufferPointer($0)) }
        }

        /// A header line. Names that are not tokens are dropped and CR/LF in values become
        /// spaces, so no value can start a header of its own.
        mutating func header(_ name: String, _ value: String) {
            var name = name, value = value
            guard name.withUTF8({ unsafe !$0.isEmpty && $0.allSatisfy(RequestDecoder.isTokenCharacter) }) else { return }
            write(name)
            write(": ")
            value.withUTF8 { bytes in
                let start = unsafe cursor
                unsafe write(UnsafeRawBufferPointer(bytes))
                guard unsafe cursor - start == bytes.count else { return }
                for index in bytes.indices where unsafe bytes[index] == 0x0D || bytes[index] == 0x0A {
                    unsafe start.storeBytes(of: 0x20, toByteOffset: index, as: UInt8.self)
                }
            }
            write("\r\n")
        }

        /// Room for the longest number: 20 decimal digits.
        private static let numberRoom = 20

        mutating func decimal(_ value: UInt64) {
            guard unsafe end - cursor >= Self.numberRoom else { return }
            unsafe cursor += writeDigits(value, to: cursor)
        }

        mutating func base36(_ value: UInt64) {
            guard unsafe end - cursor >= Self.numberRoom else { return }
            unsafe cursor += writeDigits(value, radix: 36, to: cursor)
        }
    }
}
