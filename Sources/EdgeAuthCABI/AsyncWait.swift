import Dispatch
import EdgeAuth
import Foundation
import Synchronization

/// Runs async work to its end while the calling C thread waits.
enum AsyncWait {
    /// The result, or nil when called from inside a Swift task: the wait would then
    /// block a thread of the cooperative pool, which the work itself may need.
    static func run<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T? {
        let insideTask = unsafe withUnsafeCurrentTask { task in unsafe task != nil }
        guard !insideTask else { return nil }
        let outcome = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            outcome.value = await body()
            done.signal()
        }
        done.wait()
        return outcome.value
    }

    /// The result handed from the task to the waiting thread. Written once before
    /// `signal()` and read after `wait()`, which orders the two.
    private final class Outcome<T>: @unchecked Sendable {
        var value: T?
    }
}
