import EdgeAuthCore
@testable import EdgeAuthHTTP
@testable import EdgeAuthOAuth
import NIOCore

/// The authorization server's inputs: form bodies, registration metadata, client metadata
/// documents and redirect URIs.
enum OAuthTargets {
    static let scopes: Set<String> = ["openid", "offline_access", "read:tools", "call:tools"]

    /// `/token`, `/revoke` and consent bodies, and `/authorize` query strings.
    static let form = FuzzTarget(name: "form") { bytes in
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        if let form = try? FormBody(buffer, contentType: FormBody.mediaType) {
            let parameters = try? form.parameters()
            // The client's credentials, from the body and the Authorization header of a token request.
            _ = try? ClientCredentials(parameters ?? [:], authorization: parameters?["authorization"])
        }
        _ = try? FormBody(query: Substring(bytes.text)).parameters()
    }

    static let clientRegistration = FuzzTarget(name: "client-registration") { bytes in
        guard let metadata = try? JSONValue.parse(bytes) else { return }
        _ = try? ClientRegistration.client(from: metadata, clientID: "fuzz-client", knownScopes: scopes, now: 1_764_003_600)
    }

    static let clientMetadata = FuzzTarget(name: "client-metadata") { bytes in
        guard let document = try? JSONValue.parse(bytes) else { return }
        _ = try? ClientMetadataDocuments.record(document, url: "https://client.example/metadata.json", knownScopes: scopes, now: 1_764_003_600)
    }

    static let redirectURI = FuzzTarget(name: "redirect-uri") { bytes in
        let text = bytes.text
        _ = RedirectURI.problem(text, native: false)
        _ = RedirectURI.problem(text, native: true)
    }
}
