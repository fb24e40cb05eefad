import EdgeAuth
import EdgeAuthOAuth
import Foundation

/// What a process of a proxy-mode server opens once (LMDB allows one handle per process):
/// the state store, the server's keys, and the settings the routes need.
public struct AuthorizationLaunch: Sendable {
    public let settings: OAuthSettings
    public let store: LMDBStateStore
    public let issuer: String
    public let keys: ServerKeys
    /// The key this generation of workers signs with (set by the master; nil in the master).
    let signingKeyID: String?
    /// Names the signing key of a generation of workers, so that they all sign with the same
    /// one whatever rotation happens before the next reload.
    public static let signingKeyVariable = "EDGEAUTH_SIGNING_KEY_ID"

    /// The state store's directory under a data directory.
    public static func stateDirectory(_ dataDirectory: String) -> String { (dataDirectory as NSString).appendingPathComponent("state") }

    /// Opens the state store under `dataDirectory` (creating the keys on first start) and
    /// makes `verifier` trust the tokens this server issues: its issuer, for the resource,
    /// signed with its published keys. Refuses settings that would be unsafe off loopback.
    static func prepare(_ settings: OAuthSettings, server: inout ServerConfiguration, dataDirectory: String, environment: [String: String],
                        verifier: inout VerifierConfiguration, keepingIssuers: Bool) throws(ConfigurationError) -> AuthorizationLaunch {
        let resource = server.resourceURL
        let issuer = settings.issuer ?? OAuthSettings.defaultIssuer(resource: resource)
        let loopback = LoopbackHost.contains(server.host)
        if !loopback {
            // Off loopback, codes and tokens travel over https only: EdgeAuth's own TLS, or a
            // TLS-terminating reverse proxy the operator declared (its address in trustedProxies).
            guard issuer.hasPrefix("https://"), resource.hasPrefix("https://"),
                  server.tls != nil || !server.rateLimit.trustedProxies.isEmpty
            else {
                throw ConfigurationError("""
                    proxy mode on \(server.host) needs https: configure server.tls (certificate and key), or put a TLS-terminating \
                    reverse proxy in front, list its address in server.rateLimit.trustedProxies and set server.resource and oauth.issuer \
                    to the public https URLs; or listen on loopback
                    """)
            }
            guard settings.allowDevelopmentOffLoopback else {
                throw ConfigurationError("the development identity provider serves loopback only; set oauth.allowDevelopmentOffLoopback to true to serve it on \(server.host) (never in production)")
            }
        }
        let store: LMDBStateStore
        let keys: ServerKeys
        do {
            store = try LMDBStateStore(directory: stateDirectory(dataDirectory))
            keys = try ServerKeys.load(store, algorithm: settings.signingAlgorithm, publishFor: Int64(settings.lifetimes.accessToken))
        } catch {
            throw ConfigurationError("the state store in \(stateDirectory(dataDirectory)): \(error)")
        }
        // Tokens of the configured provider stay trusted beside EdgeAuth's own when the file names one.
        let keepingIssuers = keepingIssuers || !verifier.keys.isEmpty
        var issuers = keepingIssuers ? verifier.exactIssuers : []
        if !issuers.contains(issuer) { issuers.append(issuer) }
        verifier.policy.issuers = .exactly(issuers)
        verifier.policy.audiences = .anyOf([resource])
        verifier.policy.algorithms = keepingIssuers ? verifier.policy.algorithms.union(AlgorithmSet([.es256, .edDSA])) : AlgorithmSet([.es256, .edDSA])
        verifier.keys = (keepingIssuers ? verifier.keys : []) + [.jwks(keys.jwks.jsonText)]
        if verifier.cache == nil { verifier.cache = CacheConfiguration(directory: (dataDirectory as NSString).appendingPathComponent("cache")) }
        if server.authorizationServers.isEmpty { server.authorizationServers = [issuer] }
        guard server.authorizationServers.first == issuer else {
            throw ConfigurationError("in proxy mode, server.authorizationServers must start with the issuer \(issuer) (clients compare it byte for byte with the metadata), or be left out")
        }
        return AuthorizationLaunch(settings: settings, store: store, issuer: issuer, keys: keys, signingKeyID: environment[signingKeyVariable])
    }

    /// The authorization server of one worker, revoking through its verifier.
    func makeServer(server: ServerConfiguration, verifier: Verifier) throws -> AuthorizationServer {
        let documents = settings.clientMetadataDocuments.enabled ? try ClientMetadataDocuments(settings: settings.clientMetadataDocuments) : nil
        let authorization = try AuthorizationServer(settings: settings, resource: server.resourceURL, scopes: server.scopesSupported,
                                                    defaultScopes: server.requiredScopes.isEmpty ? server.scopesSupported : server.requiredScopes,
                                                    store: store, documents: documents, signingKeyID: signingKeyID,
                                                    revokeAccessToken: { jti, expiresAt in try? verifier.revoke(tokenID: jti, until: expiresAt) })
        // Revocations survive a lost verdict cache: the durable list is applied again at start.
        for revoked in (try? authorization.activeRevocations()) ?? [] { try? verifier.revoke(tokenID: revoked.jti, until: revoked.expiresAt) }
        return authorization
    }

    /// The variables of a new generation of workers: the key they sign with.
    func generationEnvironment() -> [String: String] {
        guard let kid = try? ServerKeys.currentSigningKeyID(store, algorithm: settings.signingAlgorithm) else { return [:] }
        return [Self.signingKeyVariable: kid]
    }

}
