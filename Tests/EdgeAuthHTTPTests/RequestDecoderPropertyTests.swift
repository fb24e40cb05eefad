@testable import EdgeAuthHTTP
import EdgeAuthTestThreads
import NIOCore
import NIOHTTP1
import Testing

/// Properties of the request decoder over generated input: however the bytes are split
/// into reads, the decoder sees the same requests (or refuses at the same point), and it
/// never emits more body than it was given.
@Suite struct RequestDecoderPropertyTests {
    /// What a decoder made of some bytes: the parts (heads as text, bodies joined per
    /// request) and how it ended.
    struct Outcome: Equatable {
        var parts: [String] = []
        var error: RequestDecodingError?
    }

    static func decode(_ bytes: [UInt8], splits: [Int]) -> Outcome {
        var decoder = RequestDecoder(maxHeaderBytes: 512, maxHeaderCount: 16)
        var pending = ByteBuffer()
        var outcome = Outcome()
        var body = [UInt8]()
        var cuts = splits.filter { $0 > 0 && $0 < bytes.count }.sorted()
        cuts.append(bytes.count)
        var start = 0
        for cut in cuts where cut > start {
            pending.writeBytes(bytes[start..<cut])
            start = cut
            do {
                while let part = try decoder.next(from: &pending) {
                    switch part {
                    case .head(let head):
                        outcome.parts.append("\(head.method) \(head.uri) \(head.version) \(head.headers.map { "\($0.name)=\($0.value)" })")
                    case .body(let slice):
                        body += slice.readableBytesView
                    case .end:
                        outcome.parts.append("body \(body.count) \(body.hashValue)")
                        body = []
                    }
                }
            } catch {
                outcome.error = error as? RequestDecodingError
                return outcome
            }
        }
        return outcome
    }

    static let seeds: [String] = [
        "GET /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer abc.def.ghi\r\n\r\n",
        "POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
        "POST /mcp HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n",
        "\r\nHEAD / HTTP/1.0\r\nX:\t v \r\n\r\nGET http://b/c HTTP/1.1\r\nHost: a\r\n\r\n",
    ]

    @Test("Any split of the same bytes gives the same requests or the same refusal", .ownThread)
    func splitInvariance() {
        var generator = SystemRandomNumberGenerator()
        var checked = 0
        for round in 0..<3000 {
            // Two seeds back to back (pipelining), then a few random byte edits.
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8) + Array(Self.seeds[(round / 4) % Self.seeds.count].utf8)
            let edits = round % 3 == 0 ? 0 : Int.random(in: 1...4, using: &generator)
            for _ in 0..<edits {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[index] = [0x0D, 0x0A, 0x20, 0x3A, 0x30, 0x61, 0x09, 0x00, 0x7F, 0xFF].randomElement(using: &generator)!
                case 1: bytes.remove(at: index)
                default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: index)
                }
            }
            let whole = Self.decode(bytes, splits: [])
            let byteByByte = Self.decode(bytes, splits: Array(1..<bytes.count))
            let random = Self.decode(bytes, splits: (0..<5).map { _ in Int.random(in: 1..<max(bytes.count, 2), using: &generator) })
            #expect(whole == byteByByte, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            #expect(whole == random, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            checked += 1
        }
        #expect(checked == 3000)
    }

    @Test("The unedited seeds decode to exactly their requests")
    func seedsDecode() {
        for seed in Self.seeds {
            let outcome = Self.decode(Array(seed.utf8), splits: [])
            #expect(outcome.error == nil, "\(seed.debugDescription)")
            #expect(outcome.parts.count == (seed.hasPrefix("\r\nHEAD") ? 4 : 2), "\(outcome.parts)")
        }
        let chunked = Self.decode(Array(Self.seeds[2].utf8), splits: [])
        #expect(chunked.parts.last == "body 11 \(Array("hello world".utf8).hashValue)")
    }
}
