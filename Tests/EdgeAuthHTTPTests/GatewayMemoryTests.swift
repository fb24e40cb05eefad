import EdgeAuth
import EdgeAuthTesting
import Foundation
import Synchronization
import Testing

/// The reverse proxy of `edgeauth serve` keeps nothing of a request once it is answered.
@Suite("Gateway: memory per proxied request", .serialized)
struct GatewayMemoryTests {
    /// Regression: each proxied answer's writer and exchange held each other (the writer's
    /// client-closed callback), so a worker grew by about 1.4 KiB per proxied request, without end.
    @Test("proxied requests leave the worker's memory where it was after the first thousands")
    func noGrowthPerRequest() async throws {
        let upstream = try await StaticHTTPServer(routes: [
            "/mcp": .init(body: Array(#"{"jsonrpc":"2.0","id":1,"result":{}}"#.utf8), headers: [("Content-Type", "application/json")]),
        ])
        defer { Task { try? await upstream.stop() } }
        let factory = TestServer.factory
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-gateway-memory-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let jwks = JSONValue.object(["keys": .array([try factory.key.publicJWK(alg: .es256)])]).jsonText
        try Data(jwks.utf8).write(to: URL(fileURLWithPath: directory + "/jwks.json"))
        let configuration = """
            issuers: ["\(factory.issuer)"]
            audiences: ["\(factory.audience)"]
            keys: [{jwksFile: \(directory)/jwks.json}]
            cache: {directory: \(directory)/cache}
            gateway:
              routes: [{prefix: /mcp, upstream: "http://127.0.0.1:\(upstream.port)/mcp"}]
            """
        try Data(configuration.utf8).write(to: URL(fileURLWithPath: directory + "/gateway.yaml"))
        let served = try await ProcessModelTests.start(workers: 1, arguments: ["--no-rate-limit"],
                                                       configuration: (directory + "/gateway.yaml", try TestServer.token()))
        #expect(served.waitForWorkers(1))
        let worker = try #require(served.workers.first)

        let port = served.port, token = served.token
        /// `count` proxied requests on four keep-alive connections at once; the statuses that were not 200.
        func proxy(_ count: Int) async throws -> [Int] {
            try await offPool {
                let failures = Mutex<[Int]>([])
                DispatchQueue.concurrentPerform(iterations: 4) { _ in
                    guard let connection = try? RawConnection(port, timeout: 10) else { return failures.withLock { $0.append(-1) } }
                    for _ in 0..<count / 4 {
                        connection.send("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n")
                        let status = connection.read()?.status ?? 0
                        if status != 200 { failures.withLock { $0.append(status) } }
                    }
                }
                return failures.withLock { $0 }
            }
        }
        // Warm: the pools, the caches and the allocator's arenas reach their working size.
        #expect(try await proxy(3000) == [])
        let before = residentBytes(of: String(worker))
        #expect(try await proxy(12000) == [])
        let grown = residentBytes(of: String(worker)) - before
        #expect(before > 0)
        // 12,000 requests at the former 1.4 KiB each would be about 16 MiB.
        #expect(grown < 5 << 20, "the worker grew by \(grown >> 10) KiB over 12,000 proxied requests")
    }
}
