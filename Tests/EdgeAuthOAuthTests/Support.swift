import EdgeAuth
import EdgeAuthCache
import EdgeAuthOAuth
import Foundation
import Synchronization
import Testing

/// An authorization server over a state store in a fresh temporary directory, with a clock the test moves.
final class Harness: Sendable {
    let directory: String
    private let ownsDirectory: Bool
    let store: LMDBStateStore
    let server: AuthorizationServer
    let clock: TestClock
    let revocations = Revocations()
    /// The jtis the server revoked, in order.
    var revokedIDs: [String] { revocations.list.withLock { $0 } }
    static let resource = "http://127.0.0.1:8080/mcp"
    static let redirect = "http://127.0.0.1:33418/callback"

    init(settings: OAuthSettings = OAuthSettings(), directory: String? = nil, start: Int64 = 1_800_000_000) throws {
        ownsDirectory = directory == nil
        let directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-oauth-\(UUID().uuidString)").path
        self.directory = directory
        store = try LMDBStateStore(directory: directory)
        let clock = TestClock(start)
        self.clock = clock
        let revocations = self.revocations
        server = try AuthorizationServer(settings: settings, resource: Self.resource, scopes: ["notes:read", "notes:write"], defaultScopes: ["notes:read"],
                                         store: store, clock: { clock.now.load(ordering: .relaxed) },
                                         revokeAccessToken: { jti, _ in revocations.list.withLock { $0.append(jti) } })
    }

    func advance(_ seconds: Int64) { clock.now.add(seconds, ordering: .relaxed) }

    /// Registers a client; returns its id and secret (confidential clients).
    func register(_ metadata: JSONValue = ["redirect_uris": [.string(redirect)], "token_endpoint_auth_method": "none",
                                           "grant_types": ["authorization_code", "refresh_token"], "client_name": "Test client"]) async throws -> (id: String, secret: String?) {
        let response = try await server.register(metadata, from: "127.0.0.1")
        return (response["client_id"]!.stringValue!, response["client_secret"]?.stringValue)
    }

    /// The authorize request of a client with a fresh PKCE pair.
    func authorizeParameters(client: String, scope: String? = "notes:read notes:write", verifier: String = Harness.verifier) -> [String: String] {
        var parameters = ["response_type": "code", "client_id": client, "redirect_uri": Self.redirect, "state": "st-1",
                          "code_challenge": Self.challenge(verifier), "code_challenge_method": "S256", "resource": Self.resource]
        if let scope { parameters["scope"] = scope }
        return parameters
    }

    static let verifier = String(repeating: "v", count: 43) + "-verifier"

    static func challenge(_ verifier: String) -> String {
        Base64URL.encode(OpenSSLSHA256.hash(Array(verifier.utf8)) ?? [])
    }

    /// authorize → login as `user` → approve (when asked): the redirect location.
    func login(client: String, user: String = "alice", parameters: [String: String]? = nil, approve: Bool = true) async throws -> String {
        guard case .login(let login) = await server.authorize(parameters ?? authorizeParameters(client: client)) else { throw Failure("no login page") }
        switch await server.login(pendingID: login.pendingID, user: user) {
        case .redirect(let location):
            return location
        case .consent(let consent):
            guard case .redirect(let location) = await server.consent(pendingID: consent.pendingID, consentToken: consent.consentToken, approve: approve) else {
                throw Failure("no redirect after consent")
            }
            return location
        case let other:
            throw Failure("unexpected step \(other)")
        }
    }

    /// A full login and code exchange: the token response.
    func tokens(client: String, user: String = "alice") async throws -> JSONValue {
        let location = try await login(client: client, user: user)
        let code = try #require(Self.query(location)["code"])
        return try await server.token(["grant_type": "authorization_code", "code": code, "redirect_uri": Self.redirect, "code_verifier": Self.verifier,
                                       "client_id": client], authorization: nil).get()
    }

    func refresh(client: String, _ token: String, scope: String? = nil) async -> Result<JSONValue, OAuthError> {
        var parameters = ["grant_type": "refresh_token", "refresh_token": token, "client_id": client]
        if let scope { parameters["scope"] = scope }
        return await server.token(parameters, authorization: nil)
    }

    static func query(_ location: String) -> [String: String] {
        var out: [String: String] = [:]
        for item in URLComponents(string: location)?.queryItems ?? [] { out[item.name] = item.value }
        return out
    }

    deinit { if ownsDirectory { try? FileManager.default.removeItem(atPath: directory) } }
}

final class TestClock: Sendable {
    let now: Atomic<Int64>
    init(_ start: Int64) { now = Atomic(start) }
}

final class Revocations: Sendable {
    let list = Mutex<[String]>([])
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
