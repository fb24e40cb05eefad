import AsyncHTTPClient
import EdgeAuth
import EdgeAuthCache
import Foundation
import NIOCore
import NIOSSL

/// Client ID Metadata Documents (A4): a `client_id` that is an https URL names a JSON
/// document describing the client, fetched from there. The fetch is SSRF-safe: https only,
/// the host resolved here and refused when any address is loopback, private, link-local or
/// otherwise not public (unless configured for tests), the connection made to the address
/// checked, no redirects, a size limit and a timeout. Documents are kept in the state store
/// for as long as their `Cache-Control` allows (within bounds).
public final class ClientMetadataDocuments: Sendable {
    let settings: OAuthSettings.ClientMetadataDocumentSettings
    let tlsConfiguration: TLSConfiguration
    static let maxURLLength = 400
    static let defaultFreshness: Int64 = 300
    static let maxFreshness: Int64 = 86_400

    public init(settings: OAuthSettings.ClientMetadataDocumentSettings) throws(ConfigurationError) {
        self.settings = settings
        var tls = TLSConfiguration.makeClientConfiguration()
        if let path = settings.trustedCertificates {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ConfigurationError("oauth.clientMetadataDocuments.trustedCertificates: cannot read \(path)")
            }
            tls.additionalTrustRoots = [.file(path)]
        }
        tlsConfiguration = tls
    }

    /// Whether a `client_id` is a document URL: https with a path beyond `/`.
    static func isDocumentURL(_ clientID: String) -> Bool {
        guard clientID.hasPrefix("https://"), let components = URLComponents(string: clientID) else { return false }
        return !components.path.isEmpty && components.path != "/"
    }

    /// The client the document at `url` describes: from the store while fresh, else fetched.
    func client(_ url: String, state: AuthorizationState, knownScopes: Set<String>, now: Int64) async throws(OAuthError) -> ClientRecord {
        guard url.utf8.count <= Self.maxURLLength, let components = URLComponents(string: url), components.fragment == nil,
              components.user == nil, components.password == nil, let host = components.host, !host.isEmpty
        else { throw OAuthError(.invalidClient, "the client metadata document URL is not acceptable") }
        if let cached = try? state.store.read({ reader in try reader.record(ClientDocumentRecord.self, .clientDocuments, url) }), cached.freshUntil > now {
            return cached.client
        }
        let (body, maxAge) = try await fetch(url, host: host, port: components.port ?? 443)
        let document: JSONValue
        do {
            document = try JSONValue.parse(body, limits: JSONLimits(maxDepth: 8, maxMembers: 256))
        } catch {
            throw OAuthError(.invalidClient, "the client metadata document is not valid JSON")
        }
        guard document["client_id"]?.stringValue == url else {
            throw OAuthError(.invalidClient, "the client metadata document's client_id is not its URL")
        }
        var client = try Self.record(document, url: url, knownScopes: knownScopes, now: now)
        client.documentHost = host
        let freshness = min(max(maxAge ?? Self.defaultFreshness, 0), Self.maxFreshness)
        let record = ClientDocumentRecord(client: client, fetchedAt: now, freshUntil: now + freshness)
        _ = try? await state.store.commit { writer in try writer.save(record, .clientDocuments, url) }
        return client
    }

    static func record(_ document: JSONValue, url: String, knownScopes: Set<String>, now: Int64) throws(OAuthError) -> ClientRecord {
        do throws(OAuthError) {
            var client = try ClientRegistration.client(from: document, clientID: url, knownScopes: knownScopes, now: now)
            // A document cannot carry a secret: its clients are public (or use keys, not supported here).
            if document["token_endpoint_auth_method"] == nil { client.tokenEndpointAuthMethod = "none" }
            guard client.isPublic else { throw OAuthError(.invalidClient, "a client metadata document's token_endpoint_auth_method must be none") }
            if document["grant_types"] == nil { client.grantTypes = ["authorization_code", "refresh_token"] }
            return client
        } catch {
            throw OAuthError(.invalidClient, "the client metadata document is not acceptable: \(error.description)")
        }
    }

    /// GETs the document from an address checked to be public.
    private func fetch(_ url: String, host: String, port: Int) async throws(OAuthError) -> ([UInt8], Int64?) {
        let addresses = Self.resolve(host)
        guard let address = addresses.first else { throw OAuthError(.invalidClient, "the client metadata document's host does not resolve") }
        // The address itself is not shown: the answer would tell anyone what internal names resolve to.
        if !settings.allowPrivateAddresses, addresses.contains(where: { !Self.isPublic($0) }) {
            throw OAuthError(.invalidClient, "the client metadata document's host resolves to a non-public address")
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tlsConfiguration)
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = .milliseconds(Int64(settings.timeout * 1000))
        configuration.timeout.read = .milliseconds(Int64(settings.timeout * 1000))
        // Connect to the address checked above; the certificate is still checked for the host.
        configuration.dnsOverride = [host: address]
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { client.shutdown { _ in } }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(settings.timeout * 1000)))
            guard response.status == .ok else { throw OAuthError(.invalidClient, "the client metadata document answered \(response.status.code)") }
            let body = try await response.body.collect(upTo: settings.maxBytes)
            return (Array(buffer: body), KeyLoader.maxAge(cacheControl: response.headers["Cache-Control"]))
        } catch let error as OAuthError {
            throw error
        } catch is NIOTooManyBytesError {
            throw OAuthError(.invalidClient, "the client metadata document is larger than \(settings.maxBytes) bytes")
        } catch {
            throw OAuthError(.invalidClient, "the client metadata document could not be fetched")
        }
    }

    /// Every address `host` resolves to (numeric hosts as they are).
    static func resolve(_ host: String) -> [String] {
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(bare, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !addresses.contains(text) { addresses.append(text) }
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }

    /// Whether an address is public: not loopback, private, link-local, shared (CGNAT),
    /// unspecified, multicast, reserved, or an IPv6 form of one of those.
    static func isPublic(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return isPublicIPv4(UInt32(bigEndian: v4.s_addr))
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address.split(separator: "%").first.map(String.init) ?? address, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return isPublicIPv4(UInt32(bytes[12]) << 24 | UInt32(bytes[13]) << 16 | UInt32(bytes[14]) << 8 | UInt32(bytes[15]))
        }
        if bytes[0..<12].allSatisfy({ $0 == 0 }) { return false } // ::, ::1 and the IPv4-compatible ::/96
        if bytes[0] == 0x20, bytes[1] == 0x02 { // 6to4 2002::/16: the IPv4 address it carries
            return isPublicIPv4(UInt32(bytes[2]) << 24 | UInt32(bytes[3]) << 16 | UInt32(bytes[4]) << 8 | UInt32(bytes[5]))
        }
        if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0, bytes[3] == 0 { return false } // Teredo 2001::/32
        if bytes[0] & 0xFE == 0xFC { return false } // fc00::/7 unique local
        if bytes[0] == 0xFE, bytes[1] & 0xC0 == 0x80 || bytes[1] & 0xC0 == 0xC0 { return false } // fe80::/10 link-local, fec0::/10 site-local
        if bytes[0] == 0xFF { return false } // multicast
        if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x0D, bytes[3] == 0xB8 { return false } // documentation
        if bytes[0] == 0x00, bytes[1] == 0x64, bytes[2] == 0xFF, bytes[3] == 0x9B { return false } // NAT64
        return true
    }

    private static func isPublicIPv4(_ a: UInt32) -> Bool {
        let refused: [(UInt32, Int)] = [
            (0x0000_0000, 8), (0x0A00_0000, 8), (0x6440_0000, 10), (0x7F00_0000, 8), (0xA9FE_0000, 16), (0xAC10_0000, 12),
            (0xC000_0000, 24), (0xC000_0200, 24), (0xC0A8_0000, 16), (0xC612_0000, 15), (0xC633_6400, 24), (0xCB00_7100, 24),
            (0xE000_0000, 4), (0xF000_0000, 4),
        ]
        return !refused.contains { network, bits in a >> (32 - bits) == network >> (32 - bits) }
    }
}
