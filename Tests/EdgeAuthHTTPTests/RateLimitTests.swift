import EdgeAuth
import EdgeAuthHTTP
import EdgeAuthTesting
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@Suite("Rate limits")
final class RateLimitTests {
    /// Each test's bucket files, in a directory removed when the test ends.
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-limits-\(UUID().uuidString)")
    deinit { try? FileManager.default.removeItem(at: directory) }

    func temporaryFile() -> String {
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(UUID().uuidString).path
    }

    /// A test server with rate limits, its buckets in a file of its own.
    func limitedServer(_ configure: (inout ServerConfiguration) -> Void) async throws -> TestServer {
        try await TestServer.start(limiter: try SharedRateLimiter(path: temporaryFile()), configure)
    }

    @Test("a bucket allows its burst, then refuses with the wait, and refills at its rate")
    func bucket() throws {
        let limiter = try SharedRateLimiter(path: temporaryFile())
        let limit = SharedRateLimiter.Limit(rate: 2, burst: 3)
        let start: UInt64 = 1_000_000_000
        for _ in 0..<3 { #expect(limiter.check("k", limit, now: start) == .allowed) }
        #expect(limiter.check("k", limit, now: start) == .limited(retryAfter: 1))
        #expect(limiter.isExhausted("k", limit, now: start))
        #expect(limiter.check("other", limit, now: start) == .allowed, "buckets are per key")
        #expect(limiter.check("k", limit, now: start + 500_000) == .allowed, "one request back after 1/rate")
        #expect(limiter.check("k", limit, now: start + 500_000) == .limited(retryAfter: 1))
        #expect(!limiter.isExhausted("k", limit, now: start + 10_000_000))
    }

    @Test("two limiters on the same file (two processes) share one budget")
    func sharedBetweenMappings() throws {
        let path = temporaryFile()
        let first = try SharedRateLimiter(path: path), second = try SharedRateLimiter(path: path)
        let limit = SharedRateLimiter.Limit(rate: 1, burst: 10)
        let now = SharedRateLimiter.microseconds()
        var allowed = 0
        for index in 0..<20 where (index.isMultiple(of: 2) ? first : second).check("user:alice", limit, now: now) == .allowed { allowed += 1 }
        #expect(allowed == 10)
    }

    @Test("HTTP: per address, per user and repeated invalid tokens get 429 with Retry-After")
    func overHTTP() async throws {
        let server = try await limitedServer { configuration in
            configuration.rateLimit.perIP = .init(rate: 0.01, burst: 30)
            configuration.rateLimit.perUser = .init(rate: 0.01, burst: 5)
            configuration.rateLimit.invalidTokensPerIP = .init(rate: 0.01, burst: 3)
        }
        defer { server.stop() }
        let token = try TestServer.token()
        var statuses = [Int]()
        for _ in 0..<7 { statuses.append(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer \(token)"])?.status ?? 0) }
        #expect(statuses == [200, 200, 200, 200, 200, 429, 429])
        let limited = try #require(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer \(token)"]))
        #expect(limited.status == 429 && Int(limited.header("Retry-After") ?? "") ?? 0 >= 1 && limited.json?["error"] == "rate_limited")
        // Another user still gets through, until the address has sent three bad tokens.
        let other = try TestServer.token(["sub": "bob"])
        #expect(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer \(other)"])?.status == 200)
        for _ in 0..<3 { #expect(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer forged.token.here"])?.status == 401) }
        #expect(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer \(other)"])?.status == 429)
    }

    @Test("HTTP: the OAuth routes (protected-resource metadata) have a stricter budget of their own")
    func oauthRoutes() async throws {
        let server = try await limitedServer { configuration in
            configuration.rateLimit.perIP = .init(rate: 0.01, burst: 100)
            configuration.rateLimit.oauthPerIP = .init(rate: 0.01, burst: 3)
        }
        defer { server.stop() }
        var statuses = [Int]()
        for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp",
                     "/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
            statuses.append(try await RawHTTP.get(server.port, path)?.status ?? 0)
        }
        #expect(statuses == [200, 200, 200, 429, 429], "one budget for both metadata URLs")
        let limited = try #require(try await RawHTTP.get(server.port, "/.well-known/oauth-protected-resource/mcp"))
        #expect(limited.status == 429 && Int(limited.header("Retry-After") ?? "") ?? 0 >= 1 && limited.json?["error"] == "rate_limited")
        // The protected route and health answer from their own budgets.
        let token = try TestServer.token()
        #expect(try await RawHTTP.get(server.port, "/mcp", headers: ["Authorization: Bearer \(token)"])?.status == 200)
        #expect(try await RawHTTP.get(server.port, "/healthz")?.status == 200)
    }

    @Test("the OAuth routes' budget is configured like the others and is on by default")
    func oauthConfiguration() throws {
        #expect(ServerConfiguration().rateLimit.oauthPerIP == .init(rate: 10, burst: 50))
        #expect(try ServerConfiguration.parse(["rateLimit": ["oauthPerIP": ["rate": 1, "burst": 5]]]).rateLimit.oauthPerIP == .init(rate: 1, burst: 5))
        #expect(try ServerConfiguration.parse(["rateLimit": ["oauthPerIP": false]]).rateLimit.oauthPerIP == nil)
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.parse(["rateLimit": ["oauthPerIP": ["rate": 0, "burst": 1]]]) }
    }

    @Test("X-Forwarded-For counts only from a trusted proxy")
    func forwardedFor() throws {
        var configuration = ServerConfiguration()
        configuration.rateLimit.trustedProxies = ["10.0.0.1", "10.0.0.2"]
        let context = ServerContext(verifier: try TestServer.factory.verifier(), resource: ProtectedResource(server: configuration, issuers: []),
                                    server: configuration, handler: IdentityEchoHandler())
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/mcp")
        head.headers.add(name: "X-Forwarded-For", value: "203.0.113.9, 198.51.100.7, 10.0.0.2")
        #expect(context.clientAddress(head, peer: try SocketAddress(ipAddress: "10.0.0.1", port: 1)) == "198.51.100.7")
        #expect(context.clientAddress(head, peer: try SocketAddress(ipAddress: "192.0.2.1", port: 1)) == "192.0.2.1", "an untrusted peer's header is ignored")
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.parse(["rateLimit": ["trustedProxies": ["proxy.example"]]]) }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.parse(["rateLimit": ["perIP": ["rate": 0, "burst": 1]]]) }
        #expect(try ServerConfiguration.parse(["rateLimit": ["perUser": false]]).rateLimit.perUser == nil)
    }
}
