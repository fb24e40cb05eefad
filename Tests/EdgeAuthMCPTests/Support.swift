import AsyncHTTPClient
import EdgeAuthHTTP
import EdgeAuthMCP
import EdgeAuthTesting
import Foundation
import NIOCore
import NIOHTTP1

/// An `MCPServer` behind the real HTTP server on a loopback port, trusting one test key.
struct MCPTestServer {
    static let factory = TokenFactory(key: try! SigningKey.generate(.ec(.p256), kid: "mcp-test"), algorithm: .es256,
                                      issuer: "https://issuer.example/", audience: "http://127.0.0.1/mcp", now: Int64(Date().timeIntervalSince1970))
    let http: HTTPServer
    var url: String { "http://127.0.0.1:\(http.port)/mcp" }

    static func start(_ mcp: MCPServer, _ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> MCPTestServer {
        var configuration = ServerConfiguration()
        configuration.resource = "http://127.0.0.1/mcp"
        configure(&configuration)
        let policy = ValidationPolicy(issuers: .exactly([factory.issuer]), audiences: .anyOf([factory.audience]))
        let verifier = Verifier(policy: policy, keys: KeySet(keys: [try factory.key.verificationKey()]))
        let resource = ProtectedResource(server: configuration, issuers: [factory.issuer])
        let handler = try MCPHandler(server: mcp, resource: resource, configuration: configuration)
        let context = ServerContext(verifier: verifier, resource: resource, server: configuration, handler: handler)
        return MCPTestServer(http: try await HTTPServer.start(context, listener: .address(host: "127.0.0.1", port: 0)))
    }

    /// Drains the server without waiting for it: `defer { served.stop() }` (a `defer` cannot
    /// await) stops a test's server however the test ends.
    func stop() { Task { [http] in try? await http.drain() } }

    static func token(_ user: String, roles: [String] = [], permissions: [String] = [], scopes: [String] = []) throws -> String {
        var claims: [String: JSONValue] = ["sub": .string(user), "exp": .number(String(factory.now + 3600))]
        if !roles.isEmpty { claims["roles"] = .array(roles.map(JSONValue.string)) }
        if !permissions.isEmpty { claims["permissions"] = .array(permissions.map(JSONValue.string)) }
        if !scopes.isEmpty { claims["scope"] = .string(scopes.joined(separator: " ")) }
        return try factory.token(claims: claims)
    }

    /// A POST of `body` as it is, with the MCP client headers unless overridden.
    func post(_ body: String, token: String?, headers extra: [(String, String)] = [], method: HTTPMethod = .POST) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        var headers: [(String, String)] = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        for (name, value) in extra {
            headers.removeAll { $0.0.lowercased() == name.lowercased() }
            headers.append((name, value))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if method == .POST { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// A JSON-RPC request for `method` with `params`.
    func call(_ method: String, _ params: JSONValue = [:], token: String?, id: Int = 1) async throws -> Answer {
        let body: JSONValue = ["jsonrpc": "2.0", "id": .number(String(id)), "method": .string(method), "params": params]
        return try await post(body.jsonText, token: token)
    }

    func callTool(_ name: String, _ arguments: JSONValue = [:], token: String?) async throws -> Answer {
        try await call("tools/call", ["name": .string(name), "arguments": arguments], token: token)
    }
}

struct Answer: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: String
    var json: JSONValue? { try? JSONValue.parse(body) }
    var result: JSONValue? { json?["result"] }
    var errorCode: Int? { json?["error"]?["code"].flatMap { if case .number(let text) = $0 { Int(text) } else { nil } } }
    var errorMessage: String { json?["error"]?["message"]?.stringValue ?? "" }
    /// The text of a tool result's first content item.
    var text: String { result?["content"]?.arrayValue?.first?["text"]?.stringValue ?? "" }
    var isError: Bool { result?["isError"]?.boolValue ?? false }
}
