import EdgeAuth

/// Paths the gateway matches against its routes. A route's requirements hold only if the
/// path a server behind the gateway serves is the one the gateway matched; servers merge
/// slashes, remove dot segments and decode percent-escapes, so a path that any of these
/// would change (`/mcp//admin`, `/mcp/./admin`, `/mcp/x/../admin`, `/mcp/%61dmin`,
/// `/mcp/public/..;/admin`) is refused instead of being matched as something else.
enum GatewayPath {
    static func isNormal(_ path: String) -> Bool {
        var path = path
        return path.withUTF8 { bytes in
            guard unsafe bytes.first == UInt8(ascii: "/") else { return false }
            // The current segment: where it starts, and whether it is all dots so far.
            var segmentStart = 1
            var index = 1
            while index <= bytes.count {
                let byte = unsafe index < bytes.count ? bytes[index] : UInt8(ascii: "/")
                switch byte {
                case UInt8(ascii: "/"):
                    let length = index - segmentStart
                    // An empty segment is a doubled slash, except the last one (a trailing slash).
                    if length == 0, index < bytes.count { return false }
                    if length == 1 || length == 2, unsafe bytes[segmentStart] == UInt8(ascii: "."), unsafe bytes[index - 1] == UInt8(ascii: ".") { return false }
                    segmentStart = index + 1
                case UInt8(ascii: "\\"), UInt8(ascii: ";"):
                    // A backslash some servers read as a slash; path parameters some (Tomcat,
                    // Spring) strip before matching, so `/public/..;/admin` would reach `/admin`.
                    return false
                case UInt8(ascii: "%"):
                    guard index + 2 < bytes.count, let high = unsafe JSONText.hexValue(bytes[index + 1]), let low = unsafe JSONText.hexValue(bytes[index + 2]) else { return false }
                    let decoded = high << 4 | low
                    // Escapes a server would decode into another path, and control characters.
                    if decoded < 0x20 || decoded == 0x7F || decoded == UInt8(ascii: "/") || decoded == UInt8(ascii: "\\") || isUnreserved(decoded) { return false }
                    index += 2
                default:
                    break
                }
                index += 1
            }
            return true
        }
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
