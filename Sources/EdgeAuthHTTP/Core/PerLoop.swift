import NIOCore
import NIOPosix

/// One value per event-loop thread, made there on first use: state that only its loop's
/// thread touches needs no lock.
final class PerLoop<Value: AnyObject>: @unchecked Sendable {
    /// Each thread reads and writes only its own value.
    private let variable = ThreadSpecificVariable<Value>()

    /// The value of the loop running the calling thread.
    func value(on eventLoop: any EventLoop, make: () -> Value) -> Value {
        eventLoop.preconditionInEventLoop()
        if let value = variable.currentValue { return value }
        let value = make()
        variable.currentValue = value
        return value
    }
}
