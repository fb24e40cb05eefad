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
    @inlinable @inline(__always)
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

    /// High bits marking the bytes of `word` that are not ASCII digits (the lowest mark is
    /// exact: a carry only leaves a byte that is itself marked).
    @inline(__always) @usableFromInline
    static func nonDigitMask(_ word: UInt64) -> UInt64 {
        let values = word ^ (ones &* 0x30)  // '0'...'9' become 0...9
        return ((values &+ ones &* 0x76) | values) & highs
    }

    /// The number eight ASCII digits spell (loaded little-endian, so the first digit is
    /// the lowest byte): pairs, then fours, then the eight, each step one multiply.
    @inline(__always) @usableFromInline
    static func eightDigits(_ word: UInt64) -> UInt64 {
        var value = word &- ones &* 0x30
        value = value &* 10 &+ (value >> 8)
        value = ((value & 0x0000_00FF_0000_00FF) &* (100 &+ (1_000_000 << 32))
            &+ ((value >> 16) & 0x0000_00FF_0000_00FF) &* (1 &+ (10_000 << 32))) >> 32
        return value & 0xFFFF_FFFF
    }

    /// The offset of the lowest marked byte of a non-zero mask.
    @inline(__always) @usableFromInline
    static func firstMarked(_ mask: UInt64) -> Int { mask.trailingZeroBitCount >> 3 }

    /// The first byte at or after `start` that `mask` marks, looked for eight bytes at a time
    /// while eight are left before `end`: its offset (`found`), or where the whole words ran
    /// out, for the caller to look at the rest byte by byte.
    @inline(__always) @usableFromInline
    static func firstMarked(
        in base: UnsafeRawPointer, from start: Int, end: Int, _ mask: (UInt64) -> UInt64
    ) -> (offset: Int, found: Bool) {
        var i = start
        while i &+ 8 <= end {
            let marks = unsafe mask(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            if marks != 0 { return (i &+ firstMarked(marks), true) }
            i &+= 8
        }
        return (i, false)
    }

    /// The index of the first `byte` in `buffer[from...]`, or nil.
    @inlinable
    static func firstIndex(of byte: UInt8, in buffer: UnsafeRawBufferPointer, from start: Int) -> Int? {
        let n = buffer.count
        guard let base = buffer.baseAddress else { return nil }
        let (stop, found) = unsafe firstMarked(in: base, from: start, end: n) { byteMask($0, byte) }
        if found { return stop }
        var i = stop
        while i < n {
            if unsafe buffer[i] == byte { return i }
            i += 1
        }
        return nil
    }
}

/// Writes an unsigned number's digits (radix 2…36, lowercase) at `cursor`; returns how many.
/// For the writers that fill a buffer through a pointer (JSON, HTTP answers).
package func writeDigits(_ value: UInt64, radix: UInt64 = 10, to cursor: UnsafeMutableRawPointer) -> Int {
    // The common radixes as constants: a division by a constant is a multiplication, a
    // division by a variable one of the slowest instructions there is (two per digit here).
    switch radix {
    case 10: unsafe writeDigits(value, fixedRadix: 10, to: cursor)
    case 36: unsafe writeDigits(value, fixedRadix: 36, to: cursor)
    default: unsafe writeDigits(value, fixedRadix: radix, to: cursor)
    }
}

@inline(__always)
private func writeDigits(_ value: UInt64, fixedRadix radix: UInt64, to cursor: UnsafeMutableRawPointer) -> Int {
    let alphabet: StaticString = "0123456789abcdefghijklmnopqrstuvwxyz"
    // Backwards into room for the longest number (64 binary digits), then moved into place:
    // one division per digit.
    return unsafe withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { room in
        var index = 64
        var rest = value
        repeat {
            index -= 1
            unsafe room[index] = unsafe alphabet.utf8Start[Int(rest % radix)]
            rest /= radix
        } while rest > 0
        unsafe cursor.copyMemory(from: room.baseAddress! + index, byteCount: 64 - index)
        return 64 - index
    }
}
