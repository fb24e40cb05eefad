import CEdgeAuth
import EdgeAuth
import EdgeAuthTestThreads
import EdgeAuthTesting
import Foundation
import Testing

/// The C ABI called the way a C program calls it: through include/edgeauth.h,
/// with raw pointers and lengths, including the ones a careless caller passes.
@Suite("C ABI edge cases")
struct CABITests {
    static let factory = TokenFactory(key: try! SigningKey.generate(.ec(.p256), kid: "k1"), algorithm: .es256)

    static func config(_ extra: [String: JSONValue] = [:]) throws -> String {
        let jwk = try factory.key.publicJWK(alg: .es256)
        var members: [String: JSONValue] = [
            "issuers": [.string(factory.issuer)],
            "audiences": [.string(factory.audience)],
            "keys": [["jwks": ["keys": [jwk]]]],
        ]
        for (name, value) in extra { members[name] = value }
        return JSONValue.object(members).jsonText
    }

    /// `edgeauth_verifier_new` over the UTF-8 of `config`: status, handle, error text.
    static func newVerifier(_ config: [UInt8]) -> (status: Int32, verifier: OpaquePointer?, error: String?) {
        var verifier: OpaquePointer?
        var error: UnsafeMutablePointer<CChar>?
        let status = config.withUnsafeBufferPointer { edgeauth_verifier_new($0.baseAddress, $0.count, &verifier, &error) }
        defer { edgeauth_string_free(error) }
        return (status, verifier, error.map { String(cString: $0) })
    }

    static func verifier(_ extra: [String: JSONValue] = [:]) throws -> OpaquePointer {
        let created = newVerifier(Array(try config(extra).utf8))
        try #require(created.status == EDGEAUTH_OK, "\(created.error ?? "")")
        return try #require(created.verifier)
    }

    static func verify(_ verifier: OpaquePointer?, _ token: [UInt8], now: Int64 = factory.now) -> (status: Int32, verdict: Int32, identity: OpaquePointer?) {
        var verdict: Int32 = -1
        var identity: OpaquePointer?
        let status = token.withUnsafeBufferPointer { edgeauth_verify(verifier, $0.baseAddress, $0.count, now, &verdict, &identity) }
        return (status, verdict, identity)
    }

    static func name(_ verdict: Int32) -> String { String(cString: edgeauth_verdict_string(verdict)) }

    static func string(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String? {
        pointer.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) }
    }

    @Test("NULL pointers give EDGEAUTH_ERR_INVALID_ARGUMENT and leave the outputs alone")
    func nullPointers() throws {
        let verifier = try Self.verifier()
        defer { edgeauth_verifier_free(verifier) }
        let token = Array(try Self.factory.token().utf8)
        var verdict: Int32 = -7
        var identity: OpaquePointer?
        #expect(edgeauth_verify(nil, token, token.count, 0, &verdict, &identity) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(edgeauth_verify(verifier, token, token.count, 0, nil, &identity) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(edgeauth_verify(verifier, nil, 5, 0, &verdict, &identity) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(verdict == -7 && identity == nil)
        var explanation: UnsafeMutablePointer<CChar>?
        #expect(edgeauth_explain(verifier, token, token.count, 0, &verdict, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(edgeauth_explain(verifier, token, token.count, 0, nil, &explanation) == EDGEAUTH_ERR_INVALID_ARGUMENT)

        var handle: OpaquePointer?
        var error: UnsafeMutablePointer<CChar>?
        #expect(edgeauth_verifier_new(nil, 0, nil, &error) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(String(cString: try #require(error)) == "verifier_out must not be NULL")
        edgeauth_string_free(error)
        #expect(edgeauth_verifier_new(nil, 12, &handle, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(handle == nil)

        var length = 99
        var time: Int64 = 0
        var json: UnsafeMutablePointer<CChar>?
        #expect(edgeauth_identity_subject(nil, &length) == nil && length == 99)
        #expect(edgeauth_identity_email(nil, nil) == nil)
        #expect(edgeauth_identity_role_count(nil) == 0 && edgeauth_identity_role(nil, 0, nil) == nil)
        #expect(!edgeauth_identity_has_scope(nil, nil, 0))
        #expect(edgeauth_identity_expires_at(nil, &time) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(edgeauth_identity_claim_json(nil, nil, 0, &json, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT && json == nil)
        #expect(edgeauth_identity_claim_pointer_json(nil, nil, 0, nil, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(edgeauth_identity_json(nil, &json, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(edgeauth_verifier_key_count(nil) == 0 && edgeauth_verifier_warning_count(nil) == 0)
        #expect(edgeauth_verifier_warning(nil, 0, nil) == nil)
        edgeauth_verifier_free(nil)
        edgeauth_identity_free(nil)
        edgeauth_string_free(nil)
        #expect(edgeauth_version(nil, nil, nil) != nil)
    }

    @Test("An empty, non-JSON or non-UTF-8 configuration fails with a message that says so")
    func invalidConfiguration() {
        for bytes: [UInt8] in [[], Array("{".utf8), Array("nope".utf8), [0xFF, 0xFE, 0x7B, 0x7D], Array("{\"issuers\": \"\u{00}\"}".utf8)] {
            let created = Self.newVerifier(bytes)
            #expect(created.status == EDGEAUTH_ERR_CONFIG)
            #expect(created.verifier == nil)
            #expect(created.error?.hasPrefix("configuration is not valid JSON: ") == true, "\(created.error ?? "nil")")
        }
        var handle: OpaquePointer?
        #expect(edgeauth_verifier_new(nil, 0, &handle, nil) == EDGEAUTH_ERR_CONFIG)
        let created = Self.newVerifier(Array(#"{"issuers": ["a"], "anyAudience": true, "keys": [{"jwksURL": 5}]}"#.utf8))
        #expect(created.status == EDGEAUTH_ERR_CONFIG)
        #expect(created.error == "keys[0].jwksURL must be a non-empty string, like https://login.example.com/.well-known/jwks.json")
    }

    @Test("A configuration length beyond 4 MiB or beyond Int.max is refused without reading the bytes")
    func hugeConfigurationLength() {
        var byte: UInt8 = 0x7B
        for length in [VerifierLimits.configurationBytes + 1, Int.max, -1 /* SIZE_MAX */] {
            var handle: OpaquePointer?
            var error: UnsafeMutablePointer<CChar>?
            #expect(edgeauth_verifier_new(&byte, length, &handle, &error) == EDGEAUTH_ERR_CONFIG)
            #expect(error.map { String(cString: $0) } == "configuration is larger than \(VerifierLimits.configurationBytes) bytes")
            edgeauth_string_free(error)
        }
    }

    @Test("Token lengths beyond the limit are tokenTooLarge without the bytes being read")
    func hugeTokenLength() throws {
        let verifier = try Self.verifier()
        defer { edgeauth_verifier_free(verifier) }
        var byte: UInt8 = 0x41
        for length in [16 * 1024 + 1, 1 << 40, Int.max, -1 /* SIZE_MAX */] {
            var verdict: Int32 = -1
            var identity: OpaquePointer?
            #expect(edgeauth_verify(verifier, &byte, length, 0, &verdict, &identity) == EDGEAUTH_OK)
            #expect(verdict == EDGEAUTH_VERDICT_TOKEN_TOO_LARGE && identity == nil)
        }
    }

    @Test("A 1 MiB token is tokenTooLarge by default and verifies once the limit allows it", .ownThread)
    func oneMebibyteToken() throws {
        let padding = String(repeating: "x", count: 1 << 20)
        let token = Array(try Self.factory.token(claims: ["padding": .string(padding)]).utf8)
        #expect(token.count > 1 << 20)
        let strict = try Self.verifier()
        defer { edgeauth_verifier_free(strict) }
        #expect(Self.verify(strict, token).verdict == EDGEAUTH_VERDICT_TOKEN_TOO_LARGE)

        let roomy = try Self.verifier(["limits": ["maxTokenBytes": 2_097_152]])
        defer { edgeauth_verifier_free(roomy) }
        let result = Self.verify(roomy, token)
        #expect(result.status == EDGEAUTH_OK && result.verdict == EDGEAUTH_VERDICT_VALID)
        var length = 0
        var json: UnsafeMutablePointer<CChar>?
        #expect(edgeauth_identity_claim_json(result.identity, "padding", 7, &json, &length) == EDGEAUTH_OK)
        #expect(length == padding.utf8.count + 2)
        edgeauth_string_free(json)
        edgeauth_identity_free(result.identity)
    }

    @Test("Bytes that are not UTF-8, and the empty token, are verdicts, not errors")
    func nonUTF8Tokens() throws {
        let verifier = try Self.verifier()
        defer { edgeauth_verifier_free(verifier) }
        let cases: [([UInt8], Int32)] = [
            ([], EDGEAUTH_VERDICT_MALFORMED_SEGMENT_COUNT),
            ([0xFF, 0xFE, 0xFD], EDGEAUTH_VERDICT_MALFORMED_SEGMENT_COUNT),
            ([0xC3, 0x2E, 0x80, 0x2E, 0xFF], EDGEAUTH_VERDICT_MALFORMED_BASE64_ALPHABET),
            (Array("eyJhbGciOiJFUzI1NiJ9.e30.".utf8), EDGEAUTH_VERDICT_MALFORMED_EMPTY_SEGMENT),
        ]
        for (token, expected) in cases {
            let result = Self.verify(verifier, token)
            #expect(result.status == EDGEAUTH_OK)
            #expect(result.verdict == expected, "\(Self.name(result.verdict))")
            #expect(result.identity == nil)
        }
        var verdict: Int32 = -1
        #expect(edgeauth_verify(verifier, nil, 0, 0, &verdict, nil) == EDGEAUTH_OK)
        #expect(verdict == EDGEAUTH_VERDICT_MALFORMED_SEGMENT_COUNT)
    }

    @Test("A token inside a larger buffer that is not NUL-terminated verifies by its length alone")
    func tokenInsideLargerBuffer() throws {
        let verifier = try Self.verifier()
        defer { edgeauth_verifier_free(verifier) }
        let token = Array(try Self.factory.token().utf8)
        let buffer = Array("Bearer ".utf8) + token + Array(".garbage.that.follows".utf8)
        let result = buffer.withUnsafeBufferPointer { all in
            var verdict: Int32 = -1
            let status = edgeauth_verify(verifier, all.baseAddress! + 7, token.count, Self.factory.now, &verdict, nil)
            return (status, verdict)
        }
        #expect(result == (EDGEAUTH_OK, EDGEAUTH_VERDICT_VALID))
    }

    @Test("now: 0 reads the clock, values outside 0…9999-12-31 are invalid arguments")
    func nowRange() throws {
        let verifier = try Self.verifier()
        defer { edgeauth_verifier_free(verifier) }
        let token = Array(try Self.factory.token().utf8)  // valid for an hour from 2025-11-24
        #expect(Self.verify(verifier, token, now: Self.factory.now).verdict == EDGEAUTH_VERDICT_VALID)
        #expect(Self.verify(verifier, token, now: 0).verdict == EDGEAUTH_VERDICT_EXPIRED)
        for now in [Int64(-1), Int64.min, JSONText.maxNumericDate + 1, Int64.max] {
            #expect(Self.verify(verifier, token, now: now).status == EDGEAUTH_ERR_INVALID_ARGUMENT)
        }
    }

    @Test("Every rejection reason has a verdict code whose name is the engine's reason code")
    func verdictCodes() {
        let names = Dictionary(uniqueKeysWithValues: (0...300).map { (Int32($0), Self.name(Int32($0))) }.filter { $0.1 != "unknown" })
        let expected = ["valid", "tokenTooLarge", "unsecured", "unsupportedAlgorithm", "algorithmNotAllowed", "unsupportedCritical",
                        "wrongType", "unknownKey", "keyAlgorithmMismatch", "badSignature", "expired", "notYetValid", "issuedInFuture",
                        "tooOld", "missingClaim", "invalidClaim", "wrongIssuer", "wrongAudience", "revoked", "claimValueNotAllowed",
                        "keysUnavailable"]
            + Malformation.allCases.map { "malformed.\($0.rawValue)" }
        #expect(Set(names.values) == Set(expected))
        #expect(names.count == expected.count, "one name per code")
        for (code, name) in names {
            #expect((code > 100 && code < 200) == name.hasPrefix("malformed."))
            #expect(String(cString: edgeauth_verdict_description(code)).isEmpty == false)
        }
        #expect(Self.name(-1) == "unknown")
        // Static text: the same pointer every time.
        #expect(edgeauth_verdict_string(EDGEAUTH_VERDICT_EXPIRED) == edgeauth_verdict_string(EDGEAUTH_VERDICT_EXPIRED))
        #expect(edgeauth_status_string(EDGEAUTH_ERR_KEYS) == edgeauth_status_string(EDGEAUTH_ERR_KEYS))
        #expect(String(cString: edgeauth_status_string(12345)) == "unknown status")
    }

    @Test("Identity strings carry their length, keep embedded NUL and non-ASCII text, and stay valid until freed")
    func identityStrings() throws {
        let verifier = try Self.verifier()
        let token = Array(try Self.factory.token(claims: [
            "sub": "a\u{0}b", "name": "Zoë ✓", "roles": ["admin", "x\u{0}"], "permissions": "solo", "org_id": "o1",
            "scope": "a b  c", "jti": "id-1", "email": 5,
        ]).utf8)
        let result = Self.verify(verifier, token)
        edgeauth_verifier_free(verifier)  // identities do not depend on their verifier
        let identity = try #require(result.identity)
        defer { edgeauth_identity_free(identity) }
        var length = 0
        let subject = edgeauth_identity_subject(identity, &length)
        #expect(Self.string(subject, length) == "a\u{0}b" && length == 3)
        #expect(edgeauth_identity_subject(identity, nil) == subject, "the same storage on every call")
        #expect(Self.string(edgeauth_identity_name(identity, &length), length) == "Zoë ✓")
        #expect(edgeauth_identity_email(identity, &length) == nil, "a non-string email is absent")
        #expect(Self.string(edgeauth_identity_organization(identity, &length), length) == "o1")
        #expect(Self.string(edgeauth_identity_token_id(identity, &length), length) == "id-1")
        #expect(edgeauth_identity_role_count(identity) == 2)
        #expect(Self.string(edgeauth_identity_role(identity, 1, &length), length) == "x\u{0}")
        #expect(edgeauth_identity_role(identity, 2, nil) == nil && edgeauth_identity_role(identity, -1, nil) == nil)
        #expect(edgeauth_identity_permission_count(identity) == 1)
        #expect(edgeauth_identity_scope_count(identity) == 3)
        #expect(edgeauth_identity_has_role(identity, "admin", 5))
        #expect(!edgeauth_identity_has_role(identity, "admin", 4))
        #expect(edgeauth_identity_has_role(identity, "x\u{0}", 2))
        #expect(!edgeauth_identity_has_role(identity, nil, 5))
        let notUTF8: [UInt8] = [0xFF]
        #expect(!edgeauth_identity_has_scope(identity, notUTF8, 1))
        var time: Int64 = 0
        #expect(edgeauth_identity_expires_at(identity, &time) == EDGEAUTH_OK && time == Self.factory.now + 3600)
        #expect(edgeauth_identity_issued_at(identity, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
    }

    @Test("Claims as JSON text by name and by pointer; absent is NOT_FOUND, a non-UTF-8 name is INVALID_ARGUMENT")
    func claimJSON() throws {
        let verifier = try Self.verifier(["requireExpiration": false])
        defer { edgeauth_verifier_free(verifier) }
        let token = Array(try TokenSigner.sign(
            header: Self.factory.header(),
            claims: ["iss": .string(Self.factory.issuer), "aud": .string(Self.factory.audience), "sub": "s",
                     "realm_access": ["roles": ["user", "a/b"]], "a/b": ["~": 1]],
            key: Self.factory.key, algorithm: .es256
        ).utf8)
        let result = Self.verify(verifier, token)
        let identity = try #require(result.identity)
        defer { edgeauth_identity_free(identity) }
        func claim(_ name: [UInt8], pointer: Bool = false) -> (Int32, String?) {
            var json: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(bitPattern: 0x1)
            var length = 0
            let status = name.withUnsafeBufferPointer {
                pointer ? edgeauth_identity_claim_pointer_json(identity, $0.baseAddress, $0.count, &json, &length)
                    : edgeauth_identity_claim_json(identity, $0.baseAddress, $0.count, &json, &length)
            }
            defer { if status == EDGEAUTH_OK { edgeauth_string_free(json) } }
            return (status, status == EDGEAUTH_OK ? Self.string(json, length) : (json == nil ? nil : "not reset"))
        }
        #expect(claim(Array("realm_access".utf8)) == (EDGEAUTH_OK, #"{"roles":["user","a/b"]}"#))
        #expect(claim(Array("/realm_access/roles/1".utf8), pointer: true) == (EDGEAUTH_OK, #""a/b""#))
        #expect(claim(Array("/a~1b/~0".utf8), pointer: true) == (EDGEAUTH_OK, "1"))
        #expect(claim(Array("missing".utf8)) == (EDGEAUTH_ERR_NOT_FOUND, nil))
        #expect(claim(Array("realm_access/roles".utf8), pointer: true) == (EDGEAUTH_ERR_NOT_FOUND, nil))
        #expect(claim([0xFF, 0x61]) == (EDGEAUTH_ERR_INVALID_ARGUMENT, nil))
        var time: Int64 = 0
        #expect(edgeauth_identity_expires_at(identity, &time) == EDGEAUTH_ERR_NOT_FOUND)
        var json: UnsafeMutablePointer<CChar>?
        #expect(edgeauth_identity_json(identity, &json, nil) == EDGEAUTH_OK)
        let document = try JSONValue.parse(String(cString: try #require(json)))
        edgeauth_string_free(json)
        #expect(document["id"] == "s" && document["expiresAt"] == nil)
    }

    @Test("A JWKS URL is refused when the caller is inside a Swift task, where waiting could deadlock")
    func jwksURLInsideTask() throws {
        let created = Self.newVerifier(Array(try Self.config(["keys": [["jwksURL": "https://127.0.0.1:9/jwks.json"]]]).utf8))
        #expect(created.status == EDGEAUTH_ERR_KEYS)
        #expect(created.error?.contains("called from inside a Swift task") == true, "\(created.error ?? "nil")")
    }

    @Test("Keys that cannot be used are skipped with a warning the caller can read")
    func skippedKeyWarnings() throws {
        let jwk = try Self.factory.key.publicJWK(alg: .es256)
        let verifier = try Self.verifier(["keys": [["jwks": ["keys": [jwk, ["kty": "RSA", "kid": "short", "n": "AQAB", "e": "AQAB"]]]]]])
        defer { edgeauth_verifier_free(verifier) }
        #expect(edgeauth_verifier_key_count(verifier) == 1)
        #expect(edgeauth_verifier_warning_count(verifier) == 1)
        var length = 0
        let warning = Self.string(edgeauth_verifier_warning(verifier, 0, &length), length)
        #expect(warning?.contains(#"kid "short""#) == true, "\(warning ?? "nil")")
        #expect(edgeauth_verifier_warning(verifier, 1, nil) == nil)
    }
}

/// `edgeauth_verifier_new` and `edgeauth_verify` with a remote key set, called the way a
/// C program calls them: from a thread of its own, outside any Swift task.
@Suite("C ABI with remote key sets")
struct CABIRemoteKeyTests {
    static let keyB = try! SigningKey.generate(.ec(.p256), kid: "k2")
    static let path = "/jwks.json"

    static func jwks(_ keys: [SigningKey]) -> StaticHTTPServer.Route {
        .init(body: Array(JSONValue.object(["keys": .array(keys.map { try! $0.publicJWK(alg: .es256) })]).jsonText.utf8))
    }

    /// Runs `body` on a new thread (as a C caller would) and returns its result.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }

    static func statistic(_ verifier: OpaquePointer?, _ figure: Int32) -> UInt64? {
        var value: UInt64 = 0
        return edgeauth_verifier_key_statistic(verifier, figure, &value) == EDGEAUTH_OK ? value : nil
    }

    @Test("a JWKS URL is fetched at creation; a token with a new kid is accepted after one refresh; key figures report it")
    func rotationThroughTheABI() async throws {
        let server = try await StaticHTTPServer(routes: [Self.path: Self.jwks([CABITests.factory.key])])
        defer { Task { try? await server.stop() } }
        let config = try CABITests.config([
            "keys": [["jwksURL": .string(server.baseURL + Self.path)]],
            "keyRefresh": ["coolDown": 1, "maxStaleness": 3600, "fetchTimeout": .number("2.5")],
        ])
        let created = await Self.onThread { () -> (Int32, UInt, String?) in
            let created = CABITests.newVerifier(Array(config.utf8))
            return (created.status, UInt(bitPattern: created.verifier), created.error)
        }
        #expect(created.0 == EDGEAUTH_OK, "\(created.2 ?? "")")
        let verifier = try #require(OpaquePointer(bitPattern: created.1))
        defer { edgeauth_verifier_free(verifier) }
        #expect(edgeauth_verifier_key_count(verifier) == 1)
        #expect(Self.statistic(verifier, EDGEAUTH_KEYS_REMOTE_SETS) == 1)
        #expect(Self.statistic(verifier, EDGEAUTH_KEYS_FETCHES) == 1)
        #expect(Self.statistic(verifier, EDGEAUTH_KEYS_STALE_SETS) == 0)
        #expect(Self.statistic(verifier, 99) == nil)

        server.set(Self.path, Self.jwks([CABITests.factory.key, Self.keyB]))
        // The behaviour under test: the library measures the 1 s cool-down after the first fetch
        // with the real clock, so the test has to let it pass.
        try await Task.sleep(for: .milliseconds(1100))
        let token = Array(try TokenFactory(key: Self.keyB, algorithm: .es256).token().utf8)
        let handle = UInt(bitPattern: verifier)
        let verdict = await Self.onThread { CABITests.verify(OpaquePointer(bitPattern: handle), token).verdict }
        #expect(CABITests.name(verdict) == "valid")
        #expect(server.requests(Self.path) == 2)
        #expect(edgeauth_verifier_key_count(verifier) == 2)
        #expect(Self.statistic(verifier, EDGEAUTH_KEYS_FETCHES) == 2)
        #expect(Self.statistic(verifier, EDGEAUTH_KEYS_FETCH_FAILURES) == 0)
    }

    @Test("keyRefresh members are checked: unknown names, bounds and minimum above maximum are configuration errors")
    func keyRefreshValidation() throws {
        for (keyRefresh, fragment) in [
            (["cooldown": 5] as JSONValue, "unknown member \"cooldown\""),
            (["maxStaleness": 0], "keyRefresh.maxStaleness must be between"),
            (["fetchTimeout": "10"], "keyRefresh.fetchTimeout must be a number"),
            (["minimumLifetime": 600, "maximumLifetime": 60], "must not exceed keyRefresh.maximumLifetime"),
            (["maxDocumentBytes": 10], "keyRefresh.maxDocumentBytes must be between"),
            ([], "keyRefresh must be an object"),
        ] {
            let created = CABITests.newVerifier(Array(try CABITests.config(["keyRefresh": keyRefresh]).utf8))
            #expect(created.status == EDGEAUTH_ERR_CONFIG)
            #expect(created.error?.contains(fragment) == true, "\(created.error ?? "nil")")
        }
        let fixed = try CABITests.verifier()
        defer { edgeauth_verifier_free(fixed) }
        #expect(Self.statistic(fixed, EDGEAUTH_KEYS_REMOTE_SETS) == 0)
        #expect(edgeauth_verifier_key_statistic(fixed, EDGEAUTH_KEYS_FETCHES, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
    }
}

@Suite("C ABI sources")
struct CABISourceTests {
    @Test("Every @c @implementation function is public, so optimized builds export it too")
    func implementationsArePublic() throws {
        // An internal @c function is exported by a debug build but becomes a local
        // symbol under whole-module optimization: the symbol check of `make test`
        // (a debug build) would not notice.
        let directory = Vectors.packageRoot.appendingPathComponent("Sources/EdgeAuthCABI")
        var count = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            for (index, line) in lines.enumerated() where line.hasPrefix("@c") {
                count += 1
                #expect(line == "@c @implementation", "\(file):\(index + 1)")
                #expect(lines[index + 1].hasPrefix("public func edgeauth_"), "\(file):\(index + 2): \(lines[index + 1])")
            }
        }
        // One implementation per function the header declares, wherever it lives.
        #expect(count == (try HostileArgumentTests.declaredFunctions()).count)
    }
}

/// Limits of the C ABI that the tests check against (docs/c-api.md).
enum VerifierLimits {
    static let configurationBytes = 4 << 20
}

extension CABITests {
    @Test("Revocation by token and by jti reaches cached tokens; the L1 counter counts in-memory hits")
    func revocationAndL1() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-cabi-revoke-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let verifier = try Self.verifier(["cache": ["directory": .string(directory), "l1Entries": 16]])
        defer { edgeauth_verifier_free(verifier) }
        let byToken = Array(try Self.factory.token(claims: ["jti": "c-one"]).utf8)
        let byID = Array(try Self.factory.token(claims: ["jti": "c-two"]).utf8)
        for token in [byToken, byID] {
            #expect(Self.verify(verifier, token).verdict == EDGEAUTH_VERDICT_VALID)
            let again = Self.verify(verifier, token)
            #expect(again.verdict == EDGEAUTH_VERDICT_VALID)
            edgeauth_identity_free(again.identity)
        }
        var l1Hits: UInt64 = 0
        #expect(edgeauth_verifier_cache_statistic(verifier, EDGEAUTH_CACHE_L1_HITS, &l1Hits) == EDGEAUTH_OK && l1Hits == 2)

        #expect(edgeauth_verifier_revoke_token(verifier, byToken, byToken.count, Self.factory.now + 3600) == EDGEAUTH_OK)
        #expect(Self.verify(verifier, byToken).verdict == EDGEAUTH_VERDICT_REVOKED)
        let id = Array("c-two".utf8)
        #expect(edgeauth_verifier_revoke_token_id(verifier, id, id.count, Self.factory.now + 3600) == EDGEAUTH_OK)
        #expect(Self.verify(verifier, byID).verdict == EDGEAUTH_VERDICT_REVOKED)

        #expect(edgeauth_verifier_revoke_token(nil, byToken, byToken.count, 0) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(edgeauth_verifier_revoke_token(verifier, nil, 3, 0) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(edgeauth_verifier_revoke_token_id(verifier, id, 0, 0) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        #expect(edgeauth_verifier_revoke_token_id(verifier, id, 512, 0) == EDGEAUTH_ERR_INVALID_ARGUMENT)
        let uncached = try Self.verifier()
        defer { edgeauth_verifier_free(uncached) }
        #expect(edgeauth_verifier_revoke_token(uncached, byToken, byToken.count, 0) == EDGEAUTH_ERR_NOT_FOUND)
        #expect(Self.newVerifier(Array(try Self.config(["cache": ["directory": .string(directory), "l1Entries": -1]]).utf8)).status
            == EDGEAUTH_ERR_CONFIG)
    }
}

@Suite("C ABI development mode")
struct CABIDevelopmentModeTests {
    @Test("verifySignatures: false is refused: a library cannot keep it on loopback")
    func refused() throws {
        let created = CABITests.newVerifier(Array(try CABITests.config(["verifySignatures": false]).utf8))
        #expect(created.status == EDGEAUTH_ERR_CONFIG)
        #expect(created.error?.contains("not available through the C library") == true)
    }
}
