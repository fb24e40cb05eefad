import EdgeAuth
import EdgeAuthHTTP
import EdgeAuthTesting
import Foundation
import NIOCore
import Synchronization
import Testing

/// A clock moved by hand (seconds since the epoch).
final class TestClock: Sendable {
    private let seconds = Atomic<Int64>(Int64(Date().timeIntervalSince1970))
    var now: Int64 { seconds.load(ordering: .relaxed) }
    func advance(_ by: Int64) { seconds.add(by, ordering: .relaxed) }
}

/// The paths of a request that leave the event loop: a handler's deferred work, and a
/// key refresh for a token signed with a key published after the last download.
@Suite("HTTP server: deferred answers and key refreshes")
struct HandlerPathTests {
    /// Answers after awaiting, with the request's path: pipelined requests must come back in order.
    struct SlowEcho: ProtectedHandler {
        func respond(to request: ProtectedRequest, identity: Identity) -> ProtectedResponse {
            let uri = request.uri
            return .deferred {
                // The behaviour under test: a slow answer (the first one slowest), not a wait.
                try? await Task.sleep(for: .milliseconds(uri.hasSuffix("/1") ? 150 : 10))
                return HTTPReply(status: .ok, headers: [("Content-Type", "text/plain")], body: ByteBuffer(string: uri))
            }
        }
    }

    @Test("deferred answers keep the order of pipelined requests")
    func deferredInOrder() async throws {
        let factory = TestServer.factory
        var configuration = ServerConfiguration()
        configuration.resource = "http://127.0.0.1/mcp"
        let verifier = Verifier(policy: ValidationPolicy(issuers: .exactly([factory.issuer]), audiences: .anyOf([factory.audience])),
                                keys: KeySet(keys: [try factory.key.verificationKey()]))
        let context = ServerContext(verifier: verifier, resource: ProtectedResource(server: configuration, issuers: [factory.issuer]),
                                    server: configuration, handler: SlowEcho())
        let server = try await HTTPServer.start(context, listener: .address(host: "127.0.0.1", port: 0))
        defer { Task { try? await server.drain() } }
        let token = try TestServer.token()
        let port = server.port
        let single = try await offPool { try RawHTTP.getBlocking(port, "/mcp/9", headers: ["Authorization: Bearer \(token)"]) }
        #expect(single?.status == 200 && single?.body == "/mcp/9", "one deferred answer")
        let responses = try await offPool { () -> [RawResponse?] in
            let connection = try RawConnection(port)
            connection.send((1...3).map { "GET /mcp/\($0) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n" }.joined())
            return (1...3).map { _ in connection.read() }
        }
        #expect(responses.map { $0?.body } == ["/mcp/1", "/mcp/2", "/mcp/3"], "answered in the order asked, although /mcp/1 took longest")
    }

    @Test("a token signed with a newly published key is accepted on its first request; keys past maxStaleness give 503")
    func keyRefreshOverHTTP() async throws {
        let oldKey = try SigningKey.generate(.ec(.p256), kid: "old")
        let newKey = try SigningKey.generate(.ec(.p256), kid: "new")
        func jwks(_ keys: [SigningKey]) -> StaticHTTPServer.Route {
            .init(body: Array(JSONValue.object(["keys": .array(keys.map { try! $0.publicJWK(alg: .es256) })]).jsonText.utf8))
        }
        let idp = try await StaticHTTPServer(routes: ["/jwks": jwks([oldKey])])
        defer { Task { try? await idp.stop() } }
        let clock = TestClock()
        let now = clock.now
        var settings = KeyRefreshSettings()
        settings.maxStaleness = 1000
        let ring = try await KeyRing.load([.jwksURL(idp.baseURL + "/jwks")], settings: settings) { clock.now }
        let issuer = "https://issuer.example/", audience = "http://127.0.0.1/mcp"
        let verifier = Verifier(policy: ValidationPolicy(issuers: .exactly([issuer]), audiences: .anyOf([audience])), keyRing: ring)
        var configuration = ServerConfiguration()
        configuration.resource = audience
        let context = ServerContext(verifier: verifier, resource: ProtectedResource(server: configuration, issuers: [issuer]),
                                    server: configuration, handler: IdentityEchoHandler())
        let server = try await HTTPServer.start(context, listener: .address(host: "127.0.0.1", port: 0))
        defer { Task { try? await server.drain() } }

        idp.set("/jwks", jwks([oldKey, newKey]))
        clock.advance(31)  // past the cool-down of the start-up download
        let factory = TokenFactory(key: newKey, algorithm: .es256, issuer: issuer, audience: audience, now: now)
        let token = try factory.token(claims: ["exp": .number(String(now + 7200))])
        let port = server.port
        #expect(try await offPool { try RawHTTP.getBlocking(port, "/mcp", headers: ["Authorization: Bearer \(token)"])?.status } == 200)
        #expect(idp.requests("/jwks") == 2)

        idp.set("/jwks", .init(status: .internalServerError, body: []))
        clock.advance(2000)
        let unknown = TokenFactory(key: try SigningKey.generate(.ec(.p256), kid: "unknown"), algorithm: .es256, issuer: issuer, audience: audience, now: now)
        let unknownToken = try unknown.token(claims: ["exp": .number(String(now + 7200))])
        let response = try #require(try await offPool { try RawHTTP.getBlocking(port, "/mcp", headers: ["Authorization: Bearer \(unknownToken)"]) })
        #expect(response.status == 503 && response.json?["error"] == "temporarily_unavailable" && response.header("Retry-After") != nil)
    }
}
