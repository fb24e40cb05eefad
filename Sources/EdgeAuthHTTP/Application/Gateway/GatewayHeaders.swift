import EdgeAuth
import NIOHTTP1

/// Which headers cross the gateway, each way. Names are compared as bytes, without case:
/// every request and answer goes through here.
enum GatewayHeaders {
    /// Cookies whose name starts with this are EdgeAuth's, never the upstream's.
    static let ownCookiePrefix = "edgeauth"

    private enum Kind {
        /// Forwarded as it is.
        case kept
        /// About one connection (RFC 9110 §7.6.1): never forwarded, either way.
        case hopByHop
        /// The client's credentials, or what the gateway sets itself: not forwarded to the upstream.
        case replaced
        case cookie
        case forwardedFor
        case forwardedProto
    }

    private static func kind(_ name: String) -> Kind {
        var name = name
        return name.withUTF8 { bytes -> Kind in
            switch bytes.count {
            case 2: return unsafe same(bytes, "te") ? .hopByHop : .kept
            case 4: return unsafe same(bytes, "host") ? .replaced : .kept
            case 6: return unsafe same(bytes, "cookie") ? .cookie : same(bytes, "expect") ? .replaced : .kept
            case 7: return unsafe same(bytes, "trailer") || same(bytes, "upgrade") ? .hopByHop : .kept
            case 9: return unsafe same(bytes, "forwarded") ? .replaced : .kept
            case 10: return unsafe same(bytes, "connection") || same(bytes, "keep-alive") ? .hopByHop : .kept
            case 13: return unsafe same(bytes, "authorization") ? .replaced : .kept
            case 14: return unsafe same(bytes, "content-length") ? .replaced : .kept
            case 15: return unsafe same(bytes, "x-forwarded-for") ? .forwardedFor : .kept
            case 16: return unsafe same(bytes, "proxy-connection") ? .hopByHop : same(bytes, "x-forwarded-host") ? .replaced : .kept
            case 17: return unsafe same(bytes, "transfer-encoding") ? .hopByHop : same(bytes, "x-forwarded-proto") ? .forwardedProto : .kept
            case 18: return unsafe same(bytes, "proxy-authenticate") ? .hopByHop : .kept
            case 19: return unsafe same(bytes, "proxy-authorization") ? .hopByHop : .kept
            default: return .kept
            }
        }
    }

    /// The headers of the request to the upstream: the client's, without its credentials
    /// (R7: the token is for EdgeAuth's resource, never passed through), without anything
    /// that claims an identity (the prefix), without the connection's own headers; then the
    /// upstream's `Host`, the `X-Forwarded-*` trail, the caller's identity and the minted token.
    /// - Parameter trustedPeer: the peer is a proxy of `server.rateLimit.trustedProxies`: the
    ///   `X-Forwarded-For` and `X-Forwarded-Proto` it sent are kept (a client's own are replaced).
    static func request(_ headers: HTTPHeaders, settings: GatewaySettings, upstream: GatewaySettings.UpstreamURL, peer: String, trustedPeer: Bool, https: Bool,
                        identity: [(String, String)], upstreamToken: String?, bodyLength: Int, method: HTTPMethod) -> HTTPHeaders {
        let named = connectionOptions(headers)
        let prefix = settings.identityHeaders.prefix
        let tokenHeader = settings.upstreamToken?.header
        var out = HTTPHeaders()
        out.reserveCapacity(headers.count + 10)
        out.add(name: "Host", value: upstream.hostHeader)
        var forwardedFor: String?
        var proto = https ? "https" : "http"
        var host: String?
        for (name, value) in headers {
            switch kind(name) {
            case .hopByHop:
                continue
            case .replaced:
                if host == nil, name.utf8.count == 4 { host = value }
            case .cookie:
                if let kept = withoutOwnCookies(value) { out.add(name: name, value: kept) }
            case .forwardedFor:
                if trustedPeer { forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value }
            case .forwardedProto:
                if trustedPeer, value == "https" || value == "http" { proto = value }
            case .kept:
                if hasPrefix(name, prefix) || tokenHeader.map({ equal(name, $0) }) == true || named.contains(where: { equal(name, $0) }) { continue }
                out.add(name: name, value: value)
            }
        }
        out.add(name: "X-Forwarded-For", value: forwardedFor.map { $0 + ", " + peer } ?? peer)
        out.add(name: "X-Forwarded-Proto", value: proto)
        if let host { out.add(name: "X-Forwarded-Host", value: host) }
        for (name, value) in identity { out.add(name: name, value: value) }
        if let upstreamToken, let tokenHeader { out.add(name: tokenHeader, value: upstreamToken) }
        if bodyLength > 0 || method == .POST || method == .PUT || method == .PATCH {
            out.add(name: "Content-Length", value: String(bodyLength))
        }
        return out
    }

    /// The upstream's answer headers as the client gets them: without the connection's own
    /// (`Content-Length` is kept: the writer frames the body with it), and without the
    /// upstream's CORS headers when EdgeAuth answers CORS itself (`server.corsOrigins`).
    static func response(_ headers: HTTPHeaders, ownCORS: Bool) -> [(String, String)] {
        let named = connectionOptions(headers)
        var out: [(String, String)] = []
        out.reserveCapacity(headers.count)
        for (name, value) in headers {
            if case .hopByHop = kind(name) { continue }
            if ownCORS, hasPrefix(name, "access-control-") { continue }
            if !named.isEmpty, named.contains(where: { equal(name, $0) }) { continue }
            out.append((name, value))
        }
        return out
    }

    /// The header names a `Connection` header lists, which are about this connection only
    /// (`close` and `keep-alive` aside).
    private static func connectionOptions(_ headers: HTTPHeaders) -> [Substring] {
        var named: [Substring] = []
        for (name, value) in headers where name.utf8.count == 10 {
            guard case .hopByHop = kind(name), name.utf8.first.map(lower) == UInt8(ascii: "c") else { continue }
            // By hand, not `split`: the usual `keep-alive` alone then costs no array.
            var rest = value[...]
            while !rest.isEmpty {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                let token = trimmed(rest[..<end])
                if !equal(token, "close"), !equal(token, "keep-alive"), !token.isEmpty { named.append(token) }
                rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
            }
        }
        return named
    }

    /// A `Cookie` value without EdgeAuth's cookies (nil when none remains).
    static func withoutOwnCookies(_ value: String) -> String? {
        let pairs = value.split(separator: ";").map(trimmed)
        guard pairs.contains(where: { hasPrefix($0, ownCookiePrefix) }) else { return value }
        let kept = pairs.filter { !hasPrefix($0, ownCookiePrefix) }
        return kept.isEmpty ? nil : kept.joined(separator: "; ")
    }

    /// Without the spaces and tabs around it.
    private static func trimmed(_ text: Substring) -> Substring {
        var text = text
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }

    // MARK: Comparing names

    /// Whether `name` spells `lowercase` in any case (`lowercase` is letters, digits and `-`).
    @inline(__always)
    static func equal(_ name: String, lowercase: StaticString) -> Bool {
        guard name.utf8.count == lowercase.utf8CodeUnitCount else { return false }
        var name = name
        return name.withUTF8 { unsafe same($0, lowercase) }
    }

    /// Whether `bytes` spell `lowercase` in any case (`lowercase` is letters, digits and `-`).
    @inline(__always)
    private static func same(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        for index in 0..<bytes.count where unsafe bytes[index] | 0x20 != lowercase.utf8Start[index] { return false }
        return true
    }

    /// ASCII case-insensitive equality.
    @inline(__always)
    static func equal<A: StringProtocol, B: StringProtocol>(_ a: A, _ b: B) -> Bool {
        a.utf8.count == b.utf8.count && hasPrefix(a, b)
    }

    /// Whether `text` starts with `prefix`, without case.
    @inline(__always)
    static func hasPrefix<A: StringProtocol, B: StringProtocol>(_ text: A, _ prefix: B) -> Bool {
        guard text.utf8.count >= prefix.utf8.count else { return false }
        var index = text.utf8.startIndex
        for byte in prefix.utf8 {
            guard lower(text.utf8[index]) == lower(byte) else { return false }
            index = text.utf8.index(after: index)
        }
        return true
    }

    @inline(__always)
    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
