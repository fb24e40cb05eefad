import EdgeAuth
import Foundation

/// The JWTs the authorization server signs: access tokens for the protected resource
/// (verified by the same engine and cache as every other token) and OIDC ID tokens.
enum AccessTokenMinter {
    /// An access token (RFC 9068): `iss`, `aud` = the resource, `sub`, `client_id`, `scope`,
    /// `roles`, `permissions`, `jti`, `iat`, `exp`, and the user's email and name.
    static func accessToken(keys: ServerKeys, issuer: String, audience: String, client: String, user: AuthenticatedUser, scopes: [String],
                            lifetime: Int64, now: Int64) throws -> (token: String, jti: String) {
        let jti = Secrets.random(bytes: 16)
        var claims: [String: JSONValue] = [
            "iss": .string(issuer), "aud": .string(audience), "sub": .string(user.subject), "client_id": .string(client),
            "scope": .string(scopes.filter { $0 != "offline_access" }.joined(separator: " ")),
            "roles": .array(user.roles.map(JSONValue.string)), "permissions": .array(user.permissions.map(JSONValue.string)),
            "jti": .string(jti), "iat": .number(String(now)), "exp": .number(String(now + lifetime)),
        ]
        if let email = user.email { claims["email"] = .string(email) }
        if let name = user.name { claims["name"] = .string(name) }
        return (try sign(claims, type: "at+jwt", keys: keys), jti)
    }

    /// An ID token for a client that was granted `openid`.
    static func idToken(keys: ServerKeys, issuer: String, client: String, user: AuthenticatedUser, nonce: String?, lifetime: Int64, now: Int64) throws -> String {
        var claims: [String: JSONValue] = [
            "iss": .string(issuer), "aud": .string(client), "sub": .string(user.subject), "iat": .number(String(now)),
            "exp": .number(String(now + lifetime)), "auth_time": .number(String(now)),
        ]
        if let nonce { claims["nonce"] = .string(nonce) }
        if let email = user.email { claims["email"] = .string(email) }
        if let name = user.name { claims["name"] = .string(name) }
        return try sign(claims, type: "JWT", keys: keys)
    }

    private static func sign(_ claims: [String: JSONValue], type: String, keys: ServerKeys) throws -> String {
        let header: JSONValue = ["alg": .string(keys.algorithm.name), "typ": .string(type), "kid": .string(keys.signing.kid ?? "")]
        return try TokenSigner.sign(header: header, claims: .object(claims), key: keys.signing, algorithm: keys.algorithm)
    }
}
