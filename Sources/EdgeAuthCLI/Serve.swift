import ArgumentParser
import EdgeAuth
import EdgeAuthHTTP
import EdgeAuthMCP
import Foundation

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server: a master process and worker processes that verify every request.",
        discussion: """
        The configuration comes from --config FILE (JSON or YAML: the verifier's members plus "server"), \
        else from the environment (EDGEAUTH_PROVIDER and its variables), else the embedded development \
        default: a signing key generated under --data-dir, trusted by the server, for `edgeauth dev-token`. \
        SIGTERM or SIGINT drains and stops; SIGHUP reloads the configuration without dropping a request (docs/server.md).
        """
    )

    @Option(help: "Configuration file (JSON, or YAML when it ends in .yaml or .yml).")
    var config: String?

    @Option(help: "Address to listen on (default 127.0.0.1, or server.host).")
    var host: String?

    @Option(help: "Port to listen on (default 8080, or server.port; 0 picks a free port).")
    var port: Int?

    @Option(help: "Worker processes (default: one per core, or server.workers).")
    var workers: Int?

    @Option(help: "Directory of the development key and cache of the embedded default.")
    var dataDir = ".edgeauth"

    @Flag(help: "Turn every rate limit off (load tests from one address with one user; not for production).")
    var noRateLimit = false

    @Option(help: "What answers verified requests under the protected path: mcp-demo (the demo MCP tools) or identity (the caller's identity as JSON).")
    var handler: HandlerKind = .mcpDemo

    enum HandlerKind: String, ExpressibleByArgument, CaseIterable {
        case mcpDemo = "mcp-demo"
        case identity
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let workerPort = ServerProcess.workerPort(environment)
        let launch: ServerLaunch
        do {
            launch = try resolve(environment)
        } catch {
            writeError("error: \(error.message)")
            throw ExitCode(2)
        }
        if workerPort != nil {
            do {
                try await ServerProcess.runWorker(launch, environment: environment)
            } catch {
                writeError("error: \((error as? ConfigurationError)?.message ?? "\(error)")")
                throw ExitCode(2)
            }
        } else {
            let status = await ServerProcess.runMaster(launch)
            if status != 0 { throw ExitCode(status) }
        }
    }

    /// The configuration file, else the environment, else the development default (`ServerLaunch(resolving:)`).
    func resolve(_ environment: [String: String]) throws(ConfigurationError) -> ServerLaunch {
        let source = ConfigurationSource.automatic(file: config, environment: environment, dataDirectory: dataDir)
        let overrides = ServerOverrides(host: host, port: port, workers: workers, rateLimitsOff: noRateLimit)
        switch handler {
        case .identity:
            return try ServerLaunch(resolving: source, overrides: overrides, environment: environment, dataDirectory: dataDir) { _, _ in IdentityEchoHandler() }
        case .mcpDemo:
            let demo = MCPServer.demo(dataDirectory: (dataDir as NSString).appendingPathComponent("user-data"))
            var launch = try ServerLaunch(resolving: source, overrides: overrides, environment: environment, dataDirectory: dataDir,
                                          makeHandler: { resource, configuration in try MCPHandler(server: demo, resource: resource, configuration: configuration.server) },
                                          usageHint: MCPServer.usageHint)
            launch.configuration.server = demo.advertisingScopes(launch.configuration.server)
            return launch
        }
    }
}

struct DevToken: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-token",
        abstract: "Print a token signed with the development key of `edgeauth serve` (never any other key)."
    )

    @Option(help: "The user (sub).")
    var user: String

    @Option(help: "Roles, separated by commas or spaces.")
    var roles: String = ""

    @Option(help: "Permissions, separated by commas or spaces.")
    var permissions: String = ""

    @Option(help: "Scopes, separated by spaces or commas.")
    var scopes: String = ""

    @Option(help: "Email claim.")
    var email: String?

    @Option(help: "Lifetime in seconds.")
    var lifetime: Int64 = 3600

    @Option(help: "Host the server listens on (it names the issuer and audience).")
    var host = "127.0.0.1"

    @Option(help: "Port the server listens on.")
    var port = 8080

    @Option(help: "Directory of the development key.")
    var dataDir = ".edgeauth"

    @Option(help: "Print this many tokens, one per line, each with its own jti (benchmarks).")
    var count = 1

    func run() throws {
        guard lifetime > 0, lifetime <= 86_400 * 30 else {
            writeError("error: --lifetime must be from 1 to 2592000 seconds")
            throw ExitCode(2)
        }
        var server = ServerConfiguration()
        server.host = host
        server.port = port
        func list(_ text: String) -> [String] { text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init) }
        do throws(ConfigurationError) {
            let issuer = try DevelopmentIssuer.open(directory: dataDir, server: server, create: false)
            guard count >= 1, count <= 10_000_000 else { throw ConfigurationError("--count must be from 1 to 10000000") }
            var output = ""
            for _ in 0..<count {
                output += try issuer.token(user: user, roles: list(roles), permissions: list(permissions), scopes: list(scopes), email: email, lifetime: lifetime) + "\n"
                if output.utf8.count > 1 << 20 {
                    FileHandle.standardOutput.write(Data(output.utf8))
                    output = ""
                }
            }
            FileHandle.standardOutput.write(Data(output.utf8))
        } catch {
            writeError("error: \(error.message)")
            throw ExitCode(2)
        }
    }
}
