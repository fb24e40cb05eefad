@testable import EdgeAuthHTTP
import EdgeAuth
import EdgeAuthTesting
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The gateway's pieces (docs/gateway.md): its section, the identity headers, which headers
/// cross it, the JSON-RPC checks and `tools/list` filtering, event streams, and forward-auth's
/// request shapes; then the proxy and forward-auth in a server on loopback.
@Suite("Gateway")
struct GatewayTests {
    static func identity(_ claims: JSONValue) throws -> Identity {
        try Identity(standardClaimsOfPayload: Array(claims.jsonText.utf8))
    }

    static let bob = try! identity(["iss": "https://issuer.example/", "sub": "bob", "scope": "notes:read", "roles": ["viewer"]])
    static let alice = try! identity(["iss": "https://issuer.example/", "sub": "alice", "scope": "notes:read notes:write", "roles": ["admin"],
                                      "email": "alice@example.com", "client_id": "client-1"])

    static func settings(_ document: JSONValue, protectedPath: String = "/mcp") throws(ConfigurationError) -> GatewaySettings {
        var settings = try GatewaySettings.read(document, base: GatewaySettings())
        var server = ServerConfiguration()
        server.protectedPath = protectedPath
        try settings.resolve(with: server)
        return settings
    }

    static func message(_ document: JSONValue, protectedPath: String = "/mcp") -> String {
        do {
            _ = try settings(document, protectedPath: protectedPath)
            return "no error"
        } catch {
            return error.message
        }
    }

    // MARK: The section

    @Test("gateway: routes with requirements by path, method and tool; the shorthand; the defaults")
    func section() throws {
        let read = try Self.settings([
            "routes": [["prefix": "/mcp", "upstream": "http://127.0.0.1:9000/mcp", "requirements": ["scopes": ["notes:read"]],
                        "methods": ["resources/read": ["scopes": ["files:read"]]], "tools": ["delete_note": ["roles": ["admin"]]]],
                       ["prefix": "/mcp/admin", "requirements": ["roles": ["admin"]]]],
            "forwardAuth": ["path": "/auth/verify"], "timeouts": ["response": 2],
        ])
        #expect(read.routes.count == 2 && read.proxies && read.forwardAuthPath == "/auth/verify")
        let first = read.routes[0]
        #expect(first.upstream?.host == "127.0.0.1" && first.upstream?.port == 9000 && first.upstream?.basePath == "/mcp" && first.upstream?.tls == false)
        #expect(first.requirements.scopes == ["notes:read"] && first.methods["resources/read"]?.scopes == ["files:read"]
            && first.tools["delete_note"]?.roles == ["admin"])
        #expect(read.route(for: "/mcp/admin/x")?.prefix == "/mcp/admin" && read.route(for: "/mcp")?.prefix == "/mcp" && read.route(for: "/mcpx") == nil)
        #expect(read.timeouts.response == 2 && read.timeouts.connect == 5 && read.timeouts.streamIdle == 300 && read.maxResponseBytes == 8 << 20)
        #expect(read.identityHeaders.user == "X-EdgeAuth-User" && read.upstreamToken == nil)

        let shorthand = try Self.settings(["upstream": "https://mcp.internal/"], protectedPath: "/tools")
        #expect(shorthand.routes.map(\.prefix) == ["/tools"] && shorthand.routes[0].upstream?.port == 443
            && shorthand.routes[0].upstream?.basePath == "" && shorthand.forwardAuthPath == nil)
    }

    @Test("gateway: errors name the member, and refuse what would let a request past its checks")
    func sectionErrors() {
        #expect(Self.message(["upstream": "http://a:1/mcp", "routes": [["prefix": "/mcp"]]]) == "gateway.upstream is the shorthand for one route: give it, or routes, not both")
        #expect(Self.message(["upstream": "ftp://a/mcp"]).hasPrefix("gateway.upstream must be an http or https URL"))
        #expect(Self.message(["routes": [["prefix": "mcp"]]]).hasPrefix("gateway.routes[0].prefix must be a path like /mcp"))
        #expect(Self.message(["routes": [["upstream": "http://a:1"]]]) == "gateway.routes[0] needs a prefix, like /mcp")
        #expect(Self.message(["routes": [["prefix": "/a"], ["prefix": "/a"]]]) == "gateway.routes[1].prefix \"/a\" is given twice")
        #expect(Self.message(["routes": [["prefix": "/other", "upstream": "http://a:1"]]]).hasPrefix("gateway.routes[0].prefix \"/other\" must be server.protectedPath (/mcp) or under it"))
        #expect(Self.message(["routes": [["prefix": "/mcp", "tools": ["x": ["role": ["admin"]]]]]]).hasPrefix("gateway.routes[0].tools.x: unknown member \"role\""))
        #expect(Self.message(["forwardAuth": ["path": "/mcp/verify"]]).hasPrefix("gateway.forwardAuth.path \"/mcp/verify\" must not be under server.protectedPath"))
        #expect(Self.message(["identityHeaders": ["user": "X-User"]]).hasPrefix("gateway.identityHeaders: X-User must start with the prefix X-EdgeAuth-"))
        #expect(Self.message(["identityHeaders": ["prefix": "X Bad"]]).hasPrefix("gateway.identityHeaders.prefix must be a header name"))
        #expect(Self.message(["timeouts": ["connect": 0]]).hasPrefix("gateway.timeouts.connect must be a number of seconds between"))
        #expect(Self.message(["forward": true]).hasPrefix("gateway: unknown member \"forward\""))
    }

    @Test("gateway.upstreamToken needs proxy mode: it is signed with the key of /jwks")
    func upstreamTokenNeedsProxyMode() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-gateway-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("edgeauth.yaml").path
        try Data("issuers: [https://login.example.com/]\naudiences: [api]\nkeys: [{jwksFile: /k.json}]\ngateway:\n  upstream: http://127.0.0.1:9000/mcp\n  upstreamToken: {lifetime: 30}\n".utf8)
            .write(to: URL(fileURLWithPath: path))
        #expect {
            try ServeConfiguration.load(file: path, environment: [:])
        } throws: { error in
            (error as? ConfigurationError)?.message.hasPrefix("gateway.upstreamToken needs proxy mode") == true
        }
    }

    @Test("the configurations of docs/gateway.md are read as they are written")
    func documentedConfigurations() throws {
        let page = try String(contentsOf: Vectors.packageRoot.appendingPathComponent("docs/gateway.md"), encoding: .utf8)
        let blocks = page.components(separatedBy: "```yaml\n").dropFirst().compactMap { $0.components(separatedBy: "```").first }
        #expect(blocks.count >= 2)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-gateway-doc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for block in blocks {
            let path = directory.appendingPathComponent("edgeauth.yaml").path
            try Data(block.utf8).write(to: URL(fileURLWithPath: path))
            let read = try ServeConfiguration.load(file: path, environment: [:])
            #expect(read.gateway != nil, "\(block)")
        }
    }

    // MARK: Headers

    @Test("identity headers: lists joined with commas; values percent-encoded outside visible ASCII and for % and ,")
    func identityHeaders() throws {
        let odd = try Self.identity(["sub": "a b,c%d\r\nX-Evil: 1", "email": "zoë@example.com", "roles": ["a,b", "c"], "scope": "s1 s2"])
        let headers = Dictionary(uniqueKeysWithValues: IdentityHeaders.of(odd, names: .init()))
        #expect(headers["X-EdgeAuth-User"] == "a%20b%2Cc%25d%0D%0AX-Evil:%201")
        #expect(headers["X-EdgeAuth-Email"] == "zo%C3%AB@example.com")
        #expect(headers["X-EdgeAuth-Roles"] == "a%2Cb,c" && headers["X-EdgeAuth-Scopes"] == "s1,s2")
        #expect(headers["X-EdgeAuth-Permissions"] == nil && headers["X-EdgeAuth-Client-Id"] == nil, "absent values send no header")
        #expect(Dictionary(uniqueKeysWithValues: IdentityHeaders.of(Self.alice, names: .init()))["X-EdgeAuth-Client-Id"] == "client-1")
    }

    @Test("R7: the upstream never gets the token, a claimed identity, EdgeAuth's cookies or the connection's headers")
    func requestHeaders() throws {
        var settings = GatewaySettings()
        settings.upstreamToken = .init()
        let upstream = try #require(GatewaySettings.UpstreamURL("http://10.0.0.9:9000/mcp"))
        let client: HTTPHeaders = [
            "Host": "gw.example", "Authorization": "Bearer secret", "x-edgeauth-user": "mallory", "X-EDGEAUTH-ROLES": "admin",
            "X-EdgeAuth-Token": "forged", "Cookie": "theme=dark; edgeauth_session=abc; EdgeAuthX=1", "Connection": "keep-alive, X-Hop",
            "X-Hop": "1", "Transfer-Encoding": "chunked", "Content-Length": "99", "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
            "Accept": "application/json, text/event-stream", "Mcp-Session-Id": "s-1", "Last-Event-ID": "42", "Proxy-Authorization": "Basic x",
        ]
        func values(_ headers: [(String, String)], _ name: String) -> [String] {
            headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        }
        let out = GatewayHeaders.request(client, settings: settings, upstream: upstream, peer: "192.0.2.1", trustedPeer: true, https: false,
                                         identity: IdentityHeaders.of(Self.bob, names: settings.identityHeaders), upstreamToken: "minted",
                                         bodyLength: 12, method: .POST)
        #expect(["Authorization", "Proxy-Authorization", "X-Hop", "Transfer-Encoding"].allSatisfy { values(out, $0).isEmpty })
        #expect(values(out, "X-EdgeAuth-User") == ["bob"] && values(out, "X-EdgeAuth-Roles") == ["viewer"] && values(out, "X-EdgeAuth-Token") == ["minted"])
        #expect(values(out, "Cookie") == ["theme=dark"])
        #expect(values(out, "Host") == ["10.0.0.9:9000"] && values(out, "X-Forwarded-Host") == ["gw.example"] && values(out, "X-Forwarded-Proto") == ["https"],
                "a trusted proxy's X-Forwarded-Proto is kept")
        #expect(values(out, "X-Forwarded-For") == ["203.0.113.7, 192.0.2.1"] && values(out, "Content-Length") == ["12"])
        #expect(values(out, "Mcp-Session-Id") == ["s-1"] && values(out, "Last-Event-ID") == ["42"] && values(out, "Accept") == ["application/json, text/event-stream"])
        #expect(GatewayHeaders.withoutOwnCookies("edgeauth=1") == nil)
        let direct = GatewayHeaders.request(client, settings: settings, upstream: upstream, peer: "192.0.2.1", trustedPeer: false, https: true,
                                            identity: [], upstreamToken: nil, bodyLength: 0, method: .GET)
        #expect(values(direct, "X-Forwarded-For") == ["192.0.2.1"] && values(direct, "X-Forwarded-Proto") == ["https"] && values(direct, "Content-Length").isEmpty,
                "a client's own X-Forwarded-For is not passed on as if a proxy had set it")

        let wire = UpstreamRequestSerializer.serialize(method: .POST, target: "/mcp?x=1", headers: [("Host", "h"), ("Bad Name", "x"), ("X-A", "1\r\nX-B: 2")],
                                                       body: ByteBuffer(string: "{}"), allocator: ByteBufferAllocator())
        #expect(String(buffer: wire) == "POST /mcp?x=1 HTTP/1.1\r\nHost: h\r\nX-A: 1  X-B: 2\r\n\r\n{}",
                "a name that is not a token is dropped; CR/LF in a value cannot start a header")
        #expect(!UpstreamRequestSerializer.isValidTarget("/a b") && !UpstreamRequestSerializer.isValidTarget("") && UpstreamRequestSerializer.isValidTarget("/a%20b"))

        func clientLines(_ fields: String, ownCORS: Bool = false) throws -> String {
            let head = try #require(try UpstreamResponseParserTests.head("HTTP/1.1 200 OK\r\n" + fields + "\r\n"))
            var kept = ""
            ResponseSerializer.forEachLine(head.fields) { name, line in
                if GatewayHeaders.passesToClient(name, of: head, ownCORS: ownCORS) { kept += String(decoding: line, as: UTF8.self) }
            }
            return kept
        }
        let answer = "Content-Type: text/event-stream\r\nConnection: close, X-Private\r\nX-Private: 1\r\nKeep-Alive: timeout=5\r\n"
            + "Mcp-Session-Id: s-1\r\nContent-Length: 5\r\n"
        #expect(try clientLines(answer) == "Content-Type: text/event-stream\r\nMcp-Session-Id: s-1\r\n",
                "hop-by-hop headers, those Connection names, and the framing (the writer's own) are not passed on")
        let cors = "Access-Control-Allow-Origin: *\r\nContent-Type:application/json  \r\n"
        #expect(try clientLines(cors, ownCORS: true) == "Content-Type:application/json  \r\n")
        #expect(try clientLines(cors) == "Access-Control-Allow-Origin: *\r\nContent-Type:application/json  \r\n", "kept lines pass as they came")
    }

    // MARK: JSON-RPC

    static let route: GatewaySettings.Route = {
        var route = GatewaySettings.Route(prefix: "/mcp", upstream: GatewaySettings.UpstreamURL("http://127.0.0.1:1/mcp"))
        route.tools = ["delete_note": .init(roles: ["admin"]), "publish": .init(scopes: ["notes:publish"])]
        route.methods = ["resources/read": .init(scopes: ["files:read"])]
        return route
    }()

    static func check(_ body: String, _ identity: Identity) -> GatewayMessages.Outcome {
        var server = ServerConfiguration()
        server.resource = "http://127.0.0.1/mcp"
        return GatewayMessages.check(ByteBuffer(string: body), route: route, identity: identity, resource: ProtectedResource(server: server, issuers: []))
    }

    static func reply(_ outcome: GatewayMessages.Outcome) -> HTTPReply? {
        if case .answer(let reply) = outcome { reply } else { nil }
    }

    @Test("tools/call and methods: a missing scope is 403 insufficient_scope, a missing role a JSON-RPC -32003, every element of a batch checked")
    func messageChecks() throws {
        let call = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_note","arguments":{}}}"#
        let denied = try #require(Self.reply(Self.check(call, Self.bob)))
        #expect(denied.status == .ok)
        let error = try JSONValue.parse(denied.body.readableBytesView)
        #expect(error["id"] == 1 && error["error"]?["code"] == .number("-32003") && error["error"]?["data"]?["missing"]?["roles"] == ["admin"])
        guard case .forward(let ids) = Self.check(call, Self.alice) else { Issue.record("alice may delete"); return }
        #expect(ids.isEmpty)

        let publish = #"{"jsonrpc":"2.0","id":"p","method":"tools/call","params":{"name":"publish"}}"#
        let step = try #require(Self.reply(Self.check(publish, Self.alice)))
        #expect(step.status == .forbidden)
        let challenge = try #require(step.headers.first { $0.0 == "WWW-Authenticate" }?.1)
        #expect(challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"notes:publish\"") && challenge.contains("resource_metadata="))

        let batch = "[" + #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"# + "," + #"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"f"}}"# + "]"
        let refused = try #require(Self.reply(Self.check(batch, Self.alice)))
        #expect(refused.status == .forbidden && refused.headers.contains { $0.1.contains("scope=\"files:read\"") }, "the batch's second element needs a scope")
        let roles = "[" + #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"# + "," + call.replacingOccurrences(of: "\"id\":1", with: "\"id\":2") + "]"
        let errors = try JSONValue.parse(try #require(Self.reply(Self.check(roles, Self.bob))).body.readableBytesView)
        #expect(errors.arrayValue?.count == 2 && errors.arrayValue?.allSatisfy { $0["error"]?["code"] == .number("-32003") } == true, "a batch is refused whole")

        for (body, code) in [("{", "-32700"), ("[]", "-32600"), ("[1]", "-32600"), (#"{"id":1,"method":5}"#, "-32600"),
                             (#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#, "-32602")] {
            let answer = try #require(Self.reply(Self.check(body, Self.alice)), "\(body)")
            #expect(try JSONValue.parse(answer.body.readableBytesView)["error"]?["code"] == .number(code), "\(body)")
        }
        // A duplicate member is refused by the parser: the upstream cannot read a name EdgeAuth did not check.
        #expect(Self.reply(Self.check(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"delete_note"}}"#, Self.bob)) != nil)
        guard case .forward(let listIDs) = Self.check(#"[{"jsonrpc":"2.0","id":7,"method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/initialized"}]"#, Self.bob) else {
            Issue.record("tools/list is forwarded"); return
        }
        #expect(listIDs == [7])
    }

    @Test("tools/list answers lose the tools the caller may not call, in JSON and batches; other answers are untouched")
    func toolListFiltering() throws {
        let answer = #"{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"echo"},{"name":"delete_note"},{"name":"publish"}],"nextCursor":"c2"}}"#
        let filtered = try #require(GatewayMessages.filtered(ByteBuffer(string: answer), toolListIDs: [7], route: Self.route, identity: Self.bob))
        let value = try JSONValue.parse(filtered.readableBytesView)
        #expect(value["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["echo"] && value["result"]?["nextCursor"] == "c2")
        let forAlice = try #require(GatewayMessages.filtered(ByteBuffer(string: answer), toolListIDs: [7], route: Self.route, identity: Self.alice))
        #expect(try JSONValue.parse(forAlice.readableBytesView)["result"]?["tools"]?.arrayValue?.count == 2)
        #expect(GatewayMessages.filtered(ByteBuffer(string: answer), toolListIDs: [8], route: Self.route, identity: Self.bob) == nil, "another request's answer")
        #expect(GatewayMessages.filtered(ByteBuffer(string: answer), toolListIDs: nil, route: Self.route, identity: Self.bob) != nil,
                "on a GET stream (a resumed one may replay a tools/list answer) any answer listing tools")
        let batch = try #require(GatewayMessages.filtered(ByteBuffer(string: "[" + answer + "]"), toolListIDs: [7], route: Self.route, identity: Self.bob))
        #expect(try JSONValue.parse(batch.readableBytesView).arrayValue?.first?["result"]?["tools"]?.arrayValue?.count == 1)
    }

    // MARK: Event streams

    @Test("event streams split into whole events across reads, with LF, CRLF and CR line breaks")
    func eventStreams() throws {
        var splitter = EventStreamSplitter(maxEventBytes: 64)
        #expect(try splitter.feed(ByteBuffer(string: "event: message\ndata: {\"a\"")).isEmpty)
        let first = try splitter.feed(ByteBuffer(string: ":1}\n\nid: 2\r\ndata: x\r"))
        #expect(first.map { String(buffer: $0) } == ["event: message\ndata: {\"a\":1}\n\n"])
        let second = try splitter.feed(ByteBuffer(string: "\n\r\ndata: y\r\rdata: z\n"))
        #expect(second.map { String(buffer: $0) } == ["id: 2\r\ndata: x\r\n\r\n", "data: y\r\r"])
        #expect(splitter.rest().map { String(buffer: $0) } == "data: z\n")
        #expect(EventStreamSplitter.data(of: ByteBuffer(string: "id: 1\ndata: a\ndata:b\ndataX: c\n\n")) == "a\nb")
        #expect(String(buffer: EventStreamSplitter.event(ByteBuffer(string: "id: 1\r\ndata: a\r\n\r\n"), replacingDataWith: "{}")) == "id: 1\ndata: {}\n\n")
        #expect(throws: EventStreamSplitter.SplitError.self) { try splitter.feed(ByteBuffer(repeating: UInt8(ascii: "x"), count: 65)) }
    }

    @Test("paths a server behind the gateway would read differently are refused before any route is matched")
    func normalPaths() {
        for path in ["/", "/mcp", "/mcp/", "/mcp/admin", "/mcp/a%20b", "/mcp/%E2%9C%93", "/mcp/...", "/mcp/.well", "/mcp/a.b"] {
            #expect(GatewayPath.isNormal(path), "\(path)")
        }
        for path in ["", "mcp", "/mcp//admin", "//mcp", "/mcp/./admin", "/mcp/x/../admin", "/mcp/..", "/mcp/.", "/mcp/%61dmin", "/mcp/%2e%2e/x",
                     "/mcp%2Fadmin", "/mcp%5cadmin", "/mcp\\admin", "/mcp/%00", "/mcp/%", "/mcp/%zz", "/mcp/public/..;/admin", "/mcp;jsessionid=1"] {
            #expect(!GatewayPath.isNormal(path), "\(path)")
        }
    }

    // MARK: Forward-auth

    @Test("forward-auth reads the original request as nginx, Traefik and Envoy send it")
    func forwardAuthShapes() {
        let nginx = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/auth/verify", headers: ["X-Original-URI": "/mcp/admin?x=1", "X-Original-Method": "POST"])
        #expect(ForwardAuthRoute.original(nginx, ownPath: "/auth/verify") == (.POST, "/mcp/admin?x=1"))
        let traefik = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/auth/verify", headers: ["X-Forwarded-Uri": "/mcp", "X-Forwarded-Method": "delete"])
        #expect(ForwardAuthRoute.original(traefik, ownPath: "/auth/verify") == (.DELETE, "/mcp"))
        let envoy = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/auth/verify/mcp/admin", headers: [:])
        #expect(ForwardAuthRoute.original(envoy, ownPath: "/auth/verify") == (.POST, "/mcp/admin"))
    }
}
