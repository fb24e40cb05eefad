import Foundation

/// Runs each job it is given on a thread of its own.
///
/// Swift Testing runs synchronous tests on Swift's cooperative pool, which has one thread per
/// core (two on a small machine). Two tests that compute for seconds, or block on a child
/// process, leave no thread for the tasks an in-process server under test needs, and that
/// server's clients time out.
public final class OwnThreadExecutor: TaskExecutor {
    public static let shared = OwnThreadExecutor()

    /// Whether the caller runs on one of this executor's threads.
    public static var isCurrent: Bool { Thread.current.threadDictionary[marker] != nil }
    private static let marker = "EdgeAuthTestThreads.OwnThreadExecutor"

    /// How many jobs run at once: the cases of a parameterized test are started together, and
    /// dozens of threads computing at once on two cores would only slow each other.
    private let running = DispatchSemaphore(value: max(4, 2 * ProcessInfo.processInfo.activeProcessorCount))

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let running = running
        Thread {
            Thread.current.threadDictionary[Self.marker] = true
            // A job runs until the task suspends or ends: it never waits for another job here.
            running.wait()
            job.runSynchronously(on: executor)
            running.signal()
        }.start()
    }
}
