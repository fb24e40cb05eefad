/// A section of the configuration document that a component reads for itself (`server`;
/// later `oauth`, `gateway`, `inspector`). Adding one is a local change: the type declares
/// its members in `read(from:)`, and the component that uses it reads it next to the
/// verifier's members (`VerifierConfiguration.load(file:environment:sections:)`); the other
/// sections do not change. A document's member that no section declared is refused.
public protocol ConfigurationSection {
    /// The member of the enclosing object the section is read from (`server`, `limits`).
    static var member: String { get }
    /// What the object holds, for the message when the member is not an object.
    static var expected: String { get }
    /// Replaces the values its members (or their variables) set; the others keep theirs
    /// (the values given in code, or the defaults). Declares every member it reads.
    mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError)
}

extension ConfigurationSection {
    public static var expected: String { "members" }

    /// The section read from `document`, its members replacing those of `base`.
    /// - Parameter document: the section's object (nil: not given, so only the variables apply).
    public static func read(_ document: JSONValue?, base: Self, environment: [String: String] = [:]) throws(ConfigurationError) -> Self {
        var root = try ConfigurationReader(document: .object(document.map { [member: $0] } ?? [:]), environment: environment)
        var value = base
        try root.section(into: &value)
        return value
    }
}

extension ConfigurationSection {
    /// The members the section declares (read with no members, so every nested section is
    /// read too), with their variables.
    public static func declaredMembers(base: Self) -> [ConfigurationCatalog.Member] {
        let catalog = ConfigurationCatalog()
        guard var root = try? ConfigurationReader(document: .object([:]), catalog: catalog) else { return [] }
        var value = base
        try? root.section(into: &value)
        return catalog.members
    }
}
