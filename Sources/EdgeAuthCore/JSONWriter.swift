/// Writes JSON through a pointer into room the caller has reserved (`Identity.writeJSON`).
@unsafe struct JSONWriter {
    var cursor: UnsafeMutablePointer<UInt8>

    @inline(__always)
    mutating func byte(_ byte: UInt8) {
        unsafe cursor.pointee = byte
        unsafe cursor += 1
    }

    mutating func bytes(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        unsafe cursor.update(from: base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        unsafe cursor += bytes.count
    }

    /// A JSON string: quotes, `"` and `\` escaped, control characters as short escapes or
    /// `\u00XX`; runs that need no escape are copied whole. At most `6 * count + 2` bytes.
    mutating func string(_ bytes: UnsafeRawBufferPointer) {
        unsafe byte(UInt8(ascii: "\""))
        var runStart = 0
        var index = 0
        while index < bytes.count {
            // Eight bytes at a time while none is a quote, a backslash, a control character or non-ASCII.
            if index + 8 <= bytes.count,
               unsafe SWAR.stringSpecialMask(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))) == 0 {
                index += 8
                continue
            }
            let value = unsafe bytes[index]
            index += 1
            guard value < 0x20 || value == UInt8(ascii: "\"") || value == UInt8(ascii: "\\") else { continue }
            unsafe self.bytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<(index - 1)]))
            runStart = index
            unsafe byte(UInt8(ascii: "\\"))
            switch value {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): unsafe byte(value)
            case UInt8(ascii: "\n"): unsafe byte(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): unsafe byte(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): unsafe byte(UInt8(ascii: "t"))
            default:
                let hex: StaticString = "0123456789abcdef"
                unsafe byte(UInt8(ascii: "u"))
                unsafe byte(UInt8(ascii: "0"))
                unsafe byte(UInt8(ascii: "0"))
                unsafe byte(hex.utf8Start[Int(value >> 4)])
                unsafe byte(hex.utf8Start[Int(value & 0xF)])
            }
        }
        unsafe self.bytes(UnsafeRawBufferPointer(rebasing: bytes[runStart...]))
        unsafe byte(UInt8(ascii: "\""))
    }

    /// A signed integer in decimal (at most 20 bytes).
    mutating func decimal(_ value: Int64) {
        if value < 0 { unsafe byte(UInt8(ascii: "-")) }
        unsafe cursor += writeDigits(value.magnitude, to: UnsafeMutableRawPointer(cursor))
    }
}
