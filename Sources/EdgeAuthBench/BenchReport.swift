/// What `edgeauth bench` measured, as `--json` writes it and the table and HTML report show it.
public struct BenchReport: Codable, Sendable {
    public var edgeauthVersion: String
    public var machine: MachineDescription
    /// When the run started (seconds since the epoch) and the time tokens were verified at.
    public var startedAt: Int64
    public var verifiedAt: Int64
    public var tokens: [TokenResult]
    public var throughput: [Throughput]

    public init(edgeauthVersion: String, machine: MachineDescription, startedAt: Int64, verifiedAt: Int64, tokens: [TokenResult] = [], throughput: [Throughput] = []) {
        self.edgeauthVersion = edgeauthVersion
        self.machine = machine
        self.startedAt = startedAt
        self.verifiedAt = verifiedAt
        self.tokens = tokens
        self.throughput = throughput
    }
}

/// The measurements of one token (or of a token file, cycled through as a stream).
public struct TokenResult: Codable, Sendable {
    /// `argument`, `standard input`, or the file and its number of tokens.
    public var label: String
    /// The algorithm, or those of a file's tokens in order of first appearance.
    public var algorithm: String
    /// The `kid` all the tokens share, if they share one.
    public var keyID: String?
    /// The token's length (a file's longest).
    public var bytes: Int
    /// `valid`, or the reason code of a rejected token (measured with `--allow-rejected`).
    public var verdict: String
    public var measurements: [Measurement]
}

/// One operation's latency distribution.
public struct Measurement: Codable, Sendable {
    /// `parse`, `uncached`, `l1`, `lmdb` or `signature`.
    public var name: String
    public var description: String
    public var operations: Int
    public var seconds: Double
    public var operationsPerSecond: Double
    /// Nanoseconds per operation.
    public var percentiles: Percentiles
    /// Operations per timed sample (short operations are timed in batches; see docs/benchmarks.md).
    public var batch: Int
    /// The median latency over the signature primitive's (nil for the primitive itself).
    public var ratioToSignature: Double?
    /// Samples by latency: each bucket's lower bound in nanoseconds and its count (log scale).
    public var histogram: [HistogramBucket]

    public init(name: String, description: String, samples: Samples) {
        self.name = name
        self.description = description
        operations = samples.operations
        seconds = Double(samples.elapsedNanoseconds) / 1e9
        operationsPerSecond = seconds > 0 ? Double(samples.operations) / seconds : 0
        let sorted = samples.nanoseconds.sorted()
        percentiles = Percentiles(sorted)
        batch = samples.batch
        histogram = HistogramBucket.buckets(sorted)
    }
}

public struct Percentiles: Codable, Sendable {
    public var min: Double
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var mean: Double

    /// From samples sorted in increasing order (nearest rank).
    init(_ sorted: [Double]) {
        func rank(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return sorted[Swift.min(sorted.count - 1, Swift.max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))]
        }
        min = sorted.first ?? 0
        p50 = rank(0.5)
        p90 = rank(0.9)
        p99 = rank(0.99)
        p999 = rank(0.999)
        max = sorted.last ?? 0
        mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
    }

    /// The points of a percentile chart: (percentile, nanoseconds).
    public var points: [(Double, Double)] { [(0, min), (50, p50), (90, p90), (99, p99), (99.9, p999), (100, max)] }
}

public struct HistogramBucket: Codable, Sendable {
    public var lowerBound: Double
    public var count: Int

    /// Four buckets per doubling from the smallest sample to the largest.
    static func buckets(_ sorted: [Double]) -> [HistogramBucket] {
        guard let first = sorted.first, let last = sorted.last, first > 0 else { return [] }
        let step = 1.189_207_115  // 2^(1/4)
        var bounds = [first]
        while bounds.last! * step <= last, bounds.count < 200 { bounds.append(bounds.last! * step) }
        var counts = [Int](repeating: 0, count: bounds.count)
        var index = 0
        for value in sorted {
            while index + 1 < bounds.count, value >= bounds[index + 1] { index += 1 }
            counts[index] += 1
        }
        return zip(bounds, counts).map { HistogramBucket(lowerBound: $0, count: $1) }
    }
}

/// Operations per second with several threads or processes at once.
public struct Throughput: Codable, Sendable {
    /// `l1` or `uncached` across threads; `lmdb` across processes sharing one cache.
    public var measurement: String
    /// `threads` or `processes`.
    public var across: String
    public var count: Int
    public var operationsPerSecond: Double

    public init(measurement: String, across: String, count: Int, operationsPerSecond: Double) {
        self.measurement = measurement
        self.across = across
        self.count = count
        self.operationsPerSecond = operationsPerSecond
    }
}
