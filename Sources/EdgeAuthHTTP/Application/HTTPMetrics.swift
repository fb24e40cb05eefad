import EdgeAuth
import Foundation
import Prometheus
import Synchronization

/// What the server counts, in Prometheus form (`/metrics`): requests by route and status,
/// latency by route, verdicts by reason code, cache lookups by layer, and everything else
/// recorded through swift-metrics into the same registry (key fetches, key-set ages).
///
/// Each worker counts its own requests. With `snapshotDirectory`, a worker also writes its
/// exposition there (every scrape and every `snapshotInterval`), and `/metrics` answers the
/// series of every worker, each labelled `worker="<pid>"`, whichever worker is asked.
public final class HTTPMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let snapshotDirectory: String?
    /// Counters by `route.rawValue << 16 | status`, histograms by route: integer keys, so
    /// counting a request hashes no string.
    private let requests = Mutex<[Int: Counter]>([:])
    private let verdicts = Mutex<[String: Counter]>([:])
    private let latency = Mutex<[DurationHistogram?]>(Array(repeating: nil, count: Route.allCases.count))
    /// Cache statistics already added to the counters (they are read as totals).
    private let countedCache = Mutex<[String: Int]>([:])

    /// What a request was for, the `route` label.
    enum Route: Int, CaseIterable {
        case other, preflight, metadata, health, ready, metrics, protected, oauth, forwardAuth

        var label: String {
            switch self {
            case .other: "other"
            case .preflight: "preflight"
            case .metadata: "metadata"
            case .health: "health"
            case .ready: "ready"
            case .metrics: "metrics"
            case .protected: "protected"
            case .oauth: "oauth"
            case .forwardAuth: "forward_auth"
            }
        }
    }

    static let buckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), snapshotDirectory: String? = nil) {
        self.registry = registry
        self.snapshotDirectory = snapshotDirectory
        validVerdicts = registry.makeCounter(descriptor: Self.verdictsDescriptor, labels: [("verdict", "valid")])
    }

    private static var verdictsDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "edgeauth", metricName: "verdicts", unitName: "total", helpText: "Token verdicts: valid, or the rejection's reason code")
    }
    /// The usual verdict's counter, at hand without a lookup.
    private let validVerdicts: Counter

    /// The instruments of a connection's last request: most connections ask for the same
    /// route and get the same status again, which then takes no lock and no lookup.
    struct LastInstruments {
        fileprivate var key = -1
        fileprivate var counter: Counter?
        fileprivate var histogram: DurationHistogram?
    }

    func request(route: Route, status: Int, duration: Duration, last: inout LastInstruments) {
        let key = route.rawValue << 16 | status
        if key != last.key {
            let (counter, histogram) = instruments(route: route, status: status)
            last = LastInstruments(key: key, counter: counter, histogram: histogram)
        }
        last.counter?.increment()
        last.histogram?.record(duration)
    }

    private func instruments(route: Route, status: Int) -> (Counter, DurationHistogram) {
        let counter = requests.withLock { counters in
            let key = route.rawValue << 16 | status
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "edgeauth", metricName: "http_requests", unitName: "total", helpText: "HTTP requests answered, by route and status"),
                labels: [("route", route.label), ("status", String(status))])
            counters[key] = counter
            return counter
        }
        let histogram = latency.withLock { histograms in
            if let histogram = histograms[route.rawValue] { return histogram }
            let histogram = registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(namespace: "edgeauth", metricName: "http_request_duration", unitName: "seconds", helpText: "Time from a whole request to its answer, by route"),
                labels: [("route", route.label)], buckets: Self.buckets)
            histograms[route.rawValue] = histogram
            return histogram
        }
        return (counter, histogram)
    }

    /// A valid token: the usual verdict, counted without a lookup.
    func validVerdict() { validVerdicts.increment() }

    /// A rejected token, by its reason code.
    func verdict(_ code: String) {
        let counter = verdicts.withLock { counters in
            if let counter = counters[code] { return counter }
            let counter = registry.makeCounter(descriptor: Self.verdictsDescriptor, labels: [("verdict", code)])
            counters[code] = counter
            return counter
        }
        counter.increment()
    }

    /// Brings the cache counters up to the verifier's totals, and the map's gauges up to date.
    private func updateCache(_ verifier: Verifier) {
        guard let statistics = verifier.cacheStatistics else { return }
        let lookups: [(layer: String, result: String, value: Int)] = [
            ("l1", "hit", statistics.l1Hits), ("lmdb", "hit", statistics.hits), ("lmdb", "negative_hit", statistics.negativeHits),
            ("lmdb", "miss", statistics.misses), ("lmdb", "error", statistics.errors),
        ]
        for (layer, result, value) in lookups {
            addCacheDelta(key: layer + "/" + result, total: value) { delta in
                registry.makeCounter(
                    descriptor: MetricNameDescriptor(namespace: "edgeauth", metricName: "cache_lookups", unitName: "total", helpText: "Verdict cache lookups, by layer and result"),
                    labels: [("layer", layer), ("result", result)]
                ).increment(by: Int64(delta))
            }
        }
        let removals: [(String, Int)] = [("capacity", statistics.evictions), ("expired", statistics.expiredRemovals)]
        for (reason, value) in removals {
            addCacheDelta(key: "removed/" + reason, total: value) { delta in
                registry.makeCounter(
                    descriptor: MetricNameDescriptor(namespace: "edgeauth", metricName: "cache_evictions", unitName: "total",
                                                     helpText: "Verdicts removed from the shared cache: to make room (soonest-expiring first), or expired"),
                    labels: [("reason", reason)]
                ).increment(by: Int64(delta))
            }
        }
        addCacheDelta(key: "skipped", total: statistics.skippedStores) { delta in
            registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "edgeauth", metricName: "cache_skipped_stores", unitName: "total",
                                                                  helpText: "Verdicts not stored because the map was full (a miss later, never an error)"))
                .increment(by: Int64(delta))
        }
        addCacheDelta(key: "writes", total: statistics.writeTransactions) { delta in
            registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "edgeauth", metricName: "cache_write_transactions", unitName: "total",
                                                                  helpText: "Write transactions of the shared cache begun by this worker"))
                .increment(by: Int64(delta))
        }
        addCacheDelta(key: "lock-wait-ns", total: Int(clamping: statistics.writeLockWaitNanoseconds)) { delta in
            registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "edgeauth", metricName: "cache_writer_lock_wait", unitName: "seconds_total",
                                                                  helpText: "Time this worker's cache writes waited for LMDB's writer lock"))
                .increment(by: Double(delta) / 1e9)
        }
        if let occupancy = verifier.cacheOccupancy {
            registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "edgeauth", metricName: "cache_map_fill", unitName: "ratio",
                                                                helpText: "How full the shared cache's map is (pages in use over the map's size; host-wide)"))
                .set(occupancy.fill)
            registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "edgeauth", metricName: "cache_entries", unitName: "",
                                                                helpText: "Verdicts in the shared cache (host-wide)"))
                .set(Int64(occupancy.entries))
        }
    }

    /// Hands `add` how much `total` grew since the last call for `key` (the statistics are totals);
    /// zero too, so that every series is there from the first scrape.
    private func addCacheDelta(key: String, total: Int, _ add: (Int) -> Void) {
        let delta = countedCache.withLock { counted -> Int in
            defer { counted[key] = total }
            return total - (counted[key] ?? 0)
        }
        add(max(0, delta))
    }

    /// This worker's exposition, written to the snapshot directory when there is one.
    @discardableResult
    public func snapshot(_ verifier: Verifier) -> String {
        updateCache(verifier)
        let text = registry.emitToString()
        if let snapshotDirectory {
            let path = (snapshotDirectory as NSString).appendingPathComponent("\(getpid()).prom")
            try? Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        }
        return text
    }

    /// The `/metrics` document: every worker's series (from the snapshots), or this one's.
    func exposition(_ verifier: Verifier) -> [UInt8] {
        let own = snapshot(verifier)
        guard let snapshotDirectory, let files = try? FileManager.default.contentsOfDirectory(atPath: snapshotDirectory) else {
            return Array(own.utf8)
        }
        var workers = [(String, String)]()
        for file in files.sorted() where file.hasSuffix(".prom") {
            let pid = String(file.dropLast(5))
            // A worker that exited no longer counts.
            guard let number = Int32(pid), kill(number, 0) == 0 || number == getpid() else { continue }
            if let text = try? String(contentsOfFile: (snapshotDirectory as NSString).appendingPathComponent(file), encoding: .utf8) {
                workers.append((pid, text))
            }
        }
        return Array(Self.merge(workers).utf8)
    }

    /// Merges expositions: the samples of each family together under one `# HELP`/`# TYPE`,
    /// each labelled with its worker.
    static func merge(_ workers: [(worker: String, text: String)]) -> String {
        var order = [String]()
        var headers = [String: [String]]()
        var samples = [String: [String]]()
        for (worker, text) in workers {
            var family = ""
            for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
                if line.hasPrefix("# ") {
                    let parts = line.split(separator: " ", maxSplits: 3)
                    guard parts.count >= 3 else { continue }
                    family = String(parts[2])
                    if headers[family] == nil { order.append(family); headers[family] = [] }
                    if !headers[family]!.contains(String(line)) { headers[family]!.append(String(line)) }
                    continue
                }
                let labelled: String
                if let brace = line.firstIndex(of: "{") {
                    labelled = line[..<brace] + "{worker=\"\(worker)\"," + line[line.index(after: brace)...]
                } else if let space = line.firstIndex(of: " ") {
                    labelled = line[..<space] + "{worker=\"\(worker)\"}" + line[space...]
                } else {
                    continue
                }
                if headers[family] == nil { order.append(family); headers[family] = [] }
                samples[family, default: []].append(labelled)
            }
        }
        var out = ""
        for family in order {
            for line in headers[family] ?? [] { out += line + "\n" }
            for line in samples[family] ?? [] { out += line + "\n" }
        }
        return out
    }
}
