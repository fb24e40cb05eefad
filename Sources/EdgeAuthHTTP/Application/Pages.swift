import Foundation
import NIOCore
import NIOHTTP1

/// HTML pages (login, consent, errors) and browser redirects: answers a browser renders or
/// follows, so each carries the headers that keep it from being framed, cached or sniffed.
extension HTTPReply {
    /// The policy of every page: nothing loads from elsewhere, no script, forms post back
    /// here only, no framing. Styles come from the page itself (`<style>` with `styleNonce`).
    /// `formRedirects`: where a form's answer may redirect the browser (browsers hold the
    /// redirect after a form's POST to `form-action` too): the client's redirect URI on a login.
    public static func contentSecurityPolicy(styleNonce: String? = nil, formRedirects: [String] = []) -> String {
        let style = styleNonce.map { "'nonce-\($0)'" } ?? "'none'"
        let forms = (["'self'"] + formRedirects).joined(separator: " ")
        return "default-src 'none'; style-src \(style); img-src 'self' data:; form-action \(forms); frame-ancestors 'none'; base-uri 'none'"
    }

    /// The CSP source of a redirect URI: `scheme://host[:port]`, or `scheme:` for a private-use scheme; nil when it has none safe to name.
    public static func formRedirectSource(_ uri: String) -> String? {
        guard let components = URLComponents(string: uri), let scheme = components.scheme?.lowercased(),
              scheme.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "+-.".unicodeScalars.contains($0) })
        else { return nil }
        guard scheme == "http" || scheme == "https" else { return scheme + ":" }
        guard let host = components.host, !host.isEmpty, host.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "-.:[]".unicodeScalars.contains($0) })
        else { return nil }
        let shownHost = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(shownHost)\(components.port.map { ":\($0)" } ?? "")"
    }

    /// An HTML page. `document` must be built with `HTML.escape` for every value it includes.
    public static func html(_ status: HTTPResponseStatus, _ document: String, styleNonce: String? = nil, formRedirects: [String] = []) -> HTTPReply {
        HTTPReply(status: status, headers: [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Security-Policy", contentSecurityPolicy(styleNonce: styleNonce, formRedirects: formRedirects)),
            ("X-Frame-Options", "DENY"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
        ], body: ByteBuffer(string: document))
    }

    /// A redirect (302, or 303 after a form's POST) to `location`, which must be an absolute
    /// `http`/`https` URL, a URL of a private scheme (a native client's, RFC 8252 §7.1), or a
    /// path on this server; never one that a browser would read as another host (`//evil`),
    /// nor one with a fragment, control characters or spaces.
    public static func redirect(to location: String, status: HTTPResponseStatus = .found) throws(RedirectError) -> HTTPReply {
        guard status == .found || status == .seeOther else { throw .status(status.code) }
        guard Self.isSafeLocation(location) else { throw .location(location) }
        return HTTPReply(status: status, headers: [("Location", location), ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer")])
    }

    static func isSafeLocation(_ location: String) -> Bool {
        guard !location.isEmpty, location.utf8.count <= 8192,
              location.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }),
              !location.contains("#")
        else { return false }
        if location.hasPrefix("/") { return !location.hasPrefix("//") }
        guard let components = URLComponents(string: location), let scheme = components.scheme?.lowercased() else { return false }
        switch scheme {
        case "http", "https":
            return components.host.map { !$0.isEmpty } ?? false
        case "javascript", "data", "vbscript", "file", "blob":
            return false
        default:
            // A private-use scheme of a native app, like com.example.app:/callback.
            return true
        }
    }
}

/// Why a redirect was not made.
public enum RedirectError: Error, Sendable, Equatable {
    case status(UInt)
    case location(String)
}

/// Text into HTML.
public enum HTML {
    /// The text with `& < > " '` as character references: safe in element content and quoted attributes.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
