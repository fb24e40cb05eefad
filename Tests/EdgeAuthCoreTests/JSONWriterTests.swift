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
