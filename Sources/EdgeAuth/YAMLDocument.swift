import Yams

/// YAML configuration files, read into the JSON model the configuration parser checks.
enum YAMLDocument {
    /// Converts YAML text to JSON values: mappings with string keys, sequences, and
    /// scalars resolved by the YAML 1.1 core rules (`true`, `300`, `1.5`, `null`).
    /// Anchors and aliases are resolved by the parser; other tags are refused.
    static func json(_ text: String) throws(ConfigurationError) -> JSONValue {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError("configuration is not valid YAML: \(error)")
        }
        guard let root else { throw ConfigurationError("configuration is empty") }
        return try convert(root, path: "")
    }

    private static func convert(_ node: Node, path: String) throws(ConfigurationError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch node.tag.description {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: return .bool(node.bool ?? false)
            case Tag.Name.int.rawValue:
                // Decimal digits only: Yams reads YAML 1.1's other forms (base 60: `1:30`) with
                // arithmetic that traps on overflow.
                let digits = scalar.string.replacingOccurrences(of: "_", with: "")
                guard let value = Int64(digits.hasPrefix("+") ? String(digits.dropFirst()) : digits) else {
                    throw ConfigurationError("\(where_(path)) \(scalar.string) is not an integer EdgeAuth can read (decimal digits)")
                }
                return .number(String(value))
            case Tag.Name.float.rawValue:
                guard let value = node.float, value.isFinite else { throw ConfigurationError("\(where_(path)) \(scalar.string) is not a finite number") }
                return .number(String(value))
            default: return .string(scalar.string)
            }
        case .mapping(let mapping):
            var members = [String: JSONValue]()
            for (key, value) in mapping {
                guard case .scalar(let name) = key else { throw ConfigurationError("\(where_(path)) keys must be plain names") }
                let childPath = path.isEmpty ? name.string : path + "." + name.string
                guard members[name.string] == nil else { throw ConfigurationError("\(childPath) is given twice") }
                members[name.string] = try convert(value, path: childPath)
            }
            return .object(members)
        case .sequence(let sequence):
            var items = [JSONValue]()
            for (index, item) in sequence.enumerated() { items.append(try convert(item, path: "\(path)[\(index)]")) }
            return .array(items)
        }
    }

    private static func where_(_ path: String) -> String { path.isEmpty ? "configuration:" : "\(path):" }
}
