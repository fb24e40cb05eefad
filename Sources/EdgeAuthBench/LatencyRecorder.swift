import Dispatch
import Synchronization

/// Runs an operation over and over for a while and records how long each took.
///
/// Operations shorter than the clock's own cost (an L1 hit takes tens of nanoseconds) are
/// timed in batches and each batch's mean recorded, so that reading the clock does not
/// become what is measured.
public struct LatencyRecorder: Sendable {
    /// How long operations run before recording starts (caches, branch predictors, pools).
    public var warmUp: Duration
    public var duration: Duration
    /// The most samples kept; past it, samples replace random earlier ones (reservoir).
    public var maxSamples = 1_000_000

    public init(duration: Duration, warmUp: Duration? = nil) {
        self.duration = duration
        self.warmUp = warmUp ?? min(duration / 5, .seconds(1))
    }

    /// The shortest batch worth timing, in nanoseconds.
    static let batchNanoseconds: Double = 2_000

    public func record(_ operation: () -> Void) -> Samples {
        run(for: warmUp, operation)
        // Calibration: the mean of a few calls decides the batch.
        let start = Self.now()
        for _ in 0..<64 { operation() }
        let mean = Double(Self.now() - start) / 64
        let batch = max(1, Int((Self.batchNanoseconds / max(mean, 1)).rounded(.up)))
        var samples = [Double]()
        samples.reserveCapacity(min(maxSamples, 1 << 16))
        var operations = 0
        var seen = 0
        var random = SystemRandomNumberGenerator()
        let began = Self.now()
        let end = began + UInt64(duration.nanoseconds)
        while true {
            let before = Self.now()
            for _ in 0..<batch { operation() }
            let after = Self.now()
            operations += batch
            let sample = Double(after - before) / Double(batch)
            seen += 1
            if samples.count < maxSamples {
                samples.append(sample)
            } else if case let slot = Int.random(in: 0..<seen, using: &random), slot < maxSamples {
                samples[slot] = sample
            }
            if after >= end { return Samples(nanoseconds: samples, operations: operations, elapsedNanoseconds: after - began, batch: batch) }
        }
    }

    /// Operations per second across `threads` threads running at once for the duration; each
    /// thread passes its own running count to `operation` (to pick its input without sharing a counter).
    public func throughput(threads: Int, _ operation: @escaping @Sendable (Int) -> Void) -> Double {
        let counts = Mutex([Int](repeating: 0, count: threads))
        let group = DispatchGroup()
        let warmUp = warmUp, duration = duration
        for index in 0..<threads {
            DispatchQueue.global().async(group: group) {
                var count = 0
                let warm = Self.now() + UInt64(warmUp.nanoseconds)
                while Self.now() < warm {
                    for _ in 0..<16 { operation(count); count += 1 }
                }
                count = 0
                let end = Self.now() + UInt64(duration.nanoseconds)
                while Self.now() < end {
                    for _ in 0..<64 { operation(count); count += 1 }
                }
                counts.withLock { $0[index] = count }
            }
        }
        group.wait()
        return Double(counts.withLock { $0.reduce(0, +) }) / (Double(duration.nanoseconds) / 1e9)
    }

    private func run(for time: Duration, _ operation: () -> Void) {
        let end = Self.now() + UInt64(time.nanoseconds)
        while Self.now() < end {
            for _ in 0..<16 { operation() }
        }
    }

    @inline(__always)
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// What a recording saw: per-operation times, and how many operations ran in how long.
public struct Samples: Sendable {
    public let nanoseconds: [Double]
    public let operations: Int
    public let elapsedNanoseconds: UInt64
    /// Operations per timed batch (1: each one timed alone).
    public let batch: Int
}
