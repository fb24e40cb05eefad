import Foundation

/// Where a verifier configuration is read from: JSON bytes (the C library), a file (JSON
/// or YAML), the environment alone, or a parsed document.
extension VerifierConfiguration {
    /// Parses and checks a JSON configuration document.
    /// - Parameter environment: variables that override members (docs/configuration.md); none by default.
    /// - Throws: `ConfigurationError` naming the member (or variable) and the problem.
    public static func parse(_ bytes: some Collection<UInt8>, environment: [String: String] = [:]) throws(ConfigurationError) -> VerifierConfiguration {
        guard bytes.count <= maxBytes else {
            throw ConfigurationError("configuration is larger than \(maxBytes) bytes")
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw ConfigurationError("configuration is not valid JSON: \(error.explanation)")
        }
        return try from(document, environment: environment)
    }

    /// Reads a configuration file: YAML when its name ends in `.yaml` or `.yml`, JSON otherwise.
    /// Environment variables override what the file says.
    /// - Parameter sections: reads the sections other components use (`edgeauth serve`'s
    ///   `server`): called with the document before the verifier's members are read, so a
    ///   member neither declares is refused.
    /// - Throws: `ConfigurationError` naming the file, the member or the variable.
    public static func load(
        file path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        sections: (inout ConfigurationReader) throws(ConfigurationError) -> Void = { _ in }
    ) throws(ConfigurationError) -> VerifierConfiguration {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ConfigurationError("cannot read configuration file \(path)") }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: maxBytes + 1)) ?? nil ?? Data()
        guard data.count <= maxBytes else { throw ConfigurationError("configuration file \(path) is larger than \(maxBytes) bytes") }
        do throws(ConfigurationError) {
            let document: JSONValue
            if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
                document = try YAMLDocument.json(String(decoding: data, as: UTF8.self))
            } else {
                do {
                    document = try JSONValue.parse(data)
                } catch {
                    throw ConfigurationError("configuration is not valid JSON: \(error.explanation)")
                }
            }
            return try from(document, environment: environment, sections: sections)
        } catch {
            throw ConfigurationError("\(path): \(error.message)")
        }
    }

    /// A configuration from the environment alone: the provider (`ProviderSetup.fromEnvironment`)
    /// and the variables that override members, as if read from an empty file.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> VerifierConfiguration {
        let setup = try ProviderSetup.fromEnvironment(environment)
        var root = try ConfigurationReader(document: .object([:]), environment: environment)
        return try read(from: &root, provider: setup)
    }

    /// A configuration from a parsed document (JSON, or YAML converted to it).
    /// - Parameter sections: as for `load(file:environment:sections:)`.
    public static func from(
        _ document: JSONValue, environment: [String: String] = [:],
        sections: (inout ConfigurationReader) throws(ConfigurationError) -> Void = { _ in }
    ) throws(ConfigurationError) -> VerifierConfiguration {
        var root = try ConfigurationReader(document: document, environment: environment)
        try sections(&root)
        return try read(from: &root)
    }

    /// The variables that override members, for deployments that keep one file and vary a
    /// few values, as the members' declarations name them. (Provider settings are overridden
    /// by the provider's own variables, `ProviderSetup`.)
    public static var environmentOverrides: [(variable: String, member: String)] {
        catalog().members.compactMap { member in member.variable.map { ($0, member.path) } }.filter { !$0.member.hasPrefix("provider.") }
    }

    /// Every member a configuration declares, with its variable: read from a document that
    /// gives every section (a `provider` of each kind, a key source of each kind).
    /// - Parameter sections: as for `load(file:environment:sections:)`, with their members given in `document`.
    package static func catalog(
        extra document: [String: JSONValue] = [:], sections: (inout ConfigurationReader) throws(ConfigurationError) -> Void = { _ in }
    ) -> ConfigurationCatalog {
        let catalog = ConfigurationCatalog()
        let keys: [JSONValue] = [
            ["jwks": ["keys": []]], ["jwksFile": "/k.json"], ["jwksURL": "https://login.example.com/jwks"],
            ["pemFile": "/k.pem", "kid": "k"], ["hmacSecretFile": "/s", "kid": "k"], ["hmacSecretEnv": "SECRET", "kid": "k"],
        ]
        var base: [String: JSONValue] = [
            "issuers": "https://login.example.com/", "audiences": "api", "algorithms": ["ES256"], "maxAge": 60,
            "keys": .array(keys), "cache": ["directory": "/tmp/edgeauth-catalog"], "limits": [:], "keyRefresh": [:],
        ]
        base.merge(document) { $1 }
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
