import EdgeAuth
import EdgeAuthTesting
import Foundation
import Testing

/// Configuration files (JSON and YAML) and the environment variables that override them. A
/// class, so that `deinit` removes each test's directory however the test ended.
@Suite("Configuration files and environment overrides")
final class ConfigurationTests {
    let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-config-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    deinit { try? FileManager.default.removeItem(at: directory) }

    func write(_ name: String, _ text: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let yaml = """
    # An Auth0 tenant, with its roles claim
    provider:
      name: auth0
      domain: acme.us.auth0.com
      audience: https://api.acme.example
      rolesClaim: https://acme.example/roles
    leeway: 10
    keyRefresh:
      maxStaleness: 7200
      fetchTimeout: 2.5
    cache:
      directory: /tmp/edgeauth-cache
      l1Entries: 0
    """

    @Test("a YAML file and the same JSON file give the same configuration")
    func yamlAndJSON() throws {
        let json = """
        {"provider": {"name": "auth0", "domain": "acme.us.auth0.com", "audience": "https://api.acme.example",
                      "rolesClaim": "https://acme.example/roles"},
         "leeway": 10, "keyRefresh": {"maxStaleness": 7200, "fetchTimeout": 2.5},
         "cache": {"directory": "/tmp/edgeauth-cache", "l1Entries": 0}}
        """
        for path in [try write("edgeauth.yaml", Self.yaml), try write("edgeauth.json", json)] {
            let configuration = try VerifierConfiguration.load(file: path, environment: [:])
            #expect(configuration.policy.issuers == .exactly(["https://acme.us.auth0.com/"]))
            #expect(configuration.policy.audiences == .anyOf(["https://api.acme.example"]))
            #expect(configuration.policy.leeway == 10)
            #expect(configuration.keys == [.jwksURL("https://acme.us.auth0.com/.well-known/jwks.json")])
            #expect(configuration.keyRefresh.maxStaleness == 7200 && configuration.keyRefresh.fetchTimeout == .milliseconds(2500))
            #expect(configuration.cache?.directory == "/tmp/edgeauth-cache" && configuration.l1Entries == 0)
            #expect(configuration.mapping == (try Provider.auth0(domain: "acme.us.auth0.com", audience: "x", rolesClaim: "https://acme.example/roles")).mapping)
        }
    }

    @Test("environment variables override the file: provider settings, cache directory, leeway, key refresh")
    func overrides() throws {
        let path = try write("edgeauth.yml", Self.yaml)
        let configuration = try VerifierConfiguration.load(file: path, environment: [
            "EDGEAUTH_AUTH0_AUDIENCE": "https://staging.acme.example",
            "EDGEAUTH_CACHE_DIR": "/var/lib/edgeauth",
            "EDGEAUTH_LEEWAY": "0",
            "EDGEAUTH_KEY_REFRESH_COOL_DOWN": "5",
            "EDGEAUTH_KEY_REFRESH_CONNECT_TIMEOUT": "0.5",
        ])
        #expect(configuration.policy.audiences == .anyOf(["https://staging.acme.example"]))
        #expect(configuration.cache?.directory == "/var/lib/edgeauth" && configuration.l1Entries == 0)
        #expect(configuration.policy.leeway == 0)
        #expect(configuration.keyRefresh.coolDown == 5 && configuration.keyRefresh.connectTimeout == .milliseconds(500))
        #expect(configuration.keyRefresh.maxStaleness == 7200, "members the environment does not name keep the file's value")
        // The mcp-use name is an alias.
        let aliased = try VerifierConfiguration.load(file: path, environment: ["MCP_USE_OAUTH_AUTH0_AUDIENCE": "https://mcp.acme.example"])
        #expect(aliased.policy.audiences == .anyOf(["https://mcp.acme.example"]))
    }

    @Test("a bad value names its variable, or its file and member, and what a valid value looks like")
    func errors() throws {
        let path = try write("edgeauth.yaml", Self.yaml)
        let cases: [([String: String], String)] = [
            (["EDGEAUTH_LEEWAY": "ten"], "EDGEAUTH_LEEWAY must be a whole number of seconds"),
            (["EDGEAUTH_KEY_REFRESH_MAX_STALENESS": "soon"], "EDGEAUTH_KEY_REFRESH_MAX_STALENESS must be a whole number of seconds"),
            (["EDGEAUTH_KEY_REFRESH_MAX_STALENESS": "0"], "EDGEAUTH_KEY_REFRESH_MAX_STALENESS must be a whole number of seconds from 1 to 2592000 (got \"0\"; it sets keyRefresh.maxStaleness)"),
            (["EDGEAUTH_CACHE_DIR": " "], "EDGEAUTH_CACHE_DIR is set but empty"),
            (["EDGEAUTH_AUTH0_DOMAIN": "https://acme.us.auth0.com/path"], "EDGEAUTH_AUTH0_DOMAIN must be a host name"),
            (["EDGEAUTH_AUTH0_AUDIENCE": ""], "EDGEAUTH_AUTH0_AUDIENCE is set but empty"),
        ]
        for (environment, fragment) in cases {
            #expect {
                try VerifierConfiguration.load(file: path, environment: environment)
            } throws: { error in
                let message = (error as? ConfigurationError)?.message ?? ""
                return message.contains(fragment) && message.hasPrefix(path)
            }
        }
        let files: [(String, String, String)] = [
            ("bad.yaml", "provider: [unclosed", "not valid YAML"),
            ("bad.json", "{\"issuers\": ", "not valid JSON"),
            ("list.yaml", "- a\n- b", "must be a JSON object"),
            ("twice.yaml", "leeway: 1\nleeway: 2\n", "leeway"),
            ("unknown.yaml", "issuers: [x]\naudiences: [y]\nkeys: [{jwksFile: /k.json}]\nleway: 3\n", "unknown member \"leway\""),
            // YAML 1.1 base 60, which overflowed inside the YAML library (found by fuzzing): an error, not a crash.
            ("sexagesimal.yaml", "leeway: 190:20:30:15:20:30:15:20:30:15:20:30\n", "leeway: 190:20:30:15:20:30:15:20:30:15:20:30 is not an integer"),
        ]
        for (name, text, fragment) in files {
            let file = try write(name, text)
            #expect {
                try VerifierConfiguration.load(file: file, environment: [:])
            } throws: { ($0 as? ConfigurationError)?.message.contains(fragment) == true }
        }
        #expect(throws: ConfigurationError.self) { try VerifierConfiguration.load(file: directory.appendingPathComponent("absent.yaml").path, environment: [:]) }
    }

    @Test("a file with keys from a loopback JWKS URL builds a verifier that verifies")
    func makeVerifier() async throws {
        let factory = TokenFactory(key: try SigningKey.generate(.ec(.p256), kid: "file-key"), algorithm: .es256)
        let server = try await StaticHTTPServer(routes: ["/jwks": .init(body: Array(JSONValue.object(["keys": [try factory.key.publicJWK(alg: .es256)]]).jsonText.utf8))])
        defer { Task { try? await server.stop() } }
        let path = try write("verifier.yaml", """
        issuers: ["\(factory.issuer)"]
        audiences: "\(factory.audience)"
        keys:
          - jwksURL: \(server.baseURL)/jwks
        """)
        let verifier = try await VerifierConfiguration.load(file: path, environment: [:]).makeVerifier()
        #expect(verifier.verify(try factory.token(), now: factory.now).identity?.id == "user-123")
        #expect(verifier.keyStatus.map(\.state) == [.fresh])
    }

    @Test("the environment alone: the provider and the overrides")
    func fromEnvironment() throws {
        let configuration = try VerifierConfiguration.fromEnvironment([
            "EDGEAUTH_PROVIDER": "keycloak", "EDGEAUTH_KEYCLOAK_SERVER_URL": "https://sso.example.com",
            "EDGEAUTH_KEYCLOAK_REALM": "acme", "EDGEAUTH_KEY_REFRESH_MAX_STALENESS": "600",
        ])
        #expect(configuration.policy.issuers == .exactly(["https://sso.example.com/realms/acme"]))
        #expect(configuration.keyRefresh.maxStaleness == 600)
        #expect(configuration.cache == nil)
    }
}

@Suite("Development mode from the configuration")
struct DevelopmentModeConfigurationTests {
    @Test("verifySignatures: false skips signatures only on loopback; EDGEAUTH_VERIFY_SIGNATURES sets it too")
    func developmentMode() async throws {
        let factory = TokenFactory(key: try SigningKey.generate(.ec(.p256), kid: "dashboard-key"), algorithm: .es256)
        let document = """
        {"issuers": ["\(factory.issuer)"], "audiences": ["\(factory.audience)"], "keys": [{"jwksURL": "https://127.0.0.1:9/unreachable"}],
         "verifySignatures": false}
        """
        let configuration = try VerifierConfiguration.parse(Array(document.utf8))
        #expect(configuration.verifySignatures == false)
        let verifier = try await configuration.makeVerifier(listeningOn: ["127.0.0.1", "::1"])
        let identity = try #require(verifier.verify(try factory.token(), now: factory.now).identity)
        #expect(identity.signatureVerified == false)
        await #expect(throws: ConfigurationError.self) { try await configuration.makeVerifier(listeningOn: ["0.0.0.0"]) }
        await #expect(throws: ConfigurationError.self) { try await configuration.makeVerifier() }

        let fromEnvironment = try VerifierConfiguration.fromEnvironment([
            "EDGEAUTH_ISSUER": "https://login.example.com/", "EDGEAUTH_VERIFY_SIGNATURES": "false",
        ])
        #expect(fromEnvironment.verifySignatures == false)
        #expect(throws: ConfigurationError.self) {
            try VerifierConfiguration.fromEnvironment(["EDGEAUTH_ISSUER": "https://login.example.com/", "EDGEAUTH_VERIFY_SIGNATURES": "no"])
        }
    }
}

/// The examples of docs/configuration.md, read as configurations.
@Suite("Configuration examples in the docs")
struct DocumentedConfigurationTests {
    static let page = try! String(contentsOf: Vectors.packageRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)

    static func blocks(_ language: String) -> [String] {
        page.components(separatedBy: "```\(language)\n").dropFirst().map { String($0.components(separatedBy: "```")[0]) }
    }

    @Test("every YAML and JSON example is a valid configuration")
    func filesParse() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-docs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let examples = Self.blocks("yaml").map { ("yaml", $0) } + Self.blocks("json").map { ("json", $0) }
        #expect(examples.count >= 4)
        for (index, (language, text)) in examples.enumerated() {
            let path = directory.appendingPathComponent("example-\(index).\(language)").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: Never.self, "\(text)") { try VerifierConfiguration.load(file: path, environment: [:]) }
        }
    }

    @Test("the environment example configures the same Auth0 verifier as the YAML one")
    func environmentExample() throws {
        let shell = try #require(Self.blocks("sh").first)
        var environment = [String: String]()
        for line in shell.split(separator: "\n") {
            let assignment = line.trimmingCharacters(in: CharacterSet(charactersIn: " \\"))
            guard let equals = assignment.firstIndex(of: "="), assignment.hasPrefix("MCP_USE_") || assignment.hasPrefix("EDGEAUTH_") else { continue }
            environment[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
        }
        let configuration = try VerifierConfiguration.fromEnvironment(environment)
        #expect(configuration.policy.issuers == .exactly(["https://acme.us.auth0.com/"]))
        #expect(configuration.cache?.directory == "/var/cache/edgeauth")
        #expect(configuration.mapping.roles == [.claim(ClaimPointer(claim: "https://acme.example/roles"))])
    }
}
