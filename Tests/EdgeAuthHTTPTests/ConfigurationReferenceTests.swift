import EdgeAuth
import EdgeAuthHTTP
import EdgeAuthOAuth
import EdgeAuthTestThreads
import EdgeAuthTesting
import Foundation
import Testing

/// docs/configuration.md against the members the configuration declares.
@Suite("Configuration reference")
struct ConfigurationReferenceTests {
    static let page = try! String(contentsOf: Vectors.packageRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)

    /// Every member of an `edgeauth serve` document: the verifier's, `server`'s, `oauth`'s and `gateway`'s.
    static let members = VerifierConfiguration.catalog { (root) throws(ConfigurationError) in
        var server = ServerConfiguration()
        try root.section(into: &server)
        var oauth = OAuthSettings()
        try root.section(into: &oauth)
        var gateway = GatewaySettings()
        try root.section(into: &gateway)
    }.members

    @Test("every declared member and its variable appear in docs/configuration.md", .ownThread)
    func documented() {
        #expect(Self.members.count > 60)
        var defaultsChecked = 0
        for member in Self.members {
            #expect(Self.page.contains("`\(member.path)`"), "docs/configuration.md does not list `\(member.path)`")
            if let variable = member.variable {
                #expect(Self.page.contains("`\(variable)`"), "docs/configuration.md does not name `\(variable)` (\(member.path))")
            }
            // The member's row in its section's table gives the default the code declares.
            if let value = member.defaultValue, let row = Self.row(member.path) {
                #expect(row.contains(value), "the row of `\(member.path)` does not give its default \(value): \(row)")
                defaultsChecked += 1
            }
        }
        #expect(defaultsChecked >= 25, "the tables' rows were found")
    }

    /// The table row whose first cell is the member.
    static func row(_ path: String) -> String? {
        page.split(separator: "\n").first { $0.hasPrefix("| `\(path)` |") }.map(String.init)
    }

    @Test("the sections documented as planned are refused until they are read")
    func plannedSections() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-planned-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let planned: [(String, String)] = [
            ("oauth.upstream", "oauth:\n  upstream: {}\n"), ("inspector", "inspector:\n  enabled: true\n"),
        ]
        for (name, text) in planned {
            let path = directory.appendingPathComponent("planned.yaml").path
            try Data(("issuers: [https://login.example.com/]\naudiences: [api]\nkeys: [{jwksFile: /k.json}]\n" + text).utf8).write(to: URL(fileURLWithPath: path))
            #expect(Self.page.contains("`\(name)`"), "docs/configuration.md describes \(name)")
            #expect {
                try ServeConfiguration.load(file: path, environment: [:])
            } throws: { error in
                let message = (error as? ConfigurationError)?.message ?? ""
                return message.contains("unknown member \"\(name.split(separator: ".").last!)\"")
            }
        }
    }

    @Test("the error messages shown on the page are the ones the reader gives")
    func documentedErrors() throws {
        let block = try #require(Self.page.components(separatedBy: "```text\n").dropFirst().first?.components(separatedBy: "```").first)
        let shown = block.split(separator: "\n").map(String.init)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-errors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("edgeauth.yaml").path
        let verifier = "issuers: [https://login.example.com/]\naudiences: [api]\n"
        let cases: [(String, [String: String])] = [
            (verifier + "keys: [{jwksFile: /k.json}]\nkeyRefresh: {maxStaleness: 0}\n", [:]),
            (verifier + "keys: [{jwksFile: /k.json}]\nleeway: 1.5\n", [:]),
            (verifier + "keys: [{jwksURL: 5}]\n", [:]),
            (verifier + "keys: [{jwksFile: /k.json}]\nserver:\n  limits: {maxBody: 1}\n", [:]),
            (verifier + "keys: [{jwksFile: /k.json}]\n", ["EDGEAUTH_PORT": "80a"]),
        ]
        for ((text, environment), line) in zip(cases, shown) {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            #expect {
                try ServeConfiguration.load(file: path, environment: environment)
            } throws: { error in
                (error as? ConfigurationError)?.message == path + line.dropFirst("edgeauth.yaml".count)
            }
        }
        #expect {
            try VerifierConfiguration.fromEnvironment(["EDGEAUTH_AUTH0_DOMAIN": "acme.us.auth0.com"])
        } throws: { error in
            (error as? ConfigurationError)?.message == shown.last
        }
    }
}
