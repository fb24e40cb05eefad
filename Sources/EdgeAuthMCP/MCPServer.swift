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
