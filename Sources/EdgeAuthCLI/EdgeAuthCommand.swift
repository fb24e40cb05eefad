import ArgumentParser
import EdgeAuth
import EdgeAuthHTTP
import Foundation
import Logging

@main
struct EdgeAuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgeauth",
        abstract: "OAuth 2.1 bearer-token verification for MCP servers.",
        version: EdgeAuthVersion.string,
        subcommands: [Decode.self, Verify.self, Serve.self, DevToken.self, Keys.self, Clients.self, Grants.self, Consents.self, State.self]
    )

    /// Exit status: 0 valid, 1 rejected, 2 usage or configuration error.
    static func main() async {
        // EDGEAUTH_LOG_LEVEL: trace, debug, info (default), notice, warning, error, critical.
        let level = ProcessInfo.processInfo.environment["EDGEAUTH_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}

/// The most `readToken` takes from standard input.
let maxStandardInputBytes = 1 << 20

/// Reads the token argument, or standard input when it is `-`.
/// - Throws: `ExitCode(2)`, with a message, when standard input holds more than 1 MiB.
func readToken(_ argument: String) throws -> [UInt8] {
    var bytes: [UInt8]
    if argument == "-" {
        // One byte more than the limit tells a long input from one that fits exactly.
        bytes = Array(FileHandle.standardInput.readData(ofLength: maxStandardInputBytes + 1))
        guard bytes.count <= maxStandardInputBytes else {
            writeError("error: standard input holds more than \(maxStandardInputBytes) bytes; a token is far shorter")
            throw ExitCode(2)
        }
    } else {
        bytes = Array(argument.utf8)
    }
    // Trailing newline from `echo` or a file; anything else inside is the verifier's business.
    while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
    if bytes.starts(with: Array("Bearer ".utf8)) { bytes.removeFirst(7) }
    return bytes
}

func writeError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a token's header and claims. Nothing is verified."
    )

    @Argument(help: "The token, or - to read it from standard input.")
    var token: String

    func run() throws {
        let bytes = try readToken(token)
        let parsed: Result<(header: JSONValue, claims: JSONValue), Reason> = bytes.withUnsafeBytes { raw in
            TokenView.parse(raw) { result in
                result.map { view in (JSONValue.build(view.header, view.headerObject), JSONValue.build(view.payload, view.payloadObject)) }
            }
        }
        switch parsed {
        case .success(let (header, claims)):
            print(Self.render(header: header, claims: claims))
        case .failure(let reason):
            // A token the verifier refuses for its header (`alg: none`, `crit`, an unknown
            // algorithm) is still shown when its parts are JSON: that is when one wants to look.
            if let (header, claims) = Self.parts(of: bytes) {
                print(Self.render(header: header, claims: claims))
                writeError("the verifier refuses this token: \(reason.code): \(reason.explanation)")
            } else {
                writeError("malformed token: \(reason.code): \(reason.explanation)")
            }
            throw ExitCode(1)
        }
    }

    static func render(header: JSONValue, claims: JSONValue) -> String {
        "UNVERIFIED — signature and claims have NOT been checked\n"
            + "header: " + header.prettyJSONText + "\n"
            + "claims: " + claims.prettyJSONText
    }

    /// The header and claims of a compact token whose first two parts are base64url JSON,
    /// without the verifier's rules; nil otherwise.
    static func parts(of bytes: [UInt8]) -> (header: JSONValue, claims: JSONValue)? {
        let segments = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segments.count == 3,
              let header = try? JSONValue.parse(Base64URL.decode(String(decoding: segments[0], as: UTF8.self))),
              let claims = try? JSONValue.parse(Base64URL.decode(String(decoding: segments[1], as: UTF8.self)))
        else { return nil }
        return (header, claims)
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a token. Exit 0: valid (identity as JSON); 1: rejected (reason code); 2: usage or configuration error.",
        discussion: """
        The verifier comes from --config FILE (JSON, or YAML for .yaml/.yml), from the options below, \
        or, when neither is given, from the environment (EDGEAUTH_PROVIDER and its variables). \
        EDGEAUTH_* variables override a file's values (docs/configuration.md).
        """
    )

    @Argument(help: "The token, or - to read it from standard input.")
    var token: String

    @Option(help: "Configuration file (JSON, or YAML when it ends in .yaml or .yml).")
    var config: String?

    @Option(help: "JWKS file path or URL (https; http only for loopback).")
    var jwks: [String] = []

    @Option(help: "PEM public key or certificate file.")
    var pem: [String] = []

    @Option(help: "File holding an HMAC secret (at least 32 bytes).")
    var hmacSecretFile: [String] = []

    @Option(help: "Environment variable holding an HMAC secret.")
    var hmacSecretEnv: [String] = []

    @Option(help: "Accepted issuer (exact match; repeatable).")
    var issuer: [String] = []

    @Flag(help: "Accept any issuer (the issuer check must be turned off explicitly).")
    var anyIssuer = false

    @Option(help: "Accepted audience (repeatable).")
    var audience: [String] = []

    @Flag(help: "Do not check the audience (must be chosen explicitly).")
    var anyAudience = false

    @Option(help: "Comma-separated allowed algorithms (default: all supported).")
    var algorithms: String?

    @Option(help: "Clock skew allowed for exp/nbf/iat, in seconds (default 30).")
    var leeway: Int64?

    @Option(help: "Verify as if the time were this many seconds since the epoch.")
    var now: Int64?

    @Option(help: "Reject tokens whose iat is older than this many seconds.")
    var maxAge: Int64?

    @Option(help: "Required typ header, e.g. at+jwt.")
    var requireType: String?

    @Option(help: "Largest accepted token in bytes (default 16384).")
    var maxTokenBytes: Int?

    @Option(help: "Directory of the shared verdict cache (LMDB); verdicts are shared with every process using it.")
    var cacheDir: String?

    @Option(help: "Seconds between two fetches of a JWKS URL, across every process sharing --cache-dir (a token with an unknown kid triggers one; default 30).")
    var keyCoolDown: Int64?

    @Flag(help: "Print this process's cache statistics as JSON on standard error.")
    var cacheStats = false

    /// Whether the verifier is described by options rather than a file or the environment.
    var usesOptions: Bool { !issuer.isEmpty || anyIssuer || !audience.isEmpty || anyAudience || !jwks.isEmpty || !pem.isEmpty || !hmacSecretFile.isEmpty || !hmacSecretEnv.isEmpty }

    /// The policy options given, which only a verifier built from options uses.
    var policyOptions: [String] {
        [("--algorithms", algorithms != nil), ("--leeway", leeway != nil), ("--max-age", maxAge != nil),
         ("--require-type", requireType != nil), ("--max-token-bytes", maxTokenBytes != nil), ("--key-cool-down", keyCoolDown != nil)]
            .filter(\.1).map(\.0)
    }

    func validate() throws {
        if config != nil, usesOptions { throw ValidationError("give --config or the issuer, audience and key options, not both") }
        guard usesOptions else {
            // Not silently ignored: a file or the environment describes the whole verifier.
            if let option = policyOptions.first {
                throw ValidationError("\(option) applies to a verifier given by --issuer, --audience and a key option; with --config or the environment, set it there (docs/configuration.md)")
            }
            return
        }
        guard !(issuer.isEmpty && !anyIssuer) else { throw ValidationError("give --issuer (repeatable) or --any-issuer") }
        guard !(audience.isEmpty && !anyAudience) else { throw ValidationError("give --audience (repeatable) or --any-audience") }
        guard !(jwks.isEmpty && pem.isEmpty && hmacSecretFile.isEmpty && hmacSecretEnv.isEmpty) else {
            throw ValidationError("give at least one key source: --jwks, --pem, --hmac-secret-file or --hmac-secret-env")
        }
        if let leeway, !(0...600).contains(leeway) { throw ValidationError("--leeway must be between 0 and 600 seconds") }
        if let maxTokenBytes, maxTokenBytes <= 0 { throw ValidationError("--max-token-bytes must be positive") }
        if let keyCoolDown, keyCoolDown <= 0 { throw ValidationError("--key-cool-down must be a positive number of seconds") }
    }

    func run() async throws {
        let verifier: Verifier
        do throws(ConfigurationError) {
            verifier = try await usesOptions ? verifierFromOptions() : configuredVerifier()
        } catch {
            writeError("error: \(error.message)")
            throw ExitCode(2)
        }
        for message in verifier.skippedKeys { writeError("warning: \(message)") }
        let verdict = await verifier.verifyRefreshingKeys(try readToken(token), now: now)
        if cacheStats, let stats = verifier.cacheStatistics {
            writeError(#"{"hits":\#(stats.hits),"negativeHits":\#(stats.negativeHits),"misses":\#(stats.misses),"stores":\#(stats.stores),"errors":\#(stats.errors)}"#)
        }
        switch verdict {
        case .valid(let identity):
            print(identity.jsonValue.prettyJSONText)
        case .rejected(let reason):
            print("rejected: \(reason.code)")
            writeError(reason.explanation)
            throw ExitCode(1)
        }
    }

    /// From --config, else from the environment.
    private func configuredVerifier() async throws(ConfigurationError) -> Verifier {
        let environment = ProcessInfo.processInfo.environment
        var configuration = if let config {
            try VerifierConfiguration.load(file: config, environment: environment)
        } else {
            try VerifierConfiguration.fromEnvironment(environment)
        }
        if let cacheDir {
            if configuration.cache == nil { configuration.cache = CacheConfiguration(directory: cacheDir) } else { configuration.cache?.directory = cacheDir }
        }
        // `verify` listens nowhere: development mode is as contained as on loopback.
        return try await configuration.makeVerifier(listeningOn: ["localhost"])
    }

    private func verifierFromOptions() async throws(ConfigurationError) -> Verifier {
        var algorithmSet = AlgorithmSet.all
        if let algorithms {
            var chosen = [Algorithm]()
            for name in algorithms.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let algorithm = Algorithm(name: name) else {
                    throw ConfigurationError("--algorithms: \"\(name)\" is not one of \(Algorithm.allCases.map(\.name).joined(separator: ", "))")
                }
                chosen.append(algorithm)
            }
            algorithmSet = AlgorithmSet(chosen)
        }
        var sources = [KeySource]()
        for value in jwks {
            sources.append(value.hasPrefix("http://") || value.hasPrefix("https://") ? .jwksURL(value) : .jwksFile(value))
        }
        sources += pem.map { .pemFile($0) }
        sources += hmacSecretFile.map { .hmacSecretFile($0) }
        sources += hmacSecretEnv.map { .hmacSecretEnvironment($0) }
        var policy = ValidationPolicy(
            issuers: anyIssuer ? .any : .exactly(issuer),
            audiences: anyAudience ? .any : .anyOf(audience),
            algorithms: algorithmSet,
            maxAge: maxAge,
            requiredType: requireType,
            limits: maxTokenBytes.map { TokenLimits(maxTokenBytes: $0) } ?? TokenLimits()
        )
        if let leeway { policy.leeway = leeway }
        var configuration = VerifierConfiguration(policy: policy, keys: sources)
        configuration.cache = cacheDir.map { CacheConfiguration(directory: $0) }
        if let keyCoolDown { configuration.keyRefresh.coolDown = keyCoolDown }
        return try await configuration.makeVerifier()
    }
}
