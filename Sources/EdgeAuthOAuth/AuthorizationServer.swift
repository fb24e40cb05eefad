import EdgeAuth
import EdgeAuthCache
import Foundation
import Logging

/// EdgeAuth as the OAuth 2.1 authorization server in front of an identity provider (proxy
/// mode; docs/oauth-modes.md): metadata, registration, authorization with login and consent,
/// the token endpoint, revocation and the published keys. It knows nothing of HTTP: the
/// server's routes hand it parameters and turn its answers into responses.
public final class AuthorizationServer: Sendable {
    public let settings: OAuthSettings
    /// The issuer identifier: in the metadata, the `iss` of tokens and of authorization responses.
    public let issuer: String
    /// The protected resource tokens are issued for (their `aud`; RFC 8707 `resource`).
    public let resource: String
    /// The scopes clients may ask for beyond `openid`, `offline_access`, `profile` and `email`.
    public let scopes: [String]
    /// The scopes granted when a client names none.
    public let defaultScopes: [String]
    /// The public base URL of the endpoints (the issuer without its trailing slash).
    public let endpointBase: String
    let state: AuthorizationState
    public let keys: ServerKeys
    let identityProvider: DevelopmentIdentityProvider
    let documents: ClientMetadataDocuments?
    let decodedClients = DecodedClients()
    /// Called for every access token revoked (a code replay, a refresh reuse, `/revoke`):
    /// the verifier refuses it from then on.
    let revokeAccessToken: @Sendable (_ jti: String, _ expiresAt: Int64) -> Void
    let clock: @Sendable () -> Int64
    let audit = Logger(label: "edgeauth.oauth.audit")

    /// Scopes with a meaning of their own, always accepted: `openid` adds an ID token,
    /// `offline_access` changes nothing (refresh tokens go to every client registered for them).
    public static let protocolScopes = ["openid", "offline_access", "profile", "email"]

    /// - Parameter signingKeyID: the key to sign with (`ServerKeys.load`); nil: the current one.
    public init(settings: OAuthSettings, resource: String, scopes: [String], defaultScopes: [String], store: any StateStore,
                documents: ClientMetadataDocuments? = nil, signingKeyID: String? = nil,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                revokeAccessToken: @escaping @Sendable (String, Int64) -> Void = { _, _ in }) throws {
        self.settings = settings
        self.resource = resource
        let issuer = settings.issuer ?? OAuthSettings.defaultIssuer(resource: resource)
        self.issuer = issuer
        endpointBase = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        self.scopes = scopes
        self.defaultScopes = defaultScopes
        state = AuthorizationState(store: store)
        keys = try ServerKeys.load(store, algorithm: settings.signingAlgorithm, publishFor: Int64(settings.lifetimes.accessToken),
                                   signingKeyID: signingKeyID, now: clock())
        identityProvider = DevelopmentIdentityProvider(users: settings.developmentUsers)
        self.documents = documents
        self.clock = clock
        self.revokeAccessToken = revokeAccessToken
    }

    var knownScopes: Set<String> { Set(scopes + Self.protocolScopes) }

    // MARK: Metadata (A1)

    /// The paths of the metadata documents: RFC 8414 and OIDC discovery, path-inserted and,
    /// for OIDC, path-appended when the issuer has a path.
    public var metadataPaths: [String] {
        let path = URLComponents(string: issuer)?.path ?? ""
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        var paths = ["/.well-known/oauth-authorization-server" + trimmed, "/.well-known/openid-configuration" + trimmed]
        if !trimmed.isEmpty { paths.append(trimmed + "/.well-known/openid-configuration") }
        return paths
    }

    /// The endpoint paths, relative to the server's root.
    public var endpointPaths: (authorize: String, token: String, register: String, revoke: String, jwks: String, login: String, consent: String) {
        let prefix = URLComponents(string: endpointBase)?.path ?? ""
        return (prefix + "/authorize", prefix + "/token", prefix + "/register", prefix + "/revoke", prefix + "/jwks",
                prefix + "/authorize/login", prefix + "/authorize/consent")
    }

    /// The authorization-server metadata (RFC 8414), also valid OIDC discovery.
    public var metadata: JSONValue {
        var document: [String: JSONValue] = [
            "issuer": .string(issuer),
            "authorization_endpoint": .string(endpointBase + "/authorize"),
            "token_endpoint": .string(endpointBase + "/token"),
            "revocation_endpoint": .string(endpointBase + "/revoke"),
            "jwks_uri": .string(endpointBase + "/jwks"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "scopes_supported": .array((scopes + Self.protocolScopes).map(JSONValue.string)),
            "client_id_metadata_document_supported": .bool(documents != nil),
            "authorization_response_iss_parameter_supported": true,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": .array([.string(keys.algorithm.name)]),
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "email", "name", "roles", "permissions", "scope", "client_id"],
            "resource_indicators_supported": true,
        ]
        if settings.registration { document["registration_endpoint"] = .string(endpointBase + "/register") }
        return .object(document)
    }

    // MARK: Registration (A3)

    /// Registers a client from RFC 7591 metadata; the answer carries its id and, for a confidential client, its secret.
    public func register(_ metadata: JSONValue, from address: String) async throws(OAuthError) -> JSONValue {
        guard settings.registration else { throw OAuthError(.invalidRequest, "dynamic client registration is disabled on this server") }
        var client = try ClientRegistration.client(from: metadata, clientID: "ea_" + Secrets.random(bytes: 18), knownScopes: knownScopes, now: clock())
        client.registeredFrom = address
        var secret: String?
        if !client.isPublic {
            let issued = Secrets.random(bytes: 32)
            client.secretDigest = Secrets.digestHex(issued)
            secret = issued
        }
        let record = client
        do {
            try await state.store.commit { writer in try writer.save(record, .clients, record.clientID) }
        } catch {
            throw storeUnavailable(error)
        }
        audit.info("client registered", metadata: ["event": "client_registered", "client_id": .string(client.clientID), "from": .string(address),
                                                   "auth_method": .string(client.tokenEndpointAuthMethod), "name": .string(client.name ?? "")])
        return ClientRegistration.response(client, secret: secret)
    }

    /// The client a `client_id` names: registered here, or (an https URL) its metadata document (A4).
    func client(_ clientID: String) async throws(OAuthError) -> ClientRecord? {
        if ClientMetadataDocuments.isDocumentURL(clientID) {
            guard let documents else { return nil }
            return try await documents.client(clientID, state: state, knownScopes: knownScopes, now: clock())
        }
        return try registeredClient(clientID)
    }

    /// A client registered here (not a metadata document URL).
    func registeredClient(_ clientID: String) throws(OAuthError) -> ClientRecord? {
        guard clientID.utf8.count <= 128 else { return nil }
        do {
            guard let stored = try state.store.read({ reader in try reader.get(.clients, clientID) }) else { return nil }
            if let decoded = decodedClients.record(clientID, stored: stored) { return decoded }
            guard let record = try AuthorizationState.decode(ClientRecord.self, stored) else { return nil }
            decodedClients.remember(record, stored: stored)
            return record
        } catch {
            throw storeUnavailable(error)
        }
    }

    func storeUnavailable(_ error: any Error) -> OAuthError {
        Logger(label: "edgeauth.oauth").error("state store failed", metadata: ["error": "\(error)"])
        return OAuthError(.temporarilyUnavailable, "the authorization server cannot reach its state store; retry later")
    }

    /// The published signing keys (`/jwks`).
    public var jwks: JSONValue { keys.jwks }

    /// A short-lived token saying who `caller` is, for a gateway's upstream (`audience`);
    /// signed with the key published at `/jwks` (docs/gateway.md).
    public func upstreamToken(for caller: Identity, audience: String, lifetime: Int64, now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> String {
        String(decoding: try AccessTokenMinter.upstreamToken(keys: keys, issuer: issuer, audience: audience, caller: caller, lifetime: lifetime, now: now), as: UTF8.self)
    }
}
