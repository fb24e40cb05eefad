import Foundation
import Logging
import Metrics
import Synchronization

/// The keys a verifier checks signatures with: fixed keys (inline, files, secrets)
/// and remote key sets (JWKS URLs, OIDC discovery) kept fresh.
///
/// Remote sets follow their `Cache-Control` lifetime within the configured bounds and
/// are refreshed in the background before it ends. A token with an unknown `kid`
/// can trigger a refresh, at most once per cool-down per source. With a shared cache,
/// the documents and the fetch bookkeeping live in LMDB: one fetch serves every process
/// of the host, and a process that sees another's new document adopts it. When a
/// provider cannot be reached, the last good keys keep verifying for `maxStaleness`;
/// after that they are dropped and tokens they would have verified get `keysUnavailable`.
/// When a refresh finds a key removed, the issuer's key generation is bumped so no
/// verdict made with the removed key is served from the cache again.
public final class KeyRing: Sendable {
    /// Keys that never change.
    public let fixed: KeySet
    let remote: [RemoteKeySet]
    let settings: KeyRefreshSettings
    let cache: SharedCache?
    /// Issuers whose key generation a removed key bumps (empty: every cached verdict is dropped).
    let issuers: [String]
    /// Seconds since the epoch, for every decision about freshness (not the token's `now`).
    let clock: @Sendable () -> Int64

    /// The keys in use, merged, and until when that merge holds.
    private let merged: Mutex<Merged>
    /// The cache's `epoch` when the stored documents were last compared with ours. Stored
    /// only once what they held is in `merged`: a thread that finds it equal to the epoch
    /// it read uses keys at least as new as every document stored before that epoch.
    private let syncedEpoch = Atomic<UInt64>(0)
    /// Held while a document is adopted and `merged` rebuilt from it, so that no thread sees
    /// a set's new sequence (or the synced epoch) with the keys from before it.
    private let adoption = Mutex<Void>(())
    /// When a remote set is next due for a refresh (seconds since the epoch).
    private let nextRefresh = Atomic<Int64>(.max)
    /// Until when every remote set's keys are usable, and whether one is past `maxStaleness`
    /// already: read by every cache hit (`keysCurrent`), so kept outside the merged set's lock.
    private let remoteUsableUntil = Atomic<Int64>(.max)
    private let remoteMissing = Atomic<Bool>(false)
    /// Incremented after every rebuild of `merged`: see `keysGeneration`.
    private let generation = Atomic<UInt64>(0)

    /// The process that created the ring: its HTTP client threads do not exist in a forked child.
    private let ownerPID = getpid()
    private let warnedAboutFork = Atomic<Bool>(false)

    /// False in a child forked after the ring was created: a download there would wait forever
    /// for threads that stayed in the parent, so the child keeps the keys it has (docs/keys.md).
    public var mayDownload: Bool {
        guard getpid() != ownerPID else { return true }
        if !warnedAboutFork.exchange(true, ordering: .relaxed) {
            Self.logger.error("verifier used in a process forked after it was created: its keys are not refreshed; create verifiers after fork()")
        }
        return false
    }

    private struct Merged {
        var keys: KeySet
        /// When a remote set's keys become too stale to use: the merge is then rebuilt.
        var validUntil: Int64
        /// Whether some remote set's keys are dropped for staleness (or were never fetched).
        var missingRemote: Bool
    }

    static let logger = Logger(label: "edgeauth.keys")

    /// Fixed keys only.
    public init(_ keys: KeySet) {
        self.fixed = keys
        self.remote = []
        self.settings = KeyRefreshSettings()
        self.cache = nil
        self.issuers = []
        self.clock = KeyRing.systemClock
        self.merged = Mutex(Merged(keys: keys, validUntil: .max, missingRemote: false))
    }

    private init(fixed: KeySet, remote: [RemoteKeySet], settings: KeyRefreshSettings, cache: SharedCache?, issuers: [String], clock: @escaping @Sendable () -> Int64) {
        self.fixed = fixed
        self.remote = remote
        self.settings = settings
        self.cache = cache
        self.issuers = issuers
        self.clock = clock
        self.merged = Mutex(Merged(keys: fixed, validUntil: .min, missingRemote: true))
    }

    /// Loads every source: fixed ones from their files or text, remote ones from the
    /// shared cache when another process fetched them recently, else from the network.
    /// - Parameters:
    ///   - issuers: the policy's exact issuers, whose key generation a removed key bumps.
    ///   - metrics: where the fetch counters and key-set gauges go (`docs/keys.md`).
    ///   - clock: seconds since the epoch (tests give their own).
    /// - Throws: `ConfigurationError` when a source cannot be read, or no key is usable.
    /// - Parameter startingUnavailable: a remote set that cannot be loaded leaves the ring without
    ///   its keys (tokens it would verify get `keysUnavailable`) and is fetched again every
    ///   cool-down by `maintain()`, instead of failing the load: for a server that already runs
    ///   and replaces a worker during a provider outage.
    public static func load(
        _ sources: [KeySource], settings: KeyRefreshSettings = KeyRefreshSettings(), cache: SharedCache? = nil, issuers: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment, metrics: MetricsFactory = MetricsSystem.factory,
        clock: @escaping @Sendable () -> Int64 = KeyRing.systemClock, startingUnavailable: Bool = false
    ) async throws(ConfigurationError) -> KeyRing {
        let ring = try assemble(sources, settings: settings, cache: cache, issuers: issuers, environment: environment, metrics: metrics, clock: clock)
        for set in ring.remote {
            await ring.loadInitially(set)
            guard !set.hasKeys else { continue }
            if startingUnavailable {
                logger.warning("starting without the keys of a source that cannot be loaded; fetching them again every cool-down", metadata: [
                    "source": "\(set.source.label)", "error": "\(set.lastError ?? "no usable key")",
                ])
                continue
            }
            // A fetch error names its URL already; a discovery source's label adds the issuer.
            let error = set.lastError ?? "no usable key"
            throw ConfigurationError(error.hasPrefix(set.source.label) ? error : "\(set.source.label): \(error)")
        }
        if startingUnavailable, ring.current.keys.isEmpty {
            ring.scheduleNextRefresh()
            return ring
        }
        return try ring.ready()
    }

    /// A ring of local sources only, built on the calling thread (nothing to download).
    /// - Throws: `ConfigurationError` when a source is remote, cannot be read, or no key is usable.
    package static func loadLocal(
        _ sources: [KeySource], settings: KeyRefreshSettings = KeyRefreshSettings(), cache: SharedCache? = nil, issuers: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> KeyRing {
        if let remote = sources.first(where: \.isRemote) { throw ConfigurationError("\(remote.label) must be downloaded: load the keys asynchronously") }
        return try assemble(sources, settings: settings, cache: cache, issuers: issuers, environment: environment,
                            metrics: MetricsSystem.factory, clock: systemClock).ready()
    }

    /// The local keys read, the remote sets not fetched yet.
    private static func assemble(
        _ sources: [KeySource], settings: KeyRefreshSettings, cache: SharedCache?, issuers: [String],
        environment: [String: String], metrics: MetricsFactory, clock: @escaping @Sendable () -> Int64
    ) throws(ConfigurationError) -> KeyRing {
        try settings.validate()
        var keys = [VerificationKey]()
        var skipped = [String]()
        var remote = [RemoteKeySet]()
        for source in sources {
            if source.isRemote {
                remote.append(RemoteKeySet(source: source, metrics: metrics))
            } else {
                let set = try KeyLoader.loadLocal(source, environment: environment)
                keys += set.keys
                skipped += set.skipped
            }
        }
        return KeyRing(fixed: KeySet(keys: keys, skipped: skipped), remote: remote, settings: settings, cache: cache, issuers: issuers, clock: clock)
    }

    /// The ring once every source was read: refused without a usable key.
    private func ready() throws(ConfigurationError) -> KeyRing {
        if current.keys.isEmpty {
            let skipped = fixed.skipped
            throw ConfigurationError("no usable verification key" + (skipped.isEmpty ? "" : ": " + skipped.joined(separator: "; ")))
        }
        scheduleNextRefresh()
        return self
    }

    public static let systemClock: @Sendable () -> Int64 = { Int64(time(nil)) }

    /// Whether any source is remote (and so refreshed).
    public var hasRemoteSources: Bool { !remote.isEmpty }

    /// The keys in use now.
    public var current: KeySet { mergedKeys(now: clock()).keys }

    /// Every message about a key that could not be used, fixed and remote.
    public var skipped: [String] { current.skipped }

    // MARK: Verification

    /// Selects the key for `view` and verifies its signature (nil when it verifies).
    /// Remote sets are brought up to date first when another process stored a new
    /// document; a refresh that is due starts in the background.
    public func verifySignature(_ view: TokenView) -> Reason? {
        guard !remote.isEmpty else { return fixed.verifySignature(view) }
        let now = clock()
        adoptStoredDocumentsIfChanged()
        if now >= nextRefresh.load(ordering: .relaxed) { refreshInBackground(now: now) }
        let merged = mergedKeys(now: now)
        let reason = merged.keys.verifySignature(view)
        guard case .unknownKey? = reason else { return reason }
        if merged.missingRemote { return .keysUnavailable }
        // A new key may have been published: fetch (within the cool-down) for the next request.
        refreshInBackground(now: now, unknownKey: true)
        return reason
    }

    /// Refreshes the remote sets after a token named an unknown key, respecting the
    /// cool-down across processes, and waits for the outcome (or for another process's
    /// fetch in progress). Returns whether the keys changed, i.e. whether verifying
    /// the token again can give another answer.
    ///
    /// `generation` is `keysGeneration` read before that verification. The keys may have
    /// changed since without this call changing them: the verification itself starts a
    /// refresh in the background, which may have adopted another process's fetch before
    /// this call began.
    public func refreshAfterUnknownKey(since generation: UInt64) async -> Bool {
        let changed = await refreshRemoteSets()
        return changed || keysGeneration != generation
    }

    /// Whether this refresh of every remote set changed a set's keys.
    private func refreshRemoteSets() async -> Bool {
        guard mayDownload else { return false }
        var changed = false
        for set in remote where await refresh(set, unknownKey: true) { changed = true }
        return changed
    }

    /// How many times the keys in use have been rebuilt (after a fetch here or in another
    /// process, or a set growing too stale). A verification that began when it was `g`
    /// used keys no newer than generation `g`'s.
    public var keysGeneration: UInt64 { generation.load(ordering: .acquiring) }

    /// Whether a refresh after an unknown key would download now: some remote set is past its
    /// cool-down in this process. A caller that must not wait (the C library's non-blocking
    /// verification) answers `unknownKey` at once when it would not.
    public var refreshWouldFetch: Bool {
        let now = clock()
        return mayDownload && remote.contains { $0.mayFetch(now: now, coolDown: settings.coolDown) }
    }

    /// Refreshes every remote set now if its cool-down allows (for operators and tests):
    /// the same as after an unknown key.
    @discardableResult
    public func refreshNow() async -> Bool {
        await refreshRemoteSets()
    }

    /// Keeps the remote sets fresh whether or not tokens arrive, until the task is cancelled:
    /// a server runs it in each process (after forking). Verification starts due refreshes
    /// as well, so this only matters for a process that may sit idle past a lifetime.
    ///
    /// It wakes when the next refresh is due (at most `checkInterval` later, to adopt what
    /// other processes stored): with a short `maxStaleness`, a fixed interval could let an
    /// idle process's keys expire before it looked again.
    public func maintain(checkInterval: Duration = .seconds(5)) async {
        guard !remote.isEmpty, mayDownload else { return }
        while !Task.isCancelled {
            adoptStoredDocumentsIfChanged()
            for set in remote where set.isDue(now: clock(), settings: settings) {
                _ = await refresh(set, unknownKey: false)
            }
            scheduleNextRefresh()
            try? await Task.sleep(for: Self.pause(untilDue: nextRefresh.load(ordering: .relaxed), now: clock(), checkInterval: checkInterval))
        }
    }

    /// Times are whole seconds: within a second of the due time, look again every quarter
    /// second so the refresh starts soon after the second turns.
    package static func pause(untilDue due: Int64, now: Int64, checkInterval: Duration) -> Duration {
        let untilDue = due.subtractingReportingOverflow(now)
        if !untilDue.overflow, untilDue.partialValue <= 1 { return min(.milliseconds(250), checkInterval) }
        let whole = untilDue.overflow ? Int64.max : untilDue.partialValue - 1
        return min(.seconds(whole), checkInterval)
    }

    // MARK: Status

    /// What an operator needs to know about each remote set (health and metrics).
    public func status() -> [KeySetStatus] {
        let now = clock()
        return remote.map { $0.status(now: now, settings: settings) }
    }

    // MARK: Merging

    private func mergedKeys(now: Int64) -> Merged {
        if let merged = merged.withLock({ now < $0.validUntil ? $0 : nil }) { return merged }
        return rebuildMerged(now: now)
    }

    /// Whether every remote set's keys are usable at `now`. When one is past `maxStaleness`, a
    /// cached verdict is not served: the token is verified again, and refused if its keys are
    /// the stale ones, as a verification would.
    package func keysCurrent(now: Int64) -> Bool {
        !remoteMissing.load(ordering: .relaxed) && now < remoteUsableUntil.load(ordering: .relaxed)
    }

    @discardableResult
    private func rebuildMerged(now: Int64) -> Merged {
        var keys = fixed.keys
        var skipped = fixed.skipped
        var validUntil = Int64.max
        var missing = false
        for set in remote {
            let snapshot = set.snapshot
            let usableUntil = snapshot.fetchedAt == 0 ? Int64.min : snapshot.fetchedAt + settings.maxStaleness
            if now < usableUntil {
                keys += snapshot.keys.keys
                skipped += snapshot.keys.skipped.map { "\(set.source.label): \($0)" }
                validUntil = min(validUntil, usableUntil)
            } else {
                missing = true
            }
        }
        let result = Merged(keys: KeySet(keys: keys, skipped: skipped), validUntil: validUntil, missingRemote: missing)
        merged.withLock { $0 = result }
        remoteUsableUntil.store(validUntil, ordering: .relaxed)
        remoteMissing.store(missing, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        return result
    }

    // MARK: Refreshing

    /// At start-up: a document another process stored recently enough is used as is;
    /// otherwise this process fetches (or waits for the process that is fetching).
    private func loadInitially(_ set: RemoteKeySet) async {
        let now = clock()
        if let stored = cache?.storedKeySet(source: set.storeKey), !stored.document.isEmpty, now < stored.fetchedAt + settings.maxStaleness {
            adopt(stored, into: set)
            if set.hasKeys { return }
        }
        _ = await refresh(set, unknownKey: false, initial: true)
    }

    /// Called on the verification path: when the cache's epoch moved, another process
    /// may have stored a new document; adopt it before using the keys. Threads that read
    /// the new epoch wait here until its documents are in use (a verdict they store under
    /// the issuer's new key generation must not come from the keys before it).
    private func adoptStoredDocumentsIfChanged() {
        guard let cache else { return }
        let epoch = cache.epoch
        guard epoch != syncedEpoch.load(ordering: .acquiring) else { return }
        let changed = adoption.withLock { _ -> Bool in
            guard epoch != syncedEpoch.load(ordering: .relaxed) else { return false }
            var changed = false
            for set in remote {
                guard let stored = cache.storedKeySet(source: set.storeKey), stored.sequence != set.snapshot.sequence, !stored.document.isEmpty else { continue }
                set.adopt(stored, settings: settings)
                changed = true
            }
            if changed { rebuildMerged(now: clock()) }
            syncedEpoch.store(epoch, ordering: .releasing)
            return changed
        }
        if changed { scheduleNextRefresh() }
    }

    /// Adopts one set's document and rebuilds `merged` as one step (see `adoption`).
    /// Returns whether the keys changed.
    @discardableResult
    func adopt(_ stored: StoredKeySet, into set: RemoteKeySet, keys: KeySet? = nil) -> Bool {
        adoption.withLock { _ in
            let changed = keys.map { set.adopt(stored, keys: $0) } ?? set.adopt(stored, settings: settings)
            rebuildMerged(now: clock())
            return changed
        }
    }

    private let backgroundRefreshRunning = Atomic<Bool>(false)

    /// Starts one background refresh at a time (never waits).
    private func refreshInBackground(now: Int64, unknownKey: Bool = false) {
        guard mayDownload else {
            nextRefresh.store(.max, ordering: .relaxed)
            return
        }
        if unknownKey {
            // Within the local cool-down nothing would be fetched: skip creating a task.
            guard remote.contains(where: { $0.mayFetch(now: now, coolDown: settings.coolDown) }) else { return }
        }
        guard !backgroundRefreshRunning.exchange(true, ordering: .acquiring) else { return }
        // Not due again until this refresh has set the next time.
        nextRefresh.store(.max, ordering: .relaxed)
        Task.detached { [self] in
            for set in remote where unknownKey || set.isDue(now: clock(), settings: settings) {
                _ = await refresh(set, unknownKey: unknownKey)
            }
            backgroundRefreshRunning.store(false, ordering: .releasing)
            scheduleNextRefresh()
        }
    }

    private func scheduleNextRefresh() {
        let now = clock()
        let next = remote.map { $0.nextRefresh(now: now, settings: settings) }.min() ?? .max
        nextRefresh.store(next, ordering: .relaxed)
    }

    /// One refresh of one set, shared by every caller in this process that asks while it runs.
    private func refresh(_ set: RemoteKeySet, unknownKey: Bool, initial: Bool = false) async -> Bool {
        let task = set.inFlight.withLock { running -> Task<Bool, Never> in
            if let running { return running }
            let task = Task { await self.performRefresh(set, unknownKey: unknownKey, initial: initial) }
            running = task
            return task
        }
        let changed = await task.value
        set.inFlight.withLock { if $0 == task { $0 = nil } }
        return changed
    }
}
