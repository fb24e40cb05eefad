/// Strict base64url (RFC 4648 §5) as JWS compact serialization uses it:
/// no padding, no whitespace, and the unused trailing bits of the last
/// character must be zero, so every byte string has exactly one encoding.
public enum Base64URL {
    /// 0...63 for alphabet bytes, 0xFF for everything else.
    @usableFromInline
    static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()

    static let encodeTable: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The number of bytes `length` base64url characters decode to, or nil when
    /// no canonical unpadded encoding has that length (length % 4 == 1).
    @inlinable
    public static func decodedLength(_ length: Int) -> Int? {
        switch length % 4 {
        case 0: return length / 4 * 3
        case 2: return length / 4 * 3 + 1
        case 3: return length / 4 * 3 + 2
        default: return nil
        }
    }

    /// Four tables of 256 entries: the value of a character already shifted to its
    /// place in a 24-bit group (table k: `value << (18 - 6k)`), or `invalid` — a bit
    /// above the group, so one test on the OR of four lookups checks all four bytes.
    @usableFromInline
    static let shiftedTables: [UInt32] = {
        var tables = [UInt32](repeating: invalid, count: 4 * 256)
        for byte in 0..<256 where decodeTable[byte] != 0xFF {
            for k in 0..<4 { tables[k * 256 + byte] = UInt32(decodeTable[byte]) << (18 - 6 * k) }
        }
        return tables
    }()

    @usableFromInline static let invalid: UInt32 = 1 << 24

    /// Eight tables of 256 entries, one per position in a group of eight characters:
    /// a character's six bits already placed where they land in the group's six
    /// decoded bytes, as a little-endian word, or `invalidInGroup`. The OR of a
    /// group's eight lookups is the decoded bytes, stored with one write.
    @usableFromInline
    static let groupTables: [UInt64] = {
        var tables = [UInt64](repeating: invalidInGroup, count: 8 * 256)
        for byte in 0..<256 where decodeTable[byte] != 0xFF {
            for position in 0..<8 {
                // The group's 48 bits, first character on top...
                let bits = UInt64(decodeTable[byte]) << (42 - 6 * position)
                // ...become six bytes, most significant first in memory.
                var word: UInt64 = 0
                for index in 0..<6 { word |= ((bits >> (40 - 8 * index)) & 0xFF) << (8 * index) }
                tables[position * 256 + byte] = word
            }
        }
        return tables
    }()

    @usableFromInline static let invalidInGroup: UInt64 = 1 << 63

    /// Decodes `input` into `output`, which must hold `decodedLength(input.count)` bytes.
    /// With 2 bytes to spare after that, eight characters are decoded per step and
    /// stored with one 8-byte write (the spare bytes are overwritten).
    /// - Returns: the number of bytes written.
    /// - Throws: the malformation: a byte outside the alphabet (including `=` and
    ///   whitespace), an impossible length, or non-zero trailing bits.
    @inlinable
    package static func decode(
        _ input: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws(Malformation) -> Int {
        guard let total = decodedLength(input.count) else { throw .base64Length }
        // A buffer that is too small is the caller's mistake, reported rather than trapped on.
        guard output.count >= total else { throw .base64Length }
        try unsafe shiftedTables.withUnsafeBufferPointer { (tables) throws(Malformation) in
            let t = tables.baseAddress!
            let n = input.count
            var i = 0
            var o = 0
            @inline(__always) func group(_ at: Int) -> UInt32 {
                unsafe t[Int(input[at])] | t[256 + Int(input[at + 1])] | t[512 + Int(input[at + 2])] | t[768 + Int(input[at + 3])]
            }
            // Eight characters → 48 bits, written big-endian as one 8-byte store.
            while i + 8 <= n, o + 8 <= output.count {
                let a = group(i), b = group(i + 4)
                if (a | b) & invalid != 0 { throw unsafe invalidByte(input[i..<(i + 8)]) }
                unsafe output.storeBytes(of: ((UInt64(a) << 40) | (UInt64(b) << 16)).bigEndian, toByteOffset: o, as: UInt64.self)
                i += 8
                o += 6
            }
            while i + 4 <= n {
                let a = group(i)
                if a & invalid != 0 { throw unsafe invalidByte(input[i..<(i + 4)]) }
                unsafe output[o] = UInt8(truncatingIfNeeded: a >> 16)
                unsafe output[o + 1] = UInt8(truncatingIfNeeded: a >> 8)
                unsafe output[o + 2] = UInt8(truncatingIfNeeded: a)
                i += 4
                o += 3
            }
            let rest = n - i
            if rest >= 2 {
                var a = unsafe t[Int(input[i])] | t[256 + Int(input[i + 1])]
                if rest == 3 { unsafe a |= t[512 + Int(input[i + 2])] }
                if a & invalid != 0 { throw unsafe invalidByte(input[i..<n]) }
                // The bits the last character carries beyond the final byte must be zero.
                if a & (rest == 2 ? 0xFFFF : 0xFF) != 0 { throw .base64NonCanonical }
                unsafe output[o] = UInt8(truncatingIfNeeded: a >> 16)
                if rest == 3 { unsafe output[o + 1] = UInt8(truncatingIfNeeded: a >> 8) }
            }
        }
        return total
    }

    /// Decodes the base64url run that starts at `start` and ends at the first byte
    /// outside the alphabet (a segment's `.`) or at the end of `input`: one pass
    /// both finds the segment and decodes it. `output` needs 2 spare bytes after the
    /// decoded length. Nil when the run's length or its trailing bits are not
    /// canonical; the caller then classifies the problem on the strict, slower path.
    @inlinable
    static func decodeRun(
        _ input: UnsafeRawBufferPointer, from start: Int, into output: UnsafeMutableRawPointer
    ) -> (stop: Int, count: Int)? {
        unsafe groupTables.withUnsafeBufferPointer { groups -> (stop: Int, count: Int)? in
            let g = groups.baseAddress!
            let n = input.count
            var i = start
            var o = 0
            @inline(__always) func group(_ at: Int) -> UInt64 {
                unsafe g[Int(input[at])] | g[256 &+ Int(input[at &+ 1])] | g[512 &+ Int(input[at &+ 2])] | g[768 &+ Int(input[at &+ 3])]
                    | g[1024 &+ Int(input[at &+ 4])] | g[1280 &+ Int(input[at &+ 5])] | g[1536 &+ Int(input[at &+ 6])] | g[1792 &+ Int(input[at &+ 7])]
            }
            // Two groups per step while sixteen characters are left (the loop's own
            // bookkeeping is shared by twice as many characters), then one.
            while i &+ 16 <= n {
                let first = group(i), second = group(i &+ 8)
                if (first | second) & invalidInGroup != 0 { break }
                unsafe output.storeBytes(of: first.littleEndian, toByteOffset: o, as: UInt64.self)
                unsafe output.storeBytes(of: second.littleEndian, toByteOffset: o &+ 6, as: UInt64.self)
                i &+= 16
                o &+= 12
            }
            while i &+ 8 <= n {
                let word = group(i)
                if word & invalidInGroup != 0 { break }
                unsafe output.storeBytes(of: word.littleEndian, toByteOffset: o, as: UInt64.self)
                i &+= 8
                o &+= 6
            }
            // The last characters one at a time, up to the first byte outside the alphabet.
            var bits: UInt32 = 0
            var pending = 0
            while i < n {
                // A last-position entry holds the character's six bits in its sixth byte.
                let entry = unsafe g[1792 &+ Int(input[i])]
                if entry & invalidInGroup != 0 { break }
                bits = bits << 6 | UInt32(truncatingIfNeeded: entry >> 40)
                pending += 1
                i += 1
                if pending == 4 {
                    unsafe output.storeBytes(of: UInt8(truncatingIfNeeded: bits >> 16), toByteOffset: o, as: UInt8.self)
                    unsafe output.storeBytes(of: UInt8(truncatingIfNeeded: bits >> 8), toByteOffset: o + 1, as: UInt8.self)
                    unsafe output.storeBytes(of: UInt8(truncatingIfNeeded: bits), toByteOffset: o + 2, as: UInt8.self)
                    o += 3
                    pending = 0
                    bits = 0
                }
            }
            switch pending {
            case 0: break
            case 2:
                guard bits & 0xF == 0 else { return nil }
                unsafe output.storeBytes(of: UInt8(truncatingIfNeeded: bits >> 4), toByteOffset: o, as: UInt8.self)
                o += 1
            case 3:
                guard bits & 0x3 == 0 else { return nil }
                unsafe output.storeBytes(of: UInt8(truncatingIfNeeded: bits >> 10), toByteOffset: o, as: UInt8.self)
                unsafe output.storeBytes(of: UInt8(truncatingIfNeeded: bits >> 2), toByteOffset: o + 1, as: UInt8.self)
                o += 2
            default:
                return nil
            }
            return (i, o)
        }
    }

    /// Classifies a group that contained a byte outside the alphabet.
    @usableFromInline
    static func invalidByte(_ group: Slice<UnsafeRawBufferPointer>) -> Malformation {
        for unsafe byte in unsafe group {
            switch byte {
            case UInt8(ascii: "="): return .base64Padding
            case 0x00...0x20, 0x7F: return .whitespace  // whitespace and control characters
            default: continue
            }
        }
        return .base64Alphabet
    }

    /// Decodes a base64url string into a new array (configuration and tooling path).
    public static func decode(_ text: some StringProtocol) throws(Malformation) -> [UInt8] {
        let bytes = Array(text.utf8)
        guard let total = decodedLength(bytes.count) else { throw .base64Length }
        var out = [UInt8](repeating: 0, count: total)
        let result: Result<Int, Malformation> = unsafe bytes.withUnsafeBytes { input in
            unsafe out.withUnsafeMutableBytes { output in
                Result { () throws(Malformation) in try unsafe decode(input, into: output) }
            }
        }
        _ = try result.get()
        return out
    }

    /// Encodes bytes as unpadded base64url.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out = [UInt8]()
        append(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the encoding of `bytes` to `out`: three bytes to four characters at a time.
    public static func append(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        if let done: Void = unsafe bytes.withContiguousStorageIfAvailable({ unsafe append(UnsafeRawBufferPointer($0), to: &out) }) { return done }
        unsafe Array(bytes).withUnsafeBytes { unsafe append($0, to: &out) }
    }

    public static func append(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let count = bytes.count
        let full = count / 3 * 3
        let start = out.count
        let encodedCount = count / 3 * 4 + (count == full ? 0 : count - full + 1)
        unsafe encodeTable.withUnsafeBufferPointer { table in
            out.append(contentsOf: repeatElement(0, count: encodedCount))
            unsafe out.withUnsafeMutableBufferPointer { buffer in
                var o = start
                var i = 0
                while i < full {
                    let word = UInt32(unsafe bytes[i]) << 16 | UInt32(unsafe bytes[i + 1]) << 8 | UInt32(unsafe bytes[i + 2])
                    unsafe buffer[o] = table[Int(word >> 18)]
                    unsafe buffer[o + 1] = table[Int(word >> 12 & 0x3F)]
                    unsafe buffer[o + 2] = table[Int(word >> 6 & 0x3F)]
                    unsafe buffer[o + 3] = table[Int(word & 0x3F)]
                    i += 3
                    o += 4
                }
                switch count - full {
                case 1:
                    let a = unsafe bytes[i]
                    unsafe buffer[o] = table[Int(a >> 2)]
                    unsafe buffer[o + 1] = table[Int((a & 0x03) << 4)]
                case 2:
                    let a = unsafe bytes[i], b = unsafe bytes[i + 1]
                    unsafe buffer[o] = table[Int(a >> 2)]
                    unsafe buffer[o + 1] = table[Int((a & 0x03) << 4 | b >> 4)]
                    unsafe buffer[o + 2] = table[Int((b & 0x0F) << 2)]
                default:
                    break
                }
            }
        }
    }
}
