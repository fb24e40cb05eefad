import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// Where verification keys come from.
public enum KeySource: Sendable, Hashable {
    /// A JWKS document given inline.
    case jwks(String)
    /// A JWKS document in a file.
    case jwksFile(String)
    /// A JWKS document at an HTTPS URL (plain HTTP only for loopback hosts).
    case jwksURL(String)
    /// The JWKS named by an issuer's OIDC discovery document
    /// (`{issuer}/.well-known/openid-configuration`, whose `issuer` must match exactly).
    case discovery(issuer: String)
    /// A PEM public key or certificate in a file.
    case pemFile(String, kid: String? = nil)
    /// An HMAC secret read from a file (raw bytes; one trailing newline is ignored).
    case hmacSecretFile(String, kid: String? = nil)
    /// An HMAC secret read from an environment variable (its UTF-8 bytes).
    case hmacSecretEnvironment(String, kid: String? = nil)
}

/// Reads key sets from local sources, and downloads documents for remote ones (`KeyRing`).
public enum KeyLoader {
    /// Largest JWKS document accepted from a file (URLs: `KeyRefreshSettings.maxDocumentBytes`).
    public static let maxDocumentBytes = 1 << 20

    /// The `jwks_uri` of an issuer's OIDC discovery document. The document's `issuer`
    /// must equal the configured one exactly (OpenID Connect Discovery §4.3), so a
    /// document served for another issuer is never trusted.
    public static func discoverJWKSURL(issuer: String, settings: KeyRefreshSettings = KeyRefreshSettings()) async throws(ConfigurationError) -> String {
        let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        let url = base + "/.well-known/openid-configuration"
        let document = try await download(url, what: "discovery document", settings: settings).body
        guard case .object(let metadata)? = try? JSONValue.parse(document) else {
            throw ConfigurationError("discovery document \(url) is not a JSON object")
        }
        guard metadata["issuer"]?.stringValue == issuer else {
            throw ConfigurationError("discovery document \(url) names issuer \(metadata["issuer"]?.stringValue.map { "\"\($0)\"" } ?? "none"), not \"\(issuer)\"")
        }
        guard let jwksURI = metadata["jwks_uri"]?.stringValue, !jwksURI.isEmpty else {
            throw ConfigurationError("discovery document \(url) has no jwks_uri")
        }
        return jwksURI
    }

    /// Loads a source that needs no network (everything but `.jwksURL` and `.discovery`), synchronously.
    /// - Throws: `ConfigurationError` naming the source and the problem.
    public static func loadLocal(_ source: KeySource, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> KeySet {
        do {
            switch source {
            case .jwks(let text):
                return try KeySet(jwksJSON: Array(text.utf8))
            case .jwksFile(let path):
                return try KeySet(jwksJSON: try readFile(path))
            case .jwksURL, .discovery:
                throw ConfigurationError("\(source.label) must be downloaded with KeyRing.load")
            case .pemFile(let path, let kid):
                return KeySet(keys: [try VerificationKey(pem: String(decoding: try readFile(path), as: UTF8.self), kid: kid)])
            case .hmacSecretFile(let path, let kid):
                var secret = try readFile(path)
                if secret.last == UInt8(ascii: "\n") { secret.removeLast() }
                return KeySet(keys: [try VerificationKey(hmacSecret: secret, kid: kid)])
            case .hmacSecretEnvironment(let name, let kid):
                guard let value = environment[name], !value.isEmpty else {
                    throw ConfigurationError("environment variable \(name) is not set (expected an HMAC secret of at least 32 bytes)")
                }
                return KeySet(keys: [try VerificationKey(hmacSecret: Array(value.utf8), kid: kid)])
            }
        } catch let error as CryptoError {
            throw ConfigurationError("\(source.label): \(error.reason)" + (error.underlying.map { " (\($0))" } ?? ""))
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("\(source.label): \(error)")
        }
    }

    static func readFile(_ path: String) throws(ConfigurationError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ConfigurationError("cannot read \(path)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxDocumentBytes + 1) ?? Data()
        } catch {
            throw ConfigurationError("cannot read \(path): \(error)")
        }
        guard data.count <= maxDocumentBytes else { throw ConfigurationError("\(path) is larger than \(maxDocumentBytes) bytes") }
        return Array(data)
    }

    /// A downloaded document and the lifetime its `Cache-Control` gives it.
    struct Download {
        let body: [UInt8]
        /// `max-age` in seconds (0 for `no-store`/`no-cache`); nil without the header.
        let maxAge: Int64?
    }

    /// Downloads a document: HTTPS only (HTTP for loopback), bounded connect time,
    /// total time and size.
    static func download(_ urlString: String, what: String, settings: KeyRefreshSettings) async throws(ConfigurationError) -> Download {
        guard let url = URL(string: urlString), let scheme = url.scheme?.lowercased(), let host = url.host else {
            throw ConfigurationError("\(what) \(urlString) is not a valid URL")
        }
        guard scheme == "https" || (scheme == "http" && LoopbackHost.contains(host)) else {
            throw ConfigurationError("\(what) \(urlString) must use https (plain http is allowed only for loopback hosts)")
        }
        var request = HTTPClientRequest(url: urlString)
        request.headers.add(name: "Accept", value: "application/jwk-set+json, application/json")
        let client = client(connectTimeout: settings.connectTimeout)
        let sent = request
        let timeout = TimeAmount.nanoseconds(settings.fetchTimeout.nanoseconds)
        let limit = settings.maxDocumentBytes
        // `fetchTimeout` bounds the whole download: AsyncHTTPClient's timeout ends with the
        // answer's head, and a server that then holds the body must not hold the refresh.
        let outcome: Result<(HTTPClientResponse, ByteBuffer), DownloadFailure>
        outcome = await withTaskGroup(of: Result<(HTTPClientResponse, ByteBuffer), DownloadFailure>?.self) { group in
            group.addTask {
                let response: HTTPClientResponse
                do {
                    response = try await client.execute(sent, timeout: timeout)
                } catch {
                    return .failure(.fetch(error))
                }
                guard response.status == .ok else { return .failure(.status(response.status.code)) }
                do {
                    return .success((response, try await response.body.collect(upTo: limit)))
                } catch is NIOTooManyBytesError {
                    return .failure(.tooLarge)
                } catch {
                    return .failure(.interrupted(error))
                }
            }
            group.addTask {
                try? await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(.timedOut)
        }
        switch outcome {
        case .success(let (response, body)):
            return Download(body: Array(buffer: body), maxAge: maxAge(cacheControl: response.headers["Cache-Control"]))
        case .failure(.fetch(let error)):
            throw ConfigurationError("\(what) \(urlString) could not be fetched: \(error)")
        case .failure(.status(let code)):
            throw ConfigurationError("\(what) \(urlString) answered HTTP \(code)")
        case .failure(.tooLarge):
            throw ConfigurationError("\(what) \(urlString): response larger than \(limit) bytes")
        case .failure(.interrupted(let error)):
            throw ConfigurationError("\(what) \(urlString): response interrupted: \(error)")
        case .failure(.timedOut):
            throw ConfigurationError("\(what) \(urlString) could not be fetched: no whole answer within \(settings.fetchTimeout) (fetchTimeout)")
        }
    }

    private enum DownloadFailure: Error {
        case fetch(any Error)
        case status(UInt)
        case tooLarge
        case interrupted(any Error)
        case timedOut
    }

    /// The freshness lifetime a `Cache-Control` header gives (RFC 9111 §5.2.2):
    /// `no-store` and `no-cache` mean none, else `max-age`.
    package static func maxAge(cacheControl values: [String]) -> Int64? {
        var maxAge: Int64?
        for directive in values.joined(separator: ",").split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            switch parts[0] {
            case "no-store", "no-cache": return 0
            case "max-age" where parts.count == 2:
                if let seconds = Int64(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))), seconds >= 0 { maxAge = seconds }
            default: continue
            }
        }
        return maxAge
    }

    /// One client per connect timeout, for the life of the process (a client must be shut
    /// down before it is released, and key refreshes go on as long as the process does).
    private static let clients = Mutex<[Duration: HTTPClient]>([:])

    static func client(connectTimeout: Duration) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[connectTimeout] { return client }
            var configuration = HTTPClient.Configuration()
            configuration.timeout.connect = .nanoseconds(connectTimeout.nanoseconds)
            // Keys come from the configured URL only, never from wherever it redirects.
            configuration.redirectConfiguration = .disallow
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[connectTimeout] = client
            return client
        }
    }

}

extension KeySource {
    /// Whether loading the source needs the network.
    public var isRemote: Bool {
        switch self {
        case .jwksURL, .discovery: true
        default: false
        }
    }

    /// What the source is, for messages (never a secret's value).
    public var label: String {
        switch self {
        case .jwks: "inline JWKS"
        case .jwksFile(let path): "JWKS file \(path)"
        case .jwksURL(let url): "JWKS URL \(url)"
        case .discovery(let issuer): "OIDC discovery for \(issuer)"
        case .pemFile(let path, _): "PEM file \(path)"
        case .hmacSecretFile(let path, _): "HMAC secret file \(path)"
        case .hmacSecretEnvironment(let name, _): "HMAC secret variable \(name)"
        }
    }
}
