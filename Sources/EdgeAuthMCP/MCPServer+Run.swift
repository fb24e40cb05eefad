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

    /// Where the server's verifier configuration comes from.
    var source: ConfigurationSource {
        get throws(ConfigurationError) {
            func fromProvider(_ provider: Provider) -> ConfigurationSource {
                let keys: [KeySource] = provider.endpoints.jwksURL.map { [.jwksURL($0)] } ?? [.discovery(issuer: provider.endpoints.issuer)]
                return .verifier(VerifierConfiguration(policy: provider.policy(), keys: keys, mapping: provider.mapping))
            }
            switch self {
            case .development(let directory): return .development(dataDirectory: directory)
            case .auth0(let domain, let audience): return fromProvider(try .auth0(domain: domain, audience: audience))
            case .workOS(let domain, let clientId): return fromProvider(try .workOS(domain: domain, clientId: clientId))
            case .supabase(let projectId): return fromProvider(try .supabase(projectId: projectId))
            case .keycloak(let serverURL, let realm, let clientId): return fromProvider(try .keycloak(serverURL: serverURL, realm: realm, clientId: clientId))
            case .provider(let provider): return fromProvider(provider)
            case .configuration(let verifier): return .verifier(verifier)
            case .file(let path): return .file(path)
            case .environment: return .environment
            }
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
    /// Settings are resolved as for `edgeauth serve` (`ServerLaunch(resolving:)`):
    /// `EDGEAUTH_HOST`, `EDGEAUTH_PORT` and `EDGEAUTH_WORKERS` override a configuration file's
    /// `server`, which overrides the settings given here.
    public func run(_ server: ServerConfiguration = ServerConfiguration(),
                    environment: [String: String] = ProcessInfo.processInfo.environment) async throws {
        let workerPort = ServerProcess.workerPort(environment)
        var launch = try ServerLaunch(resolving: try auth.source, server: server, environment: environment, makeHandler: { [self] resource, configuration in
            try MCPHandler(server: self, resource: resource, configuration: configuration.server)
        }, usageHint: Self.usageHint)
        launch.configuration.server = advertisingScopes(launch.configuration.server)
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
