import CEdgeAuth
import EdgeAuth
import EdgeAuthTesting
import Foundation
import Synchronization
import Testing

/// What a server linking the library uses (the nginx module): a verifier from a file, a
/// verification that never blocks, requirements, and the challenges `edgeauth serve` answers.
@Suite("C ABI for servers")
struct ServerSupportTests {
    static let factory = CABITests.factory

    static func directory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-cabi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("a verifier from a YAML file; an unreadable file or a bad member is EDGEAUTH_ERR_CONFIG naming it")
    func verifierFromFile() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let jwks = directory.appendingPathComponent("jwks.json")
        try Data(JSONValue.object(["keys": [try Self.factory.key.publicJWK(alg: .es256)]]).jsonText.utf8).write(to: jwks)
        let path = directory.appendingPathComponent("edgeauth.yaml").path
        try Data("issuers: [\(Self.factory.issuer)]\naudiences: [\(Self.factory.audience)]\nkeys: [{jwksFile: \(jwks.path)}]\n".utf8).write(to: URL(fileURLWithPath: path))
        var verifier: OpaquePointer?
        var error: UnsafeMutablePointer<CChar>?
        #expect(edgeauth_verifier_new_from_file(path, &verifier, &error) == EDGEAUTH_OK && error == nil)
        defer { edgeauth_verifier_free(verifier) }
        let token = Array(try Self.factory.token(claims: ["exp": .number(String(Self.factory.now + 60))]).utf8)
        #expect(CABITests.verify(verifier, token).verdict == EDGEAUTH_VERDICT_VALID)

        try Data("issuers: [a]\nserver: {port: 1}\n".utf8).write(to: URL(fileURLWithPath: path))
        var refused: OpaquePointer?
        #expect(edgeauth_verifier_new_from_file(path, &refused, &error) == EDGEAUTH_ERR_CONFIG && refused == nil)
        #expect(error.map { String(cString: $0) }?.contains("unknown member \"server\"") == true)
        edgeauth_string_free(error)
        #expect(edgeauth_verifier_new_from_file(directory.appendingPathComponent("absent.yaml").path, &refused, &error) == EDGEAUTH_ERR_CONFIG)
        #expect(error.map { String(cString: $0) }?.contains("absent.yaml") == true)
        edgeauth_string_free(error)
        #expect(edgeauth_verifier_new_from_file(nil, &refused, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
    }

    /// Counts the library's callbacks; passed as the context.
    final class Ready: Sendable {
        let calls = Atomic<Int>(0)
    }

    @Test("a token naming a key published since the last download: keysUnavailable at once, the refresh in the background, the callback, then valid")
    func nonblockingVerification() async throws {
        let old = try SigningKey.generate(.ec(.p256), kid: "old"), new = try SigningKey.generate(.ec(.p256), kid: "new")
        func jwks(_ keys: [SigningKey]) throws -> StaticHTTPServer.Route {
            .init(body: Array(JSONValue.object(["keys": .array(try keys.map { try $0.publicJWK(alg: .es256) })]).jsonText.utf8))
        }
        let server = try await StaticHTTPServer(routes: ["/jwks": try jwks([old])])
        defer { Task { try? await server.stop() } }
        let config = JSONValue.object([
            "issuers": [.string(Self.factory.issuer)], "audiences": [.string(Self.factory.audience)],
            "keys": [["jwksURL": .string(server.baseURL + "/jwks")]], "keyRefresh": ["coolDown": 2, "defaultLifetime": 3600, "minimumLifetime": 3600],
        ]).jsonText
        // Made off the cooperative pool: the download of edgeauth_verifier_new blocks its thread.
        let address = try await offPool { () -> Int in CABITests.newVerifier(Array(config.utf8)).verifier.map { Int(bitPattern: $0) } ?? 0 }
        let verifier = OpaquePointer(bitPattern: address)
        defer { edgeauth_verifier_free(verifier) }
        server.set("/jwks", try jwks([old, new]))
        // Past the cool-down (2 s, counted in whole seconds of the clock) of the download at
        // creation: a token with a new kid may refresh. Two seconds, not one: the check of a
        // forged kid below must fall within the cool-down of the refresh, and a cool-down of
        // one second ends at the next turn of the clock's second.
        // (The sets' lifetime is an hour: no refresh falls due by itself meanwhile.)
        try await Task.sleep(for: .milliseconds(3100))
        let signer = TokenFactory(key: new, algorithm: .es256, issuer: Self.factory.issuer, audience: Self.factory.audience, now: Self.factory.now)
        let token = Array(try signer.token(claims: ["exp": .number(String(Self.factory.now + 60))]).utf8)

        let ready = Ready()
        let context = Unmanaged.passRetained(ready).toOpaque()
        func attempt() -> (Int32, Bool) {
            var verdict: Int32 = -1
            var refreshing = true
            let status = token.withUnsafeBufferPointer {
                edgeauth_verify_nonblocking(verifier, $0.baseAddress, $0.count, Self.factory.now, &verdict, nil,
                                            { context in Unmanaged<Ready>.fromOpaque(context!).takeUnretainedValue().calls.add(1, ordering: .relaxed) },
                                            context, &refreshing)
            }
            #expect(status == EDGEAUTH_OK)
            return (verdict, refreshing)
        }
        let first = attempt()
        #expect(first.0 == EDGEAUTH_VERDICT_KEYS_UNAVAILABLE && first.1, "the answer comes at once; the refresh goes on in the background (got \(first))")
        #expect(await waitUntil(timeout: .seconds(20)) { ready.calls.load(ordering: .relaxed) == 1 }, "the callback, once the refresh ended")
        let second = attempt()
        #expect(second.0 == EDGEAUTH_VERDICT_VALID && !second.1)
        // A kid nobody publishes, within the cool-down of the refresh just made: unknownKey at once, nothing started.
        let invented = TokenFactory(key: try SigningKey.generate(.ec(.p256), kid: "invented"), algorithm: .es256, issuer: Self.factory.issuer,
                                    audience: Self.factory.audience, now: Self.factory.now)
        let forged = Array(try invented.token(claims: ["exp": .number(String(Self.factory.now + 60))]).utf8)
        var verdict: Int32 = -1
        var refreshing = true
        #expect(forged.withUnsafeBufferPointer { edgeauth_verify_nonblocking(verifier, $0.baseAddress, $0.count, Self.factory.now, &verdict, nil, nil, nil, &refreshing) } == EDGEAUTH_OK)
        #expect(verdict == EDGEAUTH_VERDICT_UNKNOWN_KEY && !refreshing, "got \(verdict) \(refreshing)")
        Unmanaged<Ready>.fromOpaque(context).release()
    }

    @Test("requirements written as words: met, a missing scope (with every scope named), forbidden, and refused words")
    func requirements() throws {
        let verifier = try CABITests.verifier()
        defer { edgeauth_verifier_free(verifier) }
        let token = Array(try Self.factory.token(claims: ["exp": .number(String(Self.factory.now + 60)), "scope": "notes:read files:read",
                                                          "roles": ["editor"], "permissions": ["notes:delete"]]).utf8)
        let identity = try #require(CABITests.verify(verifier, token).identity)
        defer { edgeauth_identity_free(identity) }
        func check(_ requirement: String) -> (status: Int32, result: Int32, scopes: String?) {
            var result: Int32 = -1
            var scopes: UnsafeMutablePointer<CChar>?
            let status = Array(requirement.utf8).withUnsafeBufferPointer { edgeauth_identity_check(identity, $0.baseAddress, $0.count, &result, &scopes) }
            defer { edgeauth_string_free(scopes) }
            return (status, result, scopes.map { String(cString: $0) })
        }
        #expect(check("scope:notes:read role:editor permission:notes:delete").result == EDGEAUTH_REQUIREMENT_MET)
        #expect(check("").result == EDGEAUTH_REQUIREMENT_MET)
        let scope = check("scope:notes:read scope:notes:write role:admin")
        #expect(scope.result == EDGEAUTH_REQUIREMENT_MISSING_SCOPE && scope.scopes == "notes:read notes:write")
        let role = check("scope:notes:read role:admin")
        #expect(role.result == EDGEAUTH_REQUIREMENT_FORBIDDEN && role.scopes == nil)
        for bad in ["admin", "group:x", "role:", "scope"] {
            #expect(check(bad).status == EDGEAUTH_ERR_INVALID_ARGUMENT, "\(bad)")
        }
    }

    @Test("the challenges are those edgeauth serve answers")
    func challenges() {
        let metadata = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        func challenge(_ kind: Int32, _ scopes: String?) -> (Int32, String?) {
            var out: UnsafeMutablePointer<CChar>?
            let status = edgeauth_challenge(kind, metadata, scopes, &out)
            defer { edgeauth_string_free(out) }
            return (status, out.map { String(cString: $0) })
        }
        #expect(challenge(EDGEAUTH_CHALLENGE_MISSING_TOKEN, "notes:read").1 == #"Bearer resource_metadata="\#(metadata)", scope="notes:read""#)
        #expect(challenge(EDGEAUTH_CHALLENGE_MISSING_TOKEN, nil).1 == #"Bearer resource_metadata="\#(metadata)""#)
        #expect(challenge(EDGEAUTH_VERDICT_EXPIRED, "").1
            == #"Bearer error="invalid_token", error_description="the access token has expired", resource_metadata="\#(metadata)""#)
        #expect(challenge(EDGEAUTH_VERDICT_MALFORMED_INVALID_JSON, nil).1?.contains(#"error_description="the access token is malformed""#) == true)
        #expect(challenge(EDGEAUTH_VERDICT_BAD_SIGNATURE, nil).1?.contains(#"error_description="the access token is not valid""#) == true,
                "a forged token is not told apart from any other invalid one")
        #expect(challenge(EDGEAUTH_CHALLENGE_INSUFFICIENT_SCOPE, "notes:read notes:write").1
            == #"Bearer error="insufficient_scope", error_description="the access token lacks the scopes notes:read notes:write", resource_metadata="\#(metadata)", scope="notes:read notes:write""#)
        #expect(challenge(EDGEAUTH_VERDICT_VALID, nil).0 == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(challenge(9999, nil).0 == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(edgeauth_challenge(EDGEAUTH_CHALLENGE_MISSING_TOKEN, nil, nil, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
    }
}
