/// An OAuth error response (RFC 6749 §4.1.2.1 and §5.2, RFC 7591 §3.2.2, RFC 7009 §2.2.1):
/// the code a client acts on and a description for its developer. Descriptions never
/// include a token, a secret or anything about the server's internals.
public struct OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    public enum Code: String, Sendable {
        case invalidRequest = "invalid_request"
        case invalidClient = "invalid_client"
        case invalidGrant = "invalid_grant"
        case unauthorizedClient = "unauthorized_client"
        case unsupportedGrantType = "unsupported_grant_type"
        case unsupportedResponseType = "unsupported_response_type"
        case invalidScope = "invalid_scope"
        case invalidTarget = "invalid_target"
        case accessDenied = "access_denied"
        case loginRequired = "login_required"
        case serverError = "server_error"
        /// A documented extension on `/token`: the server cannot answer now (a store or an
        /// upstream provider is unavailable); the client retries later.
        case temporarilyUnavailable = "temporarily_unavailable"
        case invalidRedirectURI = "invalid_redirect_uri"
        case invalidClientMetadata = "invalid_client_metadata"
        case unsupportedTokenType = "unsupported_token_type"
        case slowDown = "slow_down"
    }

    /// The HTTP status of this error at the token, registration and revocation endpoints.
    public var status: Int {
        switch code {
        case .invalidClient: 401
        case .serverError: 500
        case .temporarilyUnavailable: 503
        case .slowDown: 429
        default: 400
        }
    }
}
