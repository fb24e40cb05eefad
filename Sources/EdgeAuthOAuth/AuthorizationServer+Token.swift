import EdgeAuth
import EdgeAuthCache
import Foundation

extension AuthorizationServer {
    /// `/token`: the `authorization_code` and `refresh_token` grants (A2, A9, A11).
    /// - Parameter authorization: the request's `Authorization` header (`client_secret_basic`).
    public func token(_ parameters: [String: String], authorization: String?) async -> Result<JSONValue, OAuthError> {
        do {
            let client = try await authenticateClient(parameters, authorization: authorization)
            switch parameters["grant_type"] {
            case "authorization_code"?:
                return .success(try await exchangeCode(parameters, client: client))
            case "refresh_token"?:
                guard client.mayRefresh else { throw OAuthError(.unauthorizedClient, "this client is not registered for the refresh_token grant") }
                return .success(try await refresh(parameters, client: client))
            case nil:
                throw OAuthError(.invalidRequest, "grant_type is required")
            case let other?:
                throw OAuthError(.unsupportedGrantType, "grant_type \(ClientRegistration.shown(other)) is not supported (authorization_code, refresh_token)")
            }
        } catch let error as OAuthError {
            return .failure(error)
        } catch {
            return .failure(storeUnavailable(error))
        }
    }

    // MARK: Client authentication (A11)

    /// The client of a token or revocation request: `none` (a public client names itself),
    /// `client_secret_post` or `client_secret_basic`; secrets compared in constant time.
    func authenticateClient(_ parameters: [String: String], authorization: String?) async throws(OAuthError) -> ClientRecord {
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
        guard let client = try await client(clientID) else { throw OAuthError(.invalidClient, "unknown client") }
        if let digest = client.secretDigest {
            guard let secret, Secrets.constantTimeEqual(Secrets.digest(secret), Array(hex: digest)) else {
                throw OAuthError(.invalidClient, "client authentication failed")
            }
        } else if secret != nil {
            throw OAuthError(.invalidClient, "this client was registered without a secret (token_endpoint_auth_method none)")
        }
        return client
    }

    /// Marks a grant revoked and forgets its refresh tokens; returns it so that its access tokens are revoked after the commit.
    func revokeGrant(_ id: String, reason: String, writer: any StateWriting, now: Int64) throws -> GrantRecord? {
        guard let grant = try AuthorizationState.revokeGrant(id, writer: writer, now: now) else { return nil }
        audit.warning("grant revoked", metadata: ["event": "refresh_family_revoked", "grant": .string(id), "client_id": .string(grant.clientID),
                                                  "sub": .string(grant.user.subject), "reason": .string(reason)])
        return grant
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
