import EdgeAuth
import EdgeAuthTestThreads
import EdgeAuthTesting
import Foundation
import Testing

/// Runs the built `edgeauth` binary.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("edgeauth")
    }

    static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// A class, so that `deinit` removes each test's directory however the test ended.
@Suite("edgeauth decode and verify")
final class CLITests {
    let factory: TokenFactory
    let jwksPath: String
    let token: String

    init() throws {
        factory = TokenFactory(key: try SigningKey.generate(.ec(.p256), kid: "cli"), algorithm: .es256)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        jwksPath = directory.appendingPathComponent("jwks.json").path
        let jwks: JSONValue = ["keys": [try factory.key.publicJWK(alg: .es256)]]
        try Data(jwks.jsonText.utf8).write(to: URL(fileURLWithPath: jwksPath))
        token = try factory.token(claims: ["email": "alice@example.com", "permissions": ["notes:read"]])
    }

    deinit { try? FileManager.default.removeItem(at: URL(fileURLWithPath: jwksPath).deletingLastPathComponent()) }

    var common: [String] {
        ["--jwks", jwksPath, "--issuer", factory.issuer, "--audience", factory.audience, "--now", String(factory.now + 60)]
    }

    @Test("--config reads a YAML file; without options the provider comes from the environment; errors exit 2", .ownThread)
    func configurationFileAndEnvironment() throws {
        let directory = URL(fileURLWithPath: jwksPath).deletingLastPathComponent()
        let config = directory.appendingPathComponent("edgeauth.yaml").path
        try Data("""
        issuers: ["\(factory.issuer)"]
        audiences: ["\(factory.audience)"]
        keys:
          - jwksFile: \(jwksPath)
        """.utf8).write(to: URL(fileURLWithPath: config))
        let now = String(factory.now + 60)
        let fromFile = try CLI.run(["verify", token, "--config", config, "--now", now])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(try JSONValue.parse(fromFile.stdout)["email"] == "alice@example.com")
        let overridden = try CLI.run(["verify", token, "--config", config, "--now", now], environment: ["EDGEAUTH_LEEWAY": "601"])
        #expect(overridden.status == 2 && overridden.stderr.contains("EDGEAUTH_LEEWAY must be a whole number of seconds from 0 to 600"))
        #expect(try CLI.run(["verify", token, "--config", config, "--issuer", "x"]).status != 0)
        // A policy option the file would override is refused, not ignored.
        for option in [["--leeway", "200"], ["--algorithms", "RS256"], ["--max-token-bytes", "100"], ["--key-cool-down", "5"]] {
            let mixed = try CLI.run(["verify", token, "--config", config, "--now", now] + option)
            #expect(mixed.status == 2 && mixed.stderr.contains("\(option[0]) applies to a verifier given by --issuer"), "\(option): \(mixed.stderr)")
        }
        let fromEnvironment = try CLI.run(["verify", token, "--max-age", "60"], environment: [:])
        #expect(fromEnvironment.status == 2 && fromEnvironment.stderr.contains("--max-age applies to"), "\(fromEnvironment.stderr)")

        // The environment alone: a custom issuer whose JWKS is a local file is not expressible, so only the errors are checked here.
        let missing = try CLI.run(["verify", token], environment: [:])
        #expect(missing.status == 2 && missing.stderr.contains("no identity provider configured"))
        let invalid = try CLI.run(["verify", token], environment: ["MCP_USE_OAUTH_AUTH0_DOMAIN": "acme.us.auth0.com"])
        #expect(invalid.status == 2 && invalid.stderr.contains("MCP_USE_OAUTH_AUTH0_AUDIENCE) is required"), "\(invalid.stderr)")
    }

    @Test("a valid token exits 0 and prints the identity as JSON")
    func validToken() throws {
        let result = try CLI.run(["verify", token] + common)
        #expect(result.status == 0, "\(result.stderr)")
        let identity = try JSONValue.parse(result.stdout)
        #expect(identity["id"] == "user-123")
        #expect(identity["email"] == "alice@example.com")
        #expect(identity["permissions"] == ["notes:read"])
    }

    @Test("the token can come from standard input with -")
    func tokenFromStdin() throws {
        let result = try CLI.run(["verify", "-"] + common, stdin: token + "\n")
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test("a rejected token exits 1 with the reason code and a one-line explanation", .ownThread)
    func rejectedToken() throws {
        var tampered = Array(token.utf8)
        tampered[tampered.count - 3] = tampered[tampered.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let bad = try CLI.run(["verify", String(decoding: tampered, as: UTF8.self)] + common)
        #expect(bad.status == 1)
        #expect(bad.stdout == "rejected: badSignature\n")
        #expect(bad.stderr.split(separator: "\n").count == 1)

        let expired = try CLI.run(["verify", token, "--jwks", jwksPath, "--issuer", factory.issuer, "--audience", factory.audience, "--now", String(factory.now + 3600 + 30)])
        #expect(expired.status == 1)
        #expect(expired.stdout == "rejected: expired\n")

        let audience = try CLI.run(["verify", token, "--jwks", jwksPath, "--issuer", factory.issuer, "--audience", "https://other.example", "--now", String(factory.now)])
        #expect(audience.stdout == "rejected: wrongAudience\n")
        #expect(audience.stderr.contains("https://other.example") && audience.stderr.contains(factory.audience))
    }

    @Test("usage and configuration errors exit 2", .ownThread)
    func usageErrors() throws {
        #expect(try CLI.run(["verify", token, "--jwks", jwksPath, "--audience", "a"]).status == 2)
        #expect(try CLI.run(["verify", token, "--jwks", jwksPath, "--issuer", "i"]).status == 2)
        #expect(try CLI.run(["verify", token, "--issuer", "i", "--audience", "a"]).status == 2)
        let missing = try CLI.run(["verify", token, "--jwks", "/nonexistent/jwks.json", "--issuer", "i", "--audience", "a"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent/jwks.json"))
        let algorithms = try CLI.run(["verify", token] + common + ["--algorithms", "RS256,XX999"])
        #expect(algorithms.status == 2)
        #expect(algorithms.stderr.contains("XX999"))
        #expect(try CLI.run(["frobnicate"]).status == 2)
        // JWKS URLs: plain http only for loopback; nothing listening; another scheme.
        let plain = try CLI.run(["verify", token, "--jwks", "http://jwks.example/keys.json", "--issuer", "i", "--audience", "a"])
        #expect(plain.status == 2 && plain.stderr.contains("error: JWKS URL http://jwks.example/keys.json must use https"), "\(plain.stderr)")
        let closed = try CLI.run(["verify", token, "--jwks", "http://127.0.0.1:1/jwks.json", "--issuer", "i", "--audience", "a"])
        #expect(closed.status == 2 && closed.stderr.contains("error: JWKS URL http://127.0.0.1:1/jwks.json could not be fetched"), "\(closed.stderr)")
        let scheme = try CLI.run(["verify", token, "--jwks", "ftp://jwks.example/keys.json", "--issuer", "i", "--audience", "a"])
        #expect(scheme.status == 2 && scheme.stderr.contains("ftp://jwks.example/keys.json"), "\(scheme.stderr)")
    }

    @Test("--leeway widens the allowed clock skew; a leeway out of range or a --now that is not a whole number exits 2", .ownThread)
    func leewayAndNow() throws {
        // 100 s after `exp`: expired with the default 30 s of leeway, valid with 200 s.
        let late = ["verify", token, "--jwks", jwksPath, "--issuer", factory.issuer, "--audience", factory.audience,
                    "--now", String(factory.now + 3600 + 100)]
        #expect(try CLI.run(late).stdout == "rejected: expired\n")
        let widened = try CLI.run(late + ["--leeway", "200"])
        #expect(widened.status == 0, "\(widened.stderr)")
        for bad in ["601", "-1", "abc"] {
            let result = try CLI.run(["verify", token] + common + ["--leeway", bad])
            #expect(result.status == 2 && result.stderr.contains("leeway"), "--leeway \(bad): \(result.stderr)")
        }
        for bad in ["abc", "1.5", ""] {
            let result = try CLI.run(["verify", token, "--jwks", jwksPath, "--issuer", factory.issuer, "--audience", factory.audience, "--now", bad])
            #expect(result.status == 2 && result.stderr.contains("now"), "--now \(bad): \(result.stderr)")
        }
    }

    @Test("--algorithms restricts what is accepted")
    func algorithmRestriction() throws {
        let result = try CLI.run(["verify", token] + common + ["--algorithms", "RS256"])
        #expect(result.stdout == "rejected: algorithmNotAllowed\n")
    }

    @Test("decode prints header and claims marked UNVERIFIED, and rejects malformed input")
    func decode() throws {
        let result = try CLI.run(["decode", token])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("UNVERIFIED"))
        #expect(result.stdout.contains("\"alg\": \"ES256\""))
        #expect(result.stdout.contains("\"email\": \"alice@example.com\""))
        let malformed = try CLI.run(["decode", "not.a-token"])
        #expect(malformed.status == 1)
        #expect(malformed.stderr.contains("malformed"))

        let fromStdin = try CLI.run(["decode", "-"], stdin: "Bearer " + token + "\n")
        #expect(fromStdin.status == 0 && fromStdin.stdout == result.stdout)
    }

    @Test("decode shows a token the verifier refuses on sight (alg none, crit), with the reason, and exits 1")
    func decodeRefused() throws {
        func part(_ json: String) -> String { Base64URL.encode(Array(json.utf8)) }
        let claims = part(#"{"sub":"mallory","admin":true}"#)
        for (header, code) in [(#"{"alg":"none"}"#, "unsecured"), (#"{"alg":"ES256","crit":["exp"],"exp":1}"#, "unsupportedCritical")] {
            let result = try CLI.run(["decode", part(header) + "." + claims + "."])
            #expect(result.status == 1)
            #expect(result.stdout.hasPrefix("UNVERIFIED") && result.stdout.contains("\"sub\": \"mallory\""), "\(result.stdout)")
            #expect(result.stderr.contains("the verifier refuses this token: \(code)"), "\(result.stderr)")
        }
        // Parts that are not base64url JSON: nothing to show.
        let garbage = try CLI.run(["decode", "e30.@@@.x"])
        #expect(garbage.status == 1 && garbage.stdout.isEmpty && garbage.stderr.hasPrefix("malformed token: "))
    }

    @Test("more than 1 MiB on standard input is a usage error, not cut short")
    func oversizedStandardInput() throws {
        let input = String(repeating: "a", count: (1 << 20) + 1)  // exactly one byte too many: all of it is read
        for command in [["decode", "-"], ["verify", "-"] + common] {
            let result = try CLI.run(command, stdin: input)
            #expect(result.status == 2 && result.stderr.contains("standard input holds more than 1048576 bytes"), "\(command[0]): \(result.stderr)")
        }
    }

    @Test("dev-token signs only with the development key: none there, a key others can read, a bad lifetime exit 2", .ownThread)
    func devToken() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-devtoken-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = try CLI.run(["dev-token", "--user", "alice", "--data-dir", directory])
        #expect(missing.status == 2 && missing.stdout.isEmpty && missing.stderr.contains("no development key"), "\(missing.stderr)")

        // A key file other users can read is refused, not used.
        let keyPath = directory + "/dev-signing-key.pem"
        let key = try SigningKey.generate(.ec(.p256), kid: "edgeauth-dev")
        #expect(FileManager.default.createFile(atPath: keyPath, contents: Data(try key.privateKeyPEM().utf8), attributes: [.posixPermissions: 0o644]))
        let readable = try CLI.run(["dev-token", "--user", "alice", "--data-dir", directory])
        #expect(readable.status == 2 && readable.stdout.isEmpty && readable.stderr.contains("chmod 600"), "\(readable.stderr)")

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath)
        #expect(try CLI.run(["dev-token", "--user", "alice", "--lifetime", "0", "--data-dir", directory]).status == 2)
        let minted = try CLI.run(["dev-token", "--user", "alice", "--scopes", "notes:read", "--data-dir", directory])
        #expect(minted.status == 0, "\(minted.stderr)")
        // The token verifies against the development key's JWKS, for the default server's issuer (the authorization server's) and resource.
        let verified = try CLI.run(["verify", minted.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "--jwks", directory + "/dev-jwks.json",
                                    "--issuer", "http://127.0.0.1:8080/", "--audience", "http://127.0.0.1:8080/mcp"])
        #expect(verified.status == 0 && verified.stdout.contains("\"alice\""), "\(verified.stdout) \(verified.stderr)")
    }
}
