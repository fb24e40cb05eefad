import EdgeAuth
import EdgeAuthCache
import EdgeAuthOAuth
import Foundation
import Testing

@Suite("authorization server: refresh, clients, revocation")
struct RefreshAndClientTests {
    @Test("A9: rotation with a grace for the previous token; reuse of an older one revokes the family")
    func rotation() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let r0 = try #require(try await harness.tokens(client: client.id)["refresh_token"]?.stringValue)
        let r1 = try #require(try await harness.refresh(client: client.id, r0).get()["refresh_token"]?.stringValue)
        // The response with r1 was lost: r0 still works while r1 is unused.
        let r1b = try #require(try await harness.refresh(client: client.id, r0).get()["refresh_token"]?.stringValue)
        #expect(r1b != r1)
        let r2 = try #require(try await harness.refresh(client: client.id, r1).get()["refresh_token"]?.stringValue)
        #expect(harness.revokedIDs.isEmpty)
        // r0 again, now that its successor was used: stolen. The family ends.
        #expect(await harness.refresh(client: client.id, r0).failure?.code == .invalidGrant)
        #expect(harness.revokedIDs.count == 4)
        #expect(await harness.refresh(client: client.id, r2).failure?.code == .invalidGrant)
    }

    @Test("A9: a refresh may narrow the scope, never widen it; another client's token is refused")
    func refreshScope() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let other = try await harness.register()
        let r0 = try #require(try await harness.tokens(client: client.id)["refresh_token"]?.stringValue)
        #expect(await harness.refresh(client: other.id, r0).failure?.code == .invalidGrant)
        #expect(await harness.refresh(client: client.id, r0, scope: "notes:read admin").failure?.code == .invalidScope)
        let narrowed = try await harness.refresh(client: client.id, r0, scope: "notes:read").get()
        #expect(narrowed["scope"] == "notes:read")
    }

    @Test("A11: a confidential client authenticates with its secret (post or basic), compared exactly")
    func confidentialClient() async throws {
        let harness = try Harness()
        let client = try await harness.register(["redirect_uris": [.string(Harness.redirect)], "token_endpoint_auth_method": "client_secret_basic",
                                           "grant_types": ["authorization_code", "refresh_token"]])
        let secret = try #require(client.secret)
        let code = try #require(Harness.query(try await harness.login(client: client.id))["code"])
        let exchange = ["grant_type": "authorization_code", "code": code, "redirect_uri": Harness.redirect, "code_verifier": Harness.verifier]
        let wrongBasic = "Basic " + Data("\(client.id):\(secret.dropLast())x".utf8).base64EncodedString()
        #expect(await harness.server.token(exchange, authorization: wrongBasic).failure?.code == .invalidClient)
        var post = exchange
        post["client_id"] = client.id
        #expect(await harness.server.token(post, authorization: nil).failure?.code == .invalidClient)
        post["client_secret"] = "wrong"
        #expect(await harness.server.token(post, authorization: nil).failure?.code == .invalidClient)
        let basic = "Basic " + Data("\(client.id):\(secret)".utf8).base64EncodedString()
        let tokens = try await harness.server.token(exchange, authorization: basic).get()
        // A confidential client keeps its refresh token (rotation is for public clients).
        let refresh = try #require(tokens["refresh_token"]?.stringValue)
        post = ["grant_type": "refresh_token", "refresh_token": refresh, "client_id": client.id, "client_secret": secret]
        #expect(try await harness.server.token(post, authorization: nil).get()["refresh_token"] == nil)
        #expect(try await harness.server.token(post, authorization: nil).get()["access_token"] != nil)
    }

    @Test("unknown and missing grant types")
    func grantTypes() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        #expect(await harness.server.token(["grant_type": "password", "client_id": client.id], authorization: nil).failure?.code == .unsupportedGrantType)
        #expect(await harness.server.token(["client_id": client.id], authorization: nil).failure?.code == .invalidRequest)
        #expect(await harness.server.token(["grant_type": "authorization_code", "client_id": "ea_nobody"], authorization: nil).failure?.code == .invalidClient)
    }

    @Test("A3: registration refuses unsafe redirect URIs and impossible metadata", arguments: [
        ["redirect_uris": ["http://example.com/cb"]], ["redirect_uris": ["javascript:alert(1)"]], ["redirect_uris": ["https://*.example.com/cb"]],
        ["redirect_uris": ["https://example.com/cb#fragment"]], ["redirect_uris": []], ["redirect_uris": ["com.example.app:/cb"]],
        ["redirect_uris": ["data:text/html,hi"]], ["redirect_uris": ["https://user:pw@example.com/cb"]],
        ["redirect_uris": ["https://app.example.com/cb?x=\"><script>"]], ["redirect_uris": ["https://app.example.com/cb?a={b}"]],
    ] as [JSONValue])
    func refusedRedirects(metadata: JSONValue) async throws {
        let harness = try Harness()
        await #expect(throws: OAuthError.self) { try await harness.server.register(metadata, from: "127.0.0.1") }
        do {
            _ = try await harness.server.register(metadata, from: "127.0.0.1")
        } catch {
            #expect(error.code == .invalidRedirectURI)
        }
    }

    @Test("A3: grant types, response types and auth methods are checked", arguments: [
        ["redirect_uris": ["https://app.example.com/cb"], "grant_types": ["client_credentials"]],
        ["redirect_uris": ["https://app.example.com/cb"], "grant_types": ["refresh_token"]],
        ["redirect_uris": ["https://app.example.com/cb"], "response_types": ["token"]],
        ["redirect_uris": ["https://app.example.com/cb"], "token_endpoint_auth_method": "private_key_jwt"],
        ["redirect_uris": ["https://app.example.com/cb"], "scope": "notes:read root"],
        ["redirect_uris": ["https://app.example.com/cb"], "application_type": "desktop"],
    ] as [JSONValue])
    func refusedMetadata(metadata: JSONValue) async throws {
        let harness = try Harness()
        do {
            _ = try await harness.server.register(metadata, from: "127.0.0.1")
            Issue.record("accepted \(metadata.jsonText)")
        } catch {
            #expect(error.code == .invalidClientMetadata)
        }
    }

    @Test("A3: a native client may register a private-use scheme; loopback and https are accepted; a secret only for confidential clients")
    func acceptedRegistrations() async throws {
        let harness = try Harness()
        let native = try await harness.server.register(["redirect_uris": ["com.example.app:/oauth2redirect", "http://[::1]/cb"], "application_type": "native",
                                                  "token_endpoint_auth_method": "none"], from: "127.0.0.1")
        #expect(native["client_secret"] == nil)
        let web = try await harness.server.register(["redirect_uris": ["https://app.example.com/cb", "http://localhost:3000/cb"]], from: "127.0.0.1")
        #expect(web["token_endpoint_auth_method"] == "client_secret_basic")
        #expect(web["client_secret"]?.stringValue?.count == 43)
        #expect(try StateAdministration(store: harness.store).clients().count == 2)
    }

    @Test("RFC 8252 §7.3: a loopback redirect URI matches on any port")
    func loopbackPorts() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        var parameters = harness.authorizeParameters(client: client.id)
        parameters["redirect_uri"] = "http://127.0.0.1:50123/callback"
        guard case .login = await harness.server.authorize(parameters) else { Issue.record("refused another loopback port"); return }
        parameters["redirect_uri"] = "http://127.0.0.1:50123/other"
        guard case .errorPage = await harness.server.authorize(parameters) else { Issue.record("accepted another path"); return }
    }

    @Test("A10: revoking a refresh token ends its grant; unknown tokens are not an error")
    func revocation() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let tokens = try await harness.tokens(client: client.id)
        let refresh = try #require(tokens["refresh_token"]?.stringValue)
        #expect(await harness.server.revoke(["token": "nonsense", "client_id": client.id], authorization: nil, inspect: { _ in nil }).isSuccess)
        #expect(await harness.server.revoke(["token": refresh, "client_id": client.id], authorization: nil, inspect: { _ in nil }).isSuccess)
        #expect(harness.revokedIDs.count == 1)
        #expect(await harness.refresh(client: client.id, refresh).failure?.code == .invalidGrant)
        #expect(try StateAdministration(store: harness.store).grants().isEmpty)
    }

    @Test("the state survives a restart: clients, grants and keys")
    func restart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-oauth-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var client: (id: String, secret: String?)
        var refresh: String
        var kid: String?
        do {
            let first = try Harness(directory: directory)
            client = try await first.register()
            refresh = try #require(try await first.tokens(client: client.id)["refresh_token"]?.stringValue)
            kid = first.server.keys.signing.kid
        }
        let second = try Harness(directory: directory)
        #expect(second.server.keys.signing.kid == kid)
        #expect(try await second.refresh(client: client.id, refresh).get()["access_token"] != nil)
        #expect(try await second.login(client: client.id).contains("code="))
    }

    @Test("a rotated key signs; the previous one stays published until its tokens expired; the sweep removes what expired")
    func keyRotation() async throws {
        let harness = try Harness()
        let first = try #require(harness.server.keys.signing.kid)
        let rotated = try ServerKeys.rotate(harness.store, algorithm: .es256, now: 1_800_000_000)
        let reloaded = try ServerKeys.load(harness.store, algorithm: .es256, publishFor: 3600, now: 1_800_000_100)
        #expect(reloaded.signing.kid == rotated)
        #expect(reloaded.published.compactMap { $0["kid"]?.stringValue }.sorted() == [first, rotated].sorted())
        // A worker of a generation started before the rotation keeps signing with that generation's key.
        let pinned = try ServerKeys.load(harness.store, algorithm: .es256, publishFor: 3600, signingKeyID: first, now: 1_800_000_100)
        #expect(pinned.signing.kid == first)
        #expect(try ServerKeys.currentSigningKeyID(harness.store, algorithm: .es256) == rotated)
        let later = try ServerKeys.load(harness.store, algorithm: .es256, publishFor: 3600, now: 1_800_003_601)
        #expect(later.published.compactMap { $0["kid"]?.stringValue } == [rotated])
        harness.advance(3601)
        #expect(try await harness.server.sweep() >= 1)
        #expect(try ServerKeys.list(harness.store).filter { $0.use == "signing" }.count == 1)
    }

    @Test("the sweep removes expired codes and logins in batches, and keeps live grants")
    func sweep() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        for _ in 0..<3 { _ = try await harness.tokens(client: client.id) }
        guard case .login = await harness.server.authorize(harness.authorizeParameters(client: client.id)) else { Issue.record("no login"); return }
        #expect(try harness.store.counts()[.codes] == 3)
        #expect(try harness.store.counts()[.pending] == 1)
        harness.advance(700)
        #expect(try await harness.server.sweep() == 4)
        let counts = try harness.store.counts()
        #expect(counts[.codes] == 0 && counts[.pending] == 0)
        #expect(counts[.grants] == 3 && counts[.refreshTokens] == 3)
        #expect(try await harness.server.sweep() == 0)
    }

    @Test("EdDSA signing is selectable")
    func edDSA() async throws {
        var settings = OAuthSettings()
        settings.signingAlgorithm = .edDSA
        let harness = try Harness(settings: settings)
        let client = try await harness.register()
        let token = try #require(try await harness.tokens(client: client.id)["access_token"]?.stringValue)
        #expect(try JSONValue.parse(try Base64URL.decode(token.split(separator: ".")[0]))["alg"] == "EdDSA")
        #expect(harness.server.jwks["keys"]?.arrayValue?.first?["crv"] == "Ed25519")
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
