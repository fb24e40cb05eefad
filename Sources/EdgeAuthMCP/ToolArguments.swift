import MCP

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
