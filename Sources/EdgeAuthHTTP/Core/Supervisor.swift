import Dispatch
import Foundation
import Logging

/// The master process of `edgeauth serve`: binds the listening socket once, runs N worker
/// processes that all accept on it, restarts a worker that dies (with back-off, giving up
/// when workers crash-loop), drains and exits on SIGTERM/SIGINT, and on SIGHUP starts a new
/// generation of workers and drains the old one once the new one is ready.
///
/// Workers are the same executable started again (`posix_spawn`, not `fork`: the Swift
/// runtime's threads do not survive a fork) with the socket as their standard input. They
/// share one accept queue, so a worker that stops accepting leaves nothing behind in it:
/// reloads and restarts drop no connection (docs/server.md).
public actor Supervisor {
    public struct Options: Sendable {
        /// The executable and arguments that start one worker (the socket is its standard input).
        public var workerCommand: [String]
        public var workers: Int
        /// Variables added to the workers' environment.
        public var environment: [String: String] = [:]
        /// Variables of one generation of workers, asked for when it starts (at start and on
        /// each reload) and kept for its workers restarted after a crash.
        public var generationEnvironment: @Sendable () -> [String: String] = { [:] }
        /// How long a draining worker may take before it is killed.
        public var drainTimeout: TimeInterval = 30
        /// More unexpected exits than this within `crashWindow` seconds stop the server.
        public var maxCrashes = 5
        public var crashWindow: TimeInterval = 60

        public init(workerCommand: [String], workers: Int) {
            self.workerCommand = workerCommand
            self.workers = workers
        }
    }

    /// A worker process, known to the rest of the program by its number.
    private struct Worker {
        let number: Int
        let process: Process
        let generation: Int
        var ready = false
        var draining = false
        var output = Data()
    }

    private let options: Options
    private let socket: CInt
    /// Checked on SIGHUP before new workers start; a configuration that fails keeps the old workers.
    private let validateReload: @Sendable () -> String?
    private let logger = Logger(label: "edgeauth.supervisor")
    /// Where the signal sources deliver; their handlers only hand the signal to the actor.
    private let signalQueue = DispatchQueue(label: "edgeauth.supervisor.signals")
    private var workers: [Worker] = []
    private var nextNumber = 0
    private var generation = 0
    /// Each live generation's variables (`Options.generationEnvironment`).
    private var generationVariables: [Int: [String: String]] = [:]
    private var crashes: [Date] = []
    private var stopping = false
    private var exitStatus: Int32 = 0
    private var signalSources: [any DispatchSourceSignal] = []
    private var onReady: (@Sendable () -> Void)?

    /// What happens around the supervisor, handed to it in order from the threads it happens on.
    private enum Event: Sendable {
        case signal(Int32)
        case output(worker: Int, Data)
        case exited(worker: Int, status: Int32)
        case respawn(generation: Int)
    }
    private let events: AsyncStream<Event>
    private let post: AsyncStream<Event>.Continuation

    public init(options: Options, socket: CInt, validateReload: @escaping @Sendable () -> String?) {
        self.options = options
        self.socket = socket
        self.validateReload = validateReload
        (events, post) = AsyncStream.makeStream(of: Event.self)
    }

    /// Runs until the server stops; returns the exit status (0 after a clean shutdown).
    /// - Parameter ready: called once the first generation of workers is ready.
    public func run(ready: @escaping @Sendable () -> Void) async -> Int32 {
        onReady = ready
        let post = self.post
        for signal in [SIGTERM, SIGINT, SIGHUP] {
            Foundation.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: signalQueue)
            source.setEventHandler { post.yield(.signal(signal)) }
            source.resume()
            signalSources.append(source)
        }
        generation = 1
        generationVariables[1] = options.generationEnvironment()
        for _ in 0..<options.workers { spawn(generation: 1) }
        for await event in events {
            switch event {
            case .signal(let signal):
                if signal == SIGHUP { reload() } else { stop(status: 0, reason: "received signal \(signal)") }
            case .output(let number, let data):
                output(data, from: number)
            case .exited(let number, let status):
                workerExited(number, status: status)
            case .respawn(let slotGeneration):
                if !stopping, slotGeneration == generation { spawn(generation: slotGeneration, replacing: true) }
            }
        }
        return exitStatus
    }

    // MARK: Workers

    /// The variable set (to 1) for a worker that replaces one that died: the server runs, so
    /// the worker starts even when it cannot load remote keys yet (`KeyRing.load`'s
    /// `startingUnavailable`), rather than exiting and making the master give up.
    public static let replacementVariable = "EDGEAUTH_WORKER_REPLACEMENT"

    private func spawn(generation: Int, replacing: Bool = false) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: options.workerCommand[0])
        process.arguments = Array(options.workerCommand.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(options.environment) { $1 }
            .merging(generationVariables[generation] ?? [:]) { $1 }.merging(replacing ? [Self.replacementVariable: "1"] : [:]) { $1 }
        process.standardInput = FileHandle(fileDescriptor: socket, closeOnDealloc: false)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        nextNumber += 1
        let number = nextNumber
        // A plain thread reads the worker's output until it ends (a dispatch readability handler
        // can fire on a descriptor that was closed when a killed worker's pipe was released).
        let reader = output.fileHandleForReading
        let post = self.post
        Thread {
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                post.yield(.output(worker: number, data))
            }
            // The master runs for months: each worker's pipe is closed once it has ended.
            try? reader.close()
        }.start()
        process.terminationHandler = { process in post.yield(.exited(worker: number, status: process.terminationStatus)) }
        do {
            try process.run()
            workers.append(Worker(number: number, process: process, generation: generation))
        } catch {
            logger.critical("cannot start a worker: \(error)")
            stop(status: 1, reason: "workers cannot be started")
        }
    }

    private func output(_ data: Data, from number: Int) {
        guard let index = workers.firstIndex(where: { $0.number == number }) else { return }
        workers[index].output.append(data)
        if !workers[index].ready, String(decoding: workers[index].output, as: UTF8.self).contains("ready\n") {
            workers[index].ready = true
            workerBecameReady(workers[index])
        }
    }

    private func workerBecameReady(_ worker: Worker) {
        let generationWorkers = workers.filter { $0.generation == worker.generation }
        guard generationWorkers.count == options.workers, generationWorkers.allSatisfy(\.ready) else { return }
        if let onReady {
            self.onReady = nil
            onReady()
        }
        // A reload is complete when the new generation is ready: drain the old one.
        for old in workers where old.generation < worker.generation && !old.draining {
            drain(old.number)
        }
    }

    private func workerExited(_ number: Int, status: Int32) {
        // The output reader may still deliver after the exit: whatever it said no longer matters.
        guard let index = workers.firstIndex(where: { $0.number == number }) else { return }
        let worker = workers.remove(at: index)
        if stopping || worker.draining {
            if stopping, workers.isEmpty { finish() }
            return
        }
        if !worker.ready {
            // Never became ready: its configuration or keys are wrong (it said why on stderr).
            if onReady != nil {
                stop(status: 2, reason: "a worker could not start (status \(status))")
                return
            }
            if workers.contains(where: { $0.generation < worker.generation }) {
                logger.error("reload failed: a new worker exited with status \(status) before it was ready; the previous workers keep serving")
                for new in workers where new.generation == worker.generation { drain(new.number) }
                generation = workers.filter { !$0.draining }.map(\.generation).max() ?? generation
                return
            }
        }
        let now = Date()
        crashes = crashes.filter { now.timeIntervalSince($0) < options.crashWindow } + [now]
        guard crashes.count <= options.maxCrashes else {
            logger.critical("workers are crash-looping (\(crashes.count) exits in \(Int(options.crashWindow)) s); stopping the server")
            stop(status: 1, reason: "crash loop")
            return
        }
        let delay = min(0.1 * pow(2, Double(crashes.count - 1)), 5)
        logger.error("worker \(worker.process.processIdentifier) exited with status \(status); restarting in \(delay) s")
        let slotGeneration = worker.generation
        let post = self.post
        Task {
            try? await Task.sleep(for: .seconds(delay))
            post.yield(.respawn(generation: slotGeneration))
        }
    }

    private func drain(_ number: Int) {
        guard let index = workers.firstIndex(where: { $0.number == number }) else { return }
        workers[index].draining = true
        let process = workers[index].process
        kill(process.processIdentifier, SIGTERM)
        let timeout = options.drainTimeout
        Task {
            try? await Task.sleep(for: .seconds(timeout))
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    private func reload() {
        guard !stopping else { return }
        if let problem = validateReload() {
            logger.error("reload refused, the configuration is invalid: \(problem); the current workers keep serving")
            return
        }
        generation += 1
        generationVariables[generation] = options.generationEnvironment()
        logger.notice("reloading: starting generation \(generation)")
        for _ in 0..<options.workers { spawn(generation: generation) }
    }

    private func stop(status: Int32, reason: String) {
        guard !stopping else { return }
        stopping = true
        exitStatus = status
        logger.notice("stopping: \(reason); draining \(workers.count) workers")
        if workers.isEmpty { return finish() }
        for worker in workers { drain(worker.number) }
    }

    private func finish() {
        for source in signalSources { source.cancel() }
        post.finish()
    }
}

/// A listening TCP socket, bound by the master and inherited by the workers.
public enum ListeningSocket {
    /// Binds and listens; returns the descriptor and the port (useful with port 0).
    public static func open(host: String, port: Int, backlog: Int32 = 1024) throws -> (descriptor: CInt, port: Int) {
        try open(host: host, port: port, listening: backlog)
    }

    /// Binds with `SO_REUSEPORT` and does not listen: holds a port (a free one with 0) that
    /// the workers bind and listen on beside each other (the admin listener). A socket that
    /// does not listen is given no connections.
    public static func reserve(host: String, port: Int) throws -> (descriptor: CInt, port: Int) {
        try open(host: host, port: port, listening: nil)
    }

    private static func open(host: String, port: Int, listening backlog: Int32?) throws -> (descriptor: CInt, port: Int) {
        var hints = unsafe addrinfo()
        unsafe hints.ai_family = AF_UNSPEC
        unsafe hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        unsafe hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = unsafe getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let info = unsafe result else {
            throw SocketError(unsafe "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { unsafe freeaddrinfo(result) }
        let descriptor = unsafe socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SocketError(unsafe "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        unsafe setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if backlog == nil { unsafe setsockopt(descriptor, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
        guard unsafe bind(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let message = unsafe String(cString: strerror(errno))
            close(descriptor)
            throw SocketError("cannot listen on \(host):\(port): \(message)")
        }
        guard let backlog else { return (descriptor, Self.port(of: descriptor)) }
        // Workers accept with blocking calls; the timeout lets a draining worker stop waiting.
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        unsafe setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard listen(descriptor, backlog) == 0 else {
            let message = unsafe String(cString: strerror(errno))
            close(descriptor)
            throw SocketError("listen: \(message)")
        }
        return (descriptor, Self.port(of: descriptor))
    }

    /// The local port of a bound socket.
    public static func port(of descriptor: CInt) -> Int {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return unsafe withUnsafeMutablePointer(to: &address) { pointer -> Int in
            _ = unsafe pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { unsafe getsockname(descriptor, $0, &length) }
            if unsafe pointer.pointee.ss_family == sa_family_t(AF_INET6) {
                return unsafe pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { unsafe Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return unsafe pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { unsafe Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    public struct SocketError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
