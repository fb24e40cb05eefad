@testable import EdgeAuthHTTP
import EdgeAuth
import EdgeAuthTesting
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The gateway in a server on loopback, in front of an upstream on loopback: the answers a
/// client gets (the end-to-end tests with MCP servers and nginx are in Tests/mcp).
@Suite("Gateway server")
struct GatewayServerTests {
    static let tools = #"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"delete_note"}]}}"#

    static func gateway(upstreamPort: Int, forwardAuth: Bool = false) -> GatewaySettings {
        var settings = GatewaySettings()
        var route = GatewaySettings.Route(prefix: "/mcp", upstream: GatewaySettings.UpstreamURL("http://127.0.0.1:\(upstreamPort)/mcp"))
        route.tools = ["delete_note": .init(roles: ["admin"])]
        var admin = GatewaySettings.Route(prefix: "/mcp/admin", upstream: route.upstream)
        admin.requirements = .init(roles: ["admin"])
        settings.routes = [route, admin]
        settings.forwardAuthPath = forwardAuth ? "/auth/verify" : nil
        return settings
    }

    static func post(_ port: Int, _ path: String, _ token: String, _ body: String) async throws -> RawResponse? {
        try await RawHTTP.exchange(port, "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
            + "Accept: application/json, text/event-stream\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body)
    }

    static let listTools = #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#

    @Test("tools/list through the gateway: JSON and event-stream answers lose the tools the caller may not call")
    func filtersToolLists() async throws {
        let upstream = try await StaticHTTPServer(routes: [
            "/mcp": .init(body: Array(Self.tools.utf8), headers: [("Content-Type", "application/json")]),
            "/mcp/events": .init(body: Array(("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n"
                + "event: message\ndata: " + Self.tools + "\n\n").utf8), headers: [("Content-Type", "text/event-stream")]),
        ])
        defer { Task { try? await upstream.stop() } }
        let server = try await TestServer.start(gateway: Self.gateway(upstreamPort: upstream.port))
        defer { server.stop() }
        let viewer = try TestServer.token(["sub": "bob", "roles": ["viewer"]])
        let admin = try TestServer.token(["sub": "alice", "roles": ["admin"]])

        func names(_ json: JSONValue?) -> [String]? { json?["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } }
        let hidden = try #require(try await Self.post(server.port, "/mcp", viewer, Self.listTools))
        #expect(hidden.status == 200 && names(hidden.json) == ["echo"])
        let all = try #require(try await Self.post(server.port, "/mcp", admin, Self.listTools))
        #expect(names(all.json) == ["echo", "delete_note"])

        let events = try #require(try await Self.post(server.port, "/mcp/events", viewer, Self.listTools))
        #expect(events.status == 200 && events.header("Content-Type") == "text/event-stream")
        let datas = events.body.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
        #expect(datas.count == 2 && datas[0].contains("notifications/progress"))
        #expect(names(try? JSONValue.parse(datas[1])) == ["echo"])
    }

    @Test("a route's requirements and a refused tool are answered by the gateway, without reaching the upstream")
    func refusesBeforeTheUpstream() async throws {
        let upstream = try await StaticHTTPServer(routes: ["/mcp/admin/x": .init(body: Array("{}".utf8)), "/mcp": .init(body: Array("{}".utf8))])
        defer { Task { try? await upstream.stop() } }
        let server = try await TestServer.start(gateway: Self.gateway(upstreamPort: upstream.port))
        defer { server.stop() }
        let viewer = try TestServer.token(["sub": "bob", "roles": ["viewer"]])
        let route = try #require(try await RawHTTP.get(server.port, "/mcp/admin/x", headers: ["Authorization: Bearer \(viewer)"]))
        #expect(route.status == 403 && route.json?["error"] == "forbidden")
        let call = #"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"delete_note"}}"#
        let tool = try #require(try await Self.post(server.port, "/mcp", viewer, call))
        #expect(tool.status == 200 && tool.json?["id"] == 9 && tool.json?["error"]?["code"] == .number("-32003"))
        #expect(upstream.requests("/mcp/admin/x") == 0 && upstream.requests("/mcp") == 0)
        for odd in ["/mcp//admin/x", "/mcp/./admin/x", "/mcp/%61dmin/x"] {
            let refused = try #require(try await RawHTTP.get(server.port, odd, headers: ["Authorization: Bearer \(viewer)"]))
            #expect(refused.status == 400, "\(odd) must not reach the upstream as /mcp")
        }
        let none = try #require(try await RawHTTP.get(server.port, "/mcp"))
        #expect(none.status == 401 && none.header("WWW-Authenticate")?.contains("resource_metadata=") == true)
    }

    @Test("an upstream that is down: 502 with a JSON-RPC error, /readyz not ready naming it; the server keeps answering")
    func upstreamDown() async throws {
        // A port nothing listens on: one that was just free.
        let closed = try await StaticHTTPServer(routes: [:])
        let port = closed.port
        try await closed.stop()
        try await Task.sleep(for: .milliseconds(100))
        let server = try await TestServer.start(gateway: Self.gateway(upstreamPort: port))
        defer { server.stop() }
        let token = try TestServer.token()
        let failed = try #require(try await Self.post(server.port, "/mcp", token, #"{"jsonrpc":"2.0","id":4,"method":"ping"}"#))
        #expect(failed.status == 502 && failed.json?["id"] == 4 && failed.json?["error"]?["code"] == .number("-32000"))
        let ready = try #require(try await RawHTTP.get(server.port, "/readyz"))
        #expect(ready.status == 503 && ready.json?["upstreams"]?.arrayValue?.first?["state"] == "down")
        let health = try #require(try await RawHTTP.get(server.port, "/healthz"))
        #expect(health.status == 200)
    }

    @Test("an answer larger than gateway.maxResponseBytes is 502; a client that goes away closes the upstream request")
    func limitsAndDisconnects() async throws {
        let upstream = try await StaticHTTPServer(routes: ["/mcp": .init(body: Array(repeating: UInt8(ascii: "x"), count: 4096))])
        defer { Task { try? await upstream.stop() } }
        let streaming = try StreamingUpstream(), idle = try StreamingUpstream(idle: true)
        var settings = Self.gateway(upstreamPort: upstream.port)
        settings.maxResponseBytes = 1024
        settings.routes.append(GatewaySettings.Route(prefix: "/mcp/events", upstream: GatewaySettings.UpstreamURL("http://127.0.0.1:\(streaming.port)/")))
        settings.routes.append(GatewaySettings.Route(prefix: "/mcp/idle", upstream: GatewaySettings.UpstreamURL("http://127.0.0.1:\(idle.port)/")))
        let server = try await TestServer.start(gateway: settings)
        defer { server.stop() }
        let token = try TestServer.token()
        let large = try #require(try await Self.post(server.port, "/mcp", token, Self.listTools))
        #expect(large.status == 502 && large.json?["error"]?["message"]?.stringValue?.contains("larger than 1024 bytes") == true)

        // The client reads the first event, then closes: the upstream's connection is closed too,
        // whether the stream goes on (its next writes fail) or is idle (it reads the end).
        for path in ["/mcp/events", "/mcp/idle"] {
            try await offPool {
                let connection = try RawConnection(server.port)
                connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nAccept: text/event-stream\r\n\r\n")
                var buffer = [UInt8](repeating: 0, count: 4096)
                #expect(recv(connection.descriptor, &buffer, buffer.count, 0) > 0)
                close(connection.descriptor)
            }
        }
        #expect(await streaming.waitForClose(seconds: 10), "the upstream's connection was closed after the client's")
        #expect(await idle.waitForClose(seconds: 10), "an idle stream's upstream connection was closed after the client's")
    }

    @Test("a reused connection the upstream closes without answering: a GET is sent again on a new one, a POST is 502")
    func retriesOnlyWhatMayBeRepeated() async throws {
        let upstream = try OneRequestPerConnectionUpstream()
        let server = try await TestServer.start(gateway: Self.gateway(upstreamPort: upstream.port))
        defer { server.stop() }
        let token = try TestServer.token()
        let get = "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n"
        let statuses = try await offPool { () -> [Int] in
            let connection = try RawConnection(server.port)
            var statuses: [Int] = []
            // The first opens a connection the gateway keeps; the second reuses it, finds it closed, and is sent again.
            for _ in 0..<2 {
                connection.send(get)
                statuses.append(connection.read()?.status ?? 0)
            }
            let body = #"{"jsonrpc":"2.0","id":1,"method":"ping"}"#
            connection.send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            statuses.append(connection.read()?.status ?? 0)
            return statuses
        }
        #expect(statuses == [200, 200, 502], "a POST that may have reached the upstream is not sent twice")
        #expect(upstream.connections == 2)
    }

    @Test("forward-auth: 200 with the identity headers and no body, 401 with the challenge, 403 for a route's requirement or no route")
    func forwardAuth() async throws {
        let server = try await TestServer.start(gateway: Self.gateway(upstreamPort: 9, forwardAuth: true))
        defer { server.stop() }
        let viewer = try TestServer.token(["sub": "bob", "roles": ["viewer"], "email": "bob@example.com"])
        let allowed = try #require(try await RawHTTP.get(server.port, "/auth/verify", headers: ["Authorization: Bearer \(viewer)", "X-Original-URI: /mcp", "X-Original-Method: POST"]))
        #expect(allowed.status == 200 && allowed.body.isEmpty && allowed.header("X-EdgeAuth-User") == "bob"
            && allowed.header("X-EdgeAuth-Email") == "bob@example.com" && allowed.header("X-EdgeAuth-Roles") == "viewer")
        let envoy = try #require(try await RawHTTP.get(server.port, "/auth/verify/mcp/admin", headers: ["Authorization: Bearer \(viewer)"], method: "POST"))
        #expect(envoy.status == 403 && envoy.json?["error"] == "forbidden")
        let traefik = try #require(try await RawHTTP.get(server.port, "/auth/verify", headers: ["X-Forwarded-Uri: /mcp", "X-Forwarded-Method: GET"]))
        #expect(traefik.status == 401 && traefik.header("WWW-Authenticate")?.contains("resource_metadata=\"http://127.0.0.1/.well-known/oauth-protected-resource/mcp\"") == true)
        let narrow = try TestServer.token(scopes: "notes:read", ["sub": "bob"])
        let scope = try #require(try await RawHTTP.get(server.port, "/auth/verify", headers: ["Authorization: Bearer \(narrow)", "X-Original-URI: /mcp"]))
        #expect(scope.status == 403 && scope.header("WWW-Authenticate")?.contains("insufficient_scope") == true)
        let elsewhere = try #require(try await RawHTTP.get(server.port, "/auth/verify", headers: ["Authorization: Bearer \(viewer)", "X-Original-URI: /other"]))
        #expect(elsewhere.status == 403)
        let preflight = try #require(try await RawHTTP.get(server.port, "/auth/verify", headers: ["X-Original-URI: /mcp", "X-Original-Method: OPTIONS"]))
        #expect(preflight.status == 200 && preflight.header("X-EdgeAuth-User") == nil)
        let envoyPreflight = try #require(try await RawHTTP.get(server.port, "/auth/verify/mcp", method: "OPTIONS"))
        #expect(envoyPreflight.status == 200 && envoyPreflight.header("X-EdgeAuth-User") == nil, "Envoy allows only a 200")
        for odd in ["/mcp//admin", "/mcp/./admin", "/mcp/x/../admin", "/mcp/%61dmin"] {
            let refused = try #require(try await RawHTTP.get(server.port, "/auth/verify", headers: ["Authorization: Bearer \(viewer)", "X-Original-URI: \(odd)"]))
            #expect(refused.status == 403, "\(odd) must not pass as /mcp")
        }
        let query = try #require(try await RawHTTP.get(server.port, "/auth/verify", headers: ["Authorization: Bearer \(viewer)", "X-Original-URI: /mcp?access_token=x"]))
        #expect(query.status == 400, "R6: a token in the original query is refused")
    }

    @Test("upstream answers framed by the connection's end or by chunks reach the client whole; one with bytes after its end is passed on, its connection not reused; one framed two ways is 502")
    func upstreamFraming() async throws {
        let answers: [(bytes: String, close: Bool)] = [
            ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}", true),
            ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\n{\"b\r\n4\r\n\":2}\r\n0\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}EXTRA", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false),
        ]
        let (answered, upstream) = try await Self.proxied(answers)
        #expect(answered.map { $0?.status } == [200, 200, 200, 200, 502])
        #expect(answered.prefix(4).map { $0?.body } == [#"{"a":1}"#, #"{"b":2}"#, "{}", "[]"])
        #expect(answered[4]?.body.contains("not valid HTTP") == true)
        // The first connection ended with its answer, the third was closed for the bytes after its own.
        #expect(upstream.connections == 3, "a connection whose answer was followed by stray bytes is not reused")
    }

    /// A `GET /mcp` through the gateway for each scripted upstream answer, one after the other
    /// on one client connection: what the client read, and the upstream (its connection count).
    static func proxied(_ answers: [(bytes: String, close: Bool)]) async throws -> ([RawResponse?], ScriptedUpstream) {
        let upstream = try ScriptedUpstream(answers)
        let server = try await TestServer.start(gateway: Self.gateway(upstreamPort: upstream.port))
        defer { server.stop() }
        let token = try TestServer.token()
        let get = "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n"
        let answered = try await offPool { () -> [RawResponse?] in
            let connection = try RawConnection(server.port)
            return answers.indices.map { _ in
                connection.send(get)
                return connection.read()
            }
        }
        return (answered, upstream)
    }

    @Test("an answer's head goes out with a short body, before a long one (by length or in chunks), and alone when there is no body")
    func headJoinsShortBodies() async throws {
        let joined = String(repeating: "j", count: ConnectionHandler.joinedBodyBytes)
        let long = String(repeating: "l", count: 3 * ConnectionHandler.joinedBodyBytes + 1)
        let answers: [(bytes: String, close: Bool)] = [
            ("HTTP/1.1 204 No Content\r\nX-Kept: 1\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: \(joined.utf8.count)\r\n\r\n\(joined)", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: \(long.utf8.count)\r\n\r\n\(long)", false),
            // No length: the client gets chunks, the first one after the head.
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(String(long.utf8.count, radix: 16))\r\n\(long)\r\n0\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", false),
        ]
        let (answered, upstream) = try await Self.proxied(answers)
        #expect(answered.map { $0?.status } == [204, 200, 200, 200, 200])
        #expect(answered[0]?.header("X-Kept") == "1" && answered[0]?.body == "")
        #expect(answered[3]?.header("Transfer-Encoding") == "chunked")
        #expect(answered.dropFirst().map { $0?.body } == [joined, long, long, "{}"], "every body whole, and the connection in step after each")
        #expect(upstream.connections == 1)
    }
}

/// An upstream on a thread of its own that answers one request with an event stream: an
/// event every 50 ms, or (`idle`) one event and then nothing, until its connection is closed.
final class StreamingUpstream: @unchecked Sendable {
    let port: Int
    private let closed = DispatchSemaphore(value: 0)

    init(idle: Bool = false) throws {
        let (listening, port) = loopbackListener()
        self.port = port
        let closed = self.closed
        Thread.detachNewThread {
            let connection = accept(listening, nil, nil)
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = recv(connection, &buffer, buffer.count, 0)
            let head = Array("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            _ = send(connection, head, head.count, Int32(MSG_NOSIGNAL))
            let event = Array("data: {}\n\n".utf8)
            let chunk = Array(String(event.count, radix: 16).utf8) + [13, 10] + event + [13, 10]
            if idle {
                _ = send(connection, chunk, chunk.count, Int32(MSG_NOSIGNAL))
                // Nothing more is sent: only reading sees the gateway close the connection.
                var timeout = timeval(tv_sec: 20, tv_usec: 0)
                setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                if recv(connection, &buffer, buffer.count, 0) != 0 { close(connection); close(listening); return }
            } else {
                for _ in 0..<400 {
                    if send(connection, chunk, chunk.count, Int32(MSG_NOSIGNAL)) < 0 { break }
                    usleep(50_000)
                }
            }
            close(connection)
            close(listening)
            closed.signal()
        }
    }

    /// Whether the stream ended (a send failed) within `seconds`.
    func waitForClose(seconds: Int) async -> Bool {
        (try? await offPool { self.closed.wait(timeout: .now() + .seconds(seconds)) == .success }) ?? false
    }
}

/// An upstream that answers the requests it gets, over all its connections, with the given
/// bytes in turn, closing the connection after an answer marked so.
final class ScriptedUpstream: @unchecked Sendable {
    let port: Int
    private let accepted = SharedCount()
    var connections: Int { accepted.value.load(ordering: .relaxed) }

    init(_ answers: [(bytes: String, close: Bool)]) throws {
        let requests = SharedCount()
        let scripted = answers.map { (Array($0.bytes.utf8), $0.close) }
        port = serveLoopback(counting: accepted) { connection in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while recv(connection, &buffer, buffer.count, 0) > 0 {
                let index = requests.value.add(1, ordering: .relaxed).oldValue
                guard index < scripted.count else { break }
                _ = send(connection, scripted[index].0, scripted[index].0.count, Int32(MSG_NOSIGNAL))
                if scripted[index].1 { break }
            }
        }
    }
}

/// An upstream that answers the first request of each connection and closes the connection
/// on the second without answering it, as a server does with a keep-alive connection it just
/// timed out.
final class OneRequestPerConnectionUpstream: @unchecked Sendable {
    let port: Int
    private let accepted = SharedCount()
    var connections: Int { accepted.value.load(ordering: .relaxed) }

    init() throws {
        port = serveLoopback(counting: accepted) { connection in
            var buffer = [UInt8](repeating: 0, count: 65536)
            guard recv(connection, &buffer, buffer.count, 0) > 0 else { return }
            let answer = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".utf8)
            _ = send(connection, answer, answer.count, Int32(MSG_NOSIGNAL))
            // The next request is read, then the connection closed without an answer.
            _ = recv(connection, &buffer, buffer.count, 0)
        }
    }
}

/// A count threads share.
final class SharedCount: Sendable {
    let value = Atomic<Int>(0)
}

/// Accepts connections on a free loopback port, each served by `serve` on a thread of its own
/// and then closed; `accepted` counts them. Returns the port.
func serveLoopback(counting accepted: SharedCount, _ serve: @escaping @Sendable (CInt) -> Void) -> Int {
    let (listening, port) = loopbackListener()
    Thread.detachNewThread {
        while true {
            let connection = accept(listening, nil, nil)
            guard connection >= 0 else { return }
            accepted.value.add(1, ordering: .relaxed)
            Thread.detachNewThread {
                serve(connection)
                close(connection)
            }
        }
    }
    return port
}

/// A socket listening on a free loopback port.
func loopbackListener() -> (descriptor: CInt, port: Int) {
    let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listening, $0, length) } }
    listen(listening, 8)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listening, $0, &length) } }
    return (listening, Int(UInt16(bigEndian: address.sin_port)))
}
