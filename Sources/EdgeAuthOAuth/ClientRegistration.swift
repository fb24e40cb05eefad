import EdgeAuth
import Foundation

/// Dynamic client registration (RFC 7591, A3): the metadata a client sends, checked member
/// by member; unknown members are ignored as the RFC asks.
enum ClientRegistration {
    static let maxRedirectURIs = 10
    static let maxNameLength = 200
    static let authMethods: Set<String> = ["none", "client_secret_post", "client_secret_basic"]
    static let grantTypes: Set<String> = ["authorization_code", "refresh_token"]

    /// A client record from registration metadata, or the error that refuses it.
    /// - Parameter knownScopes: the scopes a client may ask for (`scope` must be among them).
    static func client(from metadata: JSONValue, clientID: String, knownScopes: Set<String>, now: Int64) throws(OAuthError) -> ClientRecord {
        guard case .object(let members) = metadata else { throw OAuthError(.invalidClientMetadata, "the registration must be a JSON object") }
        let applicationType = try string(members, "application_type") ?? "web"
        guard ["web", "native"].contains(applicationType) else { throw OAuthError(.invalidClientMetadata, "application_type must be web or native") }
        guard case .array(let uris)? = members["redirect_uris"], !uris.isEmpty else {
            throw OAuthError(.invalidRedirectURI, "redirect_uris must be a non-empty array of URIs")
        }
        guard uris.count <= maxRedirectURIs else { throw OAuthError(.invalidRedirectURI, "at most \(maxRedirectURIs) redirect_uris") }
        var redirectURIs: [String] = []
        for uri in uris {
            guard case .string(let text) = uri else { throw OAuthError(.invalidRedirectURI, "every redirect URI must be a string") }
            if let problem = RedirectURI.problem(text, native: applicationType == "native") {
                throw OAuthError(.invalidRedirectURI, "redirect URI \(shown(text)) \(problem)")
            }
            redirectURIs.append(text)
        }
        let grants = try strings(members, "grant_types") ?? ["authorization_code"]
        guard Set(grants).isSubset(of: grantTypes), grants.contains("authorization_code") else {
            throw OAuthError(.invalidClientMetadata, "grant_types must include authorization_code and may add refresh_token (no other grant is supported)")
        }
        let responses = try strings(members, "response_types") ?? ["code"]
        guard responses == ["code"] else { throw OAuthError(.invalidClientMetadata, "response_types must be [\"code\"]") }
        let method = try string(members, "token_endpoint_auth_method") ?? "client_secret_basic"
        guard authMethods.contains(method) else {
            throw OAuthError(.invalidClientMetadata, "token_endpoint_auth_method must be none, client_secret_post or client_secret_basic")
        }
        var name = try string(members, "client_name")
        if let given = name {
            guard given.count <= maxNameLength else { throw OAuthError(.invalidClientMetadata, "client_name is limited to \(maxNameLength) characters") }
            name = String(given.unicodeScalars.filter { $0.properties.generalCategory != .control }.map(Character.init))
        }
        let scope = try string(members, "scope")
        if let scope {
            let unknown = Set(scope.split(separator: " ").map(String.init)).subtracting(knownScopes)
            guard unknown.isEmpty else { throw OAuthError(.invalidClientMetadata, "scope names unknown scopes: \(unknown.sorted().joined(separator: " "))") }
        }
        return ClientRecord(clientID: clientID, secretDigest: nil, name: name, redirectURIs: redirectURIs, grantTypes: grants,
                            tokenEndpointAuthMethod: method, applicationType: applicationType, scope: scope, createdAt: now)
    }

    /// The registration response (RFC 7591 §3.2.1): the metadata as registered, the id, and the secret once.
    static func response(_ client: ClientRecord, secret: String?) -> JSONValue {
        var members: [String: JSONValue] = [
            "client_id": .string(client.clientID),
            "client_id_issued_at": .number(String(client.createdAt)),
            "redirect_uris": .array(client.redirectURIs.map(JSONValue.string)),
            "grant_types": .array(client.grantTypes.map(JSONValue.string)),
            "response_types": ["code"],
            "token_endpoint_auth_method": .string(client.tokenEndpointAuthMethod),
            "application_type": .string(client.applicationType),
        ]
        if let name = client.name { members["client_name"] = .string(name) }
        if let scope = client.scope { members["scope"] = .string(scope) }
        if let secret {
            members["client_secret"] = .string(secret)
            members["client_secret_expires_at"] = 0
        }
        return .object(members)
    }

    private static func string(_ members: [String: JSONValue], _ name: String) throws(OAuthError) -> String? {
        guard let value = members[name], value != .null else { return nil }
        guard case .string(let text) = value else { throw OAuthError(.invalidClientMetadata, "\(name) must be a string") }
        return text
    }

    private static func strings(_ members: [String: JSONValue], _ name: String) throws(OAuthError) -> [String]? {
        guard let value = members[name], value != .null else { return nil }
        guard case .array(let items) = value else { throw OAuthError(.invalidClientMetadata, "\(name) must be an array of strings") }
        var out: [String] = []
        for item in items {
            guard case .string(let text) = item else { throw OAuthError(.invalidClientMetadata, "\(name) must be an array of strings") }
            out.append(text)
        }
        return out
    }

    /// A value quoted in a message: short, printable.
    static func shown(_ text: String) -> String {
        let printable = String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.map(Character.init))
        return "\"" + (printable.count > 80 ? String(printable.prefix(80)) + "…" : printable) + "\""
    }
}
