import EdgeAuth
import MCP

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
