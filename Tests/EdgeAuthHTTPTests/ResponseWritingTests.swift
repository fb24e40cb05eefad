@testable import EdgeAuthHTTP
import EdgeAuthTestThreads
import NIOCore
import NIOHTTP1
import Testing

/// The word-at-a-time and pointer-writing code of the request path, against plain definitions.
@Suite struct ResponseWritingTests {
    /// Every byte value at every position of the sixteen- and eight-byte steps and of the
    /// byte-by-byte tail, next to allowed bytes: the word checks agree with the field-value
    /// rule of RFC 9110 §5.5.
    @Test("isFieldValue agrees with the byte rule for every byte at every position", .ownThread)
    func fieldValueWords() {
        func allowed(_ byte: UInt8) -> Bool { byte >= 0x20 && byte != 0x7F || byte == 0x09 }
        for length in [1, 7, 8, 9, 16, 17, 24, 25, 33] {
            for position in 0..<length {
                for value in 0...255 {
                    for filler: UInt8 in [UInt8(ascii: "a"), 0x20, 0x09, 0x80, 0xFF] {
                        var bytes = [UInt8](repeating: filler, count: length)
                        bytes[position] = UInt8(value)
                        let expected = bytes.allSatisfy(allowed)
                        let found = bytes.withUnsafeBytes { RequestDecoder.isFieldValue($0) }
                        #expect(found == expected, "\(bytes)")
                    }
                }
            }
        }
    }

    @Test("Numbers are written in decimal and base 36 at their boundaries")
    func digits() {
        func written(_ body: (inout ResponseSerializer.Writer) -> Void) -> String {
            var room = [UInt8](repeating: 0, count: 64)
            let count = room.withUnsafeMutableBytes { bytes -> Int in
                var writer = ResponseSerializer.Writer(cursor: bytes.baseAddress!, end: bytes.baseAddress! + bytes.count)
                body(&writer)
                return writer.cursor - bytes.baseAddress!
            }
            return String(decoding: room[..<count], as: UTF8.self)
        }
        for value: UInt64 in [0, 1, 9, 10, 35, 36, 99, 100, 1295, 1296, 999_999, UInt64(Int64.max), .max] {
            #expect(written { $0.decimal(value) } == String(value))
            #expect(written { $0.base36(value) } == String(value, radix: 36))
        }
    }

    @Test("An answer with long and many headers, a CORS origin and a body fits the room reserved for it")
    func serializeBound() {
        let long = String(repeating: "v", count: 5000)
        var headers = (0..<50).map { ("X-H\($0)", String(repeating: "w", count: $0 * 7)) }
        headers.append(("X-Long", long))
        headers.append(("X-Break", "a\r\nSet-Cookie: b"))
        let reply = HTTPReply(status: .custom(code: 599, reasonPhrase: String(repeating: "r", count: 300)), headers: headers,
                              body: ByteBuffer(string: String(repeating: "b", count: 3000)))
        let origin = "https://" + String(repeating: "o", count: 400) + ".example"
        let id = RequestID(prefix: RequestID.prefix(pid: .max), number: .max)
        for includeBody in [true, false] {
            let buffer = ResponseSerializer.serialize(reply, version: .http1_1, includeBody: includeBody, requestID: id, corsOrigin: origin,
                                                  connectionClose: true, allocator: ByteBufferAllocator())
            let text = String(buffer: buffer)
            #expect(text.hasPrefix("HTTP/1.1 599 " + String(repeating: "r", count: 300) + "\r\n"))
            #expect(text.contains("\r\nX-Long: \(long)\r\n") && text.contains("\r\nX-Break: a  Set-Cookie: b\r\n"))
            #expect(text.contains("\r\nX-Request-Id: \(id)\r\n") && text.contains("\r\nAccess-Control-Allow-Origin: \(origin)\r\n"))
            #expect(text.contains("\r\nContent-Length: 3000\r\n") && text.contains("\r\nConnection: close\r\n\r\n"))
            #expect(text.hasSuffix(includeBody ? String(repeating: "b", count: 3000) : "\r\n\r\n"))
        }
    }
}
