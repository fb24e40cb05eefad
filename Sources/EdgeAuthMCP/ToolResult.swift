import MCP

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
