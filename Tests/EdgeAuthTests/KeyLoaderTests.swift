import EdgeAuth
import EdgeAuthTesting
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

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
        let keys = try await KeyRing.load([.jwksURL("http://127.0.0.1:\(server.port)/.well-known/jwks.json")]).current
        #expect(keys.keys.map(\.kid) == ["loader-key"])
        #expect(keys.skipped.count == 2)
        #expect(keys.skipped.contains { $0.contains("short") && $0.contains("RSA") })
        #expect(keys.skipped.contains { $0.contains("\"enc\"") })
        let factory = TokenFactory(key: Self.signer, algorithm: .es256)
        let verifier = Verifier(policy: ValidationPolicy(issuers: .exactly([factory.issuer]), audiences: .anyOf([factory.audience])), keys: keys)
        #expect(verifier.verify(try factory.token(), now: factory.now).identity?.id == "user-123")
    }

    @Test("An HMAC secret (oct key) in a key set fetched from a URL is skipped: anyone can read it and forge tokens")
    func publishedSecretRefused() async throws {
        let secret = JSONValue.object(["kty": "oct", "kid": "leaked", "k": .string(Base64URL.encode(Array(repeating: 7, count: 32)))])
        let document = Array(JSONValue.object(["keys": [secret, try Self.signer.publicJWK(alg: .es256)]]).jsonText.utf8)
        let server = try await StaticHTTPServer(routes: ["/jwks.json": .init(body: document)])
        defer { Task { try? await server.stop() } }
        let keys = try await KeyRing.load([.jwksURL("http://127.0.0.1:\(server.port)/jwks.json")]).current
        #expect(keys.keys.map(\.kid) == ["loader-key"])
        #expect(keys.skipped.contains { $0.contains("leaked") && $0.contains("oct") }, "\(keys.skipped)")
        // The same document as a file of the operator's own keeps the secret.
        #expect(try KeySet(jwksJSON: document).keys.count == 2)
    }

    @Test("Plain http is allowed for loopback addresses only, parsed as addresses: a name that starts with 127. is not one")
    func loopbackOnly() async throws {
        for url in ["http://127.evil.example/jwks.json", "http://127.0.0.1.evil.example/jwks.json", "http://localhost.evil.example/jwks.json"] {
            await #expect(throws: ConfigurationError.self, "\(url)") { _ = try await KeyRing.load([.jwksURL(url)]) }
        }
        #expect(LoopbackHost.contains("127.0.0.1") && LoopbackHost.contains("127.1.2.3") && LoopbackHost.contains("[::1]") && LoopbackHost.contains("LOCALHOST"))
        #expect(!LoopbackHost.contains("127.evil.example") && !LoopbackHost.contains("::2") && !LoopbackHost.contains("128.0.0.1"))
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
        let keys = try await KeyRing.load([.discovery(issuer: base + "/tenant")]).current
        #expect(keys.keys.map(\.kid) == ["loader-key"])
        // A custom provider without a JWKS URL discovers it.
        let setup = try ProviderSetup.fromEnvironment(["EDGEAUTH_ISSUER": base + "/tenant"])
        #expect(setup.keySources == [.discovery(issuer: base + "/tenant")])
        await #expect(throws: ConfigurationError.self) { try await KeyRing.load([.discovery(issuer: base + "/other")]) }
        do {
            _ = try await KeyRing.load([.discovery(issuer: base + "/other")])
        } catch {
            #expect(error.message.contains("names issuer \"https://elsewhere.example\""))
        }
        do {
            _ = try await KeyRing.load([.discovery(issuer: base + "/nokeys")])
            Issue.record("a document without jwks_uri was accepted")
        } catch {
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
                try await KeyRing.load([.jwksURL(base + path)])
            } throws: { error in
                let message = String(describing: error)
                return message.contains(fragment) && message.contains(base + path)
            }
        }
    }

    @Test("plain HTTP is refused for hosts other than loopback")
    func requiresHTTPS() async throws {
        await #expect {
            try await KeyRing.load([.jwksURL("http://idp.example.com/jwks.json")])
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
        let keys = try await KeyRing.load(
            [.jwksFile(jwksPath), .hmacSecretFile(secretPath, kid: "file"), .hmacSecretEnvironment("EDGEAUTH_TEST_SECRET", kid: "env")],
            environment: ["EDGEAUTH_TEST_SECRET": String(repeating: "e", count: 32)]
        ).current
        #expect(keys.keys.map(\.kid) == ["loader-key", "file", "env"])
        #expect(keys.keys[1].kind == .hmac(bytes: 40))

        await #expect { try await KeyRing.load([.hmacSecretEnvironment("EDGEAUTH_TEST_SECRET")], environment: ["EDGEAUTH_TEST_SECRET": "short"]) }
            throws: { String(describing: $0).contains("at least 32") }
        let shortPath = directory.appendingPathComponent("short-secret").path
        try Data((String(repeating: "s", count: 31) + "\n").utf8).write(to: URL(fileURLWithPath: shortPath))
        await #expect { try await KeyRing.load([.hmacSecretFile(shortPath)]) }
            throws: { String(describing: $0).contains("at least 32") }
        await #expect { try await KeyRing.load([.hmacSecretEnvironment("UNSET_VARIABLE")], environment: [:]) }
            throws: { String(describing: $0).contains("UNSET_VARIABLE is not set") }
        await #expect { try await KeyRing.load([.jwksFile(directory.appendingPathComponent("absent.json").path)]) }
            throws: { String(describing: $0).contains("cannot read") }
    }
}
