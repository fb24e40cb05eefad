import EdgeAuth
import EdgeAuthCache
import EdgeAuthOAuth
import Foundation
import Testing

/// The authorization endpoint, login, consent and code exchange through `AuthorizationServer`
/// (docs/requirements.md A1, A2, A5–A8). The HTTP routes and real clients are tested in
/// Tests/mcp/test_oauth_flow.py.
@Suite("authorization server: authorize, consent, code")
struct AuthorizationFlowTests {
    @Test("A1: the metadata names the endpoints, S256 only, CIMD and the iss parameter")
    func metadata() throws {
        let harness = try Harness()
        let metadata = harness.server.metadata
        #expect(metadata["issuer"] == "http://127.0.0.1:8080/")
        #expect(metadata["token_endpoint"] == "http://127.0.0.1:8080/token")
        #expect(metadata["code_challenge_methods_supported"] == ["S256"])
        #expect(metadata["authorization_response_iss_parameter_supported"] == true)
        #expect(metadata["registration_endpoint"] == "http://127.0.0.1:8080/register")
        #expect(metadata["subject_types_supported"] == ["public"])
        #expect(harness.server.metadataPaths == ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"])
    }

    @Test("A1: an issuer with a path gets the path-inserted and path-appended discovery URLs")
    func pathIssuer() throws {
        var settings = OAuthSettings()
        settings.issuer = "https://auth.example.com/tenant1"
        let harness = try Harness(settings: settings)
        #expect(harness.server.metadataPaths == ["/.well-known/oauth-authorization-server/tenant1", "/.well-known/openid-configuration/tenant1",
                                                  "/tenant1/.well-known/openid-configuration"])
        #expect(harness.server.endpointPaths.token == "/tenant1/token")
        #expect(harness.server.metadata["token_endpoint"] == "https://auth.example.com/tenant1/token")
    }

    @Test("A7: the redirect carries the code, the client's state and iss")
    func codeStateIss() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let query = Harness.query(try await harness.login(client: client.id))
        #expect(query["state"] == "st-1")
        #expect(query["iss"] == "http://127.0.0.1:8080/")
        #expect(query["code"]?.count == 43)
    }

    @Test("A5: an unknown client or an unregistered redirect URI is a page, never a redirect")
    func errorsBeforeRedirectValidation() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        var parameters = harness.authorizeParameters(client: client.id)
        parameters["redirect_uri"] = "https://evil.example.com/cb"
        guard case .errorPage(let message) = await harness.server.authorize(parameters) else { Issue.record("redirected"); return }
        #expect(message.contains("not registered"))
        parameters = harness.authorizeParameters(client: "ea_unknown")
        guard case .errorPage = await harness.server.authorize(parameters) else { Issue.record("redirected"); return }
    }

    @Test("A2: plain, a missing challenge and a wrong response type go back to the client as errors", arguments: [
        ("code_challenge_method", "plain", "invalid_request"), ("code_challenge", nil, "invalid_request"),
        ("response_type", "token", "unsupported_response_type"), ("scope", "admin:everything", "invalid_scope"),
        ("resource", "https://other.example.com/mcp", "invalid_target"),
    ] as [(String, String?, String)])
    func refusedRequests(parameter: String, value: String?, error: String) async throws {
        let harness = try Harness()
        let client = try await harness.register()
        var parameters = harness.authorizeParameters(client: client.id)
        parameters[parameter] = value
        guard case .redirect(let location) = await harness.server.authorize(parameters) else { Issue.record("not redirected"); return }
        let query = Harness.query(location)
        #expect(query["error"] == error)
        #expect(query["state"] == "st-1")
        #expect(query["iss"] == "http://127.0.0.1:8080/")
    }

    @Test("A6: deny sends access_denied back; a consent token is single-use and cannot be forged")
    func consentToken() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        guard case .login(let login) = await harness.server.authorize(harness.authorizeParameters(client: client.id)),
              case .consent(let consent) = await harness.server.login(pendingID: login.pendingID, user: "alice")
        else { Issue.record("no consent page"); return }
        #expect(consent.scopes == ["notes:read", "notes:write"])
        #expect(consent.client.name == "Test client")
        var forged = Array(consent.consentToken)
        forged[forged.count - 2] = forged[forged.count - 2] == "A" ? "B" : "A"
        guard case .errorPage = await harness.server.consent(pendingID: consent.pendingID, consentToken: String(forged), approve: true) else {
            Issue.record("a forged consent token was accepted"); return
        }
        guard case .errorPage = await harness.server.consent(pendingID: consent.pendingID, consentToken: nil, approve: true) else {
            Issue.record("a missing consent token was accepted"); return
        }
        guard case .redirect(let location) = await harness.server.consent(pendingID: consent.pendingID, consentToken: consent.consentToken, approve: false) else {
            Issue.record("deny did not redirect"); return
        }
        #expect(Harness.query(location)["error"] == "access_denied")
        #expect(Harness.query(location)["state"] == "st-1")
        guard case .errorPage = await harness.server.consent(pendingID: consent.pendingID, consentToken: consent.consentToken, approve: true) else {
            Issue.record("a consent token was accepted twice"); return
        }
    }

    @Test("A6: consent is remembered per user, client and scopes; a wider request asks again")
    func rememberedConsent() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        _ = try await harness.login(client: client.id, parameters: harness.authorizeParameters(client: client.id, scope: "notes:read"))
        guard case .login(let again) = await harness.server.authorize(harness.authorizeParameters(client: client.id, scope: "notes:read")),
              case .redirect = await harness.server.login(pendingID: again.pendingID, user: "alice")
        else { Issue.record("remembered consent asked again"); return }
        guard case .login(let wider) = await harness.server.authorize(harness.authorizeParameters(client: client.id, scope: "notes:read notes:write")),
              case .consent(let consent) = await harness.server.login(pendingID: wider.pendingID, user: "alice")
        else { Issue.record("a wider scope did not ask"); return }
        #expect(consent.scopes.contains("notes:write"))
        let administration = StateAdministration(store: harness.store)
        #expect(try administration.revokeConsents(user: "alice") == 1)
        guard case .login(let afterRevoke) = await harness.server.authorize(harness.authorizeParameters(client: client.id, scope: "notes:read")),
              case .consent = await harness.server.login(pendingID: afterRevoke.pendingID, user: "alice")
        else { Issue.record("revoked consent was still remembered"); return }
    }

    @Test("prompt=none cannot be answered without a session; prompt=consent asks even when consent is remembered")
    func prompts() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        var parameters = harness.authorizeParameters(client: client.id)
        parameters["prompt"] = "none"
        guard case .redirect(let location) = await harness.server.authorize(parameters) else { Issue.record("not redirected"); return }
        #expect(Harness.query(location)["error"] == "login_required")
        _ = try await harness.login(client: client.id)
        parameters["prompt"] = "consent"
        guard case .login(let login) = await harness.server.authorize(parameters),
              case .consent = await harness.server.login(pendingID: login.pendingID, user: "alice")
        else { Issue.record("prompt=consent skipped the consent page"); return }
    }

    @Test("RFC 6749 §4.1.3: without redirect_uri at /authorize (one registered), the exchange may leave it out too")
    func omittedRedirectURI() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        var parameters = harness.authorizeParameters(client: client.id)
        parameters["redirect_uri"] = nil
        let code = try #require(Harness.query(try await harness.login(client: client.id, parameters: parameters))["code"])
        let exchange = ["grant_type": "authorization_code", "code": code, "code_verifier": Harness.verifier, "client_id": client.id]
        #expect(try await harness.server.token(exchange, authorization: nil).get()["access_token"] != nil)
        // Given at /authorize, it is required at /token.
        let second = try #require(Harness.query(try await harness.login(client: client.id))["code"])
        var without = exchange
        without["code"] = second
        #expect(await harness.server.token(without, authorization: nil).failure?.code == .invalidGrant)
    }

    @Test("a user gets only the scopes they hold; the page lists the others")
    func userScopes() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        guard case .login(let login) = await harness.server.authorize(harness.authorizeParameters(client: client.id)),
              case .consent(let consent) = await harness.server.login(pendingID: login.pendingID, user: "bob")
        else { Issue.record("no consent page"); return }
        #expect(consent.scopes == ["notes:read"])
        #expect(consent.unavailableScopes == ["notes:write"])
    }

    @Test("A2: PKCE, redirect URI and single use at the token endpoint; a replay revokes what the code issued")
    func codeExchange() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let code = try #require(Harness.query(try await harness.login(client: client.id))["code"])
        var exchange = ["grant_type": "authorization_code", "code": code, "redirect_uri": Harness.redirect, "code_verifier": Harness.verifier, "client_id": client.id]
        var wrong = exchange
        wrong["code_verifier"] = String(repeating: "w", count: 43)
        #expect(await harness.server.token(wrong, authorization: nil).failure?.code == .invalidGrant)
        wrong = exchange
        wrong["redirect_uri"] = "http://127.0.0.1:33418/other"
        #expect(await harness.server.token(wrong, authorization: nil).failure?.code == .invalidGrant)
        wrong = exchange
        wrong["resource"] = "https://other.example.com/mcp"
        #expect(await harness.server.token(wrong, authorization: nil).failure?.code == .invalidTarget)
        let tokens = try await harness.server.token(exchange, authorization: nil).get()
        #expect(tokens["token_type"] == "Bearer")
        let refresh = try #require(tokens["refresh_token"]?.stringValue)
        #expect(harness.revokedIDs.isEmpty)
        #expect(await harness.server.token(exchange, authorization: nil).failure?.code == .invalidGrant)
        #expect(harness.revokedIDs.count == 1)
        #expect(await harness.refresh(client: client.id, refresh).failure?.code == .invalidGrant)
        exchange["code"] = "not-a-code"
        #expect(await harness.server.token(exchange, authorization: nil).failure?.code == .invalidGrant)
    }

    @Test("A2: a code expires after its lifetime")
    func expiredCode() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let code = try #require(Harness.query(try await harness.login(client: client.id))["code"])
        harness.advance(61)
        let result = await harness.server.token(["grant_type": "authorization_code", "code": code, "redirect_uri": Harness.redirect,
                                                 "code_verifier": Harness.verifier, "client_id": client.id], authorization: nil)
        #expect(result.failure?.description == "the authorization code has expired")
    }

    @Test("the access token carries the user, client, scope, roles and permissions, for the resource")
    func accessTokenClaims() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let tokens = try await harness.tokens(client: client.id)
        let token = try #require(tokens["access_token"]?.stringValue)
        let payload = try JSONValue.parse(try Base64URL.decode(token.split(separator: ".")[1]))
        #expect(payload["iss"] == "http://127.0.0.1:8080/")
        #expect(payload["aud"] == .string(Harness.resource))
        #expect(payload["sub"] == "alice")
        #expect(payload["client_id"] == .string(client.id))
        #expect(payload["scope"] == "notes:read notes:write")
        #expect(payload["roles"] == ["admin"])
        #expect(payload["permissions"] == ["notes:delete"])
        #expect(payload["exp"]?.doubleValue == Double(1_800_000_000 + 3600))
        let header = try JSONValue.parse(try Base64URL.decode(token.split(separator: ".")[0]))
        #expect(header["typ"] == "at+jwt")
        #expect(header["alg"] == "ES256")
    }

    @Test("the verifier accepts the access tokens the server issues, with its published keys")
    func issuedTokensVerify() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let token = try #require(try await harness.tokens(client: client.id)["access_token"]?.stringValue)
        let configuration = VerifierConfiguration(policy: ValidationPolicy(issuers: .exactly([harness.server.issuer]), audiences: .anyOf([Harness.resource])),
                                                  keys: [.jwks(harness.server.jwks.jsonText)])
        let verifier = try await configuration.makeVerifier()
        let identity = try #require(verifier.verify(token, now: 1_800_000_010).identity)
        #expect(identity.id == "alice")
        #expect(identity.clientId == client.id)
        #expect(identity.hasScope("notes:write"))
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
