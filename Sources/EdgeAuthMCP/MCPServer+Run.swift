import EdgeAuth
import EdgeAuthHTTP
import Foundation

/// Who issues the tokens an `MCPServer` accepts.
public enum MCPAuth: Sendable {
    /// The development key of `edgeauth serve`, generated under `dataDirectory`; tokens from
    /// `edgeauth dev-token`. Loopback only.
    case development(dataDirectory: String = ".edgeauth")
    case auth0(domain: String, audience: String)
    case workOS(domain: String, clientId: String? = nil)
    case supabase(projectId: String)
    case keycloak(serverURL: String, realm: String, clientId: String? = nil)
    /// Any provider, as built by `Provider`'s factories.
    case provider(Provider)
    /// A verifier configuration of your own.
    case configuration(VerifierConfiguration)
    /// A configuration file (JSON or YAML) with the verifier and the `server` members.
    case file(String)
    /// The provider named by `EDGEAUTH_PROVIDER` and its variables (docs/configuration.md).
    case environment

    /// The verifier configuration, the file's server settings if any, and the development issuer if used.
    func resolve(server: ServerConfiguration, environment: [String: String], isWorker: Bool)
        throws(ConfigurationError) -> (ServeConfiguration, DevelopmentIssuer?) {
        func fromProvider(_ provider: Provider) -> VerifierConfiguration {
            let keys: [KeySource] = provider.endpoints.jwksURL.map { [.jwksURL($0)] } ?? [.discovery(issuer: provider.endpoints.issuer)]
            return VerifierConfiguration(policy: provider.policy(), keys: keys, mapping: provider.mapping)
        }
        switch self {
        case .development(let directory):
            let issuer = try DevelopmentIssuer.open(directory: directory, server: server, create: !isWorker)
            return (ServeConfiguration(verifier: issuer.verifierConfiguration, server: server), issuer)
        case .auth0(let domain, let audience):
            return (ServeConfiguration(verifier: fromProvider(try .auth0(domain: domain, audience: audience)), server: server), nil)
        case .workOS(let domain, let clientId):
            return (ServeConfiguration(verifier: fromProvider(try .workOS(domain: domain, clientId: clientId)), server: server), nil)
        case .supabase(let projectId):
            return (ServeConfiguration(verifier: fromProvider(try .supabase(projectId: projectId)), server: server), nil)
        case .keycloak(let serverURL, let realm, let clientId):
            return (ServeConfiguration(verifier: fromProvider(try .keycloak(serverURL: serverURL, realm: realm, clientId: clientId)), server: server), nil)
        case .provider(let provider):
            return (ServeConfiguration(verifier: fromProvider(provider), server: server), nil)
        case .configuration(let verifier):
            return (ServeConfiguration(verifier: verifier, server: server), nil)
        case .file(let path):
            return (try ServeConfiguration.load(file: path, environment: environment), nil)
        case .environment:
            return (ServeConfiguration(verifier: try VerifierConfiguration.fromEnvironment(environment), server: server), nil)
        }
    }
}

extension MCPServer {
    /// Serves the tools: a master process that binds `server.host`/`server.port` and starts
    /// `server.workers` worker processes (this same program, started again), each answering
    /// MCP at the protected path with the bearer checks, metadata, CORS, rate limits and
    /// metrics of `edgeauth serve`. Returns when the server stopped (SIGTERM or SIGINT);
    /// SIGHUP replaces the workers without dropping a request.
    ///
    /// `EDGEAUTH_HOST`, `EDGEAUTH_PORT` and `EDGEAUTH_WORKERS` override the settings given here.
    public func run(_ server: ServerConfiguration = ServerConfiguration(),
                    environment: [String: String] = ProcessInfo.processInfo.environment) async throws {
        let workerPort = ServerProcess.workerPort(environment)
        var settings = server
        if let host = environment["EDGEAUTH_HOST"] { settings.host = host }
        if let port = environment["EDGEAUTH_PORT"] {
            guard let number = Int(port), (0...65535).contains(number) else { throw ConfigurationError("EDGEAUTH_PORT must be a port number (got \"\(port)\")") }
            settings.port = number
        }
        if let workers = environment["EDGEAUTH_WORKERS"] {
            guard let number = Int(workers), (0...256).contains(number) else { throw ConfigurationError("EDGEAUTH_WORKERS must be from 0 to 256 (got \"\(workers)\")") }
            settings.workers = number
        }
        if let workerPort { settings.port = workerPort }
        var (configuration, development) = try auth.resolve(server: settings, environment: environment, isWorker: workerPort != nil)
        if case .file = auth {
            // The file's server settings, with the port the master bound.
            if let workerPort { configuration.server.port = workerPort }
        }
        configuration.server = advertisingScopes(configuration.server)
        let launch = ServerLaunch(configuration: configuration, development: development, configFile: {
            if case .file(let path) = auth { return path }
            return nil
        }(), makeHandler: { [self] resource, configuration in
            try MCPHandler(server: self, resource: resource, configuration: configuration.server)
        }, usageHint: Self.usageHint)
        if workerPort != nil {
            try await ServerProcess.runWorker(launch, environment: environment)
        } else {
            let status = await ServerProcess.runMaster(launch)
            guard status == 0 else { throw ServerStopped(status: status) }
        }
    }

    /// How to call a tool with curl, printed at start in development mode.
    public static func usageHint(_ resourceURL: String) -> [String] {
        [
            "  curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\",
            "    -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"whoami\",\"arguments\":{}}}' \(resourceURL)",
        ]
    }
}

/// The server stopped with a failure (its workers crash-looped, or the socket could not be bound).
public struct ServerStopped: Error, CustomStringConvertible {
    public let status: Int32
    public var description: String { "the server stopped with status \(status)" }
}
