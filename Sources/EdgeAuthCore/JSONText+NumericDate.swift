extension JSONText {
    /// Largest NumericDate accepted: 9999-12-31T23:59:59Z.
    public static let maxNumericDate: Int64 = 253_402_300_799

    /// A NumericDate (RFC 7519 §2): a JSON number of seconds in 0...`maxNumericDate`,
    /// rounded to whole seconds — down by default (for `exp`), up with `roundingUp`
    /// (for `nbf`/`iat`), so rounding never widens a validity window.
    /// Returns nil for anything else (negative, huge like `1e400`, or not a number).
    @inlinable
    package static func numericDate(_ doc: UnsafeRawBufferPointer, _ slice: JSONSlice, roundingUp: Bool = false) -> Int64? {
        guard slice.kind == .number else { return nil }
        // The usual form: up to 18 digits, no sign, fraction or exponent.
        if slice.count <= 18 {
            var value: UInt64 = 0
            var pos = slice.start
            // Eight digits at a time while eight are left (a 10-digit date: one step and two digits).
            while slice.end &- pos >= 8 {
                let word = unsafe UInt64(littleEndian: doc.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
                if SWAR.nonDigitMask(word) != 0 { break }
                value = value &* 100_000_000 &+ SWAR.eightDigits(word)
                pos &+= 8
            }
            while pos < slice.end {
                let d = unsafe doc[pos] &- UInt8(ascii: "0")
                if d > 9 { break }
                value = value &* 10 &+ UInt64(d)
                pos += 1
            }
            if pos == slice.end { return value <= UInt64(maxNumericDate) ? Int64(value) : nil }
        }
        var pos = slice.start
        let end = slice.end
        var negative = false
        if unsafe doc[pos] == UInt8(ascii: "-") {
            negative = true
            pos += 1
        }
        var mantissa: UInt64 = 0
        var significant = 0
        var scale = 0  // value = mantissa * 10^scale
        var sawNonZero = false
        var droppedNonZero = false  // fraction digits beyond 19 significant ones
        while pos < end, let d = unsafe digit(doc[pos]) {
            if significant < 19 {
                mantissa = mantissa * 10 + UInt64(d)
                if mantissa != 0 { significant += 1 }
            } else {
                scale += 1
            }
            if d != 0 { sawNonZero = true }
            pos += 1
        }
        if pos < end, unsafe doc[pos] == UInt8(ascii: ".") {
            pos += 1
            while pos < end, let d = unsafe digit(doc[pos]) {
                if significant < 19 {
                    mantissa = mantissa * 10 + UInt64(d)
                    if mantissa != 0 { significant += 1 }
                    scale -= 1
                } else if d != 0 {
                    droppedNonZero = true
                }
                if d != 0 { sawNonZero = true }
                pos += 1
            }
        }
        if pos < end, unsafe doc[pos] == UInt8(ascii: "e") || doc[pos] == UInt8(ascii: "E") {
            pos += 1
            var expNegative = false
            if unsafe doc[pos] == UInt8(ascii: "+") || doc[pos] == UInt8(ascii: "-") {
                expNegative = unsafe doc[pos] == UInt8(ascii: "-")
                pos += 1
            }
            var exponent = 0
            while pos < end, let d = unsafe digit(doc[pos]) {
                if exponent < 100_000 { exponent = exponent * 10 + Int(d) }
                pos += 1
            }
            scale += expNegative ? -exponent : exponent
        }
        if !sawNonZero || mantissa == 0 { return 0 }
        if negative { return nil }
        if scale > 0 {
            for _ in 0..<scale {
                let (next, overflow) = mantissa.multipliedReportingOverflow(by: 10)
                if overflow || next > UInt64(maxNumericDate) { return nil }
                mantissa = next
            }
        } else if scale < 0 {
            if scale < -19 { return roundingUp ? 1 : 0 }
            var remainder = droppedNonZero
            for _ in 0..<(-scale) {
                if mantissa % 10 != 0 { remainder = true }
                mantissa /= 10
            }
            if roundingUp && remainder { mantissa += 1 }
        }
        guard mantissa <= UInt64(maxNumericDate) else { return nil }
        return Int64(mantissa)
    }

    @inlinable
    static func digit(_ byte: UInt8) -> UInt8? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : nil
    }
}
