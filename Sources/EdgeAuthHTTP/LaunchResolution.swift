import EdgeAuth
import EdgeAuthOAuth
import Foundation

/// Where a server's verifier configuration comes from.
public enum ConfigurationSource: Sendable {
    /// A configuration file (JSON, or YAML for `.yaml`/`.yml`): the verifier's members and `server`.
    case file(String)
    /// The provider named by `EDGEAUTH_PROVIDER` and its variables.
    case environment
    /// The development key generated under `dataDirectory` (tokens from `edgeauth dev-token`); loopback only.
    case development(dataDirectory: String)
    /// A verifier configuration built in code.
    case verifier(VerifierConfiguration)

    /// `edgeauth serve`'s choice: the file when given, else the provider of the environment
    /// when one is configured, else the development key.
    public static func automatic(file: String?, environment: [String: String], dataDirectory: String) -> ConfigurationSource {
        if let file { return .file(file) }
        return ProviderSetup.isConfigured(in: environment) ? .environment : .development(dataDirectory: dataDirectory)
    }
}

/// Server settings given on the command line: they win over every other source.
public struct ServerOverrides: Sendable {
    public var host: String?
    public var port: Int?
    public var workers: Int?
    /// Every rate limit off (load tests from one address).
    public var rateLimitsOff = false

    public init(host: String? = nil, port: Int? = nil, workers: Int? = nil, rateLimitsOff: Bool = false) {
        self.host = host
        self.port = port
        self.workers = workers
        self.rateLimitsOff = rateLimitsOff
    }
}

extension ServerLaunch {
    /// The server variables and the settings they replace, as the `server` section declares them.
    public static var environmentOverrides: [(variable: String, member: String)] {
        ServerConfiguration.declaredMembers(base: ServerConfiguration()).compactMap { member in member.variable.map { ($0, member.path) } }
    }

    /// The one resolution of `edgeauth serve` and `MCPServer.run()`. Server settings, first
    /// found wins: the command line (`overrides`), `EDGEAUTH_HOST`/`EDGEAUTH_PORT`/`EDGEAUTH_WORKERS`,
    /// the configuration file's `server`, the settings given in code (`server`), the defaults.
    /// A worker always listens on the port its master bound. The verifier comes from `source`
    /// (a file's members may be overridden by `EDGEAUTH_*` variables: docs/configuration.md).
    /// - Parameter dataDirectory: where proxy mode keeps its state store (`state/`) and the development key.
    public init(
        resolving source: ConfigurationSource, server: ServerConfiguration = ServerConfiguration(), overrides: ServerOverrides = ServerOverrides(),
        environment: [String: String] = ProcessInfo.processInfo.environment, dataDirectory: String = ".edgeauth",
        makeHandler: @escaping @Sendable (ProtectedResource, ServeConfiguration) throws -> any ProtectedHandler,
        usageHint: @escaping @Sendable (String) -> [String] = ServerLaunch.defaultUsageHint
    ) throws(ConfigurationError) {
        let workerPort = ServerProcess.workerPort(environment)
        var configuration: ServeConfiguration
        var configFile: String?
        // The `server` section applies its variables (`EDGEAUTH_HOST`, …) over the file's
        // members or, without a file, over the settings given in code.
        switch source {
        case .file(let path):
            configuration = try ServeConfiguration.load(file: path, environment: environment, server: server)
            configFile = path
        case .verifier(let verifier):
            configuration = ServeConfiguration(verifier: verifier, server: try ServerConfiguration.read(nil, base: server, environment: environment))
        case .environment:
            configuration = ServeConfiguration(verifier: try VerifierConfiguration.fromEnvironment(environment),
                                               server: try ServerConfiguration.read(nil, base: server, environment: environment))
        case .development:
            // Its verifier names the server's address: made once the settings are final.
            configuration = ServeConfiguration(verifier: VerifierConfiguration(policy: ValidationPolicy(issuers: .any, audiences: .any), keys: []),
                                               server: try ServerConfiguration.read(nil, base: server, environment: environment))
        }
        try configuration.gateway?.checkFiles()
        var settings = configuration.server
        try Self.apply(overrides, to: &settings)
        if let workerPort { settings.port = workerPort }
        configuration.server = settings
        var development: DevelopmentIssuer?
        var stateDirectory = dataDirectory
        if case .development(let directory) = source {
            // Workers only read the key the master created.
            let issuer = try DevelopmentIssuer.open(directory: directory, server: settings, create: workerPort == nil)
            configuration.verifier = issuer.verifierConfiguration
            development = issuer
            stateDirectory = directory
            // The embedded default is proxy mode in front of the development identity provider.
            if configuration.oauth == nil { configuration.oauth = OAuthSettings() }
        }
        var authorization: AuthorizationLaunch?
        if let oauth = configuration.oauth, oauth.mode == .proxy {
            authorization = try AuthorizationLaunch.prepare(oauth, server: &configuration.server, dataDirectory: stateDirectory, environment: environment,
                                                            verifier: &configuration.verifier, keepingIssuers: development != nil)
        }
        self.init(configuration: configuration, development: development, authorization: authorization, configFile: configFile,
                  makeHandler: makeHandler, usageHint: usageHint)
    }

    public static let defaultUsageHint: @Sendable (String) -> [String] = { url in ["  curl -H \"Authorization: Bearer $TOKEN\" \(url)"] }

    private static func apply(_ overrides: ServerOverrides, to settings: inout ServerConfiguration) throws(ConfigurationError) {
        if let host = overrides.host {
            guard !host.isEmpty else { throw ConfigurationError("--host must not be empty") }
            settings.host = host
        }
        if let port = overrides.port {
            guard (0...65_535).contains(port) else { throw ConfigurationError("--port must be from 0 to 65535") }
            settings.port = port
        }
        if let workers = overrides.workers {
            guard (0...256).contains(workers) else { throw ConfigurationError("--workers must be from 0 to 256") }
            settings.workers = workers
        }
        if overrides.rateLimitsOff {
            settings.rateLimit.perIP = nil
            settings.rateLimit.perUser = nil
            settings.rateLimit.invalidTokensPerIP = nil
            settings.rateLimit.oauthPerIP = nil
            settings.rateLimit.registrationPerIP = nil
        }
    }
}
