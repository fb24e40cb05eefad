import EdgeAuth
import EdgeAuthCache
import EdgeAuthHTTP
import Foundation
import Logging
import MCP
import NIOCore
import NIOHTTP1

/// The Streamable HTTP transport of an `MCPServer` behind the protected prefix, stateless:
/// every POST carries one JSON-RPC message and is answered from it alone, with
/// `application/json`. No `Mcp-Session-Id` is issued, so a client that initializes on one
/// worker and calls a tool on another needs nothing shared between them (docs/mcp-tools.md).
public struct MCPHandler: ProtectedHandler {
    let server: MCPServer
    let catalogue: Registry
    let resource: ProtectedResource
    let cors: CORSPolicy
    let store: UserDataStore?
    static let logger = Logger(label: "edgeauth.mcp")

    /// JSON-RPC error code of a call the caller's roles, permissions or policies do not allow.
    public static let forbiddenCode = -32003
    /// JSON-RPC error code of an unknown resource URI (MCP specification).
    public static let resourceNotFoundCode = -32002

    public init(server: MCPServer, resource: ProtectedResource, configuration: ServerConfiguration) throws(CacheError) {
        self.server = server
        catalogue = server.catalogue
        self.resource = resource
        cors = CORSPolicy(allowedOrigins: configuration.corsOrigins, ownOrigin: resource.origin)
        store = try server.options.dataDirectory.map { directory throws(CacheError) in try UserDataStore(directory: directory) }
    }

    public func respond(to request: ProtectedRequest, identity: Identity) -> ProtectedResponse {
        guard cors.permits(origin: request.headers.first(name: "Origin")) else {
            // DNS rebinding protection: a page from another origin must not reach the server.
            return .reply(CORSPolicy.forbiddenOrigin)
        }
        guard request.method == .POST else {
            // No server-initiated stream (GET) and no session to delete (DELETE) in stateless operation.
            return .reply(HTTPReply(status: .methodNotAllowed, headers: [("Allow", "POST"), ("Content-Type", "application/json")],
                                    body: ByteBuffer(bytes: Self.encode(RPCFailure(id: nil, error: .invalidRequest("use POST: this server keeps no sessions and opens no event stream"))))))
        }
        let contentType = request.headers.first(name: "Content-Type")?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            return .reply(Self.failure(.unsupportedMediaType, nil, .invalidRequest("Content-Type must be application/json")))
        }
        if let accept = request.headers.first(name: "Accept")?.lowercased(),
           !(accept.contains("application/json") || accept.contains("*/*") || accept.contains("application/*")) {
            return .reply(Self.failure(.notAcceptable, nil, .invalidRequest("Accept must include application/json")))
        }
        if let version = request.headers.first(name: "MCP-Protocol-Version"), !Version.supported.contains(version) {
            return .reply(Self.failure(.badRequest, nil, .invalidRequest("unsupported MCP-Protocol-Version \(version); supported: \(Version.supported.sorted().joined(separator: ", "))")))
        }
        let message: JSONValue
        do {
            message = try JSONValue.parse(request.body.readableBytesView, limits: JSONLimits(maxDepth: 64, maxMembers: 100_000))
        } catch {
            return .reply(Self.failure(.badRequest, nil, RPCError(code: -32700, message: "Parse error: the body is not valid JSON")))
        }
        guard case .object(let members) = message else {
            let text = if case .array = message { "batches are not supported: send one JSON-RPC message per request" } else { "the message must be a JSON object" }
            return .reply(Self.failure(.badRequest, nil, .invalidRequest(text)))
        }
        guard members["jsonrpc"] == .string("2.0") else {
            return .reply(Self.failure(.badRequest, Self.id(members["id"]), .invalidRequest("jsonrpc must be \"2.0\"")))
        }
        guard case .string(let method)? = members["method"] else {
            // A response to a server request: stateless operation sends none, so nothing waits for it.
            if members["result"] != nil || members["error"] != nil { return .reply(HTTPReply(status: .accepted)) }
            return .reply(Self.failure(.badRequest, Self.id(members["id"]), .invalidRequest("method must be a string")))
        }
        guard let rawID = members["id"] else {
            // Notifications (initialized, cancelled, …) need no answer.
            return .reply(HTTPReply(status: .accepted))
        }
        guard let id = Self.id(rawID) else {
            return .reply(Self.failure(.badRequest, nil, .invalidRequest("id must be a string or an integer")))
        }
        let params: [String: Value]
        switch members["params"] {
        case nil, .null?: params = [:]
        case .object(let object)?: params = object.mapValues(Self.value)
        default: return .reply(Self.failure(.ok, id, .invalidParams("params must be an object")))
        }
        let call = Call(id: id, params: params, identity: identity, request: request)
        switch method {
        case Initialize.name: return .reply(initialize(call))
        case Ping.name: return .reply(Self.success(id, Empty()))
        case ListTools.name: return .reply(listTools(call))
        case CallTool.name: return .deferred { await callTool(call) }
        case ListResources.name: return .reply(listResources(call))
        case ListResourceTemplates.name: return .reply(Self.success(id, ListResourceTemplates.Result(templates: [])))
        case ReadResource.name: return .deferred { await readResource(call) }
        case ListPrompts.name: return .reply(listPrompts(call))
        case GetPrompt.name: return .deferred { await getPrompt(call) }
        default: return .reply(Self.failure(.ok, id, RPCError(code: -32601, message: "Method not found: \(method)")))
        }
    }

    struct Call: Sendable {
        let id: ID
        let params: [String: Value]
        let identity: Identity
        let request: ProtectedRequest
    }

    // MARK: Methods

    private func initialize(_ call: Call) -> HTTPReply {
        let requested = call.params["protocolVersion"]?.stringValue ?? ""
        let version = Version.supported.contains(requested) ? requested : Version.latest
        let capabilities = Server.Capabilities(
            prompts: catalogue.prompts.isEmpty ? nil : .init(listChanged: false),
            resources: catalogue.resources.isEmpty ? nil : .init(subscribe: false, listChanged: false),
            tools: .init(listChanged: false)
        )
        return Self.success(call.id, Initialize.Result(protocolVersion: version, capabilities: capabilities,
                                                       serverInfo: Server.Info(name: server.name, version: server.version),
                                                       instructions: server.options.instructions))
    }

    /// Whether the caller may see an item: only roles, permissions and checks hide it.
    private func visible(_ requirement: Requirement, _ identity: Identity) -> Bool {
        guard server.options.hideUnauthorizedItems else { return true }
        guard case .deny(let missing) = requirement.evaluate(identity, scopeHierarchy: server.options.scopeHierarchy) else { return true }
        return missing.roles.isEmpty && missing.permissions.isEmpty && missing.checks.isEmpty
    }

    private func listTools(_ call: Call) -> HTTPReply {
        let tools = catalogue.toolOrder.compactMap { catalogue.tools[$0] }.filter { visible($0.requirement, call.identity) }.map(\.definition)
        return Self.success(call.id, ListTools.Result(tools: tools))
    }

    private func listResources(_ call: Call) -> HTTPReply {
        let resources = catalogue.resourceOrder.compactMap { catalogue.resources[$0] }.filter { visible($0.requirement, call.identity) }.map(\.definition)
        return Self.success(call.id, ListResources.Result(resources: resources))
    }

    private func listPrompts(_ call: Call) -> HTTPReply {
        let prompts = catalogue.promptOrder.compactMap { catalogue.prompts[$0] }.filter { visible($0.requirement, call.identity) }.map(\.definition)
        return Self.success(call.id, ListPrompts.Result(prompts: prompts))
    }

    private func callTool(_ call: Call) async -> HTTPReply {
        guard let name = call.params["name"]?.stringValue else { return Self.failure(.ok, call.id, .invalidParams("params.name must be a string")) }
        guard let tool = catalogue.tools[name] else { return Self.failure(.ok, call.id, .invalidParams("Unknown tool: \(name)")) }
        let arguments: [String: Value]
        switch call.params["arguments"] {
        case nil, .null?: arguments = [:]
        case .object(let object)?: arguments = object
        default: return Self.failure(.ok, call.id, .invalidParams("params.arguments must be an object"))
        }
        let invocation = Invocation(kind: .tool, name: name, arguments: ToolArguments(arguments))
        let context = makeContext(call, exposesToken: tool.exposesToken)
        if let denied = await authorize(invocation, tool.requirement, tool.policies, context, call) { return denied }
        if let problem = tool.schema.problem(with: arguments) {
            return Self.failure(.ok, call.id, .invalidParams("Invalid arguments for tool \(name): \(problem)"))
        }
        let result: ToolResult
        do {
            result = try await tool.handler(invocation.arguments, context)
        } catch let error as ToolError {
            result = .error(error.message)
        } catch {
            Self.logger.error("tool failed", metadata: ["tool": "\(name)", "request_id": "\(call.request.requestID)", "error": "\(error)"])
            result = .error("the tool failed (request \(call.request.requestID))")
        }
        return .json(.ok, ResultWriter.toolCall(id: call.id, result))
    }

    private func readResource(_ call: Call) async -> HTTPReply {
        guard let uri = call.params["uri"]?.stringValue else { return Self.failure(.ok, call.id, .invalidParams("params.uri must be a string")) }
        guard let entry = catalogue.resources[uri] else {
            return Self.failure(.ok, call.id, RPCError(code: Self.resourceNotFoundCode, message: "Resource not found", data: ["uri": .string(uri)]))
        }
        let invocation = Invocation(kind: .resource, name: uri, arguments: ToolArguments())
        let context = makeContext(call, exposesToken: false)
        if let denied = await authorize(invocation, entry.requirement, entry.policies, context, call) { return denied }
        do {
            return Self.success(call.id, ReadResource.Result(contents: try await entry.handler(context)))
        } catch {
            return handlerFailure(error, call, name: uri)
        }
    }

    private func getPrompt(_ call: Call) async -> HTTPReply {
        guard let name = call.params["name"]?.stringValue else { return Self.failure(.ok, call.id, .invalidParams("params.name must be a string")) }
        guard let entry = catalogue.prompts[name] else { return Self.failure(.ok, call.id, .invalidParams("Unknown prompt: \(name)")) }
        let arguments = call.params["arguments"]?.objectValue ?? [:]
        for argument in entry.definition.arguments ?? [] where argument.required == true && arguments[argument.name]?.stringValue == nil {
            return Self.failure(.ok, call.id, .invalidParams("Prompt \(name) needs the string argument \(argument.name)"))
        }
        let invocation = Invocation(kind: .prompt, name: name, arguments: ToolArguments(arguments))
        let context = makeContext(call, exposesToken: false)
        if let denied = await authorize(invocation, entry.requirement, entry.policies, context, call) { return denied }
        do {
            return Self.success(call.id, GetPrompt.Result(description: entry.definition.description, messages: try await entry.handler(invocation.arguments, context)))
        } catch {
            return handlerFailure(error, call, name: name)
        }
    }

    private func handlerFailure(_ error: Error, _ call: Call, name: String) -> HTTPReply {
        if let error = error as? ToolError { return Self.failure(.ok, call.id, RPCError(code: -32603, message: error.message)) }
        Self.logger.error("handler failed", metadata: ["name": "\(name)", "request_id": "\(call.request.requestID)", "error": "\(error)"])
        return Self.failure(.ok, call.id, RPCError(code: -32603, message: "Internal error (request \(call.request.requestID))"))
    }

    private func makeContext(_ call: Call, exposesToken: Bool) -> MCPContext {
        let token = exposesToken ? String(call.request.bearerToken) : nil
        let user = call.identity.issuer + "\u{1}" + call.identity.id
        return MCPContext(auth: call.identity, requestID: call.request.requestID, accessToken: token, userData: UserData(store: store, user: user))
    }

    /// The item's requirement, then its policies and the server's: nil when the call may
    /// proceed, else the answer. A missing scope answers HTTP 403 with an `insufficient_scope`
    /// challenge naming every scope the item needs (R3), so a client can step up; anything
    /// else answers a JSON-RPC error saying what is missing.
    private func authorize(_ invocation: Invocation, _ requirement: Requirement, _ policies: [AccessPolicy], _ context: MCPContext, _ call: Call) async -> HTTPReply? {
        func audit(_ denial: String?) {
            catalogue.audit(AuditEvent(invocation: invocation, user: call.identity.id, issuer: call.identity.issuer,
                                       requestID: call.request.requestID, denial: denial))
        }
        let what = "\(invocation.kind.rawValue) \(invocation.name)"
        if case .deny(let missing) = requirement.evaluate(call.identity, scopeHierarchy: server.options.scopeHierarchy) {
            audit(missing.description)
            if !missing.scopes.isEmpty {
                var scopes = resource.requiredScopes
                for scope in requirement.scopesNamed where !scopes.contains(scope) { scopes.append(scope) }
                let description = "the \(what) needs the scopes \(scopes.joined(separator: " "))"
                return resource.insufficientScope(description, scopes: scopes)
            }
            let data: Value = ["missing": .object([
                "roles": .array(missing.roles.map(Value.string)), "permissions": .array(missing.permissions.map(Value.string)),
                "checks": .array(missing.checks.map(Value.string)),
            ])]
            return Self.failure(.ok, call.id, RPCError(code: Self.forbiddenCode, message: "Forbidden: the \(what) needs what the caller lacks: \(missing.description)", data: data))
        }
        for policy in policies + catalogue.policies {
            if case .deny(let reason) = await policy(invocation, context) {
                audit(reason)
                return Self.failure(.ok, call.id, RPCError(code: Self.forbiddenCode, message: "Forbidden: \(reason)"))
            }
        }
        audit(nil)
        return nil
    }

    // MARK: JSON-RPC encoding

    struct RPCError: Encodable, Sendable {
        let code: Int
        let message: String
        var data: Value? = nil

        static func invalidRequest(_ message: String) -> RPCError { RPCError(code: -32600, message: "Invalid Request: \(message)") }
        static func invalidParams(_ message: String) -> RPCError { RPCError(code: -32602, message: message) }
    }

    struct RPCSuccess<Result: Encodable>: Encodable {
        let jsonrpc = "2.0"
        let id: ID
        let result: Result
    }

    struct RPCFailure: Encodable {
        let id: ID?
        let error: RPCError
        enum CodingKeys: String, CodingKey { case jsonrpc, id, error }
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("2.0", forKey: .jsonrpc)
            try container.encode(id, forKey: .id) // null when the request's id is unknown (JSON-RPC 2.0 §5)
            try container.encode(error, forKey: .error)
        }
    }

    static func success<Result: Encodable>(_ id: ID, _ result: Result) -> HTTPReply {
        .json(.ok, encode(RPCSuccess(id: id, result: result)))
    }

    static func failure(_ status: HTTPResponseStatus, _ id: ID?, _ error: RPCError) -> HTTPReply {
        .json(status, encode(RPCFailure(id: id, error: error)))
    }

    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        do {
            return Array(try encoder.encode(value))
        } catch {
            logger.error("encoding a response failed", metadata: ["error": "\(error)"])
            return Array(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error: the result could not be encoded"}}"#.utf8)
        }
    }

    static func id(_ json: JSONValue?) -> ID? {
        switch json {
        case .string(let text)?: .string(text)
        case .number(let text)?: Int(text).map(ID.number)
        default: nil
        }
    }

    /// Network JSON (parsed strictly: UTF-8, no duplicate names, depth and size limits) as MCP values.
    static func value(_ json: JSONValue) -> Value {
        switch json {
        case .null: .null
        case .bool(let flag): .bool(flag)
        case .string(let text): .string(text)
        case .number(let text): Int(text).map(Value.int) ?? .double(Double(text) ?? .nan)
        case .array(let items): .array(items.map(value))
        case .object(let members): .object(members.mapValues(value))
        }
    }
}
