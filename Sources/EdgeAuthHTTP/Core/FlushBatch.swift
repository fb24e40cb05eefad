import NIOCore

/// The keep-alive answers written during one turn of a busy event loop, flushed together once
/// its ready connections were all read. An answer's `write` wakes the client when the client
/// is asleep waiting for it; the answers of one turn written back to back find it awake after
/// the first, where an answer flushed as soon as it is made wakes it again for each one.
/// The same holds for the requests the gateway sends its upstreams. A loop whose last turn
/// wrote fewer than two has nothing to batch, and flushes at once: one connection's answer
/// waits for nothing.
/// Only used on its event loop's thread.
final class FlushBatch {
    private let eventLoop: any EventLoop
    private var pending: [ChannelHandlerContext] = []
    private var spare: [ChannelHandlerContext] = []
    private var pendingChannels: [any Channel] = []
    private var spareChannels: [any Channel] = []
    /// Whether the end of the current turn is scheduled; the flushes of this turn and the last.
    private var scheduled = false
    private var thisTurn = 0
    private var lastTurn = 0

    private init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        pending.reserveCapacity(64)
        spare.reserveCapacity(64)
    }

    private static let perLoop = PerLoop<FlushBatch>()

    /// The batch of the event loop running the calling thread.
    static func current(_ eventLoop: any EventLoop) -> FlushBatch {
        perLoop.value(on: eventLoop) { FlushBatch(eventLoop: eventLoop) }
    }

    /// Flushes `channelContext` once the loop has handled this turn's I/O (the loop runs its
    /// tasks after its ready connections), or at once when the loop is not busy.
    func flushLater(_ channelContext: ChannelHandlerContext) {
        if deferring() { pending.append(channelContext) } else { channelContext.flush() }
    }

    /// The same for a whole channel's pipeline (an upstream connection of this loop).
    func flushLater(_ channel: any Channel) {
        if deferring() { pendingChannels.append(channel) } else { channel.flush() }
    }

    /// Counts a flush of this turn; whether it waits for the turn's end.
    private func deferring() -> Bool {
        thisTurn += 1
        if !scheduled {
            scheduled = true
            eventLoop.assumeIsolatedUnsafeUnchecked().execute { self.turnEnded() }
        }
        return lastTurn > 1
    }

    private func turnEnded() {
        scheduled = false
        lastTurn = thisTurn
        thisTurn = 0
        // What a flush leads to on this loop (a failed write's callbacks, say) counts in the next turn.
        swap(&pending, &spare)
        swap(&pendingChannels, &spareChannels)
        for channelContext in spare { channelContext.flush() }
        for channel in spareChannels { channel.flush() }
        spare.removeAll(keepingCapacity: true)
        spareChannels.removeAll(keepingCapacity: true)
    }
}
