@testable import EdgeAuthCore
import Testing

/// The pointer writer of `Identity.writeJSON`, against the generic JSON text.
@Suite struct JSONWriterTests {
    @Test("Integers are written in decimal at their boundaries, strings escaped like JSONText")
    func writer() {
        func written(_ body: (inout JSONWriter) -> Void) -> String {
            var room = [UInt8](repeating: 0, count: 256)
            let count = room.withUnsafeMutableBufferPointer { buffer -> Int in
                var writer = JSONWriter(cursor: buffer.baseAddress!)
                body(&writer)
                return writer.cursor - buffer.baseAddress!
            }
            return String(decoding: room[..<count], as: UTF8.self)
        }
        for value: Int64 in [0, 1, -1, 9, 10, -10, 99, 100, 1_700_000_000, .max, .min] {
            #expect(written { $0.decimal(value) } == String(value))
        }
        // Each character that needs an escape (and a few that do not) at every position of
        // words read eight bytes at a time.
        var texts = ["", "plain", "q\"b\\s", "\u{0}\u{1f}\n\r\t", "é✓😀", String(repeating: "x\u{7}", count: 20)]
        for position in 0..<20 {
            for special in ["\"", "\\", "\u{1}", "\u{1f}", " ", "!", "]", "\u{7f}", "é"] {
                texts.append(String(repeating: "a", count: position) + special + String(repeating: "b", count: 19 - position))
            }
        }
        for text in texts {
            var bytes = Array(text.utf8)
            let direct = bytes.withUnsafeMutableBytes { raw in written { $0.string(UnsafeRawBufferPointer(raw)) } }
            #expect(direct == JSONValue.string(text).jsonText, "\(text.debugDescription)")
            #expect(direct.utf8.count <= 6 * bytes.count + 2)
        }
    }
}

/// The member-by-member writer of records, token payloads and token responses.
@Suite struct JSONObjectWriterTests {
    @Test("An object written member by member is the JSON text of the same value, members in the order written")
    func object() throws {
        let texts = ["", "plain", "q\"b\\s", "\u{0}\u{1f}\n\r\t", "é✓😀"]
        for text in texts {
            var writer = JSONObjectWriter(capacity: 4)
            writer.string("s", text)
            writer.string("u", utf8: Array(text.utf8))
            writer.string("absent", nil as String?)
            writer.integer("i", Int64.min)
            writer.integer("j", nil as Int64?)
            writer.integer("k", Int64.max)
            writer.bool("t", true)
            writer.bool("f", false)
            writer.strings("a", [text, "x"])
            writer.strings("e", [String]())
            writer.object("o") { $0.integer("n", 0) }
            writer.objects("l", [0, 1]) { object, index in if index == 1 { object.string("x", text) } }
            let written = writer.finished()
            let expected: JSONValue = ["s": .string(text), "u": .string(text), "i": .number(String(Int64.min)), "k": .number(String(Int64.max)),
                                       "t": true, "f": false, "a": [.string(text), "x"], "e": [], "o": ["n": 0], "l": [[:], ["x": .string(text)]]]
            #expect(try JSONValue.parse(written) == expected)
            #expect(String(decoding: written.prefix(6), as: UTF8.self) == #"{"s":""#)
        }
        #expect(JSONObjectWriter().finished() == Array("{}".utf8))
    }

    @Test("Base64URL.append encodes every length as the RFC 4648 alphabet does, after what the buffer held")
    func base64() throws {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 73 &+ 5) }
            // Bit by bit: six bits a character, no padding.
            var bits: [UInt8] = bytes.flatMap { byte in (0..<8).map { byte >> (7 - $0) & 1 } }
            while bits.count % 6 != 0 { bits.append(0) }
            let expected = stride(from: 0, to: bits.count, by: 6).map { start in alphabet[Int(bits[start..<start + 6].reduce(0) { $0 << 1 | $1 })] }
            var out = Array("x.".utf8)
            Base64URL.append(bytes, to: &out)
            #expect(out == Array("x.".utf8) + expected)
            #expect(try Base64URL.decode(String(decoding: out.dropFirst(2), as: UTF8.self)) == bytes)
        }
    }
}
