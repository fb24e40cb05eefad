/// A decoded JSON value, for everything off the hot path: configuration,
/// JWK documents, and claims a caller asks for by name.
public enum JSONValue: Sendable, Hashable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    /// The number's exact JSON text (so large integers and decimals lose nothing).
    case number(String)
    case bool(Bool)
    case null

    /// Parses a complete document with the same strict rules as the token scanner
    /// (UTF-8, duplicate names, depth and member limits).
    /// - Throws: `Malformation` describing the first problem.
    public static func parse(_ bytes: some Collection<UInt8>, limits: JSONLimits = JSONLimits(maxDepth: 32, maxMembers: 100_000)) throws(Malformation) -> JSONValue {
        // Offsets are 32-bit (`JSONSlice`).
        guard bytes.count <= Int(UInt32.max) else { throw .invalidJSON }
        let copy = Array(bytes)
        let result: Result<JSONValue, Malformation> = unsafe copy.withUnsafeBytes { doc in
            Result { () throws(Malformation) in
                try unsafe validate(doc, limits: limits)
                var reader = unsafe ValidatedReader(doc: doc, pos: 0)
                return unsafe build(doc, reader.value())
            }
        }
        return try result.get()
    }

    /// Parses a document from text.
    public static func parse(_ text: String, limits: JSONLimits = JSONLimits(maxDepth: 32, maxMembers: 100_000)) throws(Malformation) -> JSONValue {
        try parse(Array(text.utf8), limits: limits)
    }

    static func validate(_ doc: UnsafeRawBufferPointer, limits: JSONLimits) throws(Malformation) {
        let names = UnsafeMutableBufferPointer<MemberName>.allocate(capacity: max(limits.maxMembers, 1))
        defer { unsafe names.deallocate() }
        var scanner = unsafe JSONScanner(doc: doc, limits: limits, names: names)
        unsafe scanner.skipWhitespace()
        guard unsafe scanner.pos < doc.count else { throw .invalidJSON }
        _ = try unsafe scanner.scanValue(depth: 0)
        unsafe scanner.skipWhitespace()
        if unsafe scanner.pos != doc.count { throw .invalidJSON }
    }

    /// Builds a value from a slice of a validated document.
    package static func build(_ doc: UnsafeRawBufferPointer, _ slice: JSONSlice) -> JSONValue {
        switch slice.kind {
        case .string:
            return unsafe .string(JSONText.string(doc, slice))
        case .number:
            return unsafe .number(String(decoding: UnsafeRawBufferPointer(rebasing: doc[slice.start..<slice.end]), as: UTF8.self))
        case .bool:
            return unsafe .bool(doc[slice.start] == UInt8(ascii: "t"))
        case .null:
            return .null
        case .array:
            var items = [JSONValue]()
            unsafe JSONText.forEachElement(doc, slice) { element in
                unsafe items.append(build(doc, element))
                return true
            }
            return .array(items)
        case .object:
            var members = [String: JSONValue]()
            unsafe JSONText.forEachMember(doc, slice) { name, value in
                unsafe members[JSONText.string(doc, name)] = unsafe build(doc, value)
                return true
            }
            return .object(members)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The number as a Double, if this is a number.
    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// Strings of an array of strings (non-strings skipped), or a single string as one element.
    public var stringsValue: [String]? {
        switch self {
        case .string(let s): return [s]
        case .array(let items): return items.compactMap(\.stringValue)
        default: return nil
        }
    }

    /// Canonical compact JSON text: object members sorted by name, so output is reproducible.
    public var jsonText: String {
        var out = ""
        out.reserveCapacity(256)
        write(to: &out, indent: nil, level: 0)
        return out
    }

    /// Human-readable JSON text with two-space indentation, members sorted by name.
    public var prettyJSONText: String {
        var out = ""
        write(to: &out, indent: "  ", level: 0)
        return out
    }

    private func write(to out: inout String, indent: String?, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                if let indent { out += "\n" + String(repeating: indent, count: level + 1) }
                item.write(to: &out, indent: indent, level: level + 1)
            }
            if let indent { out += "\n" + String(repeating: indent, count: level) }
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                if let indent { out += "\n" + String(repeating: indent, count: level + 1) }
                JSONValue.writeString(key, to: &out)
                out += indent == nil ? ":" : ": "
                members[key]!.write(to: &out, indent: indent, level: level + 1)
            }
            if let indent { out += "\n" + String(repeating: indent, count: level) }
            out += "}"
        }
    }

    /// Appends `s` as a JSON string literal.
    public static func writeString(_ s: String, to out: inout String) {
        out += "\""
        // Most strings need no escape: append them whole, scanning their UTF-8 bytes once.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
        } else {
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByIntegerLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(integerLiteral value: Int64) { self = .number(String(value)) }
}
