import EdgeAuthCore
import Foundation
import MCP

/// Writes the JSON-RPC answer of a tool call directly as text: Foundation's JSONEncoder
/// was the largest single cost of a `tools/call` round trip (docs/benchmarks.md, "MCP tools/call").
/// Content other than plain text goes through the SDK's own encoding.
enum ResultWriter {
    static func toolCall(id: ID, _ result: ToolResult) -> [UInt8] {
        var out = #"{"jsonrpc":"2.0","id":"#
        write(id, to: &out)
        out += #","result":{"content":["#
        for (index, item) in result.content.enumerated() {
            if index > 0 { out += "," }
            switch item {
            case .text(let text, nil, nil):
                out += #"{"type":"text","text":"#
                JSONValue.writeString(text, to: &out)
                out += "}"
            default:
                out += encoded(item)
            }
        }
        out += "]"
        if let structured = result.structuredContent {
            out += #","structuredContent":"#
            write(structured, to: &out)
        }
        if result.isError { out += #","isError":true"# }
        out += "}}"
        return Array(out.utf8)
    }

    static func write(_ id: ID, to out: inout String) {
        switch id {
        case .string(let text): JSONValue.writeString(text, to: &out)
        case .number(let number): out += String(number)
        }
    }

    static func write(_ value: Value, to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .int(let number): out += String(number)
        case .double(let number): out += number.isFinite ? "\(number)" : "null"
        case .string(let text): JSONValue.writeString(text, to: &out)
        case .data: out += encoded(value)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                write(item, to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            var first = true
            for (name, member) in members {
                if !first { out += "," }
                first = false
                JSONValue.writeString(name, to: &out)
                out += ":"
                write(member, to: &out)
            }
            out += "}"
        }
    }

    private static func encoded<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
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
