import EdgeAuthTesting
import Foundation
import Testing

/// The fuzz targets in `make test`: each on its seeds (`Fuzz/seed.py`) and a fixed number of
/// their mutations, without libFuzzer or the sanitizer (whose build is `make fuzz`'s).
/// A crash fails the run; a broken property is an issue naming the input. One target at a
/// time, off the cooperative pool: other suites' servers need a core and the pool.
@Suite("Fuzz targets: seeds and their mutations", .serialized)
struct FuzzSmokeTests {
    static let mutationsPerTarget = 3000

    /// The seed corpus, written once per run by the same script `make fuzz` seeds from.
    static let seedDirectory: URL? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-fuzz-seeds-\(UUID().uuidString)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.environment["EDGEAUTH_PYTHON"] ?? "/usr/bin/python3")
        process.arguments = [root.appendingPathComponent("Fuzz/seed.py").path, directory.path]
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        return process.terminationStatus == 0 ? directory : nil
    }()

    static func seeds(_ target: String) throws -> [[UInt8]] {
        let directory = try #require(seedDirectory, "Fuzz/seed.py wrote the seeds").appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().map {
            Array(try Data(contentsOf: directory.appendingPathComponent($0)))
        }
    }

    @Test("every target survives its seeds and their mutations, properties included", arguments: FuzzTarget.all.map(\.name))
    func smoke(_ name: String) async throws {
        let target = try #require(FuzzTarget.all.first { $0.name == name })
        let seeds = try Self.seeds(name)
        #expect(!seeds.isEmpty, "\(name) has seeds")
        if let failure = try await offPool({ Self.run(target, seeds) }) { Issue.record("\(name): \(failure)") }
    }

    /// The seeds, then their mutations, through `target`; the first broken property with its input.
    static func run(_ target: FuzzTarget, _ seeds: [[UInt8]]) -> String? {
        var random = SplitMix64(seed: UInt64(target.name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
        var inputs = seeds
        for _ in 0..<Self.mutationsPerTarget where !seeds.isEmpty {
            inputs.append(Self.mutate(seeds[Int(random.next() % UInt64(seeds.count))], donor: seeds[Int(random.next() % UInt64(seeds.count))], &random))
        }
        for input in inputs {
            do {
                try input.withUnsafeBytes { try target.run($0) }
            } catch {
                return "\(error) for input \(String(decoding: input, as: UTF8.self).debugDescription)"
            }
        }
        return nil
    }

    /// One to four edits: a byte replaced, inserted or removed, or a piece of another seed copied in.
    static func mutate(_ seed: [UInt8], donor: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        for _ in 0..<(1 + random.next() % 4) {
            let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
            switch random.next() % 4 {
            case 0 where !bytes.isEmpty: bytes[position] = UInt8(truncatingIfNeeded: random.next())
            case 1: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
            case 2 where !bytes.isEmpty: bytes.remove(at: position)
            default:
                guard !donor.isEmpty else { continue }
                let start = Int(random.next() % UInt64(donor.count))
                let length = min(donor.count - start, 1 + Int(random.next() % 16))
                bytes.insert(contentsOf: donor[start..<(start + length)], at: position)
            }
        }
        return bytes
    }
}

/// A small seeded generator, so that a failing mutation comes back on the next run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
