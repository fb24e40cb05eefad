/// Word-at-a-time byte tests (SWAR) for the scanning loops of the hot path:
/// eight bytes are checked with a few integer operations instead of eight branches.
@usableFromInline
package enum SWAR {
    @usableFromInline static let ones: UInt64 = 0x0101_0101_0101_0101
    @usableFromInline static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Non-zero when some byte of `word` is zero.
    @inline(__always) @usableFromInline
    static func hasZeroByte(_ word: UInt64) -> Bool {
        (word &- ones) & ~word & highs != 0
    }

    /// Non-zero when some byte of `word` equals `byte`.
    @inline(__always) @usableFromInline
    static func hasByte(_ word: UInt64, _ byte: UInt8) -> Bool {
        hasZeroByte(word ^ (ones &* UInt64(byte)))
    }

    /// High bits marking the bytes of `word` (loaded little-endian) that are `"` or `\`,
    /// a control character (< 0x20), or not ASCII: everything a JSON string scan must
    /// look at one byte at a time. Bytes above the first marked one may be marked
    /// falsely (borrows), so only the lowest mark is exact — which is all the scan uses.
    @inline(__always) @usableFromInline
    static func stringSpecialMask(_ word: UInt64) -> UInt64 {
        let quote = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
        let backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
        let control = (word &- ones &* 0x20) & ~word
        return ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | control | word) & highs
    }

    /// Non-zero when some byte of `word` is a control character (< 0x20) or DEL: the bytes
    /// an HTTP field value may not hold, except tab, which the caller looks at itself.
    @inline(__always)
    package static func hasControlOrDelete(_ word: UInt64) -> Bool {
        let delete = word ^ (ones &* 0x7F)
        return ((word &- ones &* 0x20) & ~word | (delete &- ones) & ~delete) & highs != 0
    }

    /// High bits marking the bytes equal to `byte` (the lowest mark is exact).
    @inline(__always) @usableFromInline
    static func byteMask(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let x = word ^ (ones &* UInt64(byte))
        return (x &- ones) & ~x & highs
    }

    /// The offset of the lowest marked byte of a non-zero mask.
    @inline(__always) @usableFromInline
    static func firstMarked(_ mask: UInt64) -> Int { mask.trailingZeroBitCount >> 3 }

    /// The index of the first `byte` in `buffer[from...]`, or nil.
    @inlinable
    static func firstIndex(of byte: UInt8, in buffer: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start
        let n = buffer.count
        while i + 8 <= n {
            let mask = byteMask(UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: i, as: UInt64.self)), byte)
            if mask != 0 { return i + firstMarked(mask) }
            i += 8
        }
        while i < n {
            if buffer[i] == byte { return i }
            i += 1
        }
        return nil
    }
}

/// Writes an unsigned number's digits (radix 2…36, lowercase) at `cursor`; returns how many.
/// For the writers that fill a buffer through a pointer (JSON, HTTP answers).
package func writeDigits(_ value: UInt64, radix: UInt64 = 10, to cursor: UnsafeMutableRawPointer) -> Int {
    let alphabet: StaticString = "0123456789abcdefghijklmnopqrstuvwxyz"
    var count = 1
    var rest = value / radix
    while rest > 0 {
        count += 1
        rest /= radix
    }
    var remaining = value
    for position in stride(from: count - 1, through: 0, by: -1) {
        cursor.storeBytes(of: alphabet.utf8Start[Int(remaining % radix)], toByteOffset: position, as: UInt8.self)
        remaining /= radix
    }
    return count
}
