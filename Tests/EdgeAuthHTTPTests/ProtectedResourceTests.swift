import EdgeAuth
import EdgeAuthHTTP
import EdgeAuthTesting
import Foundation
import NIOPosix
import Testing

/// The MCP authorization requirements of a protected resource (docs/requirements.md, R1–R8 and D1),
/// each checked with real HTTP requests to a server on a loopback port.
@Suite("HTTP server: the protected-resource side of OAuth")
struct ProtectedResourceTests {
    static let metadataURL = "http://127.0.0.1/.well-known/oauth-protected-resource/mcp"

    @Test("R1: the metadata at the path-inserted and the root URL, with the required fields; GET and HEAD only")
    func metadata() async throws {
        let server = try await TestServer.start { $0.resourceName = "Notes" }
        defer { server.stop() }
        for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
            let response = try #require(try await RawHTTP.get(server.port, path))
            #expect(response.status == 200 && response.header("Content-Type") == "application/json")
            let document = try #require(response.json)
            #expect(document["resource"] == "http://127.0.0.1/mcp")
            #expect(document["authorization_servers"] == ["https://issuer.example/"])
            #expect(document["bearer_methods_supported"] == ["header"])
            #expect(document["scopes_supported"] == ["notes:read", "notes:write"])
            #expect(document["resource_name"] == "Notes")
        }
        let post = try #require(try await RawHTTP.get(server.port, "/.well-known/oauth-protected-resource/mcp", method: "POST"))
        #expect(post.status == 405 && post.header("Allow") == "GET, HEAD, OPTIONS")
        #expect(try await RawHTTP.get(server.port, "/.well-known/oauth-protected-resource/other")?.status == 404)
    }

    @Test("R1: offline_access is refused in scopes_supported; a bad resource URL names the member")
    func metadataConfiguration() throws {
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.parse(["scopesSupported": ["offline_access"]]) }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.parse(["resource": "https://mcp.example.com/mcp/"]) }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.parse(["resource": "https://mcp.example.com/mcp#x"]) }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.parse(["prot": "/x"]) }
    }

    @Test("R2: no token → 401 with resource_metadata and scope but no error attribute")
    func noToken() async throws {
        let server = try await TestServer.start()
        defer { server.stop() }
        let response = try #require(try await RawHTTP.get(server.port, "/mcp"))
        #expect(response.status == 401)
        #expect(response.header("WWW-Authenticate") == "Bearer resource_metadata=\"\(Self.metadataURL)\", scope=\"notes:read notes:write\"")
        #expect(response.json?["error"] != nil && response.json?["error_description"] != nil)
        #expect(response.header("Cache-Control") == "no-store")
    }

    @Test("R2: an invalid or expired token → 401 invalid_token; the body says what, never the internals")
    func invalidTokens() async throws {
        let server = try await TestServer.start()
        defer { server.stop() }
        let factory = TestServer.factory
        let cases: [(String, String)] = [
            (try factory.token(claims: ["exp": .number(String(factory.now - 3600))]), "the access token has expired"),
            (Self.tampered(try TestServer.token()), "the access token is not valid"),
            ("not-a-jwt", "the access token is malformed"),
            (try factory.token(claims: ["iss": "https://evil.example/", "exp": .number(String(factory.now + 60))]), "the access token was not issued by a trusted authorization server"),
        ]
        for (token, description) in cases {
            let response = try #require(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer \(token)"]))
            #expect(response.status == 401)
            #expect(response.header("WWW-Authenticate") == "Bearer error=\"invalid_token\", error_description=\"\(description)\", resource_metadata=\"\(Self.metadataURL)\", scope=\"notes:read notes:write\"")
            #expect(response.json?["error"] == "invalid_token" && response.json?["error_description"] == .string(description))
            for leak in ["issuer.example", "evil", "jwks", "kid", "Swift", "EdgeAuth"] { #expect(!response.body.contains(leak), "\(leak) in \(response.body)") }
        }
    }

    /// The token with one signature character changed (still canonical base64url).
    static func tampered(_ token: String) -> String {
        var bytes = Array(token.utf8)
        let index = bytes.count - 10
        bytes[index] = bytes[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("R3: a valid token without every required scope → 403 naming all of them in one challenge")
    func insufficientScope() async throws {
        let server = try await TestServer.start()
        defer { server.stop() }
        let response = try #require(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer \(try TestServer.token(scopes: "openid"))"]))
        #expect(response.status == 403)
        let challenge = try #require(response.header("WWW-Authenticate"))
        #expect(challenge.hasPrefix("Bearer error=\"insufficient_scope\""))
        #expect(challenge.contains("scope=\"notes:read notes:write\"") && challenge.contains("resource_metadata=\"\(Self.metadataURL)\""))
        #expect(response.json?["error"] == "insufficient_scope")
        let allowed = try #require(try await RawHTTP.get(server.port, "/mcp/tools", headers: ["Authorization: Bearer \(try TestServer.token())"]))
        #expect(allowed.status == 200 && allowed.json?["id"] == "user-123")
    }

    @Test("R4: a malformed Authorization header is 400; R5: a wrong audience is 401, not 403")
    func malformedAndAudience() async throws {
        let server = try await TestServer.start()
        defer { server.stop() }
        let token = try TestServer.token()
        // A DEL byte is refused by the HTTP parser itself (400, before any challenge).
        #expect(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer tok\u{7f}en"])?.status == 400)
        // The token's syntax is checked after it is refused: a valid token with anything
        // after it is still malformed, and a token68 string that is no token is 401.
        for header in ["Bearer", "Bearer  ", "Bearer a b", "bearer ,", "Bearer a\tb", "Bearer \(token) x", "Bearer \(token),", "Bearer a\"b"] {
            let response = try #require(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: \(header)"]), "\(header)")
            #expect(response.status == 400, "\(header)")
            #expect(response.header("WWW-Authenticate")?.contains("error=\"invalid_request\"") == true)
        }
        #expect(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Basic dXNlcjpwYXNz"])?.status == 401)
        for token68 in ["\(token)~", "a+b/c==", "abc"] {
            let response = try #require(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer \(token68)"]))
            #expect(response.status == 401 && response.json?["error"] == "invalid_token", "\(token68)")
        }
        #expect(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer \(token)", "Authorization: Bearer \(token)"])?.status == 400)
        #expect(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: bearer \(token)"])?.status == 200, "the scheme is case-insensitive")
        let otherAudience = try TestServer.token(["aud": "https://other.example/mcp"])
        let response = try #require(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer \(otherAudience)"]))
        #expect(response.status == 401 && response.json?["error_description"] == "the access token was not issued for this resource")
    }

    @Test("R6: a token in the query string is refused, with or without the header")
    func tokenInQuery() async throws {
        let server = try await TestServer.start()
        defer { server.stop() }
        let token = try TestServer.token()
        for headers in [[], ["Authorization: Bearer \(token)"]] {
            let response = try #require(try await RawHTTP.get(server.port, "/mcp?x=1&access_token=\(token)", headers: headers))
            #expect(response.status == 400 && response.json?["error"] == "invalid_request")
        }
        #expect(try await RawHTTP.get(server.port, "/mcp?access_tokens=1", headers: ["Authorization: Bearer \(token)"])?.status == 200)
    }

    @Test("R8: preflight for allowed origins; WWW-Authenticate and Mcp-Session-Id exposed; other origins get nothing")
    func cors() async throws {
        let server = try await TestServer.start { $0.corsOrigins = ["https://app.example.com"] }
        defer { server.stop() }
        let preflight = try #require(try await RawHTTP.get(server.port, "/mcp", headers: [
            "Origin: https://app.example.com", "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: authorization, mcp-protocol-version",
        ], method: "OPTIONS"))
        #expect(preflight.status == 204 && preflight.header("Access-Control-Allow-Origin") == "https://app.example.com")
        let allowed = try #require(preflight.header("Access-Control-Allow-Headers"))
        for name in ["Authorization", "Content-Type", "MCP-Protocol-Version", "Mcp-Session-Id"] { #expect(allowed.contains(name)) }
        for path in ["/.well-known/oauth-protected-resource/mcp", "/mcp"] {
            let response = try #require(try await RawHTTP.get(server.port, path, headers: ["Origin: https://app.example.com"]))
            #expect(response.header("Access-Control-Allow-Origin") == "https://app.example.com" && response.header("Vary") == "Origin")
            #expect(response.header("Access-Control-Expose-Headers") == "WWW-Authenticate, Mcp-Session-Id")
        }
        let other = try #require(try await RawHTTP.get(server.port, "/mcp", headers: ["Origin: https://evil.example"]))
        #expect(other.header("Access-Control-Allow-Origin") == nil)
        // The answer depends on the origin, refused or not: a shared cache must keep them apart.
        #expect(other.header("Vary") == "Origin")
        #expect(try await RawHTTP.get(server.port, "/healthz")?.header("Vary") == "Origin")
        let otherPreflight = try #require(try await RawHTTP.get(server.port, "/mcp", headers: ["Origin: https://evil.example", "Access-Control-Request-Method: POST"], method: "OPTIONS"))
        #expect(otherPreflight.header("Access-Control-Allow-Origin") == nil && otherPreflight.header("Access-Control-Allow-Headers") == nil)
    }

    @Test("D1: the provider's authorization-server metadata is not served under this server's origin")
    func noAuthorizationServerMetadata() async throws {
        let server = try await TestServer.start()
        defer { server.stop() }
        for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration",
                     "/.well-known/oauth-authorization-server/mcp", "/.well-known/openid-configuration/mcp"] {
            #expect(try await RawHTTP.get(server.port, path)?.status == 404, "\(path)")
        }
    }

    @Test("health and readiness; unknown paths are 404")
    func healthAndReadiness() async throws {
        let server = try await TestServer.start()
        defer { server.stop() }
        #expect(try await RawHTTP.get(server.port, "/healthz")?.json?["status"] == "ok")
        let ready = try #require(try await RawHTTP.get(server.port, "/readyz"))
        #expect(ready.status == 200 && ready.json?["status"] == "ready" && ready.json?["keys"] == 1)
        #expect(try await RawHTTP.get(server.port, "/nothing")?.status == 404)
        #expect(try await RawHTTP.get(server.port, "/mcpx")?.status == 404, "a prefix match needs a path boundary")
    }
}

@Suite("HTTP server: limits and hostile clients")
struct HTTPLimitTests {
    @Test("headers beyond the limit are 431, a body beyond it 413; keep-alive serves several requests")
    func sizes() async throws {
        let server = try await TestServer.start { $0.limits.maxHeaderBytes = 4096; $0.limits.maxBodyBytes = 100 }
        defer { server.stop() }
        let big = String(repeating: "a", count: 5000)
        #expect(try await RawHTTP.get(server.port, "/healthz", headers: ["X-Big: \(big)"])?.status == 431)
        let token = try TestServer.token()
        let body = String(repeating: "b", count: 200)
        let declared = try await RawHTTP.exchange(server.port, "POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Length: 200\r\n\r\n\(body)")
        #expect(declared?.status == 413)
        let chunked = try await RawHTTP.exchange(server.port, "POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nTransfer-Encoding: chunked\r\n\r\nC8\r\n\(body)\r\n0\r\n\r\n")
        #expect(chunked?.status == 413)
        let port = server.port
        let statuses = try await offPool { () -> [Int?] in
            let connection = try RawConnection(port)
            return (0..<3).map { _ in
                connection.send("GET /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n")
                return connection.read()?.status
            }
        }
        #expect(statuses == [200, 200, 200])
    }

    @Test("two thousand idle connections and a client dribbling its body: bounded memory, each closed at the request timeout, other clients served meanwhile")
    func hostileClients() async throws {
        // Event loops of its own: two thousand connections must not delay other suites' servers.
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await TestServer.start(group: loops) { $0.limits.requestTimeout = 1; $0.limits.idleTimeout = 1 }
        defer { server.stop() }
        let port = server.port
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        // Each connection is two descriptors in this process (client and server side).
        let count = min(2000, (Int(limit.rlim_cur) - 256) / 2)
        let before = residentBytes()
        let outcome = try await offPool { () -> (grown: Int, served: Int?, dribbleClosed: Bool, idleClosed: Bool) in
            var idle = [RawConnection]()
            for index in 0..<count {
                let connection = try RawConnection(port, timeout: 2)
                // Half say nothing; half stop in the middle of their request line.
                if index % 2 == 0 { connection.send("GET /healthz HTTP/1.1\r\nHo") }
                idle.append(connection)
            }
            let dribbler = try RawConnection(port, timeout: 2)
            dribbler.send("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
            let grown = residentBytes() - before
            let served = (try? RawHTTP.getBlocking(port, "/healthz"))?.status
            // A byte of the body every 100 ms: the whole request is due within a second of its first byte.
            var dribbleClosed = false
            for _ in 0..<40 where !dribbleClosed {
                dribbler.send("x")
                usleep(100_000)
                var byte: UInt8 = 0
                dribbleClosed = recv(dribbler.descriptor, &byte, 1, Int32(MSG_DONTWAIT)) == 0
            }
            // By now every idle connection the server accepted is past its deadline (enforced
            // within half a timeout); on a busy machine the last may have waited in the listen
            // backlog, so each gets until a common limit. One still open then counts only if
            // the server has it: with the backlog full, the kernel may have dropped it (a byte
            // sent on it is then reset; one the server holds would be read, not reset).
            let limit = Date().addingTimeInterval(30)
            let idleClosed = idle.allSatisfy { connection in
                while !connection.isClosed { if Date() > limit { return connection.isUnknownToServer } }
                return true
            }
            return (grown, served, dribbleClosed, idleClosed)
        }
        #expect(count >= 1000, "descriptors for at least a thousand connections")
        #expect(outcome.served == 200, "another client is served while they wait")
        #expect(outcome.grown < count * 64 * 1024, "\(outcome.grown / count) bytes per idle connection")
        #expect(outcome.dribbleClosed, "the dribbling client is disconnected")
        #expect(outcome.idleClosed, "every idle connection is closed at the request timeout")
        #expect(try await RawHTTP.get(port, "/healthz")?.status == 200, "the server goes on serving")
    }

    @Test("a client that trickles its request is disconnected at the request timeout")
    func slowClient() async throws {
        let server = try await TestServer.start { $0.limits.requestTimeout = 0.5; $0.limits.idleTimeout = 0.5 }
        defer { server.stop() }
        let port = server.port
        let slowClosed = try await offPool { () -> Bool in
            let slow = try RawConnection(port, timeout: 5)
            slow.send("GET /healthz HTTP/1.1\r\nHo")
            // The behaviour under test: a client pausing in the middle of its request.
            usleep(300_000)
            slow.send("st: x\r\n")
            return slow.isClosed
        }
        #expect(slowClosed, "closed before the request was complete")
        let (idleStatus, idleClosed) = try await offPool { () -> (Int?, Bool) in
            let idle = try RawConnection(port, timeout: 5)
            idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            return (idle.read()?.status, idle.isClosed)
        }
        #expect(idleStatus == 200)
        #expect(idleClosed, "an idle keep-alive connection is closed")
        #expect(try await RawHTTP.get(server.port, "/healthz")?.status == 200, "the server goes on serving")
    }

    @Test("10 000 requests with garbage Authorization values: each 400 or 401, and the server keeps serving")
    func garbageAuthorization() async throws {
        let server = try await TestServer.start()
        defer { server.stop() }
        let port = server.port
        let (statuses, closedAt) = try await offPool { () -> ([Int: Int], Int?) in
            var generator = SystemRandomNumberGenerator()
            let connection = try RawConnection(port)
            var statuses = [Int: Int]()
            for index in 0..<10_000 {
                let value: String
                switch index % 5 {
                case 0: value = "Bearer " + String((0..<Int.random(in: 1...200, using: &generator)).map { _ in Character(UnicodeScalar(UInt8.random(in: 0x21...0x7E, using: &generator))) })
                case 1: value = "Bearer " + String(repeating: "A", count: Int.random(in: 1000...3000, using: &generator))
                case 2: value = "Bearer eyJ.\(index).x"
                case 3: value = "Bearer " + Array(repeating: "eyJhbGciOiJFUzI1NiJ9", count: 3).joined(separator: ".")
                default: value = String((0..<40).map { _ in Character(UnicodeScalar(UInt8.random(in: 0x20...0x7E, using: &generator))) })
                }
                connection.send("GET /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: \(value)\r\n\r\n")
                guard let response = connection.read() else { return (statuses, index) }
                statuses[response.status, default: 0] += 1
            }
            return (statuses, nil)
        }
        #expect(closedAt == nil, "the connection was closed at request \(closedAt ?? -1)")
        #expect(Set(statuses.keys).isSubset(of: [400, 401]), "\(statuses)")
        // CR/LF in a header value never reaches the handler: the parser refuses the request.
        let injected = try await RawHTTP.exchange(server.port, "GET /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\rX-Injected: 1\r\n\r\n")
        #expect(injected?.status == 400 || injected == nil)
        #expect(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer \(try TestServer.token())"])?.status == 200)
    }
}
