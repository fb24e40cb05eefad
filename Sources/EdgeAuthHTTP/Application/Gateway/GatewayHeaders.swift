import EdgeAuth
import Foundation
import NIOHTTP1

/// Which headers cross the gateway, each way.
enum GatewayHeaders {
    /// Headers about one connection (RFC 9110 §7.6.1), never forwarded, with those the
    /// gateway sets itself.
    private static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authorization", "proxy-authenticate", "content-length", "host", "expect",
    ]

    /// Cookies whose name starts with this are EdgeAuth's, never the upstream's.
    static let ownCookiePrefix = "edgeauth"

    /// The headers of the request to the upstream: the client's, without its credentials
    /// (R7: the token is for EdgeAuth's resource, never passed through), without anything
    /// that claims an identity (the prefix), without the connection's own headers; then the
    /// upstream's `Host`, the `X-Forwarded-*` trail, the caller's identity and the minted token.
    /// - Parameter trustedPeer: the peer is a proxy of `server.rateLimit.trustedProxies`: the
    ///   `X-Forwarded-For` it sent is kept (else a client's own is replaced by its address).
    static func request(_ headers: HTTPHeaders, settings: GatewaySettings, upstream: GatewaySettings.UpstreamURL, peer: String, trustedPeer: Bool, https: Bool,
                        identity: [(String, String)], upstreamToken: String?, bodyLength: Int, method: HTTPMethod) -> HTTPHeaders {
        let named = connectionOptions(headers)
        let prefix = settings.identityHeaders.prefix
        let tokenHeader = settings.upstreamToken?.header.lowercased()
        var out = HTTPHeaders()
        out.reserveCapacity(headers.count + 10)
        out.add(name: "Host", value: upstream.hostHeader)
        var forwardedFor: String?
        for (name, value) in headers {
            let lower = name.lowercased()
            if hopByHop.contains(lower) || named.contains(lower) || lower == "authorization" || lower == tokenHeader
                || IdentityHeaders.isReserved(name, prefix: prefix) { continue }
            switch lower {
            case "cookie":
                if let kept = withoutOwnCookies(value) { out.add(name: name, value: kept) }
            case "x-forwarded-for":
                if trustedPeer { forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value }
            case "x-forwarded-proto", "x-forwarded-host", "forwarded":
                continue
            default:
                out.add(name: name, value: value)
            }
        }
        out.add(name: "X-Forwarded-For", value: forwardedFor.map { $0 + ", " + peer } ?? peer)
        out.add(name: "X-Forwarded-Proto", value: https ? "https" : "http")
        if let host = headers.first(name: "Host") { out.add(name: "X-Forwarded-Host", value: host) }
        for (name, value) in identity { out.add(name: name, value: value) }
        if let upstreamToken, let header = settings.upstreamToken?.header { out.add(name: header, value: upstreamToken) }
        if bodyLength > 0 || method == .POST || method == .PUT || method == .PATCH {
            out.add(name: "Content-Length", value: String(bodyLength))
        }
        return out
    }

    /// The upstream's answer headers as the client gets them: without the connection's own.
    static func response(_ headers: HTTPHeaders) -> [(String, String)] {
        let named = connectionOptions(headers)
        return headers.filter { name, _ in
            let lower = name.lowercased()
            return !(hopByHop.contains(lower) && lower != "content-length") && !named.contains(lower)
        }.map { ($0.name, $0.value) }
    }

    /// The headers a `Connection` header names, which are about this connection only.
    private static func connectionOptions(_ headers: HTTPHeaders) -> Set<String> {
        var named = Set<String>()
        for value in headers["Connection"] {
            for option in value.split(separator: ",") {
                named.insert(option.trimmingCharacters(in: .whitespaces).lowercased())
            }
        }
        named.subtract(["close", "keep-alive"])
        return named
    }

    /// A `Cookie` value without EdgeAuth's cookies (nil when none remains).
    static func withoutOwnCookies(_ value: String) -> String? {
        let kept = value.split(separator: ";").filter { pair in
            !pair.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix(ownCookiePrefix)
        }
        return kept.isEmpty ? nil : kept.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "; ")
    }
}
