import EdgeAuth
import EdgeAuthCore

/// The caller's identity as headers, for an upstream (reverse proxy) or a proxy that asked
/// (forward-auth). Lists are joined with commas; each value is percent-encoded outside
/// visible ASCII and for `%` and `,`, so that no claim can end a header, start another,
/// or split a list (`urllib.parse.unquote`, `decodeURIComponent`, `url.PathUnescape` decode it).
enum IdentityHeaders {
    static func of(_ identity: Identity, names: GatewaySettings.IdentityHeaderNames) -> [(String, String)] {
        let storage = identity.storage
        var out: [(String, String)] = []
        out.reserveCapacity(6)
        // Read from the identity's own bytes: no array of strings per list, one string per header.
        func field(_ field: IdentityField, _ name: String) {
            guard let bytes = unsafe storage.entry(field), unsafe !(field == .subject && bytes.isEmpty) else { return }
            out.append((name, encode(storage, field.rawValue..<field.rawValue + 1)))
        }
        func list(_ list: IdentityList, _ name: String) {
            let entries = storage.range(list)
            if !entries.isEmpty { out.append((name, encode(storage, entries))) }
        }
        field(.subject, names.user)
        field(.email, names.email)
        list(.roles, names.roles)
        list(.permissions, names.permissions)
        list(.scopes, names.scopes)
        field(.clientId, names.clientID)
        return out
    }

    /// The entries joined with commas, each percent-encoded where `needsEscape` says.
    private static func encode(_ storage: IdentityStorage, _ entries: Range<Int>) -> String {
        var count = entries.count - 1
        for entry in entries {
            let bytes = unsafe storage.entry(entry)!
            count += bytes.count
            for unsafe byte in unsafe bytes where needsEscape(byte) { count += 2 }
        }
        return unsafe String(unsafeUninitializedCapacity: count) { out in
            var index = 0
            // Never past `count`: a miscount would cut the value, not write past the string.
            func put(_ byte: UInt8) {
                guard index < out.count else { return }
                unsafe out[index] = byte
                index += 1
            }
            for entry in entries {
                if entry != entries.lowerBound { put(UInt8(ascii: ",")) }
                for unsafe byte in unsafe storage.entry(entry)! {
                    if needsEscape(byte) {
                        put(UInt8(ascii: "%"))
                        put(hexDigits[Int(byte >> 4)])
                        put(hexDigits[Int(byte & 0x0F)])
                    } else {
                        put(byte)
                    }
                }
            }
            return index
        }
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
