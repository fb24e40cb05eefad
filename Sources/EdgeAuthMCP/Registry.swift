import EdgeAuth
import Logging
import MCP

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
