import EdgeAuth
import EdgeAuthOAuth
import Foundation

/// The embedded default of `edgeauth serve`: an ES256 signing key generated once under the
/// data directory (mode 0600), trusted by the server, and used by `edgeauth dev-token` to
/// mint tokens for trying the server without an identity provider. Nothing else ever signs
/// with it, and it never leaves the machine.
public struct DevelopmentIssuer: Sendable {
    public let directory: String
    public let key: SigningKey
    /// The issuer (`iss`) of development tokens: the server's own origin.
    public let issuer: String
    /// The audience (`aud`): the protected resource.
    public let audience: String

    public static let keyFile = "dev-signing-key.pem"
    public static let jwksFile = "dev-jwks.json"
    public static let kid = "edgeauth-dev"

    /// Loads the development key from `directory`, creating it (and the directory, 0700) on first use.
    public static func open(directory: String, server: ServerConfiguration, create: Bool = true) throws(ConfigurationError) -> DevelopmentIssuer {
        let keyPath = (directory as NSString).appendingPathComponent(keyFile)
        let key: SigningKey
        do {
            if FileManager.default.fileExists(atPath: keyPath) {
                let attributes = try FileManager.default.attributesOfItem(atPath: keyPath)
                if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
                    throw ConfigurationError("\(keyPath) is readable by other users (mode \(String(mode, radix: 8))); run chmod 600 \(keyPath)")
                }
                key = try SigningKey.load(pem: try String(contentsOfFile: keyPath, encoding: .utf8), kid: kid)
            } else {
                guard create else { throw ConfigurationError("no development key at \(keyPath): start edgeauth serve without a configuration first") }
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                key = try SigningKey.generate(.ec(.p256), kid: kid)
                let created = FileManager.default.createFile(atPath: keyPath, contents: Data(try key.privateKeyPEM().utf8), attributes: [.posixPermissions: 0o600])
                guard created else { throw ConfigurationError("cannot write \(keyPath)") }
            }
            let jwks: JSONValue = ["keys": [try key.publicJWK(alg: .es256)]]
            try Data(jwks.jsonText.utf8).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(jwksFile)), options: .atomic)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("development key in \(directory): \(error)")
        }
        let resource = server.resourceURL
        // The issuer of the authorization server too (proxy mode), so that a user is the same user in both tokens.
        return DevelopmentIssuer(directory: directory, key: key, issuer: OAuthSettings.defaultIssuer(resource: resource), audience: resource)
    }

    /// The verifier configuration that trusts this key (and only it), with a cache in the data directory.
    public var verifierConfiguration: VerifierConfiguration {
        VerifierConfiguration(
            policy: ValidationPolicy(issuers: .exactly([issuer]), audiences: .anyOf([audience]), algorithms: AlgorithmSet([.es256])),
            keys: [.jwksFile((directory as NSString).appendingPathComponent(Self.jwksFile))],
            cache: CacheConfiguration(directory: (directory as NSString).appendingPathComponent("cache"))
        )
    }

    /// A token for `user` with these roles, permissions and scopes, valid for `lifetime` seconds.
    public func token(user: String, roles: [String] = [], permissions: [String] = [], scopes: [String] = [], email: String? = nil, lifetime: Int64 = 3600,
                      now: Int64 = Int64(Date().timeIntervalSince1970)) throws(ConfigurationError) -> String {
        var claims: [String: JSONValue] = [
            "iss": .string(issuer), "aud": .string(audience), "sub": .string(user), "iat": .number(String(now)),
            "exp": .number(String(now + lifetime)), "jti": .string(UUID().uuidString.lowercased()),
        ]
        if !roles.isEmpty { claims["roles"] = .array(roles.map(JSONValue.string)) }
        if !permissions.isEmpty { claims["permissions"] = .array(permissions.map(JSONValue.string)) }
        if !scopes.isEmpty { claims["scope"] = .string(scopes.joined(separator: " ")) }
        if let email { claims["email"] = .string(email) }
        let header: JSONValue = ["alg": "ES256", "typ": "at+jwt", "kid": .string(Self.kid)]
        do {
            return try TokenSigner.sign(header: header, claims: .object(claims), key: key, algorithm: .es256)
        } catch {
            throw ConfigurationError("signing the development token: \(error)")
        }
    }
}
