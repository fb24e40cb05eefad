/// The members a verifier configuration declares, listed by reading documents that give
/// every section: the source of `environmentOverrides` and of the documentation check.
extension VerifierConfiguration {
    /// The variables that override members, for deployments that keep one file and vary a
    /// few values, as the members' declarations name them. (Provider settings are overridden
    /// by the provider's own variables, `ProviderSetup`.)
    public static var environmentOverrides: [(variable: String, member: String)] {
        catalog().members.compactMap { member in member.variable.map { ($0, member.path) } }.filter { !$0.member.hasPrefix("provider.") }
    }

    /// Every member a configuration declares, with its variable: read from a document that
    /// gives every section (a `provider` of each kind, a key source of each kind).
    /// - Parameter sections: as for `load(file:environment:sections:)`; they are read absent,
    ///   which declares every member of theirs (nested sections included).
    package static func catalog(sections: (inout ConfigurationReader) throws(ConfigurationError) -> Void = { _ in }) -> ConfigurationCatalog {
        let catalog = ConfigurationCatalog()
        let keys: [JSONValue] = [
            ["jwks": ["keys": []]], ["jwksFile": "/k.json"], ["jwksURL": "https://login.example.com/jwks"],
            ["pemFile": "/k.pem", "kid": "k"], ["hmacSecretFile": "/s", "kid": "k"], ["hmacSecretEnv": "SECRET", "kid": "k"],
        ]
        let base: [String: JSONValue] = [
            "issuers": "https://login.example.com/", "audiences": "api", "algorithms": ["ES256"], "maxAge": 60,
            "keys": .array(keys), "cache": ["directory": "/tmp/edgeauth-catalog"], "limits": [:], "keyRefresh": [:],
        ]
        var documents: [JSONValue] = [.object(base)]
        for (name, settings) in ProviderSetup.settings {
            var provider: [String: JSONValue] = ["name": .string(name)]
            for setting in settings { provider[setting] = "x" }
            documents.append(["provider": .object(provider), "keys": []])
        }
        for document in documents {
            // Only the declarations matter: a provider's made-up settings may be refused.
            guard var root = try? ConfigurationReader(document: document, catalog: catalog) else { continue }
            _ = try? sections(&root)
            _ = try? read(from: &root)
        }
        return catalog
    }
}
