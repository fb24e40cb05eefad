import Foundation

/// Runs blocking work on a thread of its own: blocking a thread of Swift's cooperative pool
/// (2 on this machine) could starve the tasks a server under test needs to answer.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// The port of a server started as a process (`edgeauth serve`, `MCPServer.run()`), from the
/// first line it prints once every worker is ready (`… listening on http://127.0.0.1:PORT …`).
public func listeningPort(from output: Pipe) throws -> Int {
    var line = Data()
    while !line.contains(UInt8(ascii: "\n")) {
        let chunk = output.fileHandleForReading.availableData
        if chunk.isEmpty { throw POSIXError(.EIO) }
        line.append(chunk)
    }
    let text = String(decoding: line, as: UTF8.self)
    guard let range = text.range(of: "127.0.0.1:"), let port = Int(text[range.upperBound...].prefix { $0.isNumber }) else { throw POSIXError(.EIO) }
    return port
}

/// Stops a server process a test started: SIGTERM, so that it drains its workers and removes
/// its state, then SIGKILL if it is still running after `timeout`; returns once it has exited.
/// Blocking: call it from a thread of its own or from `deinit`/`defer` in test code.
public func stopServerProcess(_ process: Process, timeout: Duration = .seconds(30)) {
    guard process.isRunning else { return }
    kill(process.processIdentifier, SIGTERM)
    if !waitUntilBlocking(timeout: timeout, { !process.isRunning }) {
        kill(process.processIdentifier, SIGKILL)
    }
    process.waitUntilExit()
}

/// `stopServerProcess` for `deinit`, which may run on Swift's cooperative pool and must not
/// block it: SIGTERM at once, the wait (and SIGKILL if needed) on a thread of its own, then
/// `cleanup` (removing the server's directories, say) once the process has exited.
public func stopServerProcessInBackground(_ process: Process, then cleanup: @escaping @Sendable () -> Void = {}) {
    guard process.isRunning else { return cleanup() }
    kill(process.processIdentifier, SIGTERM)
    let box = UncheckedProcess(process)
    Thread {
        stopServerProcess(box.process)
        cleanup()
    }.start()
}

/// A `Process` handed to the thread that waits for it; nothing else uses it by then.
private struct UncheckedProcess: @unchecked Sendable {
    let process: Process
    init(_ process: Process) { self.process = process }
}
