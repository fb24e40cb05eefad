import EdgeAuth

/// The JWTs the authorization server signs: access tokens for the protected resource
/// (verified by the same engine and cache as every other token) and OIDC ID tokens. Their
/// payloads are written straight into bytes; the headers are encoded once per key.
enum AccessTokenMinter {
    /// The base64url JOSE headers of the signing key: `at+jwt` for access tokens, `JWT` for ID tokens.
    struct Headers: Sendable {
        let accessToken: [UInt8]
        let idToken: [UInt8]

        init(algorithm: Algorithm, kid: String) {
            func encoded(_ type: String) -> [UInt8] {
                var header = JSONObjectWriter(capacity: 96)
                header.string("alg", algorithm.name)
                header.string("kid", kid)
                header.string("typ", type)
                var out: [UInt8] = []
                Base64URL.append(header.finished(), to: &out)
                return out
            }
            accessToken = encoded("at+jwt")
            idToken = encoded("JWT")
        }
    }

    /// An access token (RFC 9068): `iss`, `aud` = the resource, `sub`, `client_id`, `scope`,
    /// `roles`, `permissions`, `jti`, `iat`, `exp`, and the user's email and name.
    static func accessToken(keys: ServerKeys, issuer: String, audience: String, client: String, user: AuthenticatedUser, scopes: [String],
                            lifetime: Int64, now: Int64) throws -> (token: [UInt8], jti: String) {
        let jti = Secrets.random(bytes: 16)
        var claims = JSONObjectWriter(capacity: 512)
        claims.string("iss", issuer)
        claims.string("aud", audience)
        claims.string("sub", user.subject)
        claims.string("client_id", client)
        claims.string("scope", scopes.filter { $0 != "offline_access" }.joined(separator: " "))
        claims.strings("roles", user.roles)
        claims.strings("permissions", user.permissions)
        claims.string("jti", jti)
        claims.integer("iat", now)
        claims.integer("exp", now + lifetime)
        claims.string("email", user.email)
        claims.string("name", user.name)
        return (try sign(claims.finished(), header: keys.headers.accessToken, keys: keys), jti)
    }

    /// An ID token for a client that was granted `openid`.
    static func idToken(keys: ServerKeys, issuer: String, client: String, user: AuthenticatedUser, nonce: String?, lifetime: Int64, now: Int64) throws -> [UInt8] {
        var claims = JSONObjectWriter(capacity: 384)
        claims.string("iss", issuer)
        claims.string("aud", client)
        claims.string("sub", user.subject)
        claims.integer("iat", now)
        claims.integer("exp", now + lifetime)
        claims.integer("auth_time", now)
        claims.string("nonce", nonce)
        claims.string("email", user.email)
        claims.string("name", user.name)
        return try sign(claims.finished(), header: keys.headers.idToken, keys: keys)
    }

    /// A token for a gateway's upstream: who the verified caller is, signed by EdgeAuth for
    /// that upstream alone (`aud`), short-lived, so the upstream can check it against `/jwks`.
    static func upstreamToken(keys: ServerKeys, issuer: String, audience: String, caller: Identity, lifetime: Int64, now: Int64) throws -> [UInt8] {
        var claims = JSONObjectWriter(capacity: 512)
        claims.string("iss", issuer)
        claims.string("aud", audience)
        claims.string("sub", caller.id)
        claims.string("client_id", caller.clientId)
        claims.string("scope", caller.scopes.joined(separator: " "))
        claims.strings("roles", caller.roles)
        claims.strings("permissions", caller.permissions)
        claims.string("jti", Secrets.random(bytes: 16))
        claims.integer("iat", now)
        claims.integer("exp", now + lifetime)
        claims.string("email", caller.email)
        claims.string("name", caller.name)
        return try sign(claims.finished(), header: keys.headers.idToken, keys: keys)
    }

    private static func sign(_ payload: [UInt8], header: [UInt8], keys: ServerKeys) throws -> [UInt8] {
        try TokenSigner.sign(encodedHeader: header, payload: payload, key: keys.signing, algorithm: keys.algorithm)
    }
}
