import Testing

/// `.ownThread`: the test, or every test of the suite, runs in a child task on a thread of its
/// own (`OwnThreadExecutor`). For synchronous tests that compute for long or block; an
/// asynchronous test would get a new thread each time it resumes.
public struct OwnThreadTrait: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        // A suite's own scope covers its tests' scopes: only each test case moves.
        guard testCase != nil else { return try await function() }
        // A child task starts on its preferred executor (a preference set on the running task
        // would only apply from its next suspension) and keeps the test's task-local context.
        // It is awaited before returning: `function` does not outlive the call.
        try await withoutActuallyEscaping(function) { function in
            try await withThrowingTaskGroup { group in
                group.addTask(executorPreference: OwnThreadExecutor.shared) { try await function() }
                try await group.waitForAll()
            }
        }
    }
}

extension Trait where Self == OwnThreadTrait {
    public static var ownThread: Self { OwnThreadTrait() }
}
