import EdgeAuth
import EdgeAuthTesting
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// A loopback HTTP server answering fixed routes, for JWKS download tests.
final class StaticHTTPServer: Sendable {
    let channel: Channel
    var port: Int { channel.localAddress!.port! }

    struct Route: Sendable {
        var status: HTTPResponseStatus = .ok
        var body: [UInt8]
    }

    convenience init(routes: [String: Route]) async throws {
        try await self.init { _ in routes }
    }

    /// Routes that depend on the port the server got (documents naming its own URL).
    init(routesForPort: @escaping @Sendable (Int) -> [String: Route]) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(routes: routesForPort(channel.localAddress?.port ?? 0)))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async throws { try await channel.close() }

    private final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let routes: [String: Route]
        init(routes: [String: Route]) { self.routes = routes }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            let route = routes[head.uri] ?? Route(status: .notFound, body: Array("not found".utf8))
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: String(route.body.count))
            headers.add(name: "Content-Type", value: "application/json")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: route.status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: route.body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

@Suite("Loading keys from JWKS files and URLs")
struct KeyLoaderTests {
    static let signer = try! SigningKey.generate(.ec(.p256), kid: "loader-key")
    static let jwks: [UInt8] = {
        let jwk = try! signer.publicJWK(alg: .es256)
        let unusable: JSONValue = ["kty": "RSA", "kid": "short", "n": "AQAB", "e": "AQAB"]
        return Array(JSONValue.object(["keys": [jwk, unusable, ["kty": "EC", "kid": "enc", "use": "enc", "crv": "P-256", "x": "AA", "y": "AA"]]]).jsonText.utf8)
    }()

    @Test("a JWKS served over loopback HTTP verifies tokens; unusable keys are skipped with a message")
    func fetchesJWKSFromLoopback() async throws {
        let server = try await StaticHTTPServer(routes: ["/.well-known/jwks.json": .init(body: Self.jwks)])
        defer { Task { try? await server.stop() } }
        let keys = try await KeyLoader.load([.jwksURL("http://127.0.0.1:\(server.port)/.well-known/jwks.json")])
        #expect(keys.keys.map(\.kid) == ["loader-key"])
        #expect(keys.skipped.count == 2)
        #expect(keys.skipped.contains { $0.contains("short") && $0.contains("RSA") })
        #expect(keys.skipped.contains { $0.contains("\"enc\"") })
        let factory = TokenFactory(key: Self.signer, algorithm: .es256)
        let verifier = Verifier(policy: ValidationPolicy(issuers: .exactly([factory.issuer]), audiences: .anyOf([factory.audience])), keys: keys)
        #expect(verifier.verify(try factory.token(), now: factory.now).identity?.id == "user-123")
    }

    @Test("OIDC discovery: the JWKS named by the issuer's metadata; a document for another issuer is refused")
    func discovery() async throws {
        let server = try await StaticHTTPServer { port in
            let issuer = "http://127.0.0.1:\(port)/tenant"
            let metadata: JSONValue = ["issuer": .string(issuer), "jwks_uri": .string("http://127.0.0.1:\(port)/keys")]
            let impostor: JSONValue = ["issuer": "https://elsewhere.example", "jwks_uri": .string("http://127.0.0.1:\(port)/keys")]
            return [
                "/tenant/.well-known/openid-configuration": .init(body: Array(metadata.jsonText.utf8)),
                "/other/.well-known/openid-configuration": .init(body: Array(impostor.jsonText.utf8)),
                "/nokeys/.well-known/openid-configuration": .init(body: Array(#"{"issuer": "http://127.0.0.1:\#(port)/nokeys"}"#.utf8)),
                "/keys": .init(body: Self.jwks),
            ]
        }
        defer { Task { try? await server.stop() } }
        let base = "http://127.0.0.1:\(server.port)"
        let keys = try await KeyLoader.load([.discovery(issuer: base + "/tenant")])
        #expect(keys.keys.map(\.kid) == ["loader-key"])
        // A custom provider without a JWKS URL discovers it.
        let setup = try ProviderSetup.fromEnvironment(["EDGEAUTH_ISSUER": base + "/tenant"])
        #expect(setup.keySources == [.discovery(issuer: base + "/tenant")])
        await #expect(throws: ConfigurationError.self) { try await KeyLoader.load([.discovery(issuer: base + "/other")]) }
        do {
            _ = try await KeyLoader.load([.discovery(issuer: base + "/other")])
        } catch let error as ConfigurationError {
            #expect(error.message.contains("names issuer \"https://elsewhere.example\""))
        }
        do {
            _ = try await KeyLoader.load([.discovery(issuer: base + "/nokeys")])
            Issue.record("a document without jwks_uri was accepted")
        } catch let error as ConfigurationError {
            #expect(error.message.contains("has no jwks_uri"))
        }
        #expect(throws: ConfigurationError.self) { try KeyLoader.loadLocal(.discovery(issuer: base + "/tenant")) }
    }

    @Test("HTTP errors, oversized and invalid documents are configuration errors naming the URL")
    func rejectsBadResponses() async throws {
        let server = try await StaticHTTPServer(routes: [
            "/big": .init(body: Array(repeating: UInt8(ascii: " "), count: KeyLoader.maxDocumentBytes + 10)),
            "/invalid": .init(body: Array("{\"keys\": [".utf8)),
            "/notjwks": .init(body: Array("{\"kty\": \"EC\"}".utf8)),
            "/error": .init(status: .internalServerError, body: []),
        ])
        defer { Task { try? await server.stop() } }
        let base = "http://127.0.0.1:\(server.port)"
        for (path, fragment) in [("/big", "larger than"), ("/invalid", "not valid JSON"), ("/notjwks", "\"keys\" array"), ("/error", "HTTP 500"), ("/missing", "HTTP 404")] {
            await #expect {
                try await KeyLoader.load([.jwksURL(base + path)])
            } throws: { error in
                let message = String(describing: error)
                return message.contains(fragment) && message.contains(base + path)
            }
        }
    }

    @Test("plain HTTP is refused for hosts other than loopback")
    func requiresHTTPS() async throws {
        await #expect {
            try await KeyLoader.load([.jwksURL("http://idp.example.com/jwks.json")])
        } throws: { String(describing: $0).contains("must use https") }
    }

    @Test("JWKS files, PEM files and HMAC secrets from files and the environment load; short secrets are refused")
    func loadsLocalSources() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let jwksPath = directory.appendingPathComponent("jwks.json").path
        try Data(Self.jwks).write(to: URL(fileURLWithPath: jwksPath))
        let secretPath = directory.appendingPathComponent("secret").path
        try Data((String(repeating: "s", count: 40) + "\n").utf8).write(to: URL(fileURLWithPath: secretPath))
        let keys = try await KeyLoader.load(
            [.jwksFile(jwksPath), .hmacSecretFile(secretPath, kid: "file"), .hmacSecretEnvironment("EDGEAUTH_TEST_SECRET", kid: "env")],
            environment: ["EDGEAUTH_TEST_SECRET": String(repeating: "e", count: 32)]
        )
        #expect(keys.keys.map(\.kid) == ["loader-key", "file", "env"])
        #expect(keys.keys[1].kind == .hmac(bytes: 40))

        await #expect { try await KeyLoader.load([.hmacSecretEnvironment("EDGEAUTH_TEST_SECRET")], environment: ["EDGEAUTH_TEST_SECRET": "short"]) }
            throws: { String(describing: $0).contains("at least 32") }
        await #expect { try await KeyLoader.load([.hmacSecretEnvironment("UNSET_VARIABLE")], environment: [:]) }
            throws: { String(describing: $0).contains("UNSET_VARIABLE is not set") }
        await #expect { try await KeyLoader.load([.jwksFile(directory.appendingPathComponent("absent.json").path)]) }
            throws: { String(describing: $0).contains("cannot read") }
    }
}
