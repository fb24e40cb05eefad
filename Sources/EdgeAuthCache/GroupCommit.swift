internal import CLMDB
import Dispatch
import Synchronization

/// Group commit for `LMDBStateStore`: writes queue up while the writer thread makes the
/// previous commit durable; the next round runs every queued write in a nested transaction
/// of one parent (a write that throws rolls back alone) and syncs once for all of them.
@safe final class GroupCommit: @unchecked Sendable {
    /// One queued write: `run` applies it inside the parent transaction (in a child
    /// transaction of its own); `finish` is told whether the parent commit made it durable.
    @safe struct Entry: Sendable {
        let run: @Sendable (OpaquePointer) -> Void
        let finish: @Sendable (CacheError?) -> Void
    }

    private let env: OpaquePointer
    private let queue = DispatchQueue(label: "edgeauth.state.commit")
    private let pending = Mutex<(entries: [Entry], scheduled: Bool)>(([], false))
    /// Writes in one commit at most: bounds how long the writer lock is held.
    static let maxBatch = 256

    init(env: OpaquePointer) {
        unsafe self.env = env
    }

    func submit(_ entry: Entry) {
        let schedule = pending.withLock { state -> Bool in
            state.entries.append(entry)
            guard !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        if schedule { queue.async { self.drain() } }
    }

    /// Runs rounds until nothing is queued. A round takes its writes only once it holds
    /// LMDB's write lock: the writes that arrive while another process commits join it.
    private func drain() {
        while true {
            let idle = pending.withLock { state -> Bool in
                if state.entries.isEmpty { state.scheduled = false }
                return !state.scheduled
            }
            if idle { return }
            var parent: OpaquePointer?
            let began = unsafe mdb_txn_begin(env, nil, 0, &parent)
            let batch = pending.withLock { state -> [Entry] in
                let batch = Array(state.entries.prefix(Self.maxBatch))
                state.entries.removeFirst(batch.count)
                return batch
            }
            guard began == 0, let parent = unsafe parent else {
                for entry in batch { entry.finish(CacheError("starting a write to the state store", code: began)) }
                continue
            }
            for entry in batch { unsafe entry.run(parent) }
            let rc = unsafe mdb_txn_commit(parent)
            let failure = rc == 0 ? nil : CacheError("committing to the state store", code: rc)
            for entry in batch { entry.finish(failure) }
        }
    }
}
