import EdgeAuth

/// The caller's identity as headers, for an upstream (reverse proxy) or a proxy that asked
/// (forward-auth). Lists are joined with commas; each value is percent-encoded outside
/// visible ASCII and for `%` and `,`, so that no claim can end a header, start another,
/// or split a list (`urllib.parse.unquote`, `decodeURIComponent`, `url.PathUnescape` decode it).
enum IdentityHeaders {
    static func of(_ identity: Identity, names: GatewaySettings.IdentityHeaderNames) -> [(String, String)] {
        var out: [(String, String)] = []
        out.reserveCapacity(6)
        if !identity.id.isEmpty { out.append((names.user, encode(identity.id))) }
        if let email = identity.email { out.append((names.email, encode(email))) }
        list(identity.roles, names.roles, into: &out)
        list(identity.permissions, names.permissions, into: &out)
        list(identity.scopes, names.scopes, into: &out)
        if let client = identity.clientId { out.append((names.clientID, encode(client))) }
        return out
    }

    private static func list(_ values: [String], _ name: String, into out: inout [(String, String)]) {
        guard var joined = values.first.map(encode) else { return }
        for value in values.dropFirst() {
            joined += ","
            joined += encode(value)
        }
        out.append((name, joined))
    }

    static func encode(_ value: String) -> String {
        guard value.utf8.contains(where: needsEscape) else { return value }
        var out = [UInt8]()
        out.reserveCapacity(value.utf8.count + 16)
        for byte in value.utf8 {
            if needsEscape(byte) {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x21 || byte > 0x7E || byte == UInt8(ascii: "%") || byte == UInt8(ascii: ",")
    }

    /// Whether a header is one a client must not send: the identity prefix (case-insensitive).
    static func isReserved(_ name: String, prefix: String) -> Bool {
        name.utf8.count >= prefix.utf8.count && name.prefix(prefix.count).lowercased() == prefix.lowercased()
    }
}
