/// `provider`: `{"name": "auth0", "domain": …, …}`. The members are the settings of the
/// named provider (`ProviderSetup.settings`); each provider's variable
/// (`EDGEAUTH_AUTH0_AUDIENCE`, …) overrides its member.
extension ProviderSetup {
    /// The provider of the document; nil when it names none.
    static func read(in root: inout ConfigurationReader) throws(ConfigurationError) -> ProviderSetup? {
        let names = settings.keys.sorted().joined(separator: ", ")
        return try root.section("provider", expected: "provider settings with \"name\": one of \(names)") { (section) throws(ConfigurationError) -> ProviderSetup? in
            guard section.isPresent else { return nil }
            let nameValue = section.value("name")
            guard case .string(let name)? = nameValue, let keys = settings[name] else {
                let got = nameValue.map { "\(section.path(of: "name")) is \(ConfigurationReader.show($0))" } ?? "\(section.path(of: "name")) is missing"
                throw ConfigurationError("provider must be an object with \"name\": one of \(names) (\(got))")
            }
            var given = [String: JSONValue]()
            for key in keys {
                given[key] = section.value(key, variable: variables(provider: name, setting: key).first)
            }
            try section.finish()
            let members = given
            let environment = section.environment
            let place = section.path
            let source = SettingSource(
                value: { (key) throws(ConfigurationError) -> String? in
                    // The provider's variable overrides the member.
                    if let variable = variables(provider: name, setting: key).first(where: { environment[$0] != nil }) {
                        if key == "jwtSecretEnv" { return variable }  // the variable's name, never its value
                        let value = environment[variable]!.trimmingCharacters(in: .whitespacesAndNewlines)
                        guard !value.isEmpty else { throw ConfigurationError("\(variable) is set but empty") }
                        return value
                    }
                    switch members[key] {
                    case nil: return nil
                    case .string(let text)?: return text
                    // A list (allowedRoles, the custom provider's claims) is passed the way the environment spells it.
                    case .array(let items)? where items.allSatisfy({ $0.stringValue != nil }):
                        return items.compactMap(\.stringValue).joined(separator: ",")
                    case let other?:
                        throw ConfigurationError("\(place).\(key) must be a string (got \(ConfigurationReader.show(other)))")
                    }
                },
                describe: { key in
                    variables(provider: name, setting: key).first { environment[$0] != nil } ?? "\(place).\(key)"
                }
            )
            return try fromSettings(provider: name, source)
        }
    }
}
