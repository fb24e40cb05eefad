import Foundation

// The records of the authorization server's state (docs/oauth-modes.md, "State store").
// Times are seconds since 1970. Secrets appear only as SHA-256 digests (hex).

/// A client: registered through `/register`, or known by its metadata document URL (CIMD).
public struct ClientRecord: Codable, Sendable, Equatable {
    public var clientID: String
    /// SHA-256 of the secret of a confidential client.
    public var secretDigest: String?
    public var name: String?
    public var redirectURIs: [String]
    public var grantTypes: [String]
    public var tokenEndpointAuthMethod: String
    public var applicationType: String
    public var scope: String?
    public var createdAt: Int64
    /// The address that registered it (for the audit and `edgeauth clients list`).
    public var registeredFrom: String?
    /// Set for a client metadata document: its host, shown on the consent page.
    public var documentHost: String?

    public var isPublic: Bool { tokenEndpointAuthMethod == "none" }
    public var mayRefresh: Bool { grantTypes.contains("refresh_token") }
}

/// Who logged in, as the identity provider described them: what the access tokens carry.
public struct AuthenticatedUser: Codable, Sendable, Equatable {
    public var subject: String
    public var roles: [String]
    public var permissions: [String]
    /// The scopes this user may grant.
    public var scopes: [String]
    public var email: String?
    public var name: String?

    public init(subject: String, roles: [String] = [], permissions: [String] = [], scopes: [String] = [], email: String? = nil, name: String? = nil) {
        self.subject = subject
        self.roles = roles
        self.permissions = permissions
        self.scopes = scopes
        self.email = email
        self.name = name
    }
}

/// An authorization between `/authorize` and the redirect back to the client.
struct PendingAuthorization: Codable, Sendable {
    var id: String
    var clientID: String
    var redirectURI: String
    /// Whether the request named it (RFC 6749 §4.1.3: then the token request must repeat it).
    var redirectURIGiven: Bool
    /// `prompt=consent`: ask even when consent is remembered.
    var forceConsent: Bool
    var state: String?
    var codeChallenge: String
    var scopes: [String]
    var resource: String
    var nonce: String?
    var createdAt: Int64
    var expiresAt: Int64
    /// Set once the user logged in.
    var user: AuthenticatedUser?
    /// The nonce the consent token of this authorization carries: cleared when used.
    var consentNonce: String?
}

/// An authorization code, stored under the SHA-256 of the code.
struct CodeRecord: Codable, Sendable, Equatable {
    var clientID: String
    var redirectURI: String
    var redirectURIGiven: Bool
    var codeChallenge: String
    var user: AuthenticatedUser
    var scopes: [String]
    var resource: String
    var nonce: String?
    var expiresAt: Int64
    /// Set when the code was exchanged: a second exchange revokes this grant (A2).
    var grantID: String?
}

/// A grant: what one authorization code started, kept alive by its refresh tokens.
public struct GrantRecord: Codable, Sendable, Equatable {
    public var id: String
    public var clientID: String
    public var user: AuthenticatedUser
    public var scopes: [String]
    public var resource: String
    public var createdAt: Int64
    public var expiresAt: Int64
    /// Digests of the refresh tokens not used yet (one, or a few issued from the same previous token).
    var current: [String]
    /// Digest of the token the current ones replaced: still accepted until one of them is used (A9).
    var previous: String?
    /// Access tokens issued under this grant (jti and expiry), revoked with it.
    var accessTokens: [IssuedAccessToken]
    public var revokedAt: Int64?
}

struct IssuedAccessToken: Codable, Sendable, Equatable {
    var jti: String
    var expiresAt: Int64
}

/// A refresh token, stored under its digest: which grant it belongs to.
struct RefreshTokenRecord: Codable, Sendable, Equatable {
    var grantID: String
    var expiresAt: Int64
}

/// What a user consented to for a client (A6); revocable.
public struct ConsentRecord: Codable, Sendable, Equatable {
    public var user: String
    public var clientID: String
    public var scopes: [String]
    public var decidedAt: Int64
}

/// A key the server holds: an access-token signing key or the consent-token key.
struct KeyRecord: Codable, Sendable {
    enum Use: String, Codable { case signing, consent }
    var kid: String
    var use: Use
    var algorithm: String
    /// The private key (PEM) or secret, base64url-encoded behind a `local:` prefix
    /// (`KeySealing`): not encrypted, protected only by the state store's file modes.
    var sealed: String
    var createdAt: Int64
    /// Set when a newer key replaced it: still published until its last token expires.
    var retiredAt: Int64?
}

/// A revoked access token: kept until it would have expired.
struct RevocationRecord: Codable, Sendable {
    var expiresAt: Int64
}

/// A fetched client metadata document and until when it may be reused.
struct ClientDocumentRecord: Codable, Sendable {
    var client: ClientRecord
    var fetchedAt: Int64
    var freshUntil: Int64
}
