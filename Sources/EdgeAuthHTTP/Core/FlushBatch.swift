import NIOCore
import NIOPosix

/// The keep-alive answers written during one turn of an event loop, flushed together once its
/// ready connections were all read. An answer's `write` wakes the client when the client is
/// asleep waiting for it; the answers of one turn written back to back find it awake after the
/// first, where an answer flushed as soon as it is made wakes it again for each one.
/// The same holds for the requests the gateway sends its upstreams.
/// Only used on its event loop's thread.
final class FlushBatch {
    private let eventLoop: any EventLoop
    private var pending: [ChannelHandlerContext] = []
    private var spare: [ChannelHandlerContext] = []
    private var pendingChannels: [any Channel] = []
    private var spareChannels: [any Channel] = []
    private var scheduled = false

    private init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        pending.reserveCapacity(64)
        spare.reserveCapacity(64)
    }

    /// Each thread reads and writes only its own value.
    nonisolated(unsafe) private static let perThread = ThreadSpecificVariable<FlushBatch>()

    /// The batch of the event loop running the calling thread.
    static func current(_ eventLoop: any EventLoop) -> FlushBatch {
        eventLoop.preconditionInEventLoop()
        if let batch = perThread.currentValue { return batch }
        let batch = FlushBatch(eventLoop: eventLoop)
        perThread.currentValue = batch
        return batch
    }

    /// Flushes `channelContext` once the loop has handled this turn's I/O: the loop runs its
    /// tasks after its ready connections.
    func flushLater(_ channelContext: ChannelHandlerContext) {
        pending.append(channelContext)
        schedule()
    }

    /// The same for a whole channel's pipeline (an upstream connection of this loop).
    func flushLater(_ channel: any Channel) {
        pendingChannels.append(channel)
        schedule()
    }

    private func schedule() {
        guard !scheduled else { return }
        scheduled = true
        eventLoop.assumeIsolatedUnsafeUnchecked().execute { self.flushAll() }
    }

    private func flushAll() {
        scheduled = false
        // What a flush leads to on this loop (a failed write's callbacks, say) goes into the next batch.
        swap(&pending, &spare)
        swap(&pendingChannels, &spareChannels)
        for channelContext in spare { channelContext.flush() }
        for channel in spareChannels { channel.flush() }
        spare.removeAll(keepingCapacity: true)
        spareChannels.removeAll(keepingCapacity: true)
    }
}
