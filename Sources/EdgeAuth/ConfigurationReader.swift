import Foundation

/// A strict reader of one object of a configuration document (the document itself, or a
/// section such as `server.limits` or `keys[2]`).
///
/// Every member is declared once, where it is read, with its type, default, allowed range
/// and, when it has one, the environment variable that overrides it:
///
///     let leeway = try section.integer("leeway", default: 30, in: 0...600, unit: .seconds, environment: "EDGEAUTH_LEEWAY")
///
/// A variable wins over the file's member and is checked with the same bounds; a bad value
/// names the variable. Once a section's members are declared, `finish()` refuses the members
/// nobody declared, with their path and the declared names. Every error names the member's
/// path (`server.limits.maxBodyBytes`, `keys[2].kid`) and what a valid value looks like.
/// docs/configuration.md states the rules for users.
public struct ConfigurationReader {
    /// The section's path: empty for the document, `server.limits`, `keys[2]`.
    public let path: String
    /// The variables that override members (none for the C library).
    public let environment: [String: String]
    /// Whether the section is in the document. An absent section is still read: its
    /// members take their defaults or their variables.
    public let isPresent: Bool
    private let members: [String: JSONValue]
    /// The members declared so far, in declaration order.
    public private(set) var declared: [String] = []
    /// Set by a section that supplies the trusted issuer and keys itself (proxy mode's
    /// `oauth`): the verifier's `issuers` and `keys` then become optional.
    public var issuerSuppliedBySection = false
    private let catalog: ConfigurationCatalog

    /// A reader of a whole document, which must be an object.
    /// - Parameter catalog: records every declaration (`ConfigurationCatalog`).
    public init(document: JSONValue, environment: [String: String] = [:], catalog: ConfigurationCatalog = ConfigurationCatalog()) throws(ConfigurationError) {
        guard case .object(let members) = document else {
            throw ConfigurationError("configuration must be a JSON object (a YAML mapping) of members, like {\"provider\": {…}} or provider: …")
        }
        self.init(path: "", members: members, present: true, environment: environment, catalog: catalog)
    }

    private init(path: String, members: [String: JSONValue], present: Bool, environment: [String: String], catalog: ConfigurationCatalog) {
        self.path = path
        self.members = members
        self.isPresent = present
        self.environment = environment
        self.catalog = catalog
    }

    /// How a number is counted, for messages and the documentation.
    public enum Unit: Sendable {
        case none, seconds, bytes

        var suffix: String {
            switch self {
            case .none: ""
            case .seconds: " seconds"
            case .bytes: " bytes"
            }
        }

        var wholeNumber: String {
            switch self {
            case .none: "a whole number"
            case .seconds: "a whole number of seconds"
            case .bytes: "a whole number of bytes"
            }
        }
    }

    // MARK: Names and errors

    /// The path of member `name` of this section.
    public func path(of name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// The path of element `index` of member `name` (`corsOrigins[1]`), or of the member
    /// when it is a single value rather than an array.
    public func path(of name: String, element index: Int) -> String {
        members[name]?.arrayValue == nil ? path(of: name) : "\(path(of: name))[\(index)]"
    }

    /// The section as messages name it.
    public var displayName: String { path.isEmpty ? "configuration" : path }

    /// Whether the document gives member `name` (declared or not).
    public func contains(_ name: String) -> Bool { members[name] != nil }

    /// The object's member names, sorted (for sections whose members are names of the user's, like tool names).
    public var memberNames: [String] { members.keys.sorted() }

    /// An error about member `name`: `"{path} {problem}"`.
    public func error(_ name: String, _ problem: String) -> ConfigurationError {
        ConfigurationError("\(path(of: name)) \(problem)")
    }

    // MARK: Declaring

    /// Declares member `name` and returns its value as written, for members with a shape of
    /// their own (the caller checks it, naming `path(of: name)`).
    /// - Parameters:
    ///   - type: the value's type and range as the catalog lists it (`integer 0...600 seconds`).
    ///   - defaultValue: the value when the member is absent, as the catalog lists it.
    public mutating func value(_ name: String, variable: String? = nil, type: String = "value", default defaultValue: String? = nil) -> JSONValue? {
        if !declared.contains(name) { declared.append(name) }
        catalog.record(ConfigurationCatalog.Member(path: path(of: name), type: type, defaultValue: defaultValue, variable: variable))
        return members[name]
    }

    /// The trimmed value of `variable`, when it is set.
    private func override(_ variable: String?) -> (name: String, raw: String, value: String)? {
        guard let variable, let raw = environment[variable] else { return nil }
        return (variable, raw, raw.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Refuses the members no read declared. Call it once every member is declared, before
    /// the checks that combine members (so a misspelt member is reported as such).
    public func finish() throws(ConfigurationError) {
        for name in members.keys.sorted() where !declared.contains(name) {
            throw ConfigurationError("\(displayName): unknown member \"\(name)\" (known: \(declared.sorted().joined(separator: ", ")))")
        }
    }

    // MARK: Scalars

    /// An integer member within `range`; `default` when neither the member nor `environment` is set.
    public mutating func integer<T: FixedWidthInteger>(
        _ name: String, default defaultValue: T, in range: ClosedRange<T>, unit: Unit = .none, environment variable: String? = nil
    ) throws(ConfigurationError) -> T {
        try readInteger(name, in: range, unit: unit, environment: variable, default: "\(defaultValue)") ?? defaultValue
    }

    /// An integer member within `range`; nil when neither the member nor `environment` is set.
    public mutating func integer<T: FixedWidthInteger>(
        _ name: String, in range: ClosedRange<T>, unit: Unit = .none, environment variable: String? = nil
    ) throws(ConfigurationError) -> T? {
        try readInteger(name, in: range, unit: unit, environment: variable, default: nil)
    }

    private mutating func readInteger<T: FixedWidthInteger>(
        _ name: String, in range: ClosedRange<T>, unit: Unit, environment variable: String?, default defaultValue: String?
    ) throws(ConfigurationError) -> T? {
        let given = value(name, variable: variable, type: "integer \(range.lowerBound)...\(range.upperBound)\(unit.suffix)", default: defaultValue)
        if let set = override(variable) {
            guard let number = T(set.value), range.contains(number) else {
                throw ConfigurationError("\(set.name) must be \(unit.wholeNumber) from \(range.lowerBound) to \(range.upperBound) (got \"\(set.raw)\"; it sets \(path(of: name)))")
            }
            return number
        }
        guard let given else { return nil }
        guard case .number(let text) = given, let number = T(text) else {
            throw error(name, "must be an integer between \(range.lowerBound) and \(range.upperBound)\(unit.suffix) (got \(Self.show(given)))")
        }
        guard range.contains(number) else {
            throw error(name, "must be between \(range.lowerBound) and \(range.upperBound)\(unit.suffix) (got \(number))")
        }
        return number
    }

    /// A number member (fractions allowed) within `range`.
    public mutating func number(
        _ name: String, default defaultValue: Double, in range: ClosedRange<Double>, unit: Unit = .none, environment variable: String? = nil
    ) throws(ConfigurationError) -> Double {
        let given = value(name, variable: variable, type: "number \(Self.show(range.lowerBound))...\(Self.show(range.upperBound))\(unit.suffix)",
                          default: Self.show(defaultValue))
        let bounds = "between \(Self.show(range.lowerBound)) and \(Self.show(range.upperBound))"
        let kind = unit == .none ? "a number" : "a number of\(unit.suffix)"
        if let set = override(variable) {
            guard let number = Double(set.value), number.isFinite, range.contains(number) else {
                throw ConfigurationError("\(set.name) must be \(kind) \(bounds) (got \"\(set.raw)\"; it sets \(path(of: name)))")
            }
            return number
        }
        guard let given else { return defaultValue }
        guard let number = given.doubleValue, range.contains(number) else {
            throw error(name, "must be \(kind) \(bounds) (got \(Self.show(given)))")
        }
        return number
    }

    /// A boolean member (`true`/`false`; the variable's value is case-insensitive).
    public mutating func bool(_ name: String, default defaultValue: Bool, environment variable: String? = nil) throws(ConfigurationError) -> Bool {
        let given = value(name, variable: variable, type: "boolean", default: "\(defaultValue)")
        if let set = override(variable) {
            guard let flag = ["true": true, "false": false][set.value.lowercased()] else {
                throw ConfigurationError("\(set.name) must be true or false (got \"\(set.raw)\"; it sets \(path(of: name)))")
            }
            return flag
        }
        guard let given else { return defaultValue }
        guard case .bool(let flag) = given else { throw error(name, "must be true or false (got \(Self.show(given)))") }
        return flag
    }

    /// A non-empty string member; nil when neither the member nor `environment` is set.
    /// - Parameter example: a valid value, shown when the value is not one.
    public mutating func string(_ name: String, example: String, environment variable: String? = nil) throws(ConfigurationError) -> String? {
        try readString(name, example: example, environment: variable, default: nil)
    }

    private mutating func readString(_ name: String, example: String, environment variable: String?, default defaultValue: String?) throws(ConfigurationError) -> String? {
        let given = value(name, variable: variable, type: "string", default: defaultValue)
        if let set = override(variable) {
            guard !set.value.isEmpty else { throw ConfigurationError("\(set.name) is set but empty (expected a value like \(example); it sets \(path(of: name)))") }
            return set.value
        }
        guard let given else { return nil }
        guard case .string(let text) = given, !text.isEmpty else {
            throw error(name, "must be a non-empty string, like \(example)")
        }
        return text
    }

    /// A non-empty string member with a default.
    public mutating func string(_ name: String, default defaultValue: String, example: String, environment variable: String? = nil) throws(ConfigurationError) -> String {
        try readString(name, example: example, environment: variable, default: defaultValue) ?? defaultValue
    }

    /// A string or an array of non-empty strings; nil when absent.
    /// - Parameter allowEmpty: whether `[]` is accepted.
    public mutating func strings(_ name: String, example: String, allowEmpty: Bool = true) throws(ConfigurationError) -> [String]? {
        guard let given = value(name, type: "strings") else { return nil }
        let list: [JSONValue]
        switch given {
        case .string: list = [given]
        case .array(let items): list = items
        default: throw error(name, "must be a string or an array of strings, like \(example)")
        }
        guard allowEmpty || !list.isEmpty else { throw error(name, "must not be empty: give at least one, like \(example)") }
        var out = [String]()
        for (index, item) in list.enumerated() {
            guard case .string(let text) = item, !text.isEmpty else {
                let place = path(of: name, element: index)
                throw ConfigurationError("\(place) must be a non-empty string (\(path(of: name)) holds non-empty strings, like \(example))")
            }
            out.append(text)
        }
        return out
    }

    // MARK: Sections

    /// The object member `name`, read by `read`, which declares its members; its unknown
    /// members are refused once `read` returns. An absent section is read too (with no
    /// members), so its defaults and variables apply: `isPresent` tells them apart.
    /// - Parameter expected: what the object holds, for the message when it is not one.
    public mutating func section<T>(
        _ name: String, expected: String = "members", _ read: (inout ConfigurationReader) throws(ConfigurationError) -> T
    ) throws(ConfigurationError) -> T {
        let given = value(name, type: "object")
        let members: [String: JSONValue]
        switch given {
        case nil: members = [:]
        case .object(let object)?: members = object
        default: throw error(name, "must be an object of \(expected) (got \(Self.show(given!)))")
        }
        var section = ConfigurationReader(path: path(of: name), members: members, present: given != nil, environment: environment, catalog: catalog)
        let result = try read(&section)
        try section.finish()
        return result
    }

    /// A section whose type reads itself: its members replace the values of `value`
    /// (those set in code, or the defaults), absent ones keep them.
    public mutating func section<S: ConfigurationSection>(into value: inout S) throws(ConfigurationError) {
        try section(S.member, expected: S.expected) { (section) throws(ConfigurationError) in try value.read(from: &section) }
    }

    /// An array of objects, each read by `read` with its index (`keys[2]`); nil when absent.
    public mutating func objects<T>(
        _ name: String, expected: String, _ read: (inout ConfigurationReader, Int) throws(ConfigurationError) -> T
    ) throws(ConfigurationError) -> [T]? {
        guard let given = value(name, type: "array of objects") else { return nil }
        guard case .array(let items) = given else { throw error(name, "must be an array of \(expected) (got \(Self.show(given)))") }
        var out = [T]()
        for (index, item) in items.enumerated() {
            let place = "\(path(of: name))[\(index)]"
            guard case .object(let members) = item else { throw ConfigurationError("\(place) must be an object with \(expected)") }
            var element = ConfigurationReader(path: place, members: members, present: true, environment: environment, catalog: catalog)
            out.append(try read(&element, index))
            try element.finish()
        }
        return out
    }

    // MARK: Showing values

    /// A value as a message quotes it: short, on one line.
    public static func show(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return "\"\(text.count > 40 ? String(text.prefix(40)) + "…" : text)\""
        case .number(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    static func show(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }
}
