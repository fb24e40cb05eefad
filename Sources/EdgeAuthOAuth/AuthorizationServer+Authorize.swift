import EdgeAuth
import Foundation

/// What the authorization endpoint answers at each step of a login.
public enum AuthorizationStep: Sendable, Equatable {
    /// A problem found before the redirect URI was validated: shown to the user, never redirected (A5).
    case errorPage(String)
    /// Back to the client: a code, or an error, with `state` and `iss` (A7).
    case redirect(String)
    /// The identity provider's login.
    case login(LoginPrompt)
    /// The consent page (A6).
    case consent(ConsentPrompt)
}

/// What the login page shows.
public struct LoginPrompt: Sendable, Equatable {
    public let pendingID: String
    public let client: ClientDescription
    public let users: [DevelopmentUser]
}

/// What the consent page shows, and the signed token its form carries.
public struct ConsentPrompt: Sendable, Equatable {
    public let pendingID: String
    public let consentToken: String
    public let client: ClientDescription
    public let user: String
    /// The scopes the client will get.
    public let scopes: [String]
    /// Scopes the client asked for that this user cannot grant.
    public let unavailableScopes: [String]
}

/// A client as the pages name it.
public struct ClientDescription: Sendable, Equatable {
    public let clientID: String
    public let name: String?
    /// The verified host of a client metadata document's URL.
    public let documentHost: String?
    public let redirectURI: String
}

extension AuthorizationServer {
    static let maxStateLength = 1024
    static let maxNonceLength = 256

    /// `/authorize` (GET query or POST form): checks the request, then starts the login.
    public func authorize(_ parameters: [String: String]) async -> AuthorizationStep {
        guard let clientID = parameters["client_id"], !clientID.isEmpty else { return .errorPage("The request names no client (client_id is missing).") }
        let client: ClientRecord
        do {
            guard let found = try await self.client(clientID) else {
                return .errorPage("The client \(ClientRegistration.shown(clientID)) is not registered with this server. If it was registered before, register it again.")
            }
            client = found
        } catch {
            return .errorPage("The client could not be identified: \(error.description)")
        }
        let redirectURI: String
        if let given = parameters["redirect_uri"] {
            guard RedirectURI.matches(given, registered: client.redirectURIs) else {
                return .errorPage("The redirect URI \(ClientRegistration.shown(given)) is not registered for this client.")
            }
            redirectURI = given
        } else {
            guard client.redirectURIs.count == 1 else { return .errorPage("The request has no redirect_uri and the client registered several.") }
            redirectURI = client.redirectURIs[0]
        }
        // From here on, errors go back to the client's redirect URI.
        let clientState = parameters["state"]
        func refuse(_ error: OAuthError) -> AuthorizationStep {
            .redirect(Self.redirectLocation(redirectURI, ["error": error.code.rawValue, "error_description": error.description, "state": clientState, "iss": issuer]))
        }
        if let clientState, clientState.utf8.count > Self.maxStateLength { return refuse(OAuthError(.invalidRequest, "state is longer than \(Self.maxStateLength) bytes")) }
        guard parameters["response_type"] == "code" else { return refuse(OAuthError(.unsupportedResponseType, "response_type must be code")) }
        guard let challenge = parameters["code_challenge"] else { return refuse(OAuthError(.invalidRequest, "code_challenge is required (PKCE with S256)")) }
        guard parameters["code_challenge_method"] == "S256" else { return refuse(OAuthError(.invalidRequest, "code_challenge_method must be S256 (plain is not accepted)")) }
        guard challenge.utf8.count == 43, (try? Base64URL.decode(challenge))?.count == 32 else {
            return refuse(OAuthError(.invalidRequest, "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)"))
        }
        if let resource = parameters["resource"], resource != self.resource {
            return refuse(OAuthError(.invalidTarget, "resource must be \(self.resource)"))
        }
        let requested = Self.scopeList(parameters["scope"]) ?? Self.scopeList(client.scope) ?? defaultScopes
        let unknown = requested.filter { !knownScopes.contains($0) }
        guard unknown.isEmpty else { return refuse(OAuthError(.invalidScope, "unknown scope: \(unknown.joined(separator: " "))")) }
        if let nonce = parameters["nonce"], nonce.utf8.count > Self.maxNonceLength { return refuse(OAuthError(.invalidRequest, "nonce is too long")) }
        let prompts = Set((parameters["prompt"] ?? "").split(separator: " ").map(String.init))
        // No sign-in session outlives a login here: a request for none cannot be answered silently.
        if prompts.contains("none") { return refuse(OAuthError(.loginRequired, "the user must sign in (prompt=none cannot be honoured)")) }
        let now = clock()
        let pending = PendingAuthorization(id: Secrets.random(bytes: 24), clientID: client.clientID, redirectURI: redirectURI,
                                           redirectURIGiven: parameters["redirect_uri"] != nil, forceConsent: prompts.contains("consent"),
                                           state: clientState, codeChallenge: challenge,
                                           scopes: requested, resource: resource, nonce: parameters["nonce"], createdAt: now,
                                           expiresAt: now + Int64(settings.lifetimes.pendingAuthorization))
        do {
            try await self.state.store.commit { writer in try writer.save(pending, .pending, pending.id) }
        } catch {
            return refuse(storeUnavailable(error))
        }
        return .login(LoginPrompt(pendingID: pending.id, client: describe(client, redirectURI: redirectURI), users: identityProvider.users))
    }

    /// The login form's answer: the user chose `user`. Remembered consent skips the consent page.
    public func login(pendingID: String, user name: String) async -> AuthorizationStep {
        let now = clock()
        guard var pending = loadPending(pendingID, now: now) else { return .errorPage(Self.expiredMessage) }
        guard let user = identityProvider.authenticate(name) else { return .errorPage("There is no user \(ClientRegistration.shown(name)).") }
        guard let client = try? await client(pending.clientID) else { return .errorPage("The client is no longer registered.") }
        let grantable = Set(user.scopes + Self.protocolScopes)
        let granted = pending.scopes.filter { grantable.contains($0) }
        let unavailable = pending.scopes.filter { !grantable.contains($0) }
        pending.user = user
        pending.scopes = granted
        do {
            let remembered = settings.consent ? try rememberedConsent(user: user.subject, clientID: client.clientID) : []
            if !settings.consent || !pending.forceConsent && remembered.isSuperset(of: granted) {
                let completed = pending
                let location = try await self.state.store.commit { writer in
                    _ = try writer.delete(.pending, completed.id)
                    return try self.issueCode(completed, user: user, writer: writer, now: now)
                }
                audit.info("consent remembered", metadata: ["event": "consent", "decision": "remembered", "client_id": .string(client.clientID),
                                                            "sub": .string(user.subject), "scope": .string(granted.joined(separator: " "))])
                return .redirect(location)
            }
            let nonce = Secrets.random(bytes: 16)
            pending.consentNonce = nonce
            let saved = pending
            try await self.state.store.commit { writer in try writer.save(saved, .pending, saved.id) }
            let token = try ConsentToken.make(pendingID: pending.id, nonce: nonce, expiresAt: pending.expiresAt, key: keys.consent)
            return .consent(ConsentPrompt(pendingID: pending.id, consentToken: token, client: describe(client, redirectURI: pending.redirectURI), user: user.subject,
                                          scopes: granted, unavailableScopes: unavailable))
        } catch {
            return .errorPage("The authorization server cannot reach its state store; try again later.")
        }
    }

    /// The consent form's answer (A6). The token must be this server's, for this pending
    /// authorization, and unused; the pending authorization ends here either way.
    public func consent(pendingID: String, consentToken: String?, approve: Bool) async -> AuthorizationStep {
        let now = clock()
        guard let consentToken, let opened = ConsentToken.open(consentToken, key: keys.consent, now: now), opened.pendingID == pendingID else {
            return .errorPage("The consent form is invalid or has expired. Start the login again from your application.")
        }
        do {
            let issuer = self.issuer
            let outcome: (location: String, pending: PendingAuthorization)? = try await self.state.store.commit { writer in
                guard let pending = try writer.record(PendingAuthorization.self, .pending, pendingID), pending.expiresAt > now,
                      let expected = pending.consentNonce, expected == opened.nonce, let user = pending.user
                else { return nil }
                _ = try writer.delete(.pending, pendingID)
                guard approve else {
                    return (Self.redirectLocation(pending.redirectURI, ["error": "access_denied", "error_description": "the user denied access",
                                                                        "state": pending.state, "iss": issuer]), pending)
                }
                let key = AuthorizationState.consentKey(user: user.subject, clientID: pending.clientID)
                var record = try writer.record(ConsentRecord.self, .consents, key)
                    ?? ConsentRecord(user: user.subject, clientID: pending.clientID, scopes: [], decidedAt: now)
                record.scopes = Array(Set(record.scopes + pending.scopes)).sorted()
                record.decidedAt = now
                try writer.save(record, .consents, key)
                return (try self.issueCode(pending, user: user, writer: writer, now: now), pending)
            }
            guard let outcome else { return .errorPage("This consent form was already used or has expired. Start the login again from your application.") }
            audit.info("consent decided", metadata: ["event": "consent", "decision": .string(approve ? "approve" : "deny"),
                                                     "client_id": .string(outcome.pending.clientID), "sub": .string(outcome.pending.user?.subject ?? ""),
                                                     "scope": .string(outcome.pending.scopes.joined(separator: " "))])
            return .redirect(outcome.location)
        } catch {
            return .errorPage("The authorization server cannot reach its state store; try again later.")
        }
    }

    static let expiredMessage = "This login has expired or was already completed. Start it again from your application."

    private func loadPending(_ id: String, now: Int64) -> PendingAuthorization? {
        guard id.utf8.count <= 64, let pending = try? self.state.store.read({ reader in try reader.record(PendingAuthorization.self, .pending, id) }),
              pending.expiresAt > now
        else { return nil }
        return pending
    }

    private func rememberedConsent(user: String, clientID: String) throws -> Set<String> {
        let record = try self.state.store.read { reader in
            try reader.record(ConsentRecord.self, .consents, AuthorizationState.consentKey(user: user, clientID: clientID))
        }
        return Set(record?.scopes ?? [])
    }

    /// Stores a new code for a completed authorization and returns the redirect that carries it.
    private func issueCode(_ pending: PendingAuthorization, user: AuthenticatedUser, writer: any StateWriting, now: Int64) throws -> String {
        let code = Secrets.random(bytes: 32)
        let record = CodeRecord(clientID: pending.clientID, redirectURI: pending.redirectURI, redirectURIGiven: pending.redirectURIGiven,
                                codeChallenge: pending.codeChallenge, user: user,
                                scopes: pending.scopes, resource: pending.resource, nonce: pending.nonce,
                                expiresAt: now + Int64(settings.lifetimes.authorizationCode), grantID: nil)
        try writer.save(record, .codes, Secrets.digestHex(code))
        return Self.redirectLocation(pending.redirectURI, ["code": code, "state": pending.state, "iss": issuer])
    }

    private func describe(_ client: ClientRecord, redirectURI: String) -> ClientDescription {
        ClientDescription(clientID: client.clientID, name: client.name, documentHost: client.documentHost, redirectURI: redirectURI)
    }

    /// `uri` with `parameters` added to its query (nil values left out).
    static func redirectLocation(_ uri: String, _ parameters: KeyValuePairs<String, String?>) -> String {
        var location = uri
        var separator = uri.contains("?") ? "&" : "?"
        if uri.hasSuffix("?") || uri.hasSuffix("&") { separator = "" }
        for (name, value) in parameters {
            guard let value else { continue }
            location += separator + name + "=" + formEncode(value)
            separator = "&"
        }
        return location
    }

    /// Percent-encodes everything but the unreserved characters (RFC 3986 §2.3).
    static func formEncode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(digits[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(digits[Int(byte & 0x0F)]))
            }
        }
        return out
    }

    /// A space-separated scope list (nil when absent or empty), in order, without repeats.
    static func scopeList(_ text: String?) -> [String]? {
        guard let text else { return nil }
        var seen = Set<String>()
        let list = text.split(separator: " ").map(String.init).filter { seen.insert($0).inserted }
        return list.isEmpty ? nil : list
    }
}
