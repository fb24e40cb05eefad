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

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        Thread {
            Thread.current.threadDictionary[Self.marker] = true
            job.runSynchronously(on: executor)
        }.start()
    }
}
