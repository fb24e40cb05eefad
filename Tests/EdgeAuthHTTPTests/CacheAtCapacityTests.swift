import EdgeAuth
import EdgeAuthTesting
import Foundation
import Testing

/// `edgeauth serve` whose verdict cache is smaller than the tokens it sees: it evicts, stays
/// ready, answers every request, and says so in `/metrics`.
@Suite("edgeauth serve: the verdict cache at capacity", .serialized)
struct CacheAtCapacityTests {
    @Test("a map too small for the tokens: every request answered, /readyz ready, eviction and fill in /metrics, no cache error")
    func fullCacheServes() async throws {
        let factory = TokenFactory(key: .hmac(secret: Array(repeating: 7, count: 32)), algorithm: .hs256, issuer: "https://issuer.example/",
                                   audience: "api", now: Int64(Date().timeIntervalSince1970))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-capacity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let secret = directory.appendingPathComponent("secret").path
        try Data(Array(repeating: 7, count: 32)).write(to: URL(fileURLWithPath: secret))
        let config = directory.appendingPathComponent("edgeauth.yaml").path
        // 1 MiB holds about 5 000 verdicts (docs/cache.md): 6 000 distinct tokens go past its 80 % mark.
        try Data("""
        issuers: [https://issuer.example/]
        audiences: [api]
        algorithms: [HS256]
        keys: [{hmacSecretFile: \(secret)}]
        cache: {directory: \(directory.path)/cache, mapSizeBytes: 1048576, l1Entries: 0}
        """.utf8).write(to: URL(fileURLWithPath: config))
        // Made off Swift's cooperative pool, which other suites' servers need.
        let tokens = try await offPool { try (0..<6_000).map { try factory.token(claims: ["jti": .string("t\($0)"), "exp": .number(String(factory.now + 3600))]) } }
        let served = try await ProcessModelTests.start(workers: 1, arguments: ["--no-rate-limit"], configuration: (config, tokens[0]))
        let statuses = try await offPool { () -> [Int: Int] in
            var statuses = [Int: Int]()
            for token in tokens {
                let status = (try? RawHTTP.getBlocking(served.port, "/mcp", headers: ["Authorization: Bearer \(token)"]))?.status ?? 0
                statuses[status, default: 0] += 1
            }
            return statuses
        }
        #expect(statuses == [200: tokens.count], "\(statuses)")
        let ready = try #require(try await RawHTTP.get(served.port, "/readyz"))
        #expect(ready.status == 200 && ready.json?["status"] == "ready" && ready.json?["cache"] == true)

        var text = ""
        /// The sum over the workers of a series: its name, and labels the line must contain.
        func value(_ name: String, _ labels: String...) -> Double {
            text.split(separator: "\n").filter { line in line.hasPrefix(name + "{") && labels.allSatisfy { line.contains($0) } }
                .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
        }
        let evicted = await waitUntil {
            text = (try? await RawHTTP.get(served.port, "/metrics"))?.body ?? ""
            return value("edgeauth_cache_evictions_total", #"reason="capacity""#) > 0
        }
        #expect(evicted, "\(text)")
        let fill = value("edgeauth_cache_map_fill_ratio")
        #expect(fill > 0.3 && fill < 0.95, "\(fill)")
        #expect(value("edgeauth_cache_entries") > 1_000)
        #expect(value("edgeauth_cache_write_transactions_total") >= 4_000)
        #expect(text.contains("edgeauth_cache_writer_lock_wait_seconds_total{") && text.contains("edgeauth_cache_skipped_stores_total{"))
        #expect(value("edgeauth_cache_lookups_total", #"layer="lmdb""#, #"result="error""#) == 0, "\(text)")
        // Replayed, the latest tokens are still served from the cache.
        let hitsBefore = value("edgeauth_cache_lookups_total", #"layer="lmdb""#, #"result="hit""#)
        let replayed = try await offPool { try tokens.suffix(100).map { try RawHTTP.getBlocking(served.port, "/mcp", headers: ["Authorization: Bearer \($0)"])?.status } }
        #expect(replayed.allSatisfy { $0 == 200 })
        let hit = await waitUntil {
            text = (try? await RawHTTP.get(served.port, "/metrics"))?.body ?? ""
            return value("edgeauth_cache_lookups_total", #"layer="lmdb""#, #"result="hit""#) >= hitsBefore + 100
        }
        #expect(hit, "\(text)")
    }
}
