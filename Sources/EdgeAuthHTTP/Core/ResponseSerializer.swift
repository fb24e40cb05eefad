import EdgeAuth
import NIOCore
import NIOHTTP1

/// Writes answers as they go on the wire.
enum ResponseSerializer {
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
        unsafe buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { room in
            guard let start = room.baseAddress else { return 0 }
            var out = unsafe Writer(cursor: start, end: start + room.count)
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
            if reply.status.code >= 400, !reply.headers.contains(where: { $0.0.utf8.count == 13 && $0.0.lowercased() == "cache-control" }) {
                out.write("Cache-Control: no-store\r\n")
            }
            if let corsOrigin {
                out.header("Access-Control-Allow-Origin", corsOrigin)
                out.write("Access-Control-Expose-Headers: WWW-Authenticate, Mcp-Session-Id\r\n")
                if corsOrigin != "*" { out.write("Vary: Origin\r\n") }
            }
            if connectionClose { out.write("Connection: close\r\n") }
            out.write("\r\n")
            if includeBody {
                unsafe reply.body.withUnsafeReadableBytes { unsafe out.write($0) }
            }
            return unsafe out.cursor - start
        }
        return buffer
    }

    /// Writes an answer through a pointer into room `serialize` reserved for all of it. Never
    /// past `end`: were the room miscounted, the answer would come out short, not overrun memory.
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
            guard !name.isEmpty, name.utf8.allSatisfy({ RequestDecoder.isTokenCharacter($0) }) else { return }
            write(name)
            write(": ")
            let start = unsafe cursor
            write(value)
            for index in 0..<(unsafe cursor - start) where unsafe start.load(fromByteOffset: index, as: UInt8.self) == 0x0D || start.load(fromByteOffset: index, as: UInt8.self) == 0x0A {
                unsafe start.storeBytes(of: 0x20, toByteOffset: index, as: UInt8.self)
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
