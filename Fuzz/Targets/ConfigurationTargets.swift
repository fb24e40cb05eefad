import EdgeAuth
import EdgeAuthHTTP

/// What `edgeauth serve` reads from its configuration file: every section, JSON or YAML.
enum ConfigurationTargets {
    static let json = FuzzTarget(name: "configuration-json") { bytes in read(bytes, yaml: false) }
    static let yaml = FuzzTarget(name: "configuration-yaml") { bytes in read(bytes, yaml: true) }

    static func read(_ bytes: UnsafeRawBufferPointer, yaml: Bool) {
        guard let document = try? VerifierConfiguration.document(bytes, yaml: yaml) else { return }
        _ = try? ServeConfiguration.from(document)
    }
}
