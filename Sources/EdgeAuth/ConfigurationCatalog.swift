/// Every member a read declared, with its variable: what `VerifierConfiguration.environmentOverrides`
/// lists, and what the test of docs/configuration.md checks is documented. Element paths
/// are recorded as `keys[].kid`.
public final class ConfigurationCatalog {
    public struct Member: Sendable, Hashable {
        public var path: String
        public var variable: String?
    }

    public private(set) var members: [Member] = []

    public init() {}

    func record(_ path: String, variable: String?) {
        // `keys[2].kid` → `keys[].kid`
        var general = ""
        var inIndex = false
        for character in path {
            if character == "[" { inIndex = true; general += "[]" } else if character == "]" { inIndex = false } else if !inIndex { general.append(character) }
        }
        let member = Member(path: general, variable: variable)
        if !members.contains(member) { members.append(member) }
    }
}
