import Dispatch
import EdgeAuth
import Foundation
import Metrics
import NIOPosix
import Prometheus
import Synchronization

public enum EdgeAuthVersion {
    public static let string = "0.1.0"
}

/// What a server process runs: the configuration, and the protected handler each worker builds.
public struct ServerLaunch: Sendable {
    public var configuration: ServeConfiguration
    /// The embedded development issuer, when the server trusts it (the start-up message says how to get a token).
    public var development: DevelopmentIssuer?
    /// The authorization server of proxy mode, when it runs.
    public var authorization: AuthorizationLaunch?
    /// The configuration file, checked again on SIGHUP before new workers start.
    public var configFile: String?
    /// Builds a worker's handler for the protected prefix.
    public var makeHandler: @Sendable (ProtectedResource, ServeConfiguration) throws -> any ProtectedHandler
    /// How to call the server, printed at start after the development token command.
    public var usageHint: @Sendable (_ resourceURL: String) -> [String]

    public init(configuration: ServeConfiguration, development: DevelopmentIssuer? = nil, authorization: AuthorizationLaunch? = nil, configFile: String? = nil,
                makeHandler: @escaping @Sendable (ProtectedResource, ServeConfiguration) throws -> any ProtectedHandler,
                usageHint: @escaping @Sendable (String) -> [String] = ServerLaunch.defaultUsageHint) {
        self.configuration = configuration
        self.development = development
        self.authorization = authorization
        self.configFile = configFile
        self.makeHandler = makeHandler
        self.usageHint = usageHint
    }
}

/// The master/worker process model shared by `edgeauth serve` and `MCPServer.run()`: the
/// master binds the socket and supervises workers, which are the same executable started
/// again with the worker variables below in their environment (docs/server.md).
public enum ServerProcess {
    /// Set by the master in each worker's environment: the bound port, and the directory of
    /// the workers' shared metrics and rate-limit buckets.
    public static let workerPortVariable = "EDGEAUTH_WORKER_PORT"
    public static let workerStateVariable = "EDGEAUTH_WORKER_STATE_DIR"
    /// The port of the admin listener (`server.admin`), which the master holds for the workers.
    public static let workerAdminPortVariable = "EDGEAUTH_WORKER_ADMIN_PORT"

    /// The port this process serves as a worker, or nil in the master.
    public static func workerPort(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        environment[workerPortVariable].flatMap { Int($0) }
    }

    /// Runs the master: binds the listener, starts and supervises the workers, and returns
    /// the exit status once the server stopped.
    public static func runMaster(_ launch: ServerLaunch) async -> Int32 {
        let server = launch.configuration.server
        let listening: (descriptor: CInt, port: Int)
        let admin: (descriptor: CInt, port: Int)?
        do {
            // Checked here once, so that a bad certificate stops the start instead of every worker.
            if let files = server.tls { _ = try TLSFiles.context(files) }
            listening = try ListeningSocket.open(host: server.host, port: server.port)
            admin = try server.admin.map { try ListeningSocket.reserve(host: $0.host, port: $0.port) }
        } catch {
            writeStandardError("error: \(error)")
            return 2
        }
        let workers = server.workers == 0 ? ProcessInfo.processInfo.activeProcessorCount : server.workers
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        // The workers' shared state: their metrics (/metrics answers all of them) and the rate limits.
        removeStaleStateDirectories()
        guard let stateDirectory = makeStateDirectory() else {
            writeStandardError(unsafe "error: cannot create the workers' state directory in \(FileManager.default.temporaryDirectory.path): \(String(cString: strerror(errno)))")
            return 2
        }
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        var options = Supervisor.Options(workerCommand: [executable] + CommandLine.arguments.dropFirst(), workers: workers)
        options.environment = [workerPortVariable: String(listening.port), workerStateVariable: stateDirectory]
        if let admin { options.environment[workerAdminPortVariable] = String(admin.port) }
        options.drainTimeout = 30
        if let authorization = launch.authorization { options.generationEnvironment = { authorization.generationEnvironment() } }
        let configFile = launch.configFile
        let supervisor = Supervisor(options: options, socket: listening.descriptor) {
            guard let configFile else { return nil }
            do throws(ConfigurationError) {
                _ = try ServeConfiguration.load(file: configFile)
                return nil
            } catch {
                return error.message
            }
        }
        var bound = server
        bound.port = listening.port
        let shown = bound
        let origin = "\(server.tls == nil ? "http" : "https")://\(server.host.contains(":") ? "[\(server.host)]" : server.host):\(listening.port)"
        // The command as the user can paste it: relative to the working directory when inside it.
        let workingDirectory = FileManager.default.currentDirectoryPath + "/"
        let shownExecutable = executable.hasPrefix(workingDirectory) ? String(executable.dropFirst(workingDirectory.count)) : executable
        let development = launch.development
        let authorization = launch.authorization
        let usageHint = launch.usageHint
        return await supervisor.run {
            var lines = [
                "edgeauth \(EdgeAuthVersion.string) listening on \(origin) (\(workers) worker\(workers == 1 ? "" : "s"), master pid \(getpid()))",
                "protected resource: \(shown.resourceURL); metadata: \(origin)/.well-known/oauth-protected-resource\(shown.protectedPath)",
            ]
            if let admin, let listener = shown.admin {
                lines.append("admin: http://\(listener.host.contains(":") ? "[\(listener.host)]" : listener.host):\(admin.port) (/healthz, /readyz, /metrics)")
            }
            if let authorization {
                let users = authorization.settings.developmentUsers.map(\.name).joined(separator: ", ")
                lines += [
                    "proxy mode: EdgeAuth is the authorization server (issuer \(authorization.issuer)); logins go to the development identity provider (\(users)).",
                    "Connect an MCP client (Claude, VS Code, MCP Inspector) to \(shown.resourceURL), or with the official Python SDK:",
                    "  make mcp-client MCP_URL=\(shown.resourceURL) MCP_USER=alice     # headless; leave out MCP_USER to log in in a browser",
                ]
            }
            if let development {
                // `edgeauth dev-token` mints the tokens; a program of its own points at the CLI.
                let minter = shownExecutable.hasSuffix("edgeauth") ? shownExecutable : "edgeauth"
                lines += [
                    "scripts: development tokens are signed with the key in \(development.directory)/\(DevelopmentIssuer.keyFile). Try:",
                    "  TOKEN=$(\(minter) dev-token --user alice --roles admin --scopes \"notes:read notes:write\" --port \(listening.port) --data-dir \(development.directory))",
                ] + usageHint(shown.resourceURL)
            }
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
    }

    /// Runs one worker on the socket it inherited as standard input, until the master tells
    /// it to stop (SIGTERM) or disappears; then drains.
    public static func runWorker(_ launch: ServerLaunch, environment: [String: String] = ProcessInfo.processInfo.environment) async throws {
        let configuration = launch.configuration
        let stateDirectory = environment[workerStateVariable]
        // Signals to the terminal's process group are the master's to handle.
        signal(SIGINT, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        // Before any metric is created: key fetches and key-set gauges go to the same registry.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let verifier = try await configuration.verifier.makeVerifier(listeningOn: [configuration.server.host],
                                                                     startingUnavailable: environment[Supervisor.replacementVariable] == "1")
        let resource = ProtectedResource(server: configuration.server, issuers: configuration.verifier.exactIssuers)
        let metrics = HTTPMetrics(registry: registry, snapshotDirectory: stateDirectory)
        // The rate limits' buckets are shared by the workers through a file beside the metrics.
        let limiter = try stateDirectory.map { directory throws(CacheError) in
            try SharedRateLimiter(path: (directory as NSString).appendingPathComponent("rate-limits"))
        }
        let handler = try launch.makeHandler(resource, configuration)
        let authorization = try launch.authorization?.makeServer(server: configuration.server, verifier: verifier)
        let tls = try configuration.server.tls.map(TLSFiles.context)
        let context = ServerContext(verifier: verifier, resource: resource, server: configuration.server, handler: handler,
                                    metrics: metrics, limiter: limiter, authorization: authorization, tls: tls, gateway: configuration.gateway)
        let snapshots = Task.detached {
            while !Task.isCancelled {
                metrics.snapshot(verifier)
                try? await Task.sleep(for: .seconds(2))
            }
        }
        // A replacement that started without its keys (provider down, nothing in a shared cache)
        // accepts nothing until a fetch succeeds: the workers that have keys answer meanwhile.
        let parent = getppid()
        while verifier.keyCount == 0, verifier.keyRing.hasRemoteSources, getppid() == parent {
            try? await Task.sleep(for: .seconds(configuration.verifier.keyRefresh.coolDown))
            await verifier.keyRing.refreshNow()
        }
        // One event loop per worker process by default (workers default to one per core, as nginx's do).
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.server.eventLoops)
        let server = try await HTTPServer.start(context, listener: .socket(0), group: group)
        var admin: HTTPServer?
        if let listener = configuration.server.admin {
            let port = environment[workerAdminPortVariable].flatMap { Int($0) } ?? listener.port
            admin = try await HTTPServer.start(context, listener: .shared(host: listener.host, port: port), group: group, admin: true)
        }
        let maintenance = Task { await verifier.maintainKeys() }
        // Expired codes, grants and pending logins leave the state store (every worker sweeps; each sweep is one transaction).
        let sweeping = Task.detached {
            while !Task.isCancelled, let authorization {
                try? await Task.sleep(for: .seconds(300))
                _ = try? await authorization.sweep()
            }
        }
        let master = getppid()
        let stop = StopSignal()
        // Made only once nothing above can throw: a signal source released unresumed is a crash.
        let terminate = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
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
        sweeping.cancel()
        snapshots.cancel()
        try await server.drain()
        try await admin?.drain()
    }

    static let stateDirectoryPrefix = "edgeauth-metrics-"

    /// A new directory only this user can enter, under a name no one could have chosen first
    /// (`mkdtemp`): the workers write their metrics and rate-limit table in it, so a directory
    /// another local user prepared (a symbolic link inside, say) must never be taken.
    static func makeStateDirectory() -> String? {
        var template = Array(FileManager.default.temporaryDirectory.appendingPathComponent("\(stateDirectoryPrefix)\(getpid())-XXXXXX").path.utf8CString)
        return unsafe template.withUnsafeMutableBufferPointer { buffer in
            guard let made = unsafe mkdtemp(buffer.baseAddress!) else { return nil }
            return unsafe String(cString: made)
        }
    }

    /// The state directories of masters that were killed (SIGKILL leaves no chance to clean
    /// up): any whose process no longer exists.
    static func removeStaleStateDirectories() {
        let temporary = FileManager.default.temporaryDirectory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? [] where name.hasPrefix(stateDirectoryPrefix) {
            guard let pid = pid_t(name.dropFirst(stateDirectoryPrefix.count).prefix { $0 != "-" }), pid > 0, pid != getpid() else { continue }
            // Only this user's: another user's directory is none of this server's business.
            var status = stat()
            guard unsafe lstat(temporary.appendingPathComponent(name).path, &status) == 0, status.st_uid == getuid() else { continue }
            if kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))
            }
        }
    }

    static func writeStandardError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
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
