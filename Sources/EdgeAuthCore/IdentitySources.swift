/// Where each field of an `Identity` comes from: slices of the payload that a
/// mapping (standard claims, or a provider's) has picked out.
public struct IdentitySources: Sendable {
    public var subject, issuer, email, name, username, picture, clientId, organization, tokenId: JSONSlice?
    /// A string (one element) or an array of strings (its string elements).
    public var roles, permissions, audience: JSONSlice?
    /// A space-separated string (OAuth `scope`) or an array of strings.
    public var scopes: JSONSlice?
    public var expiresAt: Int64?
    public var issuedAt: Int64?
    public var notBefore: Int64?
    public var signatureVerified = true
    /// More elements for a list, after its main source: each string (or each string
    /// element of an array) with `prefix` in front (Keycloak's client roles as
    /// `client:role` permissions, a union of two role claims).
    public var additions: [ListAddition] = []

    public init() {}

    /// The fields every mapping takes from the registered claims: issuer, audience,
    /// `jti`, client (`client_id`, else `azp`) and times.
    public init(registered c: RegisteredClaims, signatureVerified: Bool) {
        issuer = c.iss
        audience = c.aud
        tokenId = c.jti
        clientId = c.clientID ?? c.azp
        expiresAt = c.exp
        issuedAt = c.iat
        notBefore = c.nbf
        self.signatureVerified = signatureVerified
    }
}

/// Elements appended to one of an identity's lists.
public struct ListAddition: Sendable {
    public var list: IdentityList
    public var source: JSONSlice
    public var prefix: String

    public init(_ list: IdentityList, _ source: JSONSlice, prefix: String = "") {
        self.list = list
        self.source = source
        self.prefix = prefix
    }
}
