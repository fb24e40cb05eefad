import EdgeAuth
import EdgeAuthHTTP
import EdgeAuthTesting
import Foundation
import Testing

/// The server's own HTTP/1.1 request decoder through real connections: requests framed
/// every legitimate way are answered; anything two parsers could frame differently
/// (request smuggling) is refused with 400 and the connection closed (R4).
@Suite struct RequestDecoderTests {
    /// Sends `request` on a new connection; the first answer's status (0: none) and whether
    /// the server then closed the connection.
    static func exchange(_ port: Int, _ request: String) async throws -> (status: Int, closed: Bool) {
        try await offPool {
            let connection = try RawConnection(port, timeout: 5)
            connection.send(request)
            let status = connection.read()?.status ?? 0
            return (status, status == 0 || connection.isClosed)
        }
    }

    static let refused: [(String, String)] = [
        ("Content-Length and Transfer-Encoding", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("two different Content-Lengths", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
        ("a Content-Length list that disagrees", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!"),
        ("a Content-Length list that agrees", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello"),
        ("two equal Content-Lengths", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
        ("a signed Content-Length", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello"),
        ("a hex Content-Length", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello"),
        ("an empty Content-Length", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"),
        ("a Content-Length of 19 digits", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000000000\r\n\r\n"),
        ("Transfer-Encoding gzip", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
        ("Transfer-Encoding gzip, chunked", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
        ("Transfer-Encoding twice", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("Transfer-Encoding followed by a tab", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n"),
        ("Transfer-Encoding in HTTP/1.0", "POST /healthz HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("whitespace before the colon", "GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length : 0\r\n\r\n"),
        ("a folded header line", "GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n"),
        ("bare LF line endings", "GET /healthz HTTP/1.1\nHost: a\n\n\r\n\r\n"),
        ("a bare CR", "GET /healthz HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"),
        ("a control character in a value", "GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: one\u{1}two\r\n\r\n"),
        ("DEL in a value", "GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: one\u{7F}\r\n\r\n"),
        ("a NUL in a header name", "GET /healthz HTTP/1.1\r\nHost: a\r\nX\u{0}A: one\r\n\r\n"),
        ("an empty header name", "GET /healthz HTTP/1.1\r\nHost: a\r\n: one\r\n\r\n"),
        ("a line without a colon", "GET /healthz HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n"),
        ("a method with a separator", "GE(T /healthz HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("two spaces in the request line", "GET  /healthz HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("a space inside the target", "GET /health z HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("a control character in the target", "GET /health\u{1}z HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("HTTP/2.0", "GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n"),
        ("a lowercase version", "GET /healthz http/1.1\r\nHost: a\r\n\r\n"),
        ("a request line without a version", "GET /healthz\r\nHost: a\r\n\r\n"),
        ("a chunk size that is not hex", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        ("a chunk size of 9 hex digits", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n100000000\r\nx\r\n0\r\n\r\n"),
        ("a negative chunk size", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"),
        ("chunk data longer than its size", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"),
        ("a chunk size line ending in LF only", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"),
        ("a chunk size followed by whitespace and no extension", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n"),
        ("whitespace before a chunk extension", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n0\r\n\r\n"),
        ("a chunk extension with a colon", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a:b\r\nhello\r\n0\r\n\r\n"),
        ("a chunk extension with an open quote", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\r\n0\r\n\r\n"),
        ("a trailer that is not a field", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n"),
        ("a Content-Length trailer", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n"),
        ("a Transfer-Encoding trailer", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ("a chunk extension with a control character", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n"),
        ("an HTTP/1.1 request without Host", "GET /healthz HTTP/1.1\r\n\r\n"),
        ("two Host fields", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        ("two Host fields in HTTP/1.0", "GET /healthz HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"),
        ("a Host with a space", "GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n"),
        ("a Host with user information", "GET /healthz HTTP/1.1\r\nHost: user@a\r\n\r\n"),
        ("a Host with a path", "GET /healthz HTTP/1.1\r\nHost: a/healthz\r\n\r\n"),
        ("a target that is neither a path nor a URL", "GET healthz HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("an absolute target of another scheme", "GET ftp://a/healthz HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("an absolute target with user information", "GET http://user@a/healthz HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("an absolute target without authority", "GET http:///healthz HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("a fragment in the target", "GET /healthz#top HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("a fragment in an absolute target", "GET http://a#/healthz HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("an authority-form target", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
    ]

    @Test("Requests two parsers could frame differently are refused with 400 and the connection closed")
    func smuggling() async throws {
        let served = try await TestServer.start()
        defer { served.stop() }
        for (name, request) in Self.refused {
            let answer = try await Self.exchange(served.port, request)
            #expect(answer.status == 400, "\(name)")
            #expect(answer.closed, "\(name): the connection stays open")
        }
        // And the server goes on serving.
        #expect(try await RawHTTP.get(served.port, "/healthz")?.status == 200)
        try await served.server.drain()
    }

    @Test("A request pipelined after a refused one is never answered; a chunked body without its last chunk is never dispatched")
    func afterRefusal() async throws {
        let served = try await TestServer.start()
        defer { served.stop() }
        let token = try TestServer.token()
        let (first, second) = try await offPool { () -> (RawResponse?, RawResponse?) in
            let connection = try RawConnection(served.port, timeout: 5)
            connection.send("GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n"
                            + "GET /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\n\r\n")
            return (connection.read(), connection.read())
        }
        #expect(first?.status == 400 && first?.header("Connection") == "close")
        #expect(second == nil, "nothing after the refusal is read as a request")
        let unfinished = try await offPool { () -> RawResponse? in
            let connection = try RawConnection(served.port, timeout: 5)
            connection.send("POST /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            shutdown(connection.descriptor, Int32(SHUT_WR))
            return connection.read()
        }
        #expect(unfinished == nil, "the body never ended: no answer, the connection closed")
        #expect(try await RawHTTP.get(served.port, "/healthz")?.status == 200, "the next connection is served")
        try await served.server.drain()
    }

    @Test("Legitimate framings: chunked with extensions and trailers, blank lines, pipelining")
    func framings() async throws {
        let served = try await TestServer.start()
        defer { served.stop() }
        let token = try TestServer.token()
        let exchanged = try await offPool { () -> [RawResponse?] in
            let connection = try RawConnection(served.port, timeout: 60)
            // Four requests in one write: each must be framed exactly for the next to be found.
            connection.send(
                "POST /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
                    + "\r\nPOST /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\nContent-Length: 3\r\n\r\nabc"
                    + "POST /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\ncontent-length:  3 \r\n\r\nxyz"
                    + "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Tab:\tvalue with tab \t\r\nConnection: close\r\n\r\n"
            )
            return (0..<4).map { _ in connection.read() }
        }
        #expect(exchanged.map { $0?.status ?? 0 } == [200, 200, 200, 200])
        #expect(exchanged[0]?.json?["id"] != nil, "the identity answered after a chunked body")
        #expect(exchanged[3]?.header("Connection") == "close")
        try await served.server.drain()
    }

    @Test("An absolute-form target is served as its path (RFC 9112 §3.2.2), in either case of scheme, with or without a query")
    func absoluteForm() async throws {
        let served = try await TestServer.start()
        defer { served.stop() }
        for target in ["http://a.example/healthz", "HTTPS://a.example:8443/healthz", "http://[::1]:80/healthz?x=1", "http://127.0.0.1/healthz"] {
            let answer = try await RawHTTP.exchange(served.port, "GET \(target) HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n")
            #expect(answer?.status == 200, "\(target)")
        }
        let root = try await RawHTTP.exchange(served.port, "GET http://a.example HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
        #expect(root?.status == 404, "the empty path is /")
        // The protected path through an absolute target is protected alike.
        let protected = try await RawHTTP.exchange(served.port, "POST http://a.example/mcp HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        #expect(protected?.status == 401)
        try await served.server.drain()
    }

    @Test("A chunk size beyond the body limit is answered 413 at once, before its bytes arrive; extensions of tokens and quoted strings pass")
    func declaredChunkBeyondLimit() async throws {
        let served = try await TestServer.start { $0.limits.maxBodyBytes = 1024 }
        defer { served.stop() }
        let token = try TestServer.token()
        let status = try await offPool { () -> Int in
            let connection = try RawConnection(served.port, timeout: 5)
            // Two chunks that together declare more than the limit; no data follows.
            connection.send("POST /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n"
                            + String(repeating: "x", count: 512) + "\r\n201\r\n")
            return connection.read()?.status ?? 0
        }
        #expect(status == 413)
        let extended = try await RawHTTP.exchange(served.port, "POST /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\nTransfer-Encoding: chunked\r\n"
                                                  + "Connection: close\r\n\r\n5;ext=1;q=\"a \\\" b\";flag\r\nhello\r\n0\r\n\r\n")
        #expect(extended?.status == 200)
        try await served.server.drain()
    }

    @Test("Refusals of the decoder are counted in /metrics by status")
    func refusalsCounted() async throws {
        let served = try await TestServer.start()
        defer { served.stop() }
        _ = try await Self.exchange(served.port, "GET /healthz HTTP/1.1\r\n\r\n")
        _ = try await Self.exchange(served.port, "GET /healthz HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "a", count: 20000) + "\r\n\r\n")
        let metrics = try await RawHTTP.get(served.port, "/metrics")?.body ?? ""
        #expect(metrics.contains(#"edgeauth_http_requests_total{route="other",status="400"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"edgeauth_http_requests_total{route="other",status="431"} 1"#), "\(metrics)")
        try await served.server.drain()
    }

    @Test("HTTP/1.0: closed after the answer unless keep-alive is asked for; HEAD has no body")
    func versions() async throws {
        let served = try await TestServer.start()
        defer { served.stop() }
        let closed = try await Self.exchange(served.port, "GET /healthz HTTP/1.0\r\n\r\n")
        #expect(closed.status == 200 && closed.closed, "HTTP/1.0 needs no Host")
        let head = try await offPool { () -> [UInt8] in
            let connection = try RawConnection(served.port, timeout: 60)
            connection.send("HEAD /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            var received = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while case let count = recv(connection.descriptor, &buffer, buffer.count, 0), count > 0 { received += buffer[..<count] }
            return received
        }
        let text = String(decoding: head, as: UTF8.self)
        // The Content-Length of the body a GET would get, and no body.
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n") && text.contains("Content-Length: 15\r\n") && text.hasSuffix("\r\n\r\n"), "\(text)")
        try await served.server.drain()
    }

    @Test("Connection options: close wins, keep-alive keeps an HTTP/1.0 connection, twice is a contradiction that closes")
    func connectionOptions() async throws {
        let served = try await TestServer.start()
        defer { served.stop() }
        let cases: [(version: String, fields: [String], closes: Bool)] = [
            ("1.1", [], false),
            ("1.1", ["Connection: close"], true),
            ("1.1", ["Connection: Upgrade, CLOSE"], true),
            ("1.1", ["Connection: closed"], false),
            ("1.1", ["connection: keep-alive"], false),
            ("1.1", ["Connection: keep-alive", "Connection: close"], true),
            ("1.0", [], true),
            ("1.0", ["Connection: Keep-Alive"], false),
            ("1.0", ["Connection: te,  keep-alive "], false),
            ("1.0", ["Connection: keep-alive, keep-alive"], true),
            ("1.0", ["Connection: keep-alive, close"], true),
        ]
        for (version, fields, closes) in cases {
            let request = "GET /healthz HTTP/\(version)\r\nHost: a\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n"
            let answer = try await offPool { () -> RawResponse? in
                let connection = try RawConnection(served.port, timeout: 60)
                connection.send(request)
                return connection.read()
            }
            #expect(answer?.status == 200, "\(fields)")
            #expect((answer?.header("Connection") == "close") == closes, "HTTP/\(version) \(fields)")
        }
        try await served.server.drain()
    }

    @Test("Requests are counted by route and status when one connection alternates between them")
    func metricsPerConnection() async throws {
        let served = try await TestServer.start()
        defer { served.stop() }
        let text = try await offPool { () -> String in
            let connection = try RawConnection(served.port, timeout: 60)
            for path in ["/healthz", "/healthz", "/mcp", "/healthz", "/mcp", "/mcp", "/nowhere"] {
                connection.send("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n")
                _ = connection.read()
            }
            connection.send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
            return connection.read()?.body ?? ""
        }
        func value(_ prefix: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        #expect(value(#"edgeauth_http_requests_total{route="health",status="200"}"#) == 3, "\(text)")
        #expect(value(#"edgeauth_http_requests_total{route="protected",status="401"}"#) == 3, "\(text)")
        #expect(value(#"edgeauth_http_requests_total{route="other",status="404"}"#) == 1, "\(text)")
        #expect(value(#"edgeauth_http_request_duration_seconds_count{route="health"}"#) == 3, "\(text)")
        #expect(value(#"edgeauth_http_request_duration_seconds_count{route="protected"}"#) == 3, "\(text)")
        try await served.server.drain()
    }

    @Test("Request ids are the process id and a counter in base 36, written into every answer")
    func requestIDs() async throws {
        let served = try await TestServer.start()
        defer { served.stop() }
        var numbers = [Int]()
        for _ in 0..<40 {
            let id = try #require(try await RawHTTP.get(served.port, "/healthz")?.header("X-Request-Id"))
            let parts = id.split(separator: "-")
            #expect(parts.count == 2 && parts[0] == String(getpid(), radix: 36), "\(id)")
            numbers.append(try #require(Int(parts[1], radix: 36), "\(id)"))
        }
        #expect(numbers == Array(numbers[0]..<(numbers[0] + 40)), "one more per request, across a base-36 digit boundary: \(numbers)")
        try await served.server.drain()
    }

    @Test("The head is limited as a whole: 431 beyond maxHeaderBytes or 256 fields, even when trickled")
    func limits() async throws {
        let served = try await TestServer.start { $0.limits.maxHeaderBytes = 2048 }
        defer { served.stop() }
        let long = try await Self.exchange(served.port, "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "a", count: 4096))\r\n\r\n")
        #expect(long.status == 431 && long.closed)
        let many = try await Self.exchange(served.port, "GET /healthz HTTP/1.1\r\n" + String(repeating: "A: b\r\n", count: 300) + "\r\n")
        #expect(many.status == 431)
        let headEnd = try await offPool { () -> Int in
            let connection = try RawConnection(served.port, timeout: 60)
            // No blank line ever: the search for the end of the head stops at the limit.
            for _ in 0..<30 { connection.send("X-Line: " + String(repeating: "b", count: 100) + "\r\n") }
            return connection.read()?.status ?? 0
        }
        #expect(headEnd == 431)
        try await served.server.drain()
    }

    @Test("A handler's header values cannot start headers of their own; names that are not tokens are dropped")
    func headerInjection() async throws {
        struct Injecting: ProtectedHandler {
            func respond(to request: ProtectedRequest, identity: Identity) -> ProtectedResponse {
                .reply(HTTPReply(status: .ok, headers: [("X-Note", "a\r\nSet-Cookie: stolen=1"), ("Bad Name", "v"), ("Content-Length", "999")]))
            }
        }
        let served = try await TestServer.start(handler: Injecting())
        defer { served.stop() }
        let answer = try await RawHTTP.get(served.port, "/mcp", headers: ["Authorization: Bearer \(try TestServer.token())"])
        #expect(answer?.status == 200)
        #expect(answer?.header("X-Note") == "a  Set-Cookie: stolen=1")
        #expect(answer?.header("Set-Cookie") == nil && answer?.header("Bad Name") == nil)
        #expect(answer?.header("Content-Length") == "0", "the length is the body's, whatever the handler says")
        try await served.server.drain()
    }

    @Test("Expect: 100-continue gets an interim answer before the client sends its body")
    func expectContinue() async throws {
        let served = try await TestServer.start()
        defer { served.stop() }
        let token = try TestServer.token()
        let (interim, final) = try await offPool { () -> (String, Int) in
            let connection = try RawConnection(served.port, timeout: 60)
            connection.send("POST /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            var buffer = [UInt8](repeating: 0, count: 25)
            let count = recv(connection.descriptor, &buffer, 25, Int32(MSG_WAITALL))
            connection.send("hello")
            return (String(decoding: buffer[..<max(count, 0)], as: UTF8.self), connection.read()?.status ?? 0)
        }
        #expect(interim == "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(final == 200)
        try await served.server.drain()
    }

    @Test("Expect: 100-continue for a request refused whatever its body (no token, no such path) gets the refusal, not 100, and the connection closes")
    func expectContinueRefused() async throws {
        let served = try await TestServer.start()
        defer { served.stop() }
        for (request, status) in [("POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", 401),
                                  ("POST /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Basic YTpi\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", 401),
                                  ("POST /nowhere HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", 404)] {
            let answer = try await offPool { () -> RawResponse? in
                let connection = try RawConnection(served.port, timeout: 5)
                connection.send(request)
                return connection.read()
            }
            #expect(answer?.status == status, "\(request)")
            #expect(answer?.header("Connection") == "close")
            if status == 401 { #expect(answer?.header("WWW-Authenticate")?.hasPrefix("Bearer ") == true) }
        }
        try await served.server.drain()
    }
}
