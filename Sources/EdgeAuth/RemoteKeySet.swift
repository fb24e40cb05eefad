import Foundation
import Metrics
import Synchronization

/// One remote source of keys (a JWKS URL, or an issuer's OIDC discovery) in one
/// process: the keys in use and the bookkeeping of fetching them.
final class RemoteKeySet: Sendable {
    let source: KeySource
    /// The source's name in the shared cache.
    let storeKey: String
    /// The refresh running in this process, joined by every caller that asks meanwhile.
    let inFlight = Mutex<Task<Bool, Never>?>(nil)
    private let state = Mutex(State())
    /// `edgeauth_key_fetches_total{source, result}`, and the set's age and size as gauges
    /// (the fetch time as a Unix timestamp: alert on `time() - value`).
    private let fetchSucceeded: Counter
    private let fetchFailed: Counter
    private let fetchedTimestamp: Gauge
    private let keyCount: Gauge

    struct Snapshot: Sendable {
        var keys = KeySet(keys: [])
        /// `kid` and key digest of every key: what a refresh compares to find removed keys.
        var fingerprints: Set<String> = []
        var fetchedAt: Int64 = 0
        var freshUntil: Int64 = 0
        /// The shared record's sequence the keys came from.
        var sequence: UInt64 = 0
    }

    private struct State {
        var snapshot = Snapshot()
        var lastError: String?
        /// When this process last fetched or was told to wait (drives the local cool-down).
        var lastAttempt: Int64 = .min / 2
        /// Whether the last attempt (here or in another process) failed.
        var failing = false
        /// The JWKS URL found by discovery (discovered again after a failure).
        var discoveredURL: String?
        var fetches = 0
        var failures = 0
    }

    init(source: KeySource, metrics: MetricsFactory) {
        self.source = source
        switch source {
        case .discovery(let issuer): storeKey = "discovery:" + issuer
        case .jwksURL(let url): storeKey = "jwks:" + url
        default: storeKey = source.label
        }
        let name = ("source", source.label)
        fetchSucceeded = Counter(label: "edgeauth_key_fetches_total", dimensions: [name, ("result", "success")], factory: metrics)
        fetchFailed = Counter(label: "edgeauth_key_fetches_total", dimensions: [name, ("result", "failure")], factory: metrics)
        fetchedTimestamp = Gauge(label: "edgeauth_key_set_fetched_timestamp_seconds", dimensions: [name], factory: metrics)
        keyCount = Gauge(label: "edgeauth_key_set_keys", dimensions: [name], factory: metrics)
    }

    var snapshot: Snapshot { state.withLock { $0.snapshot } }
    var hasKeys: Bool { state.withLock { !$0.snapshot.keys.keys.isEmpty } }
    var lastError: String? { state.withLock { $0.lastError } }

    /// Uses a stored document. Returns whether the keys changed (false as well when
    /// the document cannot be read, which a fetch never stores).
    @discardableResult
    func adopt(_ stored: StoredKeySet, settings: KeyRefreshSettings) -> Bool {
        guard let keys = try? KeySet(jwksJSON: stored.document, secretKeys: false), !keys.keys.isEmpty else { return false }
        return adopt(stored, keys: keys)
    }

    /// Uses keys fetched (or read) with their record. Returns whether the keys changed.
    @discardableResult
    func adopt(_ stored: StoredKeySet, keys: KeySet) -> Bool {
        let fingerprints = Set(keys.keys.map { "\($0.kid ?? "")|\(Base64URL.encode($0.fingerprint))" })
        fetchedTimestamp.record(stored.fetchedAt)
        keyCount.record(keys.keys.count)
        return state.withLock { state in
            let changed = fingerprints != state.snapshot.fingerprints
            state.snapshot = Snapshot(keys: keys, fingerprints: fingerprints, fetchedAt: stored.fetchedAt, freshUntil: stored.freshUntil, sequence: stored.sequence)
            state.lastError = nil
            state.failing = false
            return changed
        }
    }

    /// Counts a fetch this process made.
    func noteFetched(success: Bool) {
        (success ? fetchSucceeded : fetchFailed).increment()
    }

    func noteAttempt(now: Int64) {
        state.withLock {
            $0.lastAttempt = now
            $0.fetches += 1
        }
    }

    /// Another process fetched or is fetching: do not ask again before the cool-down ends.
    func noteCoolDown(now: Int64) {
        state.withLock { $0.lastAttempt = max($0.lastAttempt, now) }
    }

    func noteFailure(_ message: String, fetchedHere: Bool) {
        state.withLock {
            $0.lastError = message
            $0.failing = true
            $0.discoveredURL = nil
            if fetchedHere { $0.failures += 1 }
        }
    }

    /// Whether the local cool-down allows a fetch now. An attempt later than now was made
    /// before the clock stepped back: it holds nothing up.
    func mayFetch(now: Int64, coolDown: Int64) -> Bool {
        state.withLock { now >= $0.lastAttempt + coolDown || $0.lastAttempt > now }
    }

    /// When this set is next refreshed: before its lifetime ends, or a cool-down after a failure.
    func nextRefresh(now: Int64, settings: KeyRefreshSettings) -> Int64 {
        state.withLock { state in
            // Times later than now are from before a step back of the clock: due now.
            if state.lastAttempt > now || state.snapshot.fetchedAt > now { return now }
            if state.failing || state.snapshot.fetchedAt == 0 { return state.lastAttempt + settings.coolDown }
            return max(settings.refreshTime(fetchedAt: state.snapshot.fetchedAt, freshUntil: state.snapshot.freshUntil), state.lastAttempt + settings.coolDown)
        }
    }

    func isDue(now: Int64, settings: KeyRefreshSettings) -> Bool { now >= nextRefresh(now: now, settings: settings) }

    /// Downloads the set (discovering its URL first for an issuer).
    /// - Returns: the document, its keys (at least one usable) and its `Cache-Control` max-age.
    func fetch(settings: KeyRefreshSettings) async throws(ConfigurationError) -> (document: [UInt8], keys: KeySet, maxAge: Int64?) {
        let url: String
        switch source {
        case .jwksURL(let jwksURL):
            url = jwksURL
        case .discovery(let issuer):
            if let known = state.withLock({ $0.discoveredURL }) {
                url = known
            } else {
                url = try await KeyLoader.discoverJWKSURL(issuer: issuer, settings: settings)
                state.withLock { $0.discoveredURL = url }
            }
        default:
            throw ConfigurationError("\(source.label) is not a remote source")
        }
        let download = try await KeyLoader.download(url, what: "JWKS URL", settings: settings)
        let keys: KeySet
        do {
            keys = try KeySet(jwksJSON: download.body, secretKeys: false)
        } catch {
            throw ConfigurationError("JWKS URL \(url): \(error.reason)")
        }
        guard !keys.keys.isEmpty else {
            // Never replace good keys with none: an empty or all-unusable set is a failed fetch.
            throw ConfigurationError("JWKS URL \(url) has no usable key" + (keys.skipped.isEmpty ? "" : ": " + keys.skipped.joined(separator: "; ")))
        }
        return (download.body, keys, download.maxAge)
    }

    func status(now: Int64, settings: KeyRefreshSettings) -> KeySetStatus {
        state.withLock { state in
            let snapshot = state.snapshot
            let fetched = snapshot.fetchedAt != 0
            let statusState: KeySetStatus.State =
                !fetched || now >= snapshot.fetchedAt + settings.maxStaleness ? .unavailable
                : now < snapshot.freshUntil ? .fresh : .stale
            return KeySetStatus(
                source: source.label, state: statusState, keyCount: snapshot.keys.keys.count,
                fetchedAt: fetched ? snapshot.fetchedAt : nil, ageSeconds: fetched ? now - snapshot.fetchedAt : nil,
                freshUntil: fetched ? snapshot.freshUntil : nil, lastError: state.lastError,
                fetches: state.fetches, failures: state.failures
            )
        }
    }
}
