/// Word-at-a-time byte tests (SWAR) for the scanning loops of the hot path:
/// eight bytes are checked with a few integer operations instead of eight branches.
@usableFromInline
enum SWAR {
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

    /// Whether some byte is `"` or `\`, a control character (< 0x20), or not ASCII:
    /// everything a JSON string scan must look at one byte at a time.
    @inline(__always) @usableFromInline
    static func hasStringSpecial(_ word: UInt64) -> Bool {
        let control = (word &- ones &* 0x20) & ~word & highs
        return control != 0 || word & highs != 0 || hasByte(word, UInt8(ascii: "\"")) || hasByte(word, UInt8(ascii: "\\"))
    }

    /// The index of the first `byte` in `buffer[from...]`, or nil.
    @inlinable
    static func firstIndex(of byte: UInt8, in buffer: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start
        let n = buffer.count
        while i + 8 <= n {
            if hasByte(buffer.loadUnaligned(fromByteOffset: i, as: UInt64.self), byte) { break }
            i += 8
        }
        while i < n {
            if buffer[i] == byte { return i }
            i += 1
        }
        return nil
    }
}
