import NIOCore

/// The deadlines of one event loop's upstream exchanges, checked by one timer per loop every
/// `tick` while any is watched. A task scheduled and cancelled for each exchange would cost
/// several allocations and a heap update on every proxied request; the price here is that a
/// timeout fires up to one tick late.
/// Only used on its event loop's thread.
final class ExchangeDeadlines {
    static let tick = TimeAmount.milliseconds(100)

    private let eventLoop: any EventLoop
    private var watched: [UpstreamExchange] = []
    private var ticking = false

    private init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        watched.reserveCapacity(64)
    }

    private static let perLoop = PerLoop<ExchangeDeadlines>()

    /// The deadlines of the event loop running the calling thread.
    static func current(_ eventLoop: any EventLoop) -> ExchangeDeadlines {
        perLoop.value(on: eventLoop) { ExchangeDeadlines(eventLoop: eventLoop) }
    }

    /// Checks `exchange.deadline` from now on, until `unwatch`.
    func watch(_ exchange: UpstreamExchange) {
        guard exchange.watchIndex == nil else { return }
        exchange.watchIndex = watched.count
        watched.append(exchange)
        if !ticking {
            ticking = true
            scheduleCheck()
        }
    }

    func unwatch(_ exchange: UpstreamExchange) {
        guard let index = exchange.watchIndex else { return }
        exchange.watchIndex = nil
        let last = watched.removeLast()
        if last !== exchange {
            watched[index] = last
            last.watchIndex = index
        }
    }

    private func scheduleCheck() {
        eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: Self.tick) { self.check() }
    }

    private func check() {
        let now = NIODeadline.now()
        var index = 0
        while index < watched.count {
            let exchange = watched[index]
            if exchange.deadline <= now { exchange.deadlinePassed() }
            // An exchange that ended left its place to the last one: look at that one next.
            if index < watched.count, watched[index] === exchange { index += 1 }
        }
        if watched.isEmpty { ticking = false } else { scheduleCheck() }
    }
}
