import EdgeAuth
import EdgeAuthTesting
import Foundation
import Synchronization
import Testing

/// `edgeauth serve` as operators run it: a master and its workers, killed, reloaded and stopped
/// while requests flow.
@Suite("edgeauth serve: master and workers", .serialized)
struct ProcessModelTests {
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("edgeauth")
    }

    /// A running `edgeauth serve` with the embedded development default. When the test lets go
    /// of it (`deinit`), however the test ends, it is stopped and its data directory removed.
    final class Served: @unchecked Sendable {  // used by one test at a time
        let process: Process
        let port: Int
        let dataDirectory: String
        let token: String

        let errors: Pipe

        /// - Parameter configuration: a configuration file and a token it accepts (default: the
        ///   embedded development default and a development token).
        init(workers: Int = 2, arguments: [String] = [], environment: [String: String]? = nil, configuration: (path: String, token: String)? = nil) throws {
            let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-serve-\(UUID().uuidString)").path
            self.dataDirectory = dataDirectory
            let process = Process()
            self.process = process
            process.executableURL = ProcessModelTests.binary
            process.arguments = ["serve", "--port", "0", "--workers", String(workers), "--handler", "identity"]
                + (configuration.map { ["--config", $0.path] } ?? ["--data-dir", dataDirectory]) + arguments
            let output = Pipe()
            process.standardOutput = output
            errors = Pipe()
            process.standardError = environment == nil ? FileHandle.nullDevice : errors
            if let environment { process.environment = environment }
            try process.run()
            do {
                port = try listeningPort(from: output)
                if let configuration {
                    token = configuration.token
                    return
                }
                let minted = Process()
                minted.executableURL = ProcessModelTests.binary
                minted.arguments = ["dev-token", "--user", "alice", "--scopes", "notes:read", "--port", String(port), "--data-dir", dataDirectory]
                let tokenOutput = Pipe()
                minted.standardOutput = tokenOutput
                try minted.run()
                minted.waitUntilExit()
                token = String(decoding: tokenOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                // Not fully initialized: deinit will not run, so stop the server here.
                Self.stop(process, dataDirectory: dataDirectory)
                throw error
            }
        }

        deinit {
            let dataDirectory = dataDirectory
            stopServerProcessInBackground(process) { try? FileManager.default.removeItem(atPath: dataDirectory) }
        }

        /// SIGTERM, so that the master drains its workers and removes its state directory; SIGKILL
        /// if it is still running after a generous deadline. Then the data directory goes.
        static func stop(_ process: Process, dataDirectory: String) {
            stopServerProcess(process)
            try? FileManager.default.removeItem(atPath: dataDirectory)
        }

        /// What the server wrote to standard error so far (only when started with an environment).
        private var log = Data()

        /// Waits until the server's standard error contains `text` (only when started with an
        /// environment); blocking.
        func waitForLog(_ text: String, timeout: Duration = .seconds(30)) -> Bool {
            let descriptor = errors.fileHandleForReading.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 4096)
            return waitUntilBlocking(timeout: timeout, interval: .milliseconds(10)) {
                var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                while poll(&ready, 1, 0) > 0, ready.revents != 0 {
                    let count = read(descriptor, &buffer, buffer.count)
                    if count <= 0 { break }
                    log.append(contentsOf: buffer[..<count])
                }
                return String(decoding: log, as: UTF8.self).contains(text)
            }
        }

        /// The worker processes (children of the master).
        var workers: Set<Int32> {
            let master = process.processIdentifier
            var found = Set<Int32>()
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8) else { continue }
                // Fields after the command (which may contain spaces) start after the last ')'.
                let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
                if fields.count > 2, Int32(fields[1]) == master, fields[0] != "Z" { found.insert(pid) }
            }
            return found
        }

        func request() -> Int {
            (try? RawHTTP.getBlocking(port, "/mcp", headers: ["Authorization: Bearer \(token)"]))?.status ?? 0
        }

        /// Sends MCP-shaped POSTs one after another at full speed on a keep-alive connection
        /// (a new one when the server said `Connection: close`) until the load is stopped. A
        /// request whose connection closed without an answer counts as status 0: a client
        /// does not retry a POST.
        func load(_ load: Load) {
            let body = #"{"jsonrpc":"2.0","id":1,"method":"ping"}"#
            let request = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            var connection: RawConnection?
            while !load.stopped.load(ordering: .relaxed) {
                guard let open = connection ?? (try? RawConnection(port)) else {
                    load.statuses.withLock { $0[-1, default: 0] += 1 }  // refused: nothing was sent
                    continue
                }
                open.send(request)
                let answer = open.read()
                load.statuses.withLock { $0[answer?.status ?? 0, default: 0] += 1 }
                connection = answer == nil || answer?.header("Connection") == "close" ? nil : open
            }
        }

        /// Waits until `count` workers run, none of them in `old`; false if the master exited first.
        func waitForWorkers(_ count: Int, excluding old: Set<Int32> = []) -> Bool {
            var found = false
            _ = waitUntilBlocking(timeout: .seconds(30), interval: .milliseconds(50)) {
                let current = workers
                found = current.count == count && current.isDisjoint(with: old)
                return found || !process.isRunning
            }
            return found
        }
    }

    final class Load: Sendable {
        let stopped = Atomic<Bool>(false)
        let statuses = Mutex<[Int: Int]>([:])
        /// Requests answered (or failed) so far.
        var count: Int { statuses.withLock { $0.values.reduce(0, +) } }
    }

    /// Runs `load` on four threads (four keep-alive clients) while `action` runs; returns the statuses. Blocking work
    /// stays off Swift's cooperative pool, which other suites' servers need.
    static func underLoad(_ served: Served, _ action: () async throws -> Void) async rethrows -> [Int: Int] {
        let load = Load()
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                served.load(load)
                group.leave()
            }.start()
        }
        // The load is flowing before the action, and goes on for a while after it.
        _ = await waitUntil { load.count >= 200 }
        try await action()
        let afterAction = load.count
        _ = await waitUntil { load.count >= afterAction + 500 }
        load.stopped.store(true, ordering: .relaxed)
        _ = try? await offPool { group.wait() }
        return load.statuses.withLock { $0 }
    }

    static func start(workers: Int = 2, arguments: [String] = [], environment: [String: String]? = nil,
                      configuration: (path: String, token: String)? = nil) async throws -> Served {
        try await offPool { try Served(workers: workers, arguments: arguments, environment: environment, configuration: configuration) }
    }

    @Test("the embedded default serves the development token, and only it")
    func embeddedDefault() async throws {
        let served = try await Self.start(workers: 1)
        #expect(try await offPool { served.request() } == 200)
        #expect(try await RawHTTP.get(served.port, "/mcp")?.status == 401)
        let mode = try FileManager.default.attributesOfItem(atPath: served.dataDirectory + "/dev-signing-key.pem")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("server.eventLoops: a worker runs that many event loops, and its connections are spread over them")
    func eventLoops() async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["EDGEAUTH_EVENT_LOOPS"] = "3"
        let served = try await Self.start(workers: 1, environment: environment)
        let worker = try #require(served.workers.first)
        let loops = Self.threads(of: worker).filter { $0.name.hasPrefix("NIO-ELT-") }
        #expect(loops.count == 3)
        // Six connections go round the three loops: every loop wakes for the requests it answers.
        let before = Dictionary(uniqueKeysWithValues: loops.map { ($0.id, Self.wakeups(worker, $0.id)) })
        let statuses = try await offPool {
            let connections = try (0..<6).map { _ in try RawConnection(served.port) }
            var statuses: [Int] = []
            for _ in 0..<20 {
                for connection in connections {
                    connection.send("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(served.token)\r\n\r\n")
                    statuses.append(connection.read()?.status ?? 0)
                }
            }
            return statuses
        }
        #expect(statuses.count == 120 && statuses.allSatisfy { $0 == 200 })
        for loop in loops {
            #expect(Self.wakeups(worker, loop.id) - (before[loop.id] ?? 0) >= 20, "loop \(loop.name) answered nothing")
        }
    }

    /// The threads of a process: id and name.
    static func threads(of pid: Int32) -> [(id: String, name: String)] {
        let tasks = "/proc/\(pid)/task"
        return ((try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []).map { id in
            (id, ((try? String(contentsOfFile: "\(tasks)/\(id)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// How often a thread has gone to sleep and woken (its voluntary context switches).
    static func wakeups(_ pid: Int32, _ thread: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("voluntary_ctxt_switches:") }
        return line.flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
    }

    @Test("a master starting removes the state directories of masters that were killed")
    func staleStateDirectories() async throws {
        // The pid of a process that has exited: a master killed with SIGKILL left this behind.
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let stale = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-metrics-\(exited.processIdentifier)-AbC123")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: stale) }
        let served = try await Self.start(workers: 1)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        // A live master's directory stays: made by mkdtemp, only its user may enter it.
        let prefix = "edgeauth-metrics-\(served.process.processIdentifier)-"
        let live = try #require(try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path).first { $0.hasPrefix(prefix) })
        let mode = try FileManager.default.attributesOfItem(atPath: FileManager.default.temporaryDirectory.appendingPathComponent(live).path)[.posixPermissions] as? Int
        #expect(mode == 0o700)
    }

    @Test("a worker killed during a request stream is restarted; only what it was serving fails")
    func workerRestart() async throws {
        // One user at full speed from one address: the load itself would be rate limited.
        let served = try await Self.start(workers: 2, arguments: ["--no-rate-limit"])
        let before = served.workers
        #expect(before.count == 2)
        let victim = try #require(before.first)
        let statuses = try await Self.underLoad(served) {
            kill(victim, SIGKILL)
            let replaced = try await offPool { served.waitForWorkers(2, excluding: [victim]) }
            #expect(replaced, "a new worker replaced the killed one")
        }
        let failed = statuses.filter { $0.key != 200 }.values.reduce(0, +)
        // What a killed worker held is lost, nothing else: one request per client at most.
        #expect(failed <= 4, "at most the request each client had in flight on the killed worker: \(statuses)")
        #expect((statuses[200] ?? 0) > 500, "\(statuses)")
        #expect(try await offPool { served.request() } == 200)
    }

    @Test("workers that keep dying make the master give up loudly, with status 1")
    func crashLoop() async throws {
        let served = try await Self.start(workers: 1, environment: [:])
        let killed = try await offPool { () -> Set<Int32> in
            var killed = Set<Int32>()
            for _ in 0..<8 where served.process.isRunning {
                guard served.waitForWorkers(1, excluding: killed), let worker = served.workers.first else { break }
                kill(worker, SIGKILL)
                killed.insert(worker)
            }
            served.process.waitUntilExit()
            return killed
        }
        #expect(served.process.terminationStatus == 1)
        let log = try await offPool { String(decoding: served.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        #expect(log.contains("crash-looping"), "\(log.suffix(400))")
        #expect(killed.count == 6, "five restarts, then the sixth exit stops the server")
    }

    @Test("SIGHUP under load: a new generation of workers, zero failed requests")
    func reloadUnderLoad() async throws {
        // One user at full speed from one address: the load itself would be rate limited.
        let served = try await Self.start(workers: 2, arguments: ["--no-rate-limit"])
        let before = served.workers
        let statuses = try await Self.underLoad(served) {
            kill(served.process.processIdentifier, SIGHUP)
            let replaced = try await offPool { served.waitForWorkers(2, excluding: before) }
            #expect(replaced, "the old workers were replaced")
        }
        #expect(statuses.keys.sorted() == [200], "\(statuses)")
        #expect(served.workers.isDisjoint(with: before))
    }

    @Test("server.admin: readiness and metrics on a listener of their own, answered by every worker and after a reload; 404 on the public port")
    func adminListener() async throws {
        let (held, adminPort) = loopbackListener()
        close(held)
        let environment = ProcessInfo.processInfo.environment.merging(["EDGEAUTH_ADMIN_PORT": String(adminPort)]) { $1 }
        let served = try await Self.start(workers: 2, environment: environment)
        #expect(served.request() == 200)
        for path in ["/metrics", "/readyz"] { #expect(try await RawHTTP.get(served.port, path)?.status == 404, "\(path) on the public port") }
        #expect(try await RawHTTP.get(served.port, "/healthz")?.status == 200)
        func scrape() async throws -> (ready: Int, metrics: Int, protected: Int, pids: Set<String>) {
            var pids = Set<String>()
            for _ in 0..<20 {
                if let id = try await RawHTTP.get(adminPort, "/healthz")?.header("X-Request-Id") { pids.insert(String(id.split(separator: "-")[0])) }
            }
            return (try await RawHTTP.get(adminPort, "/readyz")?.status ?? 0, try await RawHTTP.get(adminPort, "/metrics")?.status ?? 0,
                    try await RawHTTP.get(adminPort, "/mcp")?.status ?? 0, pids)
        }
        let first = try await scrape()
        #expect(first.ready == 200 && first.metrics == 200 && first.protected == 404, "\(first)")
        #expect(first.pids.count == 2, "both workers answer on the admin port: \(first.pids)")
        let before = served.workers
        kill(served.process.processIdentifier, SIGHUP)
        #expect(try await offPool { served.waitForWorkers(2, excluding: before) })
        let reloaded = try await scrape()
        #expect(reloaded.ready == 200 && reloaded.metrics == 200, "\(reloaded)")
        #expect(reloaded.pids.isDisjoint(with: first.pids), "the new generation answers: \(reloaded.pids)")
    }

    @Test("SIGTERM: a request in progress completes, then the master exits 0")
    func drainOnTerminate() async throws {
        let served = try await Self.start(workers: 1, environment: ProcessInfo.processInfo.environment)
        let (read, draining, status) = try await offPool { () -> (Bool, Bool, Int?) in
            let connection = try RawConnection(served.port)
            connection.send("POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(served.token)\r\nContent-Length: 10\r\n\r\n12345")
            // A worker has read the head and half of the body: the request is in progress.
            let read = waitUntilBlocking { connection.serverHasRead(port: served.port) }
            kill(served.process.processIdentifier, SIGTERM)
            let draining = served.waitForLog("; draining")
            // The worker's own drain starts when the master's SIGTERM reaches it, which nothing
            // outside shows: a little time for it, so that the drain overlaps the request. Were
            // it too short, the test would still pass, checking less.
            usleep(200_000)
            connection.send("67890")
            let status = connection.read()?.status
            served.process.waitUntilExit()
            return (read, draining, status)
        }
        #expect(read, "a worker read the request's first part")
        #expect(draining, "the master logged that it drains its worker")
        #expect(status == 200, "the request in flight was answered")
        #expect(served.process.terminationStatus == 0)
        #expect((try? RawConnection(served.port)) == nil, "nothing listens any more")
    }

    @Test("R9: with every log level on, no token (or part of one) appears in the logs")
    func tokensNeverLogged() async throws {
        let served = try await Self.start(workers: 1, environment: ["EDGEAUTH_LOG_LEVEL": "trace"])
        let expired = served.token.split(separator: ".")
        var sent = [served.token, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", String(expired[0]) + "." + String(expired[1]) + ".AAAA"]
        sent.append(String(repeating: "Z", count: 300))
        for token in sent {
            _ = try await RawHTTP.get(served.port, "/mcp", headers: ["Authorization: Bearer \(token)"])
            _ = try await RawHTTP.get(served.port, "/mcp?access_token=\(token)")
        }
        kill(served.process.processIdentifier, SIGTERM)
        let log = try await offPool { () -> String in
            served.process.waitUntilExit()
            return String(decoding: served.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        #expect(log.contains("token rejected"), "debug lines were written: \(log.prefix(500))")
        for token in sent {
            for part in token.split(separator: ".") where part.count >= 8 {
                #expect(!log.contains(part), "a token part was logged")
            }
        }
    }

    @Test("/metrics answers every worker's counts, whichever worker is asked: requests, verdicts by reason, cache lookups by layer")
    func metricsAcrossWorkers() async throws {
        let served = try await Self.start(workers: 2)
        let port = served.port
        // A forged signature (the last signature bytes changed), sent last: its budget of invalid tokens is the address's.
        let forged = String(served.token.dropLast(4)) + (served.token.hasSuffix("AAAA") ? "BBBB" : "AAAA")
        let statuses = try await offPool { () -> [Int] in
            (0..<100).map { _ in served.request() } + (0..<50).map { _ in (try? RawHTTP.getBlocking(port, "/mcp"))?.status ?? 0 }
                + (0..<10).map { _ in (try? RawHTTP.getBlocking(port, "/mcp", headers: ["Authorization: Bearer \(forged)"]))?.status ?? 0 }
        }
        #expect(statuses.filter { $0 == 200 }.count == 100 && statuses.filter { $0 == 401 }.count == 60)
        var text = ""
        func total(_ prefix: String, _ label: String = #"route="protected""#) -> Double {
            text.split(separator: "\n").filter { $0.hasPrefix(prefix) && $0.contains(label) }
                .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
        }
        // Workers write their counts every 2 s: wait until both have written them since the requests.
        let written = await waitUntil {
            text = (try? await RawHTTP.get(port, "/metrics"))?.body ?? ""
            return total("edgeauth_http_requests_total{") >= 160
        }
        #expect(written, "\(text)")
        #expect(total("edgeauth_http_requests_total{") == 160, "\(text)")
        // Requests without a token get no verdict; the forged ones are counted under their reason code.
        #expect(total("edgeauth_verdicts_total{", #"verdict="valid""#) == 100, "\(text)")
        #expect(total("edgeauth_verdicts_total{", "verdict=") == 110, "\(text)")
        // One token, verified once per worker at most: the other answers are cache hits, L1 or LMDB.
        #expect(total("edgeauth_cache_lookups_total{", #"result="hit""#) >= 98, "\(text)")
        #expect(text.contains(#"layer="l1""#) && text.contains(#"layer="lmdb""#), "\(text)")
        #expect(text.contains(#"status="401""#) && text.contains("# TYPE edgeauth_http_requests_total counter"))
        let workers = Set(text.split(separator: "\n").filter { $0.hasPrefix("edgeauth_http_requests_total{") }.compactMap { line in
            line.components(separatedBy: "worker=\"").dropFirst().first?.components(separatedBy: "\"").first
        })
        #expect(workers.count == 2, "both workers answered and are reported: \(workers)")
        #expect(text.components(separatedBy: "# TYPE edgeauth_http_requests_total").count == 2, "one family header")
    }

    @Test("a per-user rate limit holds for the whole server, however requests spread over the workers")
    func rateLimitAcrossWorkers() async throws {
        let factory = TokenFactory(key: try SigningKey.generate(.ec(.p256), kid: "limits"), algorithm: .es256, issuer: "https://issuer.example/",
                                   audience: "api", now: Int64(Date().timeIntervalSince1970))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-ratelimit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let jwks = directory.appendingPathComponent("jwks.json").path
        try Data(JSONValue.object(["keys": [try factory.key.publicJWK(alg: .es256)]]).jsonText.utf8).write(to: URL(fileURLWithPath: jwks))
        let config = directory.appendingPathComponent("edgeauth.yaml").path
        try Data("""
        issuers: [https://issuer.example/]
        audiences: [api]
        keys: [{jwksFile: \(jwks)}]
        server:
          rateLimit:
            perUser: {rate: 0.01, burst: 10}
        """.utf8).write(to: URL(fileURLWithPath: config))
        let token = try factory.token(claims: ["exp": .number(String(factory.now + 3600))])
        let served = try await Self.start(workers: 2, configuration: (config, token))
        let responses = try await offPool { try (0..<30).map { _ in try RawHTTP.getBlocking(served.port, "/mcp", headers: ["Authorization: Bearer \(token)"]) } }
        var statuses = [Int: Int]()
        var workers = Set<String>()
        for response in responses {
            statuses[response?.status ?? 0, default: 0] += 1
            if let id = response?.header("X-Request-Id") { workers.insert(String(id.split(separator: "-")[0])) }
        }
        #expect(statuses == [200: 10, 429: 20], "one budget of 10 for the user, not 10 per worker: \(statuses)")
        #expect(workers.count == 2, "the requests reached both workers")
    }

    @Test("a configuration error stops start-up with status 2 and a message naming the member")
    func badConfiguration() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-badconfig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("edgeauth.yaml").path
        try Data("issuers: [https://issuer.example/]\naudiences: [api]\nkeys: [{jwksFile: /dev/null}]\nserver:\n  port: 99999\n".utf8).write(to: URL(fileURLWithPath: path))
        let (status, message) = try await offPool { () -> (Int32, String) in
            let process = Process()
            process.executableURL = Self.binary
            process.arguments = ["serve", "--config", path]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, message)
        }
        #expect(status == 2)
        #expect(message.contains("server.port must be between 0 and 65535 (got 99999)"), "\(message)")
    }
}
