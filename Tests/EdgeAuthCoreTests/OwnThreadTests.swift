import EdgeAuthTestThreads
import Foundation
import Testing

/// `onOwnThread`, which keeps long synchronous test work off Swift's cooperative pool while
/// `#expect` still reaches the test.
@Suite("Test support: synchronous work on threads of its own")
struct OwnThreadTests {
    @Test("a synchronous test runs on a thread of the pool; onOwnThread runs its body on a thread of its own, in the test")
    func ownThread() async throws {
        #expect(!OwnThreadExecutor.isCurrent)
        let ownThread = try await onOwnThread {
            #expect(Test.current?.name == "ownThread()")
            return OwnThreadExecutor.isCurrent
        }
        #expect(ownThread)
    }
}

@Suite("Test support: suites whose synchronous tests run on threads of their own", .ownThread)
struct OwnThreadTraitTests {
    @Test("a synchronous test of such a suite runs on a thread of its own, in the test")
    func synchronousTest() {
        #expect(OwnThreadExecutor.isCurrent)
        #expect(Test.current?.name == "synchronousTest()")
    }

    @Test("so does each case of a parameterized test", arguments: [1, 2])
    func parameterized(value: Int) {
        #expect(OwnThreadExecutor.isCurrent)
    }
}
