import ArgumentParser
import Dispatch
import EdgeAuth
import EdgeAuthHTTP
import Foundation
import Metrics
import NIOPosix
import Prometheus
import Synchronization

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

    @Flag(help: .hidden)
    var worker = false

    @Option(help: .hidden)
    var boundPort: Int?

    @Option(help: .hidden)
    var metricsDir: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let resolved: (configuration: ServeConfiguration, development: DevelopmentIssuer?)
        do {
            resolved = try resolveConfiguration(environment)
        } catch {
            writeError("error: \(error.message)")
            throw ExitCode(2)
        }
        if worker {
            try await runWorker(resolved.configuration)
        } else {
            try await runMaster(resolved.configuration, development: resolved.development)
        }
    }

    /// The configuration file, else the environment, else the development default; then the options.
    func resolveConfiguration(_ environment: [String: String]) throws(ConfigurationError) -> (ServeConfiguration, DevelopmentIssuer?) {
        var server = ServerConfiguration()
        var configuration: ServeConfiguration
        var development: DevelopmentIssuer?
        if let config {
            configuration = try ServeConfiguration.load(file: config, environment: environment)
            server = configuration.server
        } else {
            configuration = ServeConfiguration(verifier: VerifierConfiguration(policy: ValidationPolicy(issuers: .any, audiences: .any), keys: []), server: server)
        }
        if let host { server.host = host }
        if let port = boundPort ?? port { server.port = port }
        if let workers { server.workers = workers }
        if noRateLimit {
            server.rateLimit.perIP = nil
            server.rateLimit.perUser = nil
            server.rateLimit.invalidTokensPerIP = nil
        }
        guard server.workers >= 0, server.workers <= 256 else { throw ConfigurationError("--workers must be from 0 to 256") }
        if config == nil {
            if ProviderSetup.isConfigured(in: environment) {
                configuration.verifier = try VerifierConfiguration.fromEnvironment(environment)
            } else {
                let issuer = try DevelopmentIssuer.open(directory: dataDir, server: server, create: !worker || boundPort == nil)
                configuration.verifier = issuer.verifierConfiguration
                development = issuer
            }
        }
        configuration.server = server
        return (configuration, development)
    }

    // MARK: Master

    private func runMaster(_ configuration: ServeConfiguration, development: DevelopmentIssuer?) async throws {
        let server = configuration.server
        let listening: (descriptor: CInt, port: Int)
        do {
            listening = try ListeningSocket.open(host: server.host, port: server.port)
        } catch {
            writeError("error: \(error)")
            throw ExitCode(2)
        }
        let workers = server.workers == 0 ? ProcessInfo.processInfo.activeProcessorCount : server.workers
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        // The workers' shared state: their metrics (/metrics answers all of them) and the rate limits.
        let metricsDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-metrics-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: metricsDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: metricsDirectory) }
        var arguments = Array(CommandLine.arguments.dropFirst())
        arguments += ["--worker", "--bound-port", String(listening.port), "--metrics-dir", metricsDirectory]
        var options = Supervisor.Options(workerCommand: [executable] + arguments, workers: workers)
        options.drainTimeout = 30
        let config = self.config
        let supervisor = Supervisor(options: options, socket: listening.descriptor) {
            guard let config else { return nil }
            do throws(ConfigurationError) {
                _ = try ServeConfiguration.load(file: config)
                return nil
            } catch {
                return error.message
            }
        }
        var bound = server
        bound.port = listening.port
        let shown = bound
        let origin = "http://\(server.host.contains(":") ? "[\(server.host)]" : server.host):\(listening.port)"
        // The command as the user can paste it: relative to the working directory when inside it.
        let workingDirectory = FileManager.default.currentDirectoryPath + "/"
        let shownExecutable = executable.hasPrefix(workingDirectory) ? String(executable.dropFirst(workingDirectory.count)) : executable
        let status = await supervisor.run {
            var lines = [
                "edgeauth \(EdgeAuthVersion.string) listening on \(origin) (\(workers) workers, master pid \(getpid()))",
                "protected resource: \(shown.resourceURL); metadata: \(origin)/.well-known/oauth-protected-resource\(shown.protectedPath)",
            ]
            if let development {
                lines += [
                    "development mode: tokens are signed with the key in \(development.directory)/\(DevelopmentIssuer.keyFile). Try:",
                    "  TOKEN=$(\(shownExecutable) dev-token --user alice --roles admin --scopes \"notes:read notes:write\" --port \(listening.port) --data-dir \(development.directory))",
                    "  curl -H \"Authorization: Bearer $TOKEN\" \(shown.resourceURL)",
                ]
            }
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        if status != 0 { throw ExitCode(status) }
    }

    // MARK: Worker

    private func runWorker(_ configuration: ServeConfiguration) async throws {
        // Signals to the terminal's process group are the master's to handle.
        signal(SIGINT, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let terminate = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        // Before any metric is created: key fetches and key-set gauges go to the same registry.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let verifier: Verifier
        do {
            verifier = try await configuration.verifier.makeVerifier(listeningOn: [configuration.server.host])
        } catch {
            writeError("error: \(error.message)")
            throw ExitCode(2)
        }
        let resource = ProtectedResource(server: configuration.server, issuers: configuration.verifier.exactIssuers)
        let metrics = HTTPMetrics(registry: registry, snapshotDirectory: metricsDir)
        // The rate limits' buckets are shared by the workers through a file beside the metrics.
        let limiter = try metricsDir.map { directory throws(CacheError) in
            try SharedRateLimiter(path: (directory as NSString).appendingPathComponent("rate-limits"))
        }
        let context = ServerContext(verifier: verifier, resource: resource, server: configuration.server, handler: IdentityEchoHandler(),
                                    metrics: metrics, limiter: limiter)
        let snapshots = Task.detached {
            while !Task.isCancelled {
                metrics.snapshot(verifier)
                try? await Task.sleep(for: .seconds(2))
            }
        }
        // One event loop per worker process (workers default to one per core, as nginx's do).
        let server = try await HTTPServer.start(context, listener: .socket(0), group: MultiThreadedEventLoopGroup(numberOfThreads: 1))
        let maintenance = Task { await verifier.keyRing.maintain() }
        let master = getppid()
        let stop = StopSignal()
        // Stop with the master, whatever happens to it (the worker is then re-parented).
        let orphaned = Task.detached {
            while getppid() == master, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(500)) }
            stop.fire()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            stop.set(continuation)
            terminate.setEventHandler {
                terminate.cancel()
                stop.fire()
            }
            terminate.resume()
            FileHandle.standardOutput.write(Data("ready\n".utf8))
        }
        orphaned.cancel()
        maintenance.cancel()
        snapshots.cancel()
        try await server.drain()
    }
}

/// Resumes the waiting worker once, whichever cause comes first.
final class StopSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiting: CheckedContinuation<Void, Never>?)>((false, nil))

    func set(_ waiting: CheckedContinuation<Void, Never>) {
        let resumeNow = state.withLock { state -> Bool in
            if state.fired { return true }
            state.waiting = waiting
            return false
        }
        if resumeNow { waiting.resume() }
    }

    func fire() {
        let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.fired = true
            defer { state.waiting = nil }
            return state.waiting
        }
        waiting?.resume()
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
                output += try issuer.token(user: user, roles: list(roles), scopes: list(scopes), email: email, lifetime: lifetime) + "\n"
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
