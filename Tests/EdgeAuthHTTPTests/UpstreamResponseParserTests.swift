@testable import EdgeAuthHTTP
import NIOCore
import Testing

/// How the gateway reads an upstream's answers (RFC 9112): framing by length, by chunks and
/// by the connection's end, heads without bodies, and the refusal of anything that could be
/// read two ways. Every refusal here is a 502 for the client (docs/gateway.md).
@Suite struct UpstreamResponseParserTests {
    /// What a parser made of an answer: statuses, the body's bytes, ends.
    struct Outcome: Equatable {
        var statuses: [Int] = []
        var body = ""
        var ends = 0
        var keepAlive: [Bool] = []
        var failure: String?
    }

    static func parse(_ reads: [String], requestIsHEAD: Bool = false, closeAtEnd: Bool = false) -> Outcome {
        let parser = UpstreamResponseParser()
        parser.expectAnswer(requestIsHEAD: requestIsHEAD)
        var outcome = Outcome()
        do {
            for read in reads {
                try parser.feed(ByteBuffer(bytes: Array(read.utf8))) { event in
                    switch event {
                    case .head(let head):
                        outcome.statuses.append(head.status)
                        outcome.keepAlive.append(head.keepAlive)
                    case .body(let bytes): outcome.body += String(buffer: bytes)
                    case .end: outcome.ends += 1
                    }
                }
            }
            if closeAtEnd, parser.connectionEnded() { outcome.ends += 1 }
        } catch {
            outcome.failure = error.description
        }
        return outcome
    }

    /// The head of `text` (a whole head), as the parser read it.
    static func head(_ text: String, requestIsHEAD: Bool = false) throws -> UpstreamResponseHead? {
        let parser = UpstreamResponseParser()
        parser.expectAnswer(requestIsHEAD: requestIsHEAD)
        var head: UpstreamResponseHead?
        try parser.feed(ByteBuffer(string: text)) { event in
            if case .head(let read) = event { head = read }
        }
        return head
    }

    @Test("Content-Length frames the body; the head's fields, type and persistence are read")
    func lengthFramed() throws {
        let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
        #expect(Self.parse([answer]) == Outcome(statuses: [200], body: "{\"a\":1}", ends: 1, keepAlive: [true]))
        let head = try #require(try Self.head(answer))
        #expect(head.hasMediaType("application/json") && !head.hasMediaType("text/event-stream") && head.framing == .length(7) && head.contentLength == 7)
        #expect(try #require(try Self.head("HTTP/1.1 200 OK\r\nContent-Type:  Text/Event-Stream ; charset=utf-8\r\n\r\n")).hasMediaType("text/event-stream"))
        var names: [String] = []
        head.forEachField { name, value in names.append(String(decoding: name, as: UTF8.self) + "=" + String(decoding: value, as: UTF8.self)) }
        #expect(names == ["Content-Type=application/json", "Content-Length=7"])
        #expect(Self.parse(["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]) == Outcome(statuses: [200], ends: 1, keepAlive: [true]))
    }

    @Test("Chunked bodies: sizes in any case, extensions ignored, trailers dropped")
    func chunked() {
        let answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n5;name=value;flag\r\nhello\r\nA;q=\"a \\\"b\\\"\"\r\n, world!!!\r\n0\r\nX-Trailer: 1\r\n\r\n"
        #expect(Self.parse([answer]) == Outcome(statuses: [200], body: "hello, world!!!", ends: 1, keepAlive: [true]))
    }

    @Test("Any split of the same bytes gives the same events")
    func splits() {
        let answers = [
            "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nwiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\n",
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
        ]
        for answer in answers {
            let whole = Self.parse([answer], closeAtEnd: true)
            #expect(whole.failure == nil && whole.ends == 1)
            let bytes = Array(answer.utf8)
            for cut in 1..<bytes.count {
                let parts = [String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)]
                #expect(Self.parse(parts, closeAtEnd: true) == whole, "cut at \(cut)")
            }
            #expect(Self.parse(bytes.map { String(decoding: [$0], as: UTF8.self) }, closeAtEnd: true) == whole, "byte by byte")
        }
    }

    @Test("Interim 1xx heads are skipped; HEAD, 204 and 304 answers have no body whatever they declare")
    func withoutBody() throws {
        #expect(Self.parse(["HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"])
            == Outcome(statuses: [204], ends: 1, keepAlive: [true]))
        #expect(Self.parse(["HTTP/1.1 304 Not Modified\r\n\r\n"]).ends == 1)
        let head = try #require(try Self.head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", requestIsHEAD: true))
        #expect(head.framing == .none && head.contentLength == 5, "the length of the GET answer is kept for the client")
        #expect(Self.parse(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"], requestIsHEAD: true).ends == 1)
    }

    @Test("Persistence: HTTP/1.1 unless `close`; HTTP/1.0 only with `keep-alive`; never for a body that ends with the connection")
    func persistence() {
        #expect(Self.parse(["HTTP/1.1 200 OK\r\nConnection: x, Close\r\nContent-Length: 0\r\n\r\n"]).keepAlive == [false])
        #expect(Self.parse(["HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"]).keepAlive == [false])
        #expect(Self.parse(["HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"]).keepAlive == [true])
        let untilClose = Self.parse(["HTTP/1.1 200 OK\r\n\r\nabc"])
        #expect(untilClose.keepAlive == [false] && untilClose.ends == 0 && untilClose.body == "abc", "no end before the connection's")
        #expect(Self.parse(["HTTP/1.1 200 OK\r\n\r\nabc"], closeAtEnd: true).ends == 1)
        let parser = UpstreamResponseParser()
        parser.expectAnswer(requestIsHEAD: false)
        #expect(!parser.connectionEnded(), "a connection that ends before the head ends no answer")
    }

    @Test("Anything that could be read two ways, or is not HTTP, is refused", arguments: [
        "\u{00}\u{01}\u{02} this is not HTTP \r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        "HTTP/1.0 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\u{00}b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd",
        "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\u{01}\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;é\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\"b\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n: v\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nContent-Length: 9\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ])
    func refused(_ answer: String) {
        #expect(Self.parse([answer]).failure != nil)
    }

    @Test("Heads and chunk lines are bounded")
    func bounds() {
        let big = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Padding: \(String(repeating: "a", count: 1000))\r\n", count: 70)
        #expect(Self.parse([big]).failure?.contains("larger than") == true, "refused before its end comes")
        let longLine = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 5000)
        #expect(Self.parse([longLine]).failure?.contains("too long") == true)
        let trailers = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + String(repeating: "X-T: \(String(repeating: "t", count: 1000))\r\n", count: 70)
        #expect(Self.parse([trailers]).failure?.contains("trailers are larger") == true, "trailers are bounded as a whole, not only by line")
    }

    @Test("Bytes after an answer's end are refused, in the same read or a later one")
    func afterTheEnd() throws {
        let parser = UpstreamResponseParser()
        parser.expectAnswer(requestIsHEAD: false)
        var ends = 0
        try parser.feed(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) { if case .end = $0 { ends += 1 } }
        #expect(ends == 1)
        #expect(throws: UpstreamResponseParser.Failure.self) { try parser.feed(ByteBuffer(string: "HTTP/1.1 200 OK\r\n")) { _ in } }
        parser.expectAnswer(requestIsHEAD: false)
        #expect(throws: UpstreamResponseParser.Failure.self, "after the end event") {
            try parser.feed(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokX")) { if case .end = $0 { ends += 1 } }
        }
        #expect(ends == 2)
    }
}
