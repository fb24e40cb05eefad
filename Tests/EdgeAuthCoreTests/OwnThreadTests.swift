import EdgeAuthTestThreads
import Foundation
import Testing

/// The trait that keeps long synchronous tests off Swift's cooperative pool while `#expect`
/// still reports to the test.
@Suite("Test support: synchronous tests on the pool")
struct PoolThreadTests {
    @Test("without the trait, a synchronous test runs on a thread of the pool")
    func poolThread() {
        #expect(!OwnThreadExecutor.isCurrent)
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
