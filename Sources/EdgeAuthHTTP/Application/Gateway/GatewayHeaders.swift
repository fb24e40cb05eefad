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
        return name.withUTF8 { unsafe kind(UnsafeRawBufferPointer($0)) }
    }

    private static func kind(_ bytes: UnsafeRawBufferPointer) -> Kind {
        switch bytes.count {
        case 2: return unsafe HeaderBytes.same(bytes, "te") ? .hopByHop : .kept
        case 4: return unsafe HeaderBytes.same(bytes, "host") ? .replaced : .kept
        case 6: return unsafe HeaderBytes.same(bytes, "cookie") ? .cookie : HeaderBytes.same(bytes, "expect") ? .replaced : .kept
        case 7: return unsafe HeaderBytes.same(bytes, "trailer") || HeaderBytes.same(bytes, "upgrade") ? .hopByHop : .kept
        case 9: return unsafe HeaderBytes.same(bytes, "forwarded") ? .replaced : .kept
        case 10: return unsafe HeaderBytes.same(bytes, "connection") || HeaderBytes.same(bytes, "keep-alive") ? .hopByHop : .kept
        case 13: return unsafe HeaderBytes.same(bytes, "authorization") ? .replaced : .kept
        case 14: return unsafe HeaderBytes.same(bytes, "content-length") ? .replaced : .kept
        case 15: return unsafe HeaderBytes.same(bytes, "x-forwarded-for") ? .forwardedFor : .kept
        case 16: return unsafe HeaderBytes.same(bytes, "proxy-connection") ? .hopByHop : HeaderBytes.same(bytes, "x-forwarded-host") ? .replaced : .kept
        case 17: return unsafe HeaderBytes.same(bytes, "transfer-encoding") ? .hopByHop : HeaderBytes.same(bytes, "x-forwarded-proto") ? .forwardedProto : .kept
        case 18: return unsafe HeaderBytes.same(bytes, "proxy-authenticate") ? .hopByHop : .kept
        case 19: return unsafe HeaderBytes.same(bytes, "proxy-authorization") ? .hopByHop : .kept
        default: return .kept
        }
    }

    /// The headers of the request to the upstream: the client's, without its credentials
    /// (R7: the token is for EdgeAuth's resource, never passed through), without anything
    /// that claims an identity (the prefix), without the connection's own headers; then the
    /// upstream's `Host`, the `X-Forwarded-*` trail, the caller's identity and the minted token.
    /// - Parameter trustedPeer: the peer is a proxy of `server.rateLimit.trustedProxies`: the
    ///   `X-Forwarded-For` and `X-Forwarded-Proto` it sent are kept (a client's own are replaced).
    static func request(_ headers: HTTPHeaders, settings: GatewaySettings, upstream: GatewaySettings.UpstreamURL, peer: String, trustedPeer: Bool, https: Bool,
                        identity: [(String, String)], upstreamToken: String?, bodyLength: Int, method: HTTPMethod) -> [(String, String)] {
        let named = connectionOptions(headers)
        let prefix = settings.identityHeaders.prefix
        let tokenHeader = settings.upstreamToken?.header
        var out: [(String, String)] = []
        out.reserveCapacity(headers.count + identity.count + 6)
        out.append(("Host", upstream.hostHeader))
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
                if let kept = withoutOwnCookies(value) { out.append((name, kept)) }
            case .forwardedFor:
                if trustedPeer { forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value }
            case .forwardedProto:
                if trustedPeer, value == "https" || value == "http" { proto = value }
            case .kept:
                if hasPrefix(name, prefix) || tokenHeader.map({ equal(name, $0) }) == true || named.contains(where: { equal(name, $0) }) { continue }
                out.append((name, value))
            }
        }
        out.append(("X-Forwarded-For", forwardedFor.map { $0 + ", " + peer } ?? peer))
        out.append(("X-Forwarded-Proto", proto))
        if let host { out.append(("X-Forwarded-Host", host)) }
        for (name, value) in identity { out.append((name, value)) }
        if let upstreamToken, let tokenHeader { out.append((tokenHeader, upstreamToken)) }
        if bodyLength > 0 || method == .POST || method == .PUT || method == .PATCH {
            out.append(("Content-Length", String(bodyLength)))
        }
        return out
    }

    /// Whether one of the upstream's answer headers reaches the client: not the connection's
    /// own, not the framing (the writer frames the body), and not the upstream's CORS headers
    /// when EdgeAuth answers CORS itself (`server.corsOrigins`).
    static func passesToClient(_ name: UnsafeRawBufferPointer, of head: UpstreamResponseHead, ownCORS: Bool) -> Bool {
        if case .hopByHop = unsafe kind(name) { return false }
        if unsafe HeaderBytes.same(name, "content-length") { return false }
        if unsafe ownCORS && name.count >= 15 && HeaderBytes.same(UnsafeRawBufferPointer(rebasing: name[..<15]), "access-control-") { return false }
        return unsafe !head.namesConnectionOptions || !isConnectionOption(name, of: head)
    }

    /// Whether a `Connection` header of `head` lists `name`.
    private static func isConnectionOption(_ name: UnsafeRawBufferPointer, of head: UpstreamResponseHead) -> Bool {
        var listed = false
        unsafe head.forEachField { field, value in
            guard unsafe HeaderBytes.same(field, "connection") else { return }
            unsafe HeaderBytes.forEachElement(value) { token in
                if unsafe token.count == name.count && zip(token, name).allSatisfy({ lower($0) == lower($1) }) { listed = true }
            }
        }
        return listed
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
