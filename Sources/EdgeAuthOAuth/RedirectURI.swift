import EdgeAuth
import Foundation

/// Which redirect URIs a client may register and how a requested one matches (A3, A5).
enum RedirectURI {
    static let maxLength = 2000
    private static let refusedSchemes: Set<String> = ["javascript", "data", "vbscript", "file", "blob", "about", "filesystem", "view-source"]

    /// Why `uri` cannot be registered, or nil when it can: https anywhere; http on a
    /// loopback address only; for a native client also a private-use scheme in reverse
    /// domain form (RFC 8252 §7.1). Never a fragment, a wildcard or user information.
    static func problem(_ uri: String, native: Bool) -> String? {
        guard !uri.isEmpty, uri.utf8.count <= maxLength else { return "must be 1 to \(maxLength) characters" }
        guard uri.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else { return "must be printable ASCII without spaces" }
        guard !uri.contains("*") else { return "must not contain a wildcard" }
        // RFC 3986 has no place for these: a URI containing them is malformed, or an attack on a page showing it.
        guard !uri.unicodeScalars.contains(where: { "<>\"{}|\\^`".unicodeScalars.contains($0) }) else { return "must not contain < > \" { } | \\ ^ or `" }
        guard !uri.contains("#") else { return "must not contain a fragment" }
        guard let components = URLComponents(string: uri), let scheme = components.scheme?.lowercased() else { return "must be an absolute URI" }
        guard !refusedSchemes.contains(scheme) else { return "must not use the \(scheme): scheme" }
        guard components.user == nil, components.password == nil else { return "must not contain user information" }
        switch scheme {
        case "https":
            guard let host = components.host, !host.isEmpty else { return "must name a host" }
            return nil
        case "http":
            guard let host = components.host, LoopbackHost.contains(host) else { return "must use https, or http on a loopback address (127.0.0.1, [::1], localhost)" }
            return nil
        default:
            guard native else { return "must use https (or http on loopback); private-use schemes need application_type native" }
            guard scheme.contains(".") else { return "must use a private-use scheme in reverse domain form, like com.example.app:/callback (RFC 8252 §7.1)" }
            return nil
        }
    }


    /// Whether the `requested` URI is one of `registered`: exactly, or for a loopback http
    /// URI with any port (RFC 8252 §7.3: native clients bind an ephemeral port).
    static func matches(_ requested: String, registered: [String]) -> Bool {
        if registered.contains(requested) { return true }
        guard let wanted = URLComponents(string: requested), wanted.scheme == "http", let host = wanted.host, LoopbackHost.contains(host) else { return false }
        return registered.contains { candidate in
            guard let known = URLComponents(string: candidate), known.scheme == "http", known.host == host else { return false }
            return known.path == wanted.path && known.query == wanted.query
        }
    }
}
