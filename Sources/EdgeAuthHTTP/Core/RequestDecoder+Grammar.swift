import NIOCore

/// The grammar of the parts of a request the decoder checks beyond its lines and fields:
/// chunk sizes and their extensions, absolute-form targets and authorities.
extension RequestDecoder {
    /// `chunk-size [ chunk-ext ]`: hex digits (at most 8: a chunk above 4 GiB is refused),
    /// then extensions, checked (`isChunkExtension`) and ignored.
    static func chunkSize(_ line: ByteBuffer) throws -> Int {
        try unsafe line.withUnsafeReadableBytes { bytes in
            var size = 0
            var digits = 0
            for unsafe (index, byte) in unsafe bytes.enumerated() {
                let value: Int
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A") + 10)
                case UInt8(ascii: ";"):
                    guard digits > 0, unsafe isChunkExtension(UnsafeRawBufferPointer(rebasing: bytes[index...])) else {
                        throw RequestDecodingError.malformed("chunk extension")
                    }
                    return size
                default: throw RequestDecodingError.malformed("chunk size")
                }
                digits += 1
                guard digits <= 8 else { throw RequestDecodingError.malformed("chunk size") }
                size = size * 16 + value
            }
            guard digits > 0 else { throw RequestDecodingError.malformed("chunk size") }
            return size
        }
    }

    /// `*( ";" name [ "=" ( token / quoted-string ) ] )` (RFC 9112 §7.1.1, without the optional
    /// whitespace around `;` and `=`, which llhttp refuses too): what two parsers could split
    /// differently — a colon, a stray quote, a space — is refused.
    static func isChunkExtension(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        func token() -> Bool {
            let start = index
            while index < bytes.count, unsafe isTokenCharacter(bytes[index]) { index += 1 }
            return index > start
        }
        func quoted() -> Bool {
            index += 1
            while index < bytes.count {
                let byte = unsafe bytes[index]
                if byte == UInt8(ascii: "\"") { index += 1; return true }
                if byte == UInt8(ascii: "\\") {
                    index += 1
                    guard index < bytes.count, unsafe bytes[index] >= 0x20 && bytes[index] != 0x7F || bytes[index] == 0x09 else { return false }
                } else if byte < 0x20 && byte != 0x09 || byte == 0x7F {
                    return false
                }
                index += 1
            }
            return false
        }
        repeat {
            guard index < bytes.count, unsafe bytes[index] == UInt8(ascii: ";") else { return false }
            index += 1
            guard token() else { return false }
            if index < bytes.count, unsafe bytes[index] == UInt8(ascii: "=") {
                index += 1
                guard index < bytes.count else { return false }
                guard unsafe bytes[index] == UInt8(ascii: "\"") ? quoted() : token() else { return false }
            }
        } while index < bytes.count
        return true
    }

    /// `http://authority/path?query` (or https, the scheme in any case) as origin-form and the
    /// authority; nil for any other target. The authority is a host and port: no user
    /// information (RFC 9110 §4.2.4), never empty.
    static func absoluteForm(_ target: UnsafeRawBufferPointer) -> (uri: String, authority: String)? {
        let http: StaticString = "http://", https: StaticString = "https://"
        let schemeLength: Int
        if target.count > 7, unsafe isEqual(UnsafeRawBufferPointer(rebasing: target[..<7]), http, ignoringCase: true) {
            schemeLength = 7
        } else if target.count > 8, unsafe isEqual(UnsafeRawBufferPointer(rebasing: target[..<8]), https, ignoringCase: true) {
            schemeLength = 8
        } else {
            return nil
        }
        let rest = unsafe target[schemeLength...]
        let end = unsafe rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? target.count
        let authority = unsafe UnsafeRawBufferPointer(rebasing: target[schemeLength..<end])
        guard unsafe !authority.isEmpty, unsafe isAuthority(authority) else { return nil }
        let pathAndQuery = unsafe String(decoding: target[end...], as: UTF8.self)
        let uri = pathAndQuery.hasPrefix("/") ? pathAndQuery : "/" + pathAndQuery
        return unsafe (uri, String(decoding: authority, as: UTF8.self))
    }

    /// `uri-host [ ":" port ]` (RFC 9110 §7.2): the characters of a registered name, an IPv4
    /// address or a bracketed IP literal, and a port; empty is allowed (a target without
    /// authority). No `@`, `/` or whitespace.
    static func isAuthority(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for unsafe byte in unsafe bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"), UInt8(ascii: "!"),
                 UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"),
                 UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "["),
                 UInt8(ascii: "]"):
                continue
            default:
                return false
            }
        }
        return true
    }
}
