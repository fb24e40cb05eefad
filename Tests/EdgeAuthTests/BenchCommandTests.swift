import EdgeAuth
import EdgeAuthTesting
import Foundation
import Testing

/// `edgeauth bench` on the bench-data tokens, run briefly: the structure of what it reports
/// (timings themselves belong in benchmarks, not tests) and its refusal of a rejected token.
/// The command is waited for off the cooperative pool, which other suites' servers need.
@Suite("edgeauth bench", .serialized)
struct BenchCommandTests {
    static let benchData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("bench-data")
    static let options = ["--jwks", benchData.appendingPathComponent("jwks-with-hmac.json").path, "--issuer", "https://edgeauth-bench.us.auth0.com/",
                          "--audience", "https://api.edgeauth.test", "--now", "1764003600", "--duration", "0.2"]
    static let measurements = ["parse", "uncached", "l1", "lmdb", "signature"]

    static func token(_ name: String) throws -> String {
        try String(contentsOf: benchData.appendingPathComponent("tokens/\(name).jwt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func run(_ arguments: [String]) async throws -> CLI.Result {
        try await offPool { try CLI.run(arguments) }
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    @Test("--json: every measurement with its percentiles, operations and histogram; the machine; throughput across threads and processes")
    func jsonReport() async throws {
        let result = try await Self.run(["bench", try Self.token("auth0-es256")] + Self.options + ["--json", "--threads", "2", "--processes", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try Self.json(result.stdout)
        let machine = try #require(report["machine"] as? [String: Any])
        #expect((machine["openSSL"] as? String)?.hasPrefix("OpenSSL") == true && (machine["cores"] as? Int ?? 0) > 0)
        #expect(report["edgeauthVersion"] as? String == (try await Self.run(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let tokens = try #require(report["tokens"] as? [[String: Any]])
        #expect(tokens.count == 1 && tokens[0]["algorithm"] as? String == "ES256" && tokens[0]["verdict"] as? String == "valid")
        let measured = try #require(tokens[0]["measurements"] as? [[String: Any]])
        #expect(measured.compactMap { $0["name"] as? String } == Self.measurements)
        for measurement in measured {
            let percentiles = try #require(measurement["percentiles"] as? [String: Double], "\(measurement)")
            #expect(Set(percentiles.keys) == ["min", "p50", "p90", "p99", "p999", "max", "mean"])
            #expect(percentiles["min"]! <= percentiles["p50"]! && percentiles["p50"]! <= percentiles["p999"]! && percentiles["p999"]! <= percentiles["max"]!)
            #expect((measurement["operations"] as? Int ?? 0) > 0 && (measurement["operationsPerSecond"] as? Double ?? 0) > 0)
            #expect(!(measurement["histogram"] as? [Any] ?? []).isEmpty)
            #expect((measurement["ratioToSignature"] != nil) == (measurement["name"] as? String != "signature"))
        }
        let throughput = try #require(report["throughput"] as? [[String: Any]])
        #expect(throughput.map { "\($0["measurement"]!)/\($0["across"]!)/\($0["count"]!)" } == ["l1/threads/2", "uncached/threads/2", "lmdb/processes/2"])
        #expect(throughput.allSatisfy { ($0["operationsPerSecond"] as? Double ?? 0) > 0 })
    }

    @Test("a token file is measured as one stream; the table names each measurement")
    func tokenFile() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-bench-tokens-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        let tokens = try ["auth0-rs256", "auth0-hs256", "auth0-eddsa"].map(Self.token)
        try Data((tokens.joined(separator: "\n") + "\n\n").utf8).write(to: file)
        let result = try await Self.run(["bench", "--tokens", file.path] + Self.options)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("(3 tokens)") && result.stdout.contains("RS256, HS256, EdDSA"), "\(result.stdout)")
        for name in Self.measurements { #expect(result.stdout.contains("\n\(name) "), "\(name) in \(result.stdout)") }
    }

    @Test("a rejected token stops the run with its reason code (exit 1); --allow-rejected measures the rejection path")
    func rejected() async throws {
        let forged = String(try Self.token("auth0-es256").dropLast(6)) + "AAAAAA"
        let refused = try await Self.run(["bench", forged] + Self.options)
        #expect(refused.status == 1 && refused.stdout == "rejected: badSignature\n", "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("--allow-rejected"))
        let measured = try await Self.run(["bench", forged, "--allow-rejected", "--json"] + Self.options)
        #expect(measured.status == 0, "\(measured.stderr)")
        let token = try #require((try Self.json(measured.stdout)["tokens"] as? [[String: Any]])?.first)
        #expect(token["verdict"] as? String == "rejected: badSignature")
        // No key verifies a forged signature: there is no primitive to compare with.
        #expect((token["measurements"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == Array(Self.measurements.dropLast()))
    }

    @Test("bad input: no token, both a token and a file, a duration out of range, an unreadable file")
    func usage() async throws {
        let none = try await Self.run(["bench"] + Self.options)
        #expect(none.status == 2 && none.stderr.contains("give a token"), "\(none.stderr)")
        #expect((try await Self.run(["bench", "x", "--tokens", "/nonexistent"] + Self.options)).status == 2)
        let zero = try await Self.run(["bench", "x", "--duration", "0"] + Self.options.dropLast(2))
        #expect(zero.status == 2 && zero.stderr.contains("--duration must be"), "\(zero.stderr)")
        let missing = try await Self.run(["bench", "--tokens", "/nonexistent/tokens.txt"] + Self.options)
        #expect(missing.status == 2 && missing.stderr.contains("cannot read /nonexistent/tokens.txt"))
    }
}
