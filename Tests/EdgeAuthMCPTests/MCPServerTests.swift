import EdgeAuthHTTP
import EdgeAuthMCP
import Foundation
import MCP
import Synchronization
import Testing

/// The MCP layer through real HTTP: per-tool requirements, groups, policies, user context.
@Suite struct MCPServerTests {
    /// A server with one tool per kind of requirement, and the calls' audit events.
    static func server(hide: Bool = true, audit: AuditLog? = nil) -> MCPServer {
        var options = MCPServer.Options()
        options.hideUnauthorizedItems = hide
        let server = MCPServer(name: "test", version: "1.0", options: options)
        server.tool("echo", inputSchema: ["type": "object", "properties": ["text": ["type": "string"]]]) { arguments, context in
            .text("\(context.auth.id): \(arguments["text"]?.stringValue ?? "")")
        }
        server.tool("write", requires: .scopes("notes:write", "notes:admin")) { _, _ in .text("written") }
        server.tool("remove", requires: .permission("notes:delete")) { _, _ in .text("removed") }
        server.tool("admin", requires: .role("admin")) { _, _ in .text("admin") }
        server.tool("either", requires: .role("admin") || .permission("reports:read")) { _, _ in .text("either") }
        server.tool("token", exposesToken: true) { _, context in .text(context.accessToken ?? "none") }
        server.tool("no-token") { _, context in .text(context.accessToken ?? "none") }
        if let audit { server.onDecision { event in audit.events.withLock { $0.append(event) } } }
        return server
    }

    @Test("R3: a missing scope answers 403 insufficient_scope naming every scope the tool needs")
    func missingScope() async throws {
        let served = try await MCPTestServer.start(Self.server()) { $0.requiredScopes = ["mcp"] }
        defer { served.stop() }
        let token = try MCPTestServer.token("bob", scopes: ["mcp", "notes:write"])
        let answer = try await served.callTool("write", token: token)
        #expect(answer.status == 403)
        let challenge = try #require(answer.headers.first(name: "WWW-Authenticate"))
        #expect(challenge.contains("error=\"insufficient_scope\""))
        #expect(challenge.contains("scope=\"mcp notes:write notes:admin\""))
        #expect(challenge.contains("resource_metadata=\"http://127.0.0.1/.well-known/oauth-protected-resource/mcp\""))
        #expect(answer.json?["error"]?.stringValue == "insufficient_scope")
        let allowed = try await served.callTool("write", token: try MCPTestServer.token("bob", scopes: ["mcp", "notes:write", "notes:admin"]))
        #expect(allowed.status == 200 && allowed.text == "written")
        try await served.http.drain()
    }

    @Test("R1: scopes_supported lists the scopes the tools need unless configured")
    func scopesSupported() async throws {
        let server = Self.server()
        #expect(server.scopesNamed == ["notes:write", "notes:admin"])
        var configuration = ServerConfiguration()
        configuration.requiredScopes = ["mcp"]
        #expect(server.advertisingScopes(configuration).scopesSupported == ["mcp", "notes:write", "notes:admin"])
        configuration.scopesSupported = ["only"]
        #expect(server.advertisingScopes(configuration).scopesSupported == ["only"])
        let demo = MCPServer.demo(dataDirectory: FileManager.default.temporaryDirectory.path)
        #expect(demo.scopesNamed == ["notes:write", "notes:read"])
    }

    @Test("A missing role or permission answers a JSON-RPC error naming it")
    func missingRoleOrPermission() async throws {
        let served = try await MCPTestServer.start(Self.server())
        defer { served.stop() }
        let bob = try MCPTestServer.token("bob", roles: ["viewer"])
        let admin = try await served.callTool("admin", token: bob)
        #expect(admin.status == 200)
        #expect(admin.errorCode == MCPHandler.forbiddenCode)
        #expect(admin.errorMessage.contains("missing role \"admin\""))
        #expect(admin.json?["error"]?["data"]?["missing"]?["roles"] == ["admin"])
        let remove = try await served.callTool("remove", token: bob)
        #expect(remove.errorCode == MCPHandler.forbiddenCode && remove.errorMessage.contains("missing permission \"notes:delete\""))
        let either = try await served.callTool("either", token: try MCPTestServer.token("carol", permissions: ["reports:read"]))
        #expect(either.text == "either")
        let alice = try MCPTestServer.token("alice", roles: ["admin"], permissions: ["notes:delete"])
        #expect(try await served.callTool("admin", token: alice).text == "admin")
        #expect(try await served.callTool("remove", token: alice).text == "removed")
        try await served.http.drain()
    }

    @Test("tools/list hides what roles and permissions do not allow, keeps scope-only tools for step-up")
    func listing() async throws {
        let served = try await MCPTestServer.start(Self.server())
        defer { served.stop() }
        func names(_ answer: Answer) -> [String] { answer.result?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [] }
        let bob = try MCPTestServer.token("bob")
        #expect(names(try await served.call("tools/list", token: bob)) == ["echo", "write", "token", "no-token"])
        let alice = try MCPTestServer.token("alice", roles: ["admin"], permissions: ["notes:delete"])
        #expect(names(try await served.call("tools/list", token: alice)) == ["echo", "write", "remove", "admin", "either", "token", "no-token"])
        try await served.http.drain()
        let unhidden = try await MCPTestServer.start(Self.server(hide: false))
        defer { unhidden.stop() }
        #expect(names(try await unhidden.call("tools/list", token: bob)).count == 7)
        try await unhidden.http.drain()
    }

    @Test("Each call sees its own caller; only tools that ask for it get the raw token")
    func context() async throws {
        let served = try await MCPTestServer.start(Self.server())
        defer { served.stop() }
        let token = try MCPTestServer.token("dora")
        #expect(try await served.callTool("echo", ["text": "hi"], token: token).text == "dora: hi")
        #expect(try await served.callTool("token", token: token).text == token)
        #expect(try await served.callTool("no-token", token: token).text == "none")
        // Regression: the tool gets the token the server verified, not the header re-read
        // (with two spaces after the scheme it used to get " <token>").
        let body: JSONValue = ["jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ["name": "token", "arguments": [:]]]
        let spaced = try await served.post(body.jsonText, token: nil, headers: [("Authorization", "bearer  " + token)])
        #expect(spaced.status == 200 && spaced.text == token)
        // Many users at once on one event loop: no call sees another caller.
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<100 {
                group.addTask {
                    let user = "user\(index % 20)"
                    let answer = try await served.callTool("echo", ["text": JSONValue.string(user)], token: try MCPTestServer.token(user))
                    return answer.text == "\(user): \(user)" ? 0 : 1
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)
        try await served.http.drain()
    }

    @Test("Groups add their requirement and policy; server-wide policies and the audit hook see every call")
    func groupsAndPolicies() async throws {
        let audit = AuditLog()
        let server = Self.server(audit: audit)
        let finance = server.group(requires: .role("finance")) { invocation, _ in
            guard let amount = invocation.arguments["amount"]?.intValue, amount > 100 else { return .allow }
            return .deny("payments over 100 need a second approver")
        }
        finance.tool("pay", inputSchema: ["type": "object", "properties": ["amount": ["type": "integer"]], "required": ["amount"]]) { arguments, _ in
            .text("paid \(try arguments.int("amount"))")
        }
        finance.group(requires: .permission("payments:refund")).tool("refund") { _, _ in .text("refunded") }
        server.use { invocation, context in
            invocation.name == "echo" && context.auth.id == "mallory" ? .deny("mallory may not echo") : .allow
        }
        let served = try await MCPTestServer.start(server)
        defer { served.stop() }
        let clerk = try MCPTestServer.token("clerk", roles: ["finance"])
        #expect(try await served.callTool("pay", ["amount": 50], token: clerk).text == "paid 50")
        let large = try await served.callTool("pay", ["amount": 500], token: clerk)
        #expect(large.errorCode == MCPHandler.forbiddenCode && large.errorMessage.contains("second approver"))
        #expect(try await served.callTool("pay", ["amount": 5], token: try MCPTestServer.token("bob")).errorMessage.contains("missing role \"finance\""))
        #expect(try await served.callTool("refund", token: clerk).errorMessage.contains("missing permission \"payments:refund\""))
        let refunder = try MCPTestServer.token("lead", roles: ["finance"], permissions: ["payments:refund"])
        #expect(try await served.callTool("refund", token: refunder).text == "refunded")
        #expect(try await served.callTool("echo", token: try MCPTestServer.token("mallory")).errorMessage.contains("mallory may not echo"))
        try await served.http.drain()
        let events = audit.events.withLock { $0 }.map { "\($0.user) \($0.invocation.name) \($0.denial == nil ? "allow" : "deny")" }
        #expect(events == ["clerk pay allow", "clerk pay deny", "bob pay deny", "clerk refund deny", "lead refund allow", "mallory echo deny"])
    }

    @Test("Arguments are checked against the tool's input schema before the handler runs")
    func argumentSchema() async throws {
        let server = MCPServer(name: "test", version: "1.0")
        let schema: [String: Value] = [
            "type": "object", "required": ["name", "count"], "additionalProperties": false,
            "properties": [
                "name": ["type": "string", "minLength": 1, "maxLength": 5],
                "count": ["type": "integer", "minimum": 1, "maximum": 10],
                "mode": ["enum": ["fast", "slow"]],
                "tags": ["type": "array", "items": ["type": "string"], "maxItems": 2],
            ],
        ]
        server.tool("t", inputSchema: schema) { _, _ in .text("ran") }
        let served = try await MCPTestServer.start(server)
        defer { served.stop() }
        let token = try MCPTestServer.token("u")
        let cases: [(JSONValue, String?)] = [
            (["name": "ab", "count": 3], nil),
            (["name": "ab", "count": 3, "mode": "slow", "tags": ["x"]], nil),
            (["name": "ab", "count": .number("3.0")], nil),
            (["name": 5, "count": 3], "arguments.name must be string"),
            (["count": 3], "arguments.name is required"),
            (["name": "", "count": 3], "at least 1 characters"),
            (["name": "abcdef", "count": 3], "at most 5 characters"),
            (["name": "ab", "count": 11], "arguments.count must be at most 10"),
            (["name": "ab", "count": .number("2.5")], "arguments.count must be integer"),
            (["name": "ab", "count": 3, "mode": "warp"], "arguments.mode must be one of"),
            (["name": "ab", "count": 3, "tags": ["x", 1]], "arguments.tags[1] must be string"),
            (["name": "ab", "count": 3, "tags": ["x", "y", "z"]], "at most 2 items"),
            (["name": "ab", "count": 3, "extra": true], "arguments.extra is not a known argument"),
        ]
        for (arguments, problem) in cases {
            let answer = try await served.callTool("t", arguments, token: token)
            if let problem {
                #expect(answer.errorCode == -32602, "\(arguments.jsonText)")
                #expect(answer.errorMessage.contains(problem), "\(answer.errorMessage)")
            } else {
                #expect(answer.text == "ran", "\(arguments.jsonText): \(answer.body)")
            }
        }
        try await served.http.drain()
    }

    @Test("Tool errors: a ToolError's message is shown, any other error is not")
    func toolErrors() async throws {
        struct Secret: Error { let detail = "database password is hunter2" }
        let server = MCPServer(name: "test", version: "1.0")
        server.tool("fails") { _, _ in throw ToolError("no such note") }
        server.tool("crashes") { _, _ in throw Secret() }
        let served = try await MCPTestServer.start(server)
        defer { served.stop() }
        let token = try MCPTestServer.token("u")
        let fails = try await served.callTool("fails", token: token)
        #expect(fails.isError && fails.text == "no such note")
        let crashes = try await served.callTool("crashes", token: token)
        #expect(crashes.isError && !crashes.body.contains("hunter2") && crashes.text.contains("the tool failed"))
        try await served.http.drain()
    }

    @Test("Resources and prompts get the same requirements and context")
    func resourcesAndPrompts() async throws {
        let server = MCPServer(name: "test", version: "1.0")
        server.resource("memo://mine", name: "Mine") { context in [.text("memo of \(context.auth.id)", uri: "memo://mine")] }
        server.resource("memo://all", name: "All", requires: .role("admin")) { _ in [.text("everything", uri: "memo://all")] }
        server.prompt("greet", arguments: [.init(name: "tone", required: true)], requires: .scope("prompts")) { arguments, context in
            [.user(.text(text: "Greet \(context.auth.id) in a \(arguments["tone"]?.stringValue ?? "") tone"))]
        }
        let served = try await MCPTestServer.start(server)
        defer { served.stop() }
        let bob = try MCPTestServer.token("bob", scopes: ["prompts"])
        let listed = try await served.call("resources/list", token: bob)
        #expect(listed.result?["resources"]?.arrayValue?.compactMap { $0["uri"]?.stringValue } == ["memo://mine"])
        let mine = try await served.call("resources/read", ["uri": "memo://mine"], token: bob)
        #expect(mine.result?["contents"]?.arrayValue?.first?["text"]?.stringValue == "memo of bob")
        let all = try await served.call("resources/read", ["uri": "memo://all"], token: bob)
        #expect(all.errorCode == MCPHandler.forbiddenCode)
        let missing = try await served.call("resources/read", ["uri": "memo://none"], token: bob)
        #expect(missing.errorCode == MCPHandler.resourceNotFoundCode)
        let prompt = try await served.call("prompts/get", ["name": "greet", "arguments": ["tone": "warm"]], token: bob)
        #expect(prompt.result?["messages"]?.arrayValue?.first?["content"]?["text"]?.stringValue == "Greet bob in a warm tone")
        #expect(try await served.call("prompts/get", ["name": "greet"], token: bob).errorCode == -32602)
        let stepUp = try await served.call("prompts/get", ["name": "greet", "arguments": ["tone": "warm"]], token: try MCPTestServer.token("eve"))
        #expect(stepUp.status == 403 && stepUp.headers.first(name: "WWW-Authenticate")?.contains("scope=\"prompts\"") == true)
        try await served.http.drain()
    }

    @Test("Transport: JSON-RPC and HTTP errors for bad input, and the server keeps serving")
    func badInput() async throws {
        let served = try await MCPTestServer.start(Self.server()) { $0.corsOrigins = ["https://app.example"] }
        defer { served.stop() }
        let token = try MCPTestServer.token("u")
        func expect(_ answer: Answer, status: Int, code: Int?, _ comment: Comment) {
            #expect(answer.status == status, comment)
            #expect(answer.errorCode == code, comment)
        }
        expect(try await served.post("{", token: token), status: 400, code: -32700, "malformed JSON")
        expect(try await served.post("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", token: token), status: 400, code: -32600, "batch")
        expect(try await served.post("\"text\"", token: token), status: 400, code: -32600, "not an object")
        expect(try await served.post(#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#, token: token), status: 400, code: -32600, "version")
        expect(try await served.post(#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#, token: token), status: 400, code: -32600, "id type")
        expect(try await served.post(#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#, token: token), status: 200, code: -32602, "params type")
        expect(try await served.post(#"{"jsonrpc":"2.0","id":1,"method":"no/such"}"#, token: token), status: 200, code: -32601, "unknown method")
        expect(try await served.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}}"#, token: token), status: 200, code: -32602, "unknown tool")
        expect(try await served.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":[]}}"#, token: token), status: 200, code: -32602, "arguments type")
        expect(try await served.post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, token: token), status: 202, code: nil, "notification")
        expect(try await served.post(#"{"jsonrpc":"2.0","id":7,"result":{}}"#, token: token), status: 202, code: nil, "response")
        expect(try await served.post("{}", token: token, headers: [("Content-Type", "text/plain")]), status: 415, code: -32600, "content type")
        expect(try await served.post("{}", token: token, headers: [("Accept", "text/html")]), status: 406, code: -32600, "accept")
        expect(try await served.post(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, token: token, headers: [("MCP-Protocol-Version", "1999-01-01")]),
               status: 400, code: -32600, "protocol version")
        expect(try await served.post("", token: token, method: .GET), status: 405, code: -32600, "GET")
        #expect(try await served.post("", token: token, method: .DELETE).status == 405)
        #expect(try await served.post("{}", token: token, headers: [("Origin", "https://evil.example")]).status == 403)
        #expect(try await served.post(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, token: token, headers: [("Origin", "https://app.example")]).status == 200)
        // The resource's own origin (http://127.0.0.1 for http://127.0.0.1/mcp) is always allowed.
        #expect(try await served.post(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, token: token, headers: [("Origin", "http://127.0.0.1")]).status == 200)
        #expect(try await served.post(String(repeating: " ", count: 2 << 20), token: token).status == 413)
        #expect(try await served.post("{}", token: nil).status == 401)
        // Strings stay strings (the SDK's decoder would turn a data: URL into bytes).
        #expect(try await served.callTool("echo", ["text": "data:text/plain;base64,aGk="], token: token).text == "u: data:text/plain;base64,aGk=")
        let id = try await served.post(#"{"jsonrpc":"2.0","id":"abc","method":"ping"}"#, token: token)
        #expect(id.json?["id"]?.stringValue == "abc" && id.json?["result"] == [:])
        #expect(try await served.callTool("echo", ["text": "still here"], token: token).text == "u: still here")
        try await served.http.drain()
    }

    @Test("initialize negotiates the protocol version and announces what the server has")
    func initialize() async throws {
        let served = try await MCPTestServer.start(Self.server())
        defer { served.stop() }
        let token = try MCPTestServer.token("u")
        func initialize(_ version: String) async throws -> JSONValue? {
            try await served.call("initialize", ["protocolVersion": .string(version), "capabilities": [:], "clientInfo": ["name": "t", "version": "1"]], token: token).result
        }
        #expect(try await initialize("2025-06-18")?["protocolVersion"]?.stringValue == "2025-06-18")
        let unknown = try await initialize("2099-01-01")
        #expect(unknown?["protocolVersion"]?.stringValue == Version.latest)
        #expect(unknown?["serverInfo"]?["name"]?.stringValue == "test")
        #expect(unknown?["capabilities"]?["tools"] != nil && unknown?["capabilities"]?["resources"] == nil)
        try await served.http.drain()
    }

    @Test("The Swift SDK's own client: initialize, list tools, call a tool with a bearer token")
    func swiftSDKClient() async throws {
        let served = try await MCPTestServer.start(Self.server())
        defer { served.stop() }
        let token = try MCPTestServer.token("alice", roles: ["admin"])
        let transport = HTTPClientTransport(endpoint: URL(string: served.url)!, streaming: false) { request in
            var request = request
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            return request
        }
        let client = Client(name: "edgeauth-test", version: "1.0")
        let initialized = try await client.connect(transport: transport)
        #expect(initialized.serverInfo.name == "test")
        let tools = try await client.listTools().tools.map(\.name)
        #expect(tools.contains("admin") && !tools.contains("remove"))
        let (content, isError) = try await client.callTool(name: "echo", arguments: ["text": "from swift"])
        #expect(isError != true)
        guard case .text(let text, _, _)? = content.first else { Issue.record("no text content: \(content)"); return }
        #expect(text == "alice: from swift")
        await client.disconnect()
        try await served.http.drain()
    }
}

final class AuditLog: Sendable {
    let events = Mutex<[AuditEvent]>([])
}
