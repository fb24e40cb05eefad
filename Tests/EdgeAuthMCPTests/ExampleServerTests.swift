import AsyncHTTPClient
import EdgeAuthHTTP
import EdgeAuthMCP
import EdgeAuthTesting
import Foundation
import NIOCore
import Testing

/// examples/notes-server as its users run it: `MCPServer.run()` with two worker processes.
@Suite struct ExampleServerTests {
    /// The example, its port and the development key its tokens are signed with. The example is
    /// stopped and its directory removed when the test lets go of it (`deinit`), however it ends.
    final class Running: @unchecked Sendable {
        let process = Process()
        let directory: URL
        let port: Int
        let issuer: DevelopmentIssuer
        let errors = Pipe()

        init(workers: Int) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-example-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("NotesServerExample")
            process.currentDirectoryURL = directory
            var environment = ProcessInfo.processInfo.environment
            environment["EDGEAUTH_PORT"] = "0"
            environment["EDGEAUTH_WORKERS"] = String(workers)
            environment["AUTH0_DOMAIN"] = nil
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = errors
            do {
                try process.run()
                port = try listeningPort(from: output)
                var server = ServerConfiguration()
                server.port = port
                issuer = try DevelopmentIssuer.open(directory: directory.appendingPathComponent(".edgeauth").path, server: server, create: false)
            } catch {
                // Not fully initialized: deinit will not run, so clean up here.
                stopServerProcess(process)
                try? FileManager.default.removeItem(at: directory)
                throw error
            }
        }

        deinit {
            let directory = directory
            stopServerProcessInBackground(process) { try? FileManager.default.removeItem(at: directory) }
        }

        /// One JSON-RPC request on a connection of its own; the answer and the id of the worker that gave it.
        func call(_ method: String, _ params: JSONValue, token: String) async throws -> (answer: JSONValue?, worker: Substring) {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/mcp")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Connection", value: "close")
            let body: JSONValue = ["jsonrpc": "2.0", "id": 1, "method": .string(method), "params": params]
            request.body = .bytes(ByteBuffer(string: body.jsonText))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            // X-Request-Id is "<worker pid in base 36>-<counter>".
            let worker = response.headers.first(name: "X-Request-Id")?.split(separator: "-").first ?? ""
            return (try? JSONValue.parse(String(buffer: bytes)), worker)
        }
    }

    @Test("A client that initializes on one worker calls tools on another; user data is shared by the workers")
    func acrossWorkers() async throws {
        let running = try await offPool { try Running(workers: 2) }
        let token = try running.issuer.token(user: "alice", scopes: ["notes:write"])
        let initialized = try await running.call("initialize", ["protocolVersion": "2025-06-18", "capabilities": [:], "clientInfo": ["name": "t", "version": "1"]], token: token)
        #expect(initialized.answer?["result"]?["serverInfo"]?["name"]?.stringValue == "notes")
        var workers: Set<Substring> = [initialized.worker]
        var texts = [String]()
        for index in 1...40 {
            let added = try await running.call("tools/call", ["name": "add_note", "arguments": ["text": .string("note \(index)")]], token: token)
            texts.append(added.answer?["result"]?["content"]?.arrayValue?.first?["text"]?.stringValue ?? "")
            workers.insert(added.worker)
        }
        // Each add saw every earlier one, whichever worker made it.
        #expect(texts == (1...40).map { "You have \($0) notes" })
        #expect(workers.count == 2, "answered by \(workers)")
        let listed = try await running.call("tools/call", ["name": "list_notes"], token: token)
        #expect(listed.answer?["result"]?["structuredContent"]?["notes"]?.arrayValue?.count == 40)
        // Another user has notes of their own.
        let bob = try running.issuer.token(user: "bob")
        let bobs = try await running.call("tools/call", ["name": "list_notes"], token: bob)
        #expect(bobs.answer?["result"]?["structuredContent"]?["notes"] == [])
        kill(running.process.processIdentifier, SIGTERM)
        try await offPool { running.process.waitUntilExit() }
        #expect(running.process.terminationStatus == 0)
    }

    @Test("200 concurrent tool calls from 20 users over both workers: each callback sees its own caller")
    func concurrentUsers() async throws {
        let running = try await offPool { try Running(workers: 2) }
        let tokens = try (0..<20).map { try running.issuer.token(user: "user\($0)") }
        let outcomes = try await withThrowingTaskGroup(of: (Bool, Substring).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let user = index % 20
                    let called = try await running.call("tools/call", ["name": "whoami"], token: tokens[user])
                    let text = called.answer?["result"]?["content"]?.arrayValue?.first?["text"]?.stringValue ?? ""
                    return (text.hasPrefix("You are user\(user) with roles"), called.worker)
                }
            }
            return try await group.reduce(into: [(Bool, Substring)]()) { $0.append($1) }
        }
        #expect(outcomes.count == 200)
        #expect(outcomes.filter { !$0.0 }.count == 0, "mismatches")
        #expect(Set(outcomes.map(\.1)).count == 2, "both workers answered")
    }
}
