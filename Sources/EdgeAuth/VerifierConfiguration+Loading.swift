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
            let document = try Self.document(data, yaml: path.hasSuffix(".yaml") || path.hasSuffix(".yml"))
            return try from(document, environment: environment, sections: sections)
        } catch {
            throw ConfigurationError("\(path): \(error.message)")
        }
    }

    /// The document of a configuration file's bytes: YAML (converted to JSON values) or JSON.
    public static func document(_ data: some Collection<UInt8>, yaml: Bool) throws(ConfigurationError) -> JSONValue {
        if yaml { return try YAMLDocument.json(String(decoding: data, as: UTF8.self)) }
        do {
            return try JSONValue.parse(data)
        } catch {
            throw ConfigurationError("configuration is not valid JSON: \(error.explanation)")
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
}
