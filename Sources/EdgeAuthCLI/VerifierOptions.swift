import ArgumentParser
import EdgeAuth
import Foundation

/// How `verify` and `bench` build their verifier: a configuration file, the options below,
/// or the environment — the same verifier production would use.
struct VerifierOptions: ParsableArguments {
    static let discussion = """
        The verifier comes from --config FILE (JSON, or YAML for .yaml/.yml), from the options below, \
        or, when neither is given, from the environment (EDGEAUTH_PROVIDER and its variables). \
        EDGEAUTH_* variables override a file's values (docs/configuration.md).
        """

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

    /// The verifier's configuration: from --config, from the options, else from the environment.
    func configuration() throws(ConfigurationError) -> VerifierConfiguration {
        try usesOptions ? configurationFromOptions() : configurationFromFile()
    }

    /// From --config, else from the environment.
    private func configurationFromFile() throws(ConfigurationError) -> VerifierConfiguration {
        let environment = ProcessInfo.processInfo.environment
        var configuration = if let config {
            try VerifierConfiguration.load(file: config, environment: environment)
        } else {
            try VerifierConfiguration.fromEnvironment(environment)
        }
        if let cacheDir {
            if configuration.cache == nil { configuration.cache = CacheConfiguration(directory: cacheDir) } else { configuration.cache?.directory = cacheDir }
        }
        return configuration
    }

    private func configurationFromOptions() throws(ConfigurationError) -> VerifierConfiguration {
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
        return configuration
    }
}
