import Foundation

/// Waits until `condition` holds, checking it every `interval`, for at most `timeout`;
/// returns whether it held. Tests wait for the event they need (a request answered, a worker
/// replaced, a counter written) instead of sleeping for a guessed time. The default deadline
/// is generous: a loaded two-core machine is slow, and a condition that holds returns at once.
public func waitUntil(timeout: Duration = .seconds(30), interval: Duration = .milliseconds(20),
                      _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if try await condition() { return true }
        if clock.now >= deadline || Task.isCancelled { return false }
        try? await Task.sleep(for: interval)
    }
}

/// `waitUntil` for blocking code on a thread of its own (see `offPool`): never call it on a
/// thread of Swift's cooperative pool.
public func waitUntilBlocking(timeout: Duration = .seconds(30), interval: Duration = .milliseconds(20),
                              _ condition: () throws -> Bool) rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    let pause = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
    while true {
        if try condition() { return true }
        if clock.now >= deadline { return false }
        Thread.sleep(forTimeInterval: pause)
    }
}
