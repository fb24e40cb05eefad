import EdgeAuth
import Foundation

/// The server as an OAuth 2.0 protected resource: its RFC 9728 metadata (docs/requirements.md
/// R1) and the `WWW-Authenticate` challenges that point clients to it (R2, R3).
public final class ProtectedResource: Sendable {
    /// The canonical resource URL (`resource`).
    public let resource: String
    public let authorizationServers: [String]
    public let scopesSupported: [String]
    /// Scopes every request to the protected prefix needs.
    public let requiredScopes: [String]
    /// `scheme://host[:port]` of the resource: where a browser request from the resource's own pages comes from.
    public let origin: String
    /// The absolute URL of the metadata document (path-inserted form), named in every challenge.
    public let metadataURL: String
    /// The paths the metadata is served at: the path-inserted one and the root one.
    public let metadataPaths: Set<String>
    /// The document, serialized once.
    public let metadataDocument: [UInt8]

    static let wellKnown = "/.well-known/oauth-protected-resource"

    public init(server: ServerConfiguration, issuers: [String]) {
        resource = server.resourceURL
        authorizationServers = server.authorizationServers.isEmpty ? issuers : server.authorizationServers
        scopesSupported = server.scopesSupported.isEmpty ? server.requiredScopes : server.scopesSupported
        requiredScopes = server.requiredScopes
        // RFC 9728 §3.1: the well-known segment goes between the host and the resource's path.
        let path = URL(string: resource)?.path ?? ""
        origin = Self.origin(of: resource)
        metadataURL = origin + Self.wellKnown + path
        metadataPaths = [Self.wellKnown, Self.wellKnown + path]
        var document: [String: JSONValue] = [
            "resource": .string(resource),
            "authorization_servers": .array(authorizationServers.map(JSONValue.string)),
            "bearer_methods_supported": ["header"],
            "scopes_supported": .array(scopesSupported.map(JSONValue.string)),
        ]
        if let name = server.resourceName { document["resource_name"] = .string(name) }
        if let documentation = server.resourceDocumentation { document["resource_documentation"] = .string(documentation) }
        metadataDocument = Array(JSONValue.object(document).jsonText.utf8)
    }

    /// `scheme://host[:port]` of an absolute URL (the URL itself when it does not parse).
    public static func origin(of url: String) -> String {
        guard let path = URL(string: url)?.path else { return url }
        return String(url.dropLast(path.count))
    }

    /// A `WWW-Authenticate` value (RFC 6750 §3): no `error` when the request had no token.
    public func challenge(error: String? = nil, description: String? = nil, scopes: [String]? = nil) -> String {
        BearerChallenge.text(error: error, description: description, metadataURL: metadataURL, scopes: scopes ?? requiredScopes)
    }

    /// 403 `insufficient_scope` (R3): the challenge names every scope the operation needs,
    /// so that a client can ask for all of them at once.
    public func insufficientScope(_ description: String, scopes: [String]) -> HTTPReply {
        .error(.forbidden, "insufficient_scope", description,
               headers: [("WWW-Authenticate", challenge(error: "insufficient_scope", description: description, scopes: scopes))])
    }
}
