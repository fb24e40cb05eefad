import ArgumentParser
import EdgeAuth
import EdgeAuthBench
import EdgeAuthHTTP
import Foundation

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure verification latency of your own tokens and keys on this machine (docs/benchmarks.md).",
        discussion: VerifierOptions.discussion + """
             Each token is verified first: a rejected one stops the run with its reason code (exit 1) \
            unless --allow-rejected measures the rejection path. Then, for --duration seconds each: parse and claims \
            checks alone, full verification without a cache, an in-process cache hit, a shared LMDB cache hit (in a \
            temporary directory unless the configuration names one), and the signature check alone.
            """
    )

    @Argument(help: "The token, or - to read it from standard input.")
    var token: String?

    @Option(help: "A file of tokens, one per line, measured together as a stream.")
    var tokens: String?

    @OptionGroup var verifier: VerifierOptions

    @Option(help: "Seconds each measurement runs, after a warm-up (fractions allowed).")
    var duration: Double = 3

    @Option(help: "Also measure throughput with this many threads at once (cache hits and uncached verification).")
    var threads: Int?

    @Option(help: "Also measure shared-cache hits with this many processes using one LMDB cache.")
    var processes: Int?

    @Flag(help: "Measure rejected tokens (the rejection path) instead of stopping at the first.")
    var allowRejected = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Write a self-contained HTML report (inline SVG charts) to this file.")
    var html: String?

    /// A process of a `--processes` run: hits of the shared cache in this directory, then the count as JSON.
    @Option(help: .hidden)
    var processWorker: String?

    func validate() throws {
        guard (token == nil) != (tokens == nil) else { throw ValidationError("give a token (or - for standard input) or --tokens FILE, not both") }
        guard duration > 0, duration <= 3600 else { throw ValidationError("--duration must be more than 0 and at most 3600 seconds") }
        if let threads, !(1...1024).contains(threads) { throw ValidationError("--threads must be between 1 and 1024") }
        if let processes, !(1...256).contains(processes) { throw ValidationError("--processes must be between 1 and 256") }
    }

    func run() async throws {
        let started = Int64(Date().timeIntervalSince1970)
        let now = verifier.now ?? started
        let inputs = try readTokens()
        var configuration: VerifierConfiguration
        do throws(ConfigurationError) {
            configuration = try verifier.configuration()
        } catch {
            writeError("error: \(error.message)")
            throw ExitCode(2)
        }
        if let processWorker { configuration.cache = CacheConfiguration(directory: processWorker) }
        let temporary = configuration.cache == nil ? try Self.temporaryDirectory() : nil
        defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
        let verifiers: TokenBenchmark.Verifiers
        do throws(ConfigurationError) {
            verifiers = try await TokenBenchmark.Verifiers.make(configuration, cacheDirectory: configuration.cache?.directory ?? temporary!)
        } catch {
            writeError("error: \(error.message)")
            throw ExitCode(2)
        }
        let benchmark = TokenBenchmark(verifiers: verifiers, recorder: LatencyRecorder(duration: .milliseconds(Int64(duration * 1000))), now: now)
        if processWorker != nil { return runAsProcessWorker(benchmark, inputs.flatMap(\.tokens)) }
        let progress = Progress()
        var report = BenchReport(edgeauthVersion: EdgeAuthVersion.string, machine: .current(), startedAt: started, verifiedAt: now)
        for (label, group) in inputs {
            let verdicts = benchmark.verdicts(group)
            if !allowRejected, let (index, reason) = verdicts.enumerated().lazy.compactMap({ i, v in v.reason.map { (i, $0) } }).first {
                print("rejected: \(reason.code)")
                writeError("\(label)\(group.count > 1 ? ", token \(index + 1)" : ""): \(reason.explanation) (--allow-rejected measures the rejection path)")
                throw ExitCode(1)
            }
            let rejected = verdicts.compactMap(\.reason)
            let verdict = rejected.isEmpty ? "valid" : rejected.count == verdicts.count && Set(rejected.map(\.code)).count == 1
                ? "rejected: \(rejected[0].code)" : "\(verdicts.count - rejected.count) valid, \(rejected.count) rejected"
            report.tokens.append(benchmark.measure(label: label, tokens: group, verdict: verdict) { progress.show("\(label): \($0)") })
        }
        let all = inputs.flatMap(\.tokens)
        if let threads {
            progress.show("throughput across \(threads) threads")
            report.throughput.append(Throughput(measurement: "l1", across: "threads", count: threads,
                                                operationsPerSecond: benchmark.recorder.throughput(threads: threads, Self.cycling(all) { _ = verifiers.l1.verify($0, now: now) })))
            report.throughput.append(Throughput(measurement: "uncached", across: "threads", count: threads,
                                                operationsPerSecond: benchmark.recorder.throughput(threads: threads, Self.cycling(all) { _ = verifiers.uncached.verify($0, now: now) })))
        }
        if let processes {
            progress.show("shared-cache hits across \(processes) processes")
            report.throughput.append(Throughput(measurement: "lmdb", across: "processes", count: processes,
                                                operationsPerSecond: try runProcesses(processes, cacheDirectory: configuration.cache?.directory ?? temporary!)))
        }
        progress.clear()
        if let html {
            do {
                try Data(HTMLReport.render(report).utf8).write(to: URL(fileURLWithPath: html))
            } catch {
                writeError("error: cannot write \(html): \(error.localizedDescription)")
                throw ExitCode(2)
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(TextReport.render(report))
        }
    }

    /// The tokens to measure, with the label each group is reported under.
    func readTokens() throws -> [(label: String, tokens: [[UInt8]])] {
        if let token {
            return [(token == "-" ? "standard input" : "token", [try readToken(token)])]
        }
        let path = tokens!
        // A handle, not the file's size: `--tokens <(…)` is a pipe.
        guard let handle = FileHandle(forReadingAtPath: path), let data = try? handle.read(upToCount: (64 << 20) + 1) ?? Data() else {
            writeError("error: cannot read \(path)")
            throw ExitCode(2)
        }
        guard data.count <= 64 << 20 else {
            writeError("error: \(path) is larger than 64 MiB")
            throw ExitCode(2)
        }
        let lines = data.split(separator: UInt8(ascii: "\n")).map { line -> [UInt8] in
            var bytes = Array(line)
            while let last = bytes.last, last == UInt8(ascii: "\r") || last == UInt8(ascii: " ") { bytes.removeLast() }
            if bytes.starts(with: Array("Bearer ".utf8)) { bytes.removeFirst(7) }
            return bytes
        }.filter { !$0.isEmpty }
        guard !lines.isEmpty else {
            writeError("error: \(path) holds no token")
            throw ExitCode(2)
        }
        return [("\(path) (\(lines.count) token\(lines.count == 1 ? "" : "s"))", lines)]
    }

    /// An operation over `tokens` in turn, by a thread's running count.
    static func cycling(_ tokens: [[UInt8]], _ operation: @escaping @Sendable ([UInt8]) -> Void) -> @Sendable (Int) -> Void {
        { operation(tokens[$0 % tokens.count]) }
    }

    /// Shared-cache hits per second of `count` processes at once, each this command again.
    func runProcesses(_ count: Int, cacheDirectory: String) throws -> Double {
        var arguments = Array(CommandLine.arguments.dropFirst())
        for name in ["--processes", "--html", "--threads", "--duration"] {
            if let index = arguments.firstIndex(of: name) { arguments.removeSubrange(index...min(index + 1, arguments.count - 1)) }
        }
        arguments.removeAll { $0 == "--json" }
        arguments += ["--duration", String(duration), "--process-worker", cacheDirectory]
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let children = try (0..<count).map { _ -> (Process, Pipe) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            return (process, output)
        }
        var total = 0.0
        for (process, output) in children {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0, let rate = Double(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                writeError("error: a measuring process failed (status \(process.terminationStatus))")
                throw ExitCode(2)
            }
            total += rate
        }
        return total
    }

    /// In a child of `--processes`: one thread of shared-cache hits; prints operations per second.
    func runAsProcessWorker(_ benchmark: TokenBenchmark, _ tokens: [[UInt8]]) {
        let verifier = benchmark.verifiers.lmdb
        let now = benchmark.now
        for token in tokens { _ = verifier.verify(token, now: now) }
        print(benchmark.recorder.throughput(threads: 1, Self.cycling(tokens) { _ = verifier.verify($0, now: now) }))
    }

    static func temporaryDirectory() throws -> String {
        var template = Array(FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-bench-XXXXXX").path.utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            writeError("error: cannot create a temporary cache directory")
            throw ExitCode(2)
        }
        return String(cString: made)
    }
}

/// A progress line on standard error while measuring, only when it is a terminal.
final class Progress: Sendable {
    let enabled = isatty(STDERR_FILENO) == 1

    func show(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[Kmeasuring \(text)…".utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
