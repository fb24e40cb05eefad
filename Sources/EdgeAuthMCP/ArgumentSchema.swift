import MCP

/// Checks tool arguments against the tool's input schema before its handler runs, so a
/// handler never sees a wrong type. The JSON Schema keywords tools use for arguments:
/// `type` (one or a list), `properties`, `required`, `additionalProperties` (boolean or
/// schema), `items`, `enum`, `const`, `minLength`/`maxLength`, `minimum`/`maximum`,
/// `minItems`/`maxItems`. Other keywords are not checked.
struct ArgumentSchema: Sendable {
    let schema: [String: Value]

    init(_ schema: [String: Value]) { self.schema = schema }

    /// The first problem found (with the path of the offending value), or nil.
    func problem(with arguments: [String: Value]) -> String? {
        Self.problem(.object(arguments), schema, path: "arguments")
    }

    private static func problem(_ value: Value, _ schema: [String: Value], path: String) -> String? {
        if let types = schema["type"] {
            let names = types.arrayValue?.compactMap(\.stringValue) ?? types.stringValue.map { [$0] } ?? []
            if !names.isEmpty, !names.contains(where: { matches(value, type: $0) }) {
                return "\(path) must be \(names.joined(separator: " or ")), not \(typeName(value))"
            }
        }
        if case .double(let number) = value, !number.isFinite { return "\(path) is out of range" }
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(where: { equal($0, value) }) {
            return "\(path) must be one of \(Value.array(allowed).compactJSON)"
        }
        if let constant = schema["const"], !equal(constant, value) { return "\(path) must be \(constant.compactJSON)" }
        switch value {
        case .string(let text):
            let length = text.count
            if let minimum = schema["minLength"]?.intValue, length < minimum { return "\(path) must have at least \(minimum) characters" }
            if let maximum = schema["maxLength"]?.intValue, length > maximum { return "\(path) must have at most \(maximum) characters" }
        case .int, .double:
            let number = numeric(value) ?? 0
            if let minimum = schema["minimum"].flatMap(numeric), number < minimum { return "\(path) must be at least \(schema["minimum"]!.compactJSON)" }
            if let maximum = schema["maximum"].flatMap(numeric), number > maximum { return "\(path) must be at most \(schema["maximum"]!.compactJSON)" }
        case .array(let items):
            if let minimum = schema["minItems"]?.intValue, items.count < minimum { return "\(path) must have at least \(minimum) items" }
            if let maximum = schema["maxItems"]?.intValue, items.count > maximum { return "\(path) must have at most \(maximum) items" }
            if let itemSchema = schema["items"]?.objectValue {
                for (index, item) in items.enumerated() {
                    if let problem = problem(item, itemSchema, path: "\(path)[\(index)]") { return problem }
                }
            }
        case .object(let members):
            let properties = schema["properties"]?.objectValue ?? [:]
            for name in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
                return "\(path).\(name) is required"
            }
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let memberSchema = properties[name]?.objectValue {
                    if let problem = problem(member, memberSchema, path: "\(path).\(name)") { return problem }
                } else if case .bool(false)? = schema["additionalProperties"] {
                    return "\(path).\(name) is not a known argument"
                } else if let extra = schema["additionalProperties"]?.objectValue, let problem = problem(member, extra, path: "\(path).\(name)") {
                    return problem
                }
            }
        default:
            break
        }
        return nil
    }

    private static func matches(_ value: Value, type: String) -> Bool {
        switch (type, value) {
        case ("string", .string), ("string", .data), ("boolean", .bool), ("null", .null), ("array", .array), ("object", .object): true
        case ("number", .int), ("number", .double), ("integer", .int): true
        case ("integer", .double(let number)): number.isFinite && number.rounded() == number
        default: false
        }
    }

    private static func typeName(_ value: Value) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .int: "an integer"
        case .double: "a number"
        case .string, .data: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    private static func numeric(_ value: Value) -> Double? {
        switch value {
        case .int(let number): Double(number)
        case .double(let number): number
        default: nil
        }
    }

    private static func equal(_ a: Value, _ b: Value) -> Bool {
        if let x = numeric(a), let y = numeric(b) { return x == y }
        return a == b
    }
}
