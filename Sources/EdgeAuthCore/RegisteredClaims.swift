/// The registered claims of a payload, as offsets into the decoded payload.
public struct RegisteredClaims: Sendable {
    public var iss: JSONSlice?
    public var sub: JSONSlice?
    /// A string or an array of strings.
    public var aud: JSONSlice?
    public var jti: JSONSlice?
    public var scope: JSONSlice?
    public var azp: JSONSlice?
    public var clientID: JSONSlice?
    public var exp: Int64?
    public var nbf: Int64?
    public var iat: Int64?

    /// The profile claims the standard identity mapping reads (OIDC and common
    /// access-token claims), found in the same pass: `email`, `name`,
    /// `preferred_username`, `picture`, `roles`, `permissions`, `scp`, `org_id`.
    public var email: JSONSlice?
    public var name: JSONSlice?
    public var preferredUsername: JSONSlice?
    public var picture: JSONSlice?
    public var roles: JSONSlice?
    public var permissions: JSONSlice?
    public var scp: JSONSlice?
    public var orgID: JSONSlice?

    public init() {}
}
