import EdgeAuth
import EdgeAuthCache
import Foundation

/// How the token endpoint answers: the JSON body of a success, or the OAuth error.
public typealias TokenCompletion = @Sendable (Result<[UInt8], OAuthError>) -> Void

extension AuthorizationServer {
    /// `/token`: the `authorization_code` and `refresh_token` grants (A2, A9, A11).
    /// Runs on the caller's thread up to the commit that makes the grant durable, without a
    /// task in between: `completion` is called once, on the caller's thread when the answer
    /// is decided there, else on the state store's writer thread (or, for a client known by
    /// its metadata document, a task's). It must not block.
    /// - Parameter authorization: the request's `Authorization` header (`client_secret_basic`).
    public func token(_ parameters: [String: String], authorization: String?, completion: @escaping TokenCompletion) {
        let credentials: ClientCredentials
        do throws(OAuthError) {
            credentials = try ClientCredentials(parameters, authorization: authorization)
        } catch {
            return completion(.failure(error))
        }
        if ClientMetadataDocuments.isDocumentURL(credentials.clientID) {
            Task {
                do throws(OAuthError) {
                    self.grant(parameters, client: try credentials.authenticate(try await self.client(credentials.clientID)), completion: completion)
                } catch {
                    completion(.failure(error))
                }
            }
            return
        }
        do throws(OAuthError) {
            grant(parameters, client: try credentials.authenticate(try registeredClient(credentials.clientID)), completion: completion)
        } catch {
            completion(.failure(error))
        }
    }

    /// The same, awaited, with the response as JSON (tests, and callers in a task).
    public func token(_ parameters: [String: String], authorization: String?) async -> Result<JSONValue, OAuthError> {
        let result = await withCheckedContinuation { continuation in token(parameters, authorization: authorization) { continuation.resume(returning: $0) } }
        return result.flatMap { body in
            guard let document = try? JSONValue.parse(body) else { return .failure(OAuthError(.serverError, "the token response is not JSON")) }
            return .success(document)
        }
    }

    private func grant(_ parameters: [String: String], client: ClientRecord, completion: @escaping TokenCompletion) {
        switch parameters["grant_type"] {
        case "authorization_code"?:
            exchangeCode(parameters, client: client, completion: completion)
        case "refresh_token"?:
            guard client.mayRefresh else { return completion(.failure(OAuthError(.unauthorizedClient, "this client is not registered for the refresh_token grant"))) }
            refresh(parameters, client: client, completion: completion)
        case nil:
            completion(.failure(OAuthError(.invalidRequest, "grant_type is required")))
        case let other?:
            completion(.failure(OAuthError(.unsupportedGrantType, "grant_type \(ClientRegistration.shown(other)) is not supported (authorization_code, refresh_token)")))
        }
    }

    // MARK: Client authentication (A11)

    /// The client of a token or revocation request, authenticated.
    func authenticateClient(_ parameters: [String: String], authorization: String?) async throws(OAuthError) -> ClientRecord {
        let credentials = try ClientCredentials(parameters, authorization: authorization)
        return try credentials.authenticate(try await client(credentials.clientID))
    }

    /// An error of the token path: an OAuth error as it is, any other a failure of the store.
    func oauthError(_ error: any Error) -> OAuthError {
        error as? OAuthError ?? storeUnavailable(error)
    }

    /// Marks a grant revoked and forgets its refresh tokens; returns it so that its access tokens are revoked after the commit.
    func revokeGrant(_ id: String, reason: String, writer: any StateWriting, now: Int64) throws -> GrantRecord? {
        guard let grant = try AuthorizationState.revokeGrant(id, writer: writer, now: now) else { return nil }
        audit.warning("grant revoked", metadata: ["event": "refresh_family_revoked", "grant": .string(id), "client_id": .string(grant.clientID),
                                                  "sub": .string(grant.user.subject), "reason": .string(reason)])
        return grant
    }

    /// Revokes a grant whose code or refresh token was presented again, then answers `error`.
    func revokeFamily(_ grantID: String, reason: String, now: Int64, answering error: OAuthError, completion: @escaping TokenCompletion) {
        state.store.commit({ writer in try self.revokeGrant(grantID, reason: reason, writer: writer, now: now) }) { result in
            switch result {
            case .success(let revoked):
                if let revoked { self.revokeIssuedAccessTokens(revoked, now: now) }
                completion(.failure(error))
            case .failure(let failure):
                completion(.failure(self.storeUnavailable(failure)))
            }
        }
    }

    func revokeIssuedAccessTokens(_ grant: GrantRecord, now: Int64) {
        for issued in grant.accessTokens where issued.expiresAt > now { revokeAccessToken(issued.jti, issued.expiresAt) }
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"): true
        default: false
        }
    }
}

/// Who a token or revocation request says it is: `none` (a public client names itself),
/// `client_secret_post` or `client_secret_basic`.
struct ClientCredentials: Sendable {
    let clientID: String
    let secret: String?

    init(_ parameters: [String: String], authorization: String?) throws(OAuthError) {
        var clientID = parameters["client_id"]
        var secret = parameters["client_secret"]
        if let authorization, authorization.lowercased().hasPrefix("basic ") {
            guard secret == nil else { throw OAuthError(.invalidRequest, "use one client authentication method, not two") }
            guard let decoded = Data(base64Encoded: authorization.dropFirst(6).trimmingCharacters(in: .whitespaces)),
                  let text = String(validating: Array(decoded), as: UTF8.self), let colon = text.firstIndex(of: ":"),
                  let id = String(text[..<colon]).removingPercentEncoding, let password = String(text[text.index(after: colon)...]).removingPercentEncoding
            else { throw OAuthError(.invalidClient, "the Basic credentials are malformed") }
            guard clientID == nil || clientID == id else { throw OAuthError(.invalidRequest, "client_id differs from the Basic credentials") }
            clientID = id
            secret = password
        }
        guard let clientID, !clientID.isEmpty else { throw OAuthError(.invalidClient, "the request names no client (client_id or Basic credentials)") }
        self.clientID = clientID
        self.secret = secret
    }

    /// The client these credentials authenticate: secrets compared in constant time.
    func authenticate(_ client: ClientRecord?) throws(OAuthError) -> ClientRecord {
        guard let client else { throw OAuthError(.invalidClient, "unknown client") }
        if let digest = client.secretDigest {
            guard let secret, Secrets.constantTimeEqual(Secrets.digest(secret), Array(hex: digest)) else {
                throw OAuthError(.invalidClient, "client authentication failed")
            }
        } else if secret != nil {
            throw OAuthError(.invalidClient, "this client was registered without a secret (token_endpoint_auth_method none)")
        }
        return client
    }
}

extension Array where Element == UInt8 {
    /// Bytes from lowercase or uppercase hex (empty when it is not hex).
    init(hex: String) {
        var bytes: [UInt8] = []
        var high: UInt8?
        for byte in hex.utf8 {
            guard let value = JSONText.hexValue(byte) else { self = []; return }
            if let h = high { bytes.append(h << 4 | value); high = nil } else { high = value }
        }
        self = high == nil ? bytes : []
    }
}
