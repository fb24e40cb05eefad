/// An entry of `keys`: an object with exactly one source member (and `kid` for the sources
/// of a single key).
extension KeySource {
    /// The source members, each with an example value.
    static let configurationMembers: [(name: String, example: String)] = [
        ("jwks", "{\"keys\": [...]}"), ("jwksFile", "/etc/edgeauth/jwks.json"), ("jwksURL", "https://login.example.com/.well-known/jwks.json"),
        ("pemFile", "/etc/edgeauth/key.pem"), ("hmacSecretFile", "/run/secrets/hmac"), ("hmacSecretEnv", "EDGEAUTH_HMAC_SECRET"),
    ]
    /// Sources of one key, which may name its `kid`.
    static let singleKeyMembers: Set = ["pemFile", "hmacSecretFile", "hmacSecretEnv"]

    static var expected: String { "one of: \(configurationMembers.map(\.name).joined(separator: ", "))" }

    static func read(from entry: inout ConfigurationReader) throws(ConfigurationError) -> KeySource {
        var given = [(name: String, value: JSONValue)]()
        for (name, _) in configurationMembers {
            if let value = entry.value(name) { given.append((name, value)) }
        }
        guard given.count == 1, let only = given.first else {
            if given.isEmpty {
                _ = entry.value("kid")
                try entry.finish()  // a misspelt source says so
            }
            throw ConfigurationError("\(entry.path) must have exactly one of: \(configurationMembers.map(\.name).joined(separator: ", "))")
        }
        let (source, value) = (only.name, only.value)
        let kid = try singleKeyMembers.contains(source) ? entry.string("kid", example: "\"key-1\"") : nil
        try entry.finish()
        if source == "jwks" {
            switch value {
            case .object: return .jwks(value.jsonText)
            case .string(let text):
                do {
                    _ = try JSONValue.parse(text)
                    return .jwks(text)
                } catch {
                    throw entry.error("jwks", "is not valid JSON: \(error.explanation)")
                }
            default: throw entry.error("jwks", "must be a JWKS object ({\"keys\": [...]}) or its JSON text")
            }
        }
        guard case .string(let text) = value, !text.isEmpty else {
            let example = configurationMembers.first { $0.name == source }?.example ?? ""
            throw entry.error(source, "must be a non-empty string, like \(example)")
        }
        switch source {
        case "jwksFile": return .jwksFile(text)
        case "jwksURL": return .jwksURL(text)
        case "pemFile": return .pemFile(text, kid: kid)
        case "hmacSecretFile": return .hmacSecretFile(text, kid: kid)
        default: return .hmacSecretEnvironment(text, kid: kid)
        }
    }
}
