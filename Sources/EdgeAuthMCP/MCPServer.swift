// One import gives server authors the identity, requirements and MCP types they use.
@_exported public import EdgeAuth
@_exported public import EdgeAuthHTTP
@_exported public import MCP
import EdgeAuthCache
import Foundation
import Logging
import Synchronization

/// An MCP server whose tools, resources and prompts know who calls them.
///
/// ```swift
/// let server = MCPServer(name: "notes", version: "1.0.0", auth: .auth0(domain: "example.eu.auth0.com", audience: "https://notes.example.com/mcp"))
/// server.tool("whoami", description: "Who am I?") { _, context in
///     .text("You are \(context.auth.name ?? context.auth.id)")
/// }
/// server.tool("delete_note", requires: .permission("notes:delete")) { arguments, context in … }
/// try await server.run()
/// ```
///
/// Every request is answered from the request alone (no protocol session), so any worker
/// process answers any request (docs/mcp-tools.md).
public final class MCPServer: Sendable {
    public struct Options: Sendable {
        /// Leave out of `tools/list`, `resources/list` and `prompts/list` what the caller's
        /// roles, permissions and checks do not allow. Items that only lack scopes stay
        /// listed: the client can obtain those scopes (step-up) and call them.
        public var hideUnauthorizedItems = true
        /// Where `context.userData` keeps its values (nil: tools that use it get an error).
        public var dataDirectory: String?
        /// A granted scope also grants the scopes below it (`notes` grants `notes:read`).
        public var scopeHierarchy = false
        /// Text the server sends clients at initialization.
        public var instructions: String?

        public init() {}
    }

    public let name: String
    public let version: String
    public let auth: MCPAuth
    public let options: Options
    let registry = Mutex(Registry())

    public init(name: String, version: String, auth: MCPAuth = .development(), options: Options = Options()) {
        self.name = name
        self.version = version
        self.auth = auth
        self.options = options
    }

    // MARK: Registration

    /// Registers a tool. `inputSchema` is a JSON Schema object; arguments are checked against
    /// it before `handler` runs. `requires` is what the caller needs besides a valid token.
    /// `exposesToken`: the handler's context carries the raw access token (for calling
    /// downstream APIs on the user's behalf); no other handler ever sees it.
    public func tool(_ name: String, title: String? = nil, description: String? = nil, inputSchema: [String: Value] = ["type": "object"],
                     requires: Requirement = .authenticated, annotations: Tool.Annotations = nil, exposesToken: Bool = false,
                     _ handler: @escaping ToolHandler) {
        root.tool(name, title: title, description: description, inputSchema: inputSchema, requires: requires,
                  annotations: annotations, exposesToken: exposesToken, handler)
    }

    /// Registers a resource at a fixed URI.
    public func resource(_ uri: String, name: String, description: String? = nil, mimeType: String? = nil,
                         requires: Requirement = .authenticated, _ handler: @escaping ResourceHandler) {
        root.resource(uri, name: name, description: description, mimeType: mimeType, requires: requires, handler)
    }

    /// Registers a prompt.
    public func prompt(_ name: String, description: String? = nil, arguments: [Prompt.Argument] = [],
                       requires: Requirement = .authenticated, _ handler: @escaping PromptHandler) {
        root.prompt(name, description: description, arguments: arguments, requires: requires, handler)
    }

    /// A group whose items all need `requires` and pass `policy` (besides their own requirement).
    public func group(requires: Requirement = .authenticated, policy: AccessPolicy? = nil) -> MCPGroup {
        root.group(requires: requires, policy: policy)
    }

    /// A server-wide policy, consulted for every tool call, resource read and prompt, after
    /// the item's own requirement.
    public func use(_ policy: @escaping AccessPolicy) {
        registry.withLock { $0.policies.append(policy) }
    }

    /// Receives every decision on a call (the default writes one audit log line each).
    public func onDecision(_ audit: @escaping @Sendable (AuditEvent) -> Void) {
        registry.withLock { $0.audit = audit }
    }

    /// Every scope the server's items name, in registration order: the `scopes_supported` a
    /// client should ask for (R1), when the configuration does not list them itself.
    public var scopesNamed: [String] {
        let registry = catalogue
        var scopes = [String]()
        let requirements = registry.toolOrder.compactMap { registry.tools[$0]?.requirement }
            + registry.resourceOrder.compactMap { registry.resources[$0]?.requirement }
            + registry.promptOrder.compactMap { registry.prompts[$0]?.requirement }
        for requirement in requirements {
            for scope in requirement.scopesNamed where !scopes.contains(scope) { scopes.append(scope) }
        }
        return scopes
    }

    /// `configuration` with `scopesSupported` filled from the server's items when it is empty.
    public func advertisingScopes(_ configuration: ServerConfiguration) -> ServerConfiguration {
        guard configuration.scopesSupported.isEmpty else { return configuration }
        var advertised = configuration
        advertised.scopesSupported = configuration.requiredScopes
        for scope in scopesNamed where !advertised.scopesSupported.contains(scope) { advertised.scopesSupported.append(scope) }
        return advertised
    }

    private var root: MCPGroup { MCPGroup(server: self, requirement: .authenticated, policies: []) }

    /// The server's catalogue as it is now; what `MCPHandler` serves.
    var catalogue: Registry { registry.withLock { $0 } }
}

/// Tools, resources and prompts that share a requirement and policies: the reusable
/// authorization middleware (`server.group(requires: .role("admin"))`).
public struct MCPGroup: Sendable {
    let server: MCPServer
    let requirement: Requirement
    let policies: [AccessPolicy]

    public func tool(_ name: String, title: String? = nil, description: String? = nil, inputSchema: [String: Value] = ["type": "object"],
                     requires: Requirement = .authenticated, annotations: Tool.Annotations = nil, exposesToken: Bool = false,
                     _ handler: @escaping ToolHandler) {
        let definition = Tool(name: name, title: title, description: description, inputSchema: .object(inputSchema), annotations: annotations)
        let entry = Registry.ToolEntry(definition: definition, requirement: combined(requires), policies: policies,
                                       schema: ArgumentSchema(inputSchema), exposesToken: exposesToken, handler: handler)
        server.registry.withLock { registry in
            precondition(registry.tools[name] == nil, "tool \(name) is registered twice")
            registry.tools[name] = entry
            registry.toolOrder.append(name)
        }
    }

    public func resource(_ uri: String, name: String, description: String? = nil, mimeType: String? = nil,
                         requires: Requirement = .authenticated, _ handler: @escaping ResourceHandler) {
        let entry = Registry.ResourceEntry(definition: Resource(name: name, uri: uri, description: description, mimeType: mimeType),
                                           requirement: combined(requires), policies: policies, handler: handler)
        server.registry.withLock { registry in
            precondition(registry.resources[uri] == nil, "resource \(uri) is registered twice")
            registry.resources[uri] = entry
            registry.resourceOrder.append(uri)
        }
    }

    public func prompt(_ name: String, description: String? = nil, arguments: [Prompt.Argument] = [],
                       requires: Requirement = .authenticated, _ handler: @escaping PromptHandler) {
        let entry = Registry.PromptEntry(definition: Prompt(name: name, description: description, arguments: arguments.isEmpty ? nil : arguments),
                                         requirement: combined(requires), policies: policies, handler: handler)
        server.registry.withLock { registry in
            precondition(registry.prompts[name] == nil, "prompt \(name) is registered twice")
            registry.prompts[name] = entry
            registry.promptOrder.append(name)
        }
    }

    /// A group inside this one: it needs this group's requirement and policies too.
    public func group(requires: Requirement = .authenticated, policy: AccessPolicy? = nil) -> MCPGroup {
        MCPGroup(server: server, requirement: combined(requires), policies: policies + (policy.map { [$0] } ?? []))
    }

    private func combined(_ requires: Requirement) -> Requirement {
        if case .allOf(let parts) = requirement, parts.isEmpty { return requires }
        return requirement && requires
    }
}

// MARK: Handlers and their context

public typealias ToolHandler = @Sendable (ToolArguments, MCPContext) async throws -> ToolResult
public typealias ResourceHandler = @Sendable (MCPContext) async throws -> [Resource.Content]
public typealias PromptHandler = @Sendable (ToolArguments, MCPContext) async throws -> [Prompt.Message]
/// A policy: allow, or deny with a message the caller sees.
public typealias AccessPolicy = @Sendable (Invocation, MCPContext) async -> PolicyDecision

public enum PolicyDecision: Sendable, Equatable {
    case allow
    case deny(String)
}

/// What is being called.
public struct Invocation: Sendable {
    public enum Kind: String, Sendable { case tool, resource, prompt }
    public let kind: Kind
    /// The tool or prompt name, or the resource URI.
    public let name: String
    public let arguments: ToolArguments
}

/// One decision on a call, for the audit log.
public struct AuditEvent: Sendable {
    public let invocation: Invocation
    /// The verified user (`sub`) and issuer.
    public let user: String
    public let issuer: String
    public let requestID: String
    /// nil when allowed; otherwise why not.
    public let denial: String?
}

/// What a handler knows about its call.
public struct MCPContext: Sendable {
    /// The verified caller.
    public let auth: Identity
    /// The request's id in logs and in the `X-Request-Id` response header.
    public let requestID: String
    /// The raw access token, only for tools registered with `exposesToken: true`.
    public let accessToken: String?
    /// Values this user's calls keep, shared by every worker; keyed by the verified user.
    public let userData: UserData
}

/// A tool's arguments, with typed access.
public struct ToolArguments: Sendable {
    public let values: [String: Value]

    public init(_ values: [String: Value] = [:]) { self.values = values }

    public subscript(name: String) -> Value? { values[name] }

    /// The string argument `name` (present and a string, else `ToolError`).
    public func string(_ name: String) throws -> String {
        guard let value = values[name]?.stringValue else { throw ToolError("argument \"\(name)\" must be a string") }
        return value
    }

    /// The integer argument `name` (an integral number such as `3.0` counts, as in JSON Schema).
    public func int(_ name: String) throws -> Int {
        switch values[name] {
        case .int(let value)?: return value
        case .double(let value)? where value.rounded() == value && abs(value) < 9.0e15: return Int(value)
        default: throw ToolError("argument \"\(name)\" must be an integer")
        }
    }

    public func bool(_ name: String) throws -> Bool {
        guard let value = values[name]?.boolValue else { throw ToolError("argument \"\(name)\" must be a boolean") }
        return value
    }

    public func double(_ name: String) throws -> Double {
        switch values[name] {
        case .double(let value)?: return value
        case .int(let value)?: return Double(value)
        default: throw ToolError("argument \"\(name)\" must be a number")
        }
    }
}

/// An error a tool reports to its caller (as a tool result with `isError`); its message is shown.
/// Any other error thrown by a handler is logged and answered with a generic message.
public struct ToolError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What a tool answers.
public struct ToolResult: Sendable {
    public var content: [Tool.Content]
    public var structuredContent: Value?
    public var isError: Bool

    public init(content: [Tool.Content], structuredContent: Value? = nil, isError: Bool = false) {
        self.content = content
        self.structuredContent = structuredContent
        self.isError = isError
    }

    public static func text(_ text: String) -> ToolResult {
        ToolResult(content: [.text(text: text, annotations: nil, _meta: nil)])
    }

    /// Structured content, with `text` (or the JSON itself) as text content for older clients.
    public static func structured(_ value: [String: Value], text: String? = nil) -> ToolResult {
        ToolResult(content: [.text(text: text ?? Value.object(value).compactJSON, annotations: nil, _meta: nil)], structuredContent: .object(value))
    }

    public static func error(_ message: String) -> ToolResult {
        ToolResult(content: [.text(text: message, annotations: nil, _meta: nil)], isError: true)
    }
}

/// Per-user values kept by tools, shared by every worker process. The key is the verified
/// issuer and subject: a tool cannot read or write another user's values through it.
public struct UserData: Sendable {
    let store: UserDataStore?
    let user: String

    public func get(_ name: String) throws -> Data? {
        try openStore().value(user: user, name: name).map { Data($0) }
    }

    /// Reads, changes (nil deletes) and writes back `name` atomically across workers.
    public func update<R>(_ name: String, _ body: (inout Data?) throws -> R) throws -> R {
        try openStore().update(user: user, name: name) { (bytes: inout [UInt8]?) throws -> R in
            var data = bytes.map { Data($0) }
            let result = try body(&data)
            bytes = data.map { Array($0) }
            return result
        }
    }

    /// The JSON value under `name`, decoded, or nil.
    public func decode<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T? {
        try get(name).map { try JSONDecoder().decode(T.self, from: $0) }
    }

    /// Changes the JSON value under `name` (starting from `initial` when absent) atomically.
    public func modify<T: Codable, R>(_ name: String, initial: T, _ body: (inout T) throws -> R) throws -> R {
        try update(name) { data in
            var value = try data.map { try JSONDecoder().decode(T.self, from: $0) } ?? initial
            let result = try body(&value)
            data = try JSONEncoder().encode(value)
            return result
        }
    }

    private func openStore() throws -> UserDataStore {
        guard let store else { throw ToolError("this server keeps no user data (no data directory is configured)") }
        return store
    }
}

// MARK: Registry

struct Registry: Sendable {
    struct ToolEntry: Sendable {
        let definition: Tool
        let requirement: Requirement
        let policies: [AccessPolicy]
        let schema: ArgumentSchema
        let exposesToken: Bool
        let handler: ToolHandler
    }

    struct ResourceEntry: Sendable {
        let definition: Resource
        let requirement: Requirement
        let policies: [AccessPolicy]
        let handler: ResourceHandler
    }

    struct PromptEntry: Sendable {
        let definition: Prompt
        let requirement: Requirement
        let policies: [AccessPolicy]
        let handler: PromptHandler
    }

    var tools: [String: ToolEntry] = [:]
    var toolOrder: [String] = []
    var resources: [String: ResourceEntry] = [:]
    var resourceOrder: [String] = []
    var prompts: [String: PromptEntry] = [:]
    var promptOrder: [String] = []
    var policies: [AccessPolicy] = []
    var audit: @Sendable (AuditEvent) -> Void = Registry.logAudit

    static let auditLogger = Logger(label: "edgeauth.mcp.audit")

    /// One line per decision: who, what, allowed or why not (never the token or arguments).
    static func logAudit(_ event: AuditEvent) {
        var metadata: Logger.Metadata = [
            "user": "\(event.user)", "issuer": "\(event.issuer)", event.invocation.kind.rawValue: "\(event.invocation.name)",
            "decision": "\(event.denial == nil ? "allow" : "deny")", "request_id": "\(event.requestID)",
        ]
        if let denial = event.denial { metadata["reason"] = "\(denial)" }
        auditLogger.info("\(event.invocation.kind.rawValue) \(event.denial == nil ? "allowed" : "denied")", metadata: metadata)
    }
}

extension Value {
    /// The value as compact JSON text.
    var compactJSON: String {
        var out = ""
        ResultWriter.write(self, to: &out)
        return out
    }
}
