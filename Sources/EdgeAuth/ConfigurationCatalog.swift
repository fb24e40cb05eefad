/// Every member a read declared, with its type, default and variable (the first declaration
/// of each path): what `VerifierConfiguration.environmentOverrides`
/// lists, and what the test of docs/configuration.md checks is documented. Element paths
/// are recorded as `keys[].kid`.
public final class ConfigurationCatalog {
    public struct Member: Sendable, Hashable {
        /// `server.limits.maxBodyBytes`; array elements as `keys[].kid`.
        public var path: String
        /// The type and range: `integer 0...600 seconds`, `string`, `boolean`, `object`.
        public var type: String
        /// The value when the member is absent (nil: none, or computed).
        public var defaultValue: String?
        public var variable: String?
    }

    public private(set) var members: [Member] = []

    public init() {}

    func record(_ declared: Member) {
        let path = declared.path
        // `keys[2].kid` → `keys[].kid`
        var general = ""
        var inIndex = false
        for character in path {
            if character == "[" { inIndex = true; general += "[]" } else if character == "]" { inIndex = false } else if !inIndex { general.append(character) }
        }
        var member = declared
        member.path = general
        if !members.contains(where: { $0.path == member.path }) { members.append(member) }
    }
}
