import EdgeAuthTesting
import NIOPosix
import Testing

/// A busy event loop flushes the keep-alive answers of one turn together, after the turn's
/// reads; a quiet one flushes each answer at once. Either way every answer is written.
@Suite("HTTP server: answers flushed per event-loop turn")
struct FlushBatchTests {
    @Test("many connections on one loop, all asking at once, get every answer; then a lone connection is answered at once")
    func everyAnswerWritten() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await TestServer.start(group: group)
        defer {
            server.stop()
            Task { try? await group.shutdownGracefully() }
        }
        let token = try TestServer.token()
        let port = server.port
        let request = "GET /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n"
        let statuses = try await offPool { () -> [Int] in
            let connections = try (0..<32).map { _ in try RawConnection(port, timeout: 10) }
            var statuses: [Int] = []
            // Every connection's requests are sent before any answer is read: the loop finds
            // many ready connections in one turn, and batches their answers.
            for _ in 0..<20 {
                for connection in connections { connection.send(request + request) }
                for connection in connections {
                    statuses.append(connection.read()?.status ?? 0)
                    statuses.append(connection.read()?.status ?? 0)
                }
            }
            return statuses
        }
        #expect(statuses.count == 32 * 20 * 2)
        #expect(statuses.allSatisfy { $0 == 200 }, "every answer arrived: \(statuses.filter { $0 != 200 }.count) missing")

        // The loop is quiet again: one request at a time on one connection, each answered.
        let lone = try await offPool { () -> [Int] in
            let connection = try RawConnection(port, timeout: 10)
            return (0..<5).map { _ in
                connection.send(request)
                return connection.read()?.status ?? 0
            }
        }
        #expect(lone == [200, 200, 200, 200, 200])
    }
}
