/// Reading values out of a document that `JSONScanner` has already validated:
/// comparisons, numbers and iteration work on offsets without allocating;
/// only the `String` conversions allocate.
public enum JSONText {
    /// Appends `bytes` (UTF-8) escaped for a JSON string literal, the way
    /// `JSONValue.writeString` writes them; runs without escapes are copied whole.
    package static func appendEscaped(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var runStart = 0
        for unsafe (index, byte) in unsafe bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            unsafe out.append(contentsOf: bytes[runStart..<index])
            runStart = index + 1
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            default:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
        }
        unsafe out.append(contentsOf: bytes[runStart...])
    }

    @inlinable
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The UTF-8 bytes a validated JSON string denotes, escapes decoded one byte at a time.
    @usableFromInline
    @unsafe struct UnescapedBytes: IteratorProtocol {
        @usableFromInline let doc: UnsafeRawBufferPointer
        @usableFromInline var pos: Int
        @usableFromInline let end: Int
        @usableFromInline var pending: (UInt8, UInt8, UInt8) = (0, 0, 0)
        @usableFromInline var pendingCount = 0

        @usableFromInline
        init(doc: UnsafeRawBufferPointer, slice: JSONSlice) {
            unsafe self.doc = unsafe doc
            unsafe self.pos = slice.start
            unsafe self.end = slice.end
        }

        @usableFromInline
        mutating func next() -> UInt8? {
            if unsafe pendingCount > 0 {
                let byte = unsafe pending.0
                unsafe pending = unsafe (pending.1, pending.2, 0)
                unsafe pendingCount -= 1
                return byte
            }
            guard unsafe pos < end else { return nil }
            let byte = unsafe doc[pos]
            guard byte == UInt8(ascii: "\\") else {
                unsafe pos += 1
                return byte
            }
            let kind = unsafe doc[pos + 1]
            unsafe pos += 2
            switch kind {
            case UInt8(ascii: "b"): return 0x08
            case UInt8(ascii: "f"): return 0x0C
            case UInt8(ascii: "n"): return 0x0A
            case UInt8(ascii: "r"): return 0x0D
            case UInt8(ascii: "t"): return 0x09
            case UInt8(ascii: "u"): break
            default: return kind  // \" \\ \/
            }
            var scalar = unsafe readHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                unsafe pos += 2  // the validated "\u" of the low surrogate
                let low = unsafe readHex4()
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            switch scalar {
            case 0..<0x80:
                return UInt8(scalar)
            case 0x80..<0x800:
                unsafe pending = (UInt8(0x80 | scalar & 0x3F), 0, 0)
                unsafe pendingCount = 1
                return UInt8(0xC0 | scalar >> 6)
            case 0x800..<0x10000:
                unsafe pending = (UInt8(0x80 | (scalar >> 6) & 0x3F), UInt8(0x80 | scalar & 0x3F), 0)
                unsafe pendingCount = 2
                return UInt8(0xE0 | scalar >> 12)
            default:
                unsafe pending = (UInt8(0x80 | (scalar >> 12) & 0x3F), UInt8(0x80 | (scalar >> 6) & 0x3F), UInt8(0x80 | scalar & 0x3F))
                unsafe pendingCount = 3
                return UInt8(0xF0 | scalar >> 18)
            }
        }

        @usableFromInline
        mutating func readHex4() -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                value = unsafe value << 4 | UInt32(JSONText.hexValue(doc[pos]) ?? 0)
                unsafe pos += 1
            }
            return value
        }
    }

    /// Whether two validated JSON strings denote the same characters.
    @inlinable
    package static func equal(_ doc: UnsafeRawBufferPointer, _ a: JSONSlice, _ b: JSONSlice) -> Bool {
        if !a.hasEscapes && !b.hasEscapes {
            guard a.count == b.count else { return false }
            return unsafe memoryEqual(doc, a.start, doc, b.start, a.count)
        }
        var x = unsafe UnescapedBytes(doc: doc, slice: a)
        var y = unsafe UnescapedBytes(doc: doc, slice: b)
        while true {
            let p = unsafe x.next(), q = unsafe y.next()
            if p != q { return false }
            if p == nil { return true }
        }
    }

    /// Whether a validated JSON string denotes exactly `literal` (UTF-8 bytes).
    @inlinable @inline(__always)
    package static func equal(_ doc: UnsafeRawBufferPointer, _ slice: JSONSlice, _ literal: UnsafeRawBufferPointer) -> Bool {
        guard slice.kind == .string else { return false }
        if !slice.hasEscapes {
            guard slice.count == literal.count else { return false }
            return unsafe memoryEqual(doc, slice.start, literal, 0, literal.count)
        }
        var x = unsafe UnescapedBytes(doc: doc, slice: slice)
        var i = 0
        while let byte = unsafe x.next() {
            guard i < literal.count, unsafe literal[i] == byte else { return false }
            i += 1
        }
        return i == literal.count
    }

    /// Whether a validated JSON string denotes `literal`, ASCII letters compared case-insensitively.
    @inlinable
    package static func equalIgnoringASCIICase(_ doc: UnsafeRawBufferPointer, _ slice: JSONSlice, _ literal: StaticString) -> Bool {
        guard slice.kind == .string else { return false }
        var x = unsafe UnescapedBytes(doc: doc, slice: slice)
        let p = unsafe literal.utf8Start
        var i = 0
        while let byte = unsafe x.next() {
            guard i < literal.utf8CodeUnitCount, unsafe lowercased(byte) == lowercased(p[i]) else { return false }
            i += 1
        }
        return i == literal.utf8CodeUnitCount
    }

    @inlinable
    static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    @inlinable @inline(__always)
    static func memoryEqual(_ a: UnsafeRawBufferPointer, _ i: Int, _ b: UnsafeRawBufferPointer, _ j: Int, _ n: Int) -> Bool {
        var k = 0
        while k + 8 <= n {
            if unsafe a.loadUnaligned(fromByteOffset: i + k, as: UInt64.self) != b.loadUnaligned(fromByteOffset: j + k, as: UInt64.self) { return false }
            k += 8
        }
        // The last bytes of a run of eight or more: one word ending where the run ends.
        if k < n, n >= 8 {
            return unsafe a.loadUnaligned(fromByteOffset: i + n - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: j + n - 8, as: UInt64.self)
        }
        while k < n {
            if unsafe a[i + k] != b[j + k] { return false }
            k += 1
        }
        return true
    }

    /// The Swift string a validated JSON string denotes (allocates).
    package static func string(_ doc: UnsafeRawBufferPointer, _ slice: JSONSlice) -> String {
        if !slice.hasEscapes {
            return unsafe String(decoding: UnsafeRawBufferPointer(rebasing: doc[slice.start..<slice.end]), as: UTF8.self)
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(slice.count)
        var x = unsafe UnescapedBytes(doc: doc, slice: slice)
        while let byte = unsafe x.next() { bytes.append(byte) }
        return String(decoding: bytes, as: UTF8.self)
    }

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

    /// Calls `body` for each element of a validated array; stops when it returns false.
    @inlinable
    package static func forEachElement(
        _ doc: UnsafeRawBufferPointer, _ array: JSONSlice, _ body: (JSONSlice) -> Bool
    ) {
        guard array.kind == .array else { return }
        var reader = unsafe ValidatedReader(doc: doc, pos: array.start + 1)
        unsafe reader.skipWhitespace()
        if unsafe doc[reader.pos] == UInt8(ascii: "]") { return }
        while true {
            let element = unsafe reader.value()
            if !body(element) { return }
            unsafe reader.skipWhitespace()
            if unsafe doc[reader.pos] == UInt8(ascii: "]") { return }
            unsafe reader.pos += 1  // ","
        }
    }

    /// Calls `body` for each member (name, value) of a validated object; stops when it returns false.
    @inlinable
    package static func forEachMember(
        _ doc: UnsafeRawBufferPointer, _ object: JSONSlice, _ body: (JSONSlice, JSONSlice) -> Bool
    ) {
        guard object.kind == .object else { return }
        var reader = unsafe ValidatedReader(doc: doc, pos: object.start + 1)
        unsafe reader.skipWhitespace()
        if unsafe doc[reader.pos] == UInt8(ascii: "}") { return }
        while true {
            unsafe reader.skipWhitespace()
            let name = unsafe reader.value()
            unsafe reader.skipWhitespace()
            unsafe reader.pos += 1  // ":"
            let value = unsafe reader.value()
            if !body(name, value) { return }
            unsafe reader.skipWhitespace()
            if unsafe doc[reader.pos] == UInt8(ascii: "}") { return }
            unsafe reader.pos += 1  // ","
        }
    }

    /// The value of member `name` in a validated object, if present.
    @inlinable
    package static func member(_ doc: UnsafeRawBufferPointer, _ object: JSONSlice, _ name: UnsafeRawBufferPointer) -> JSONSlice? {
        var found: JSONSlice?
        unsafe forEachMember(doc, object) { key, value in
            if unsafe equal(doc, key, name) {
                found = value
                return false
            }
            return true
        }
        return found
    }
}

/// Steps over values of a document already validated by `JSONScanner`.
@usableFromInline
@unsafe struct ValidatedReader {
    @usableFromInline let doc: UnsafeRawBufferPointer
    @usableFromInline var pos: Int

    @usableFromInline
    init(doc: UnsafeRawBufferPointer, pos: Int) {
        unsafe self.doc = unsafe doc
        unsafe self.pos = pos
    }

    @usableFromInline
    mutating func skipWhitespace() {
        while unsafe pos < doc.count, unsafe doc[pos] == 0x20 || doc[pos] == 0x09 || doc[pos] == 0x0A || doc[pos] == 0x0D { unsafe pos += 1 }
    }

    @usableFromInline
    mutating func value() -> JSONSlice {
        unsafe skipWhitespace()
        let start = unsafe pos
        switch unsafe doc[pos] {
        case UInt8(ascii: "\""):
            unsafe pos += 1
            let contentStart = unsafe pos
            var escaped = false
            // Eight bytes at a time to the next quote or backslash (the document is valid).
            while true {
                if unsafe pos + 8 <= doc.count {
                    let word = unsafe UInt64(littleEndian: doc.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
                    let mask = SWAR.byteMask(word, UInt8(ascii: "\"")) | SWAR.byteMask(word, UInt8(ascii: "\\"))
                    if mask == 0 {
                        unsafe pos += 8
                        continue
                    }
                    unsafe pos += SWAR.firstMarked(mask)
                }
                let byte = unsafe doc[pos]
                if byte == UInt8(ascii: "\"") { break }
                if byte == UInt8(ascii: "\\") {
                    escaped = true
                    unsafe pos += 2
                } else {
                    unsafe pos += 1
                }
            }
            unsafe pos += 1
            return unsafe JSONSlice(start: contentStart, end: pos - 1, kind: .string, hasEscapes: escaped)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let kind: JSONKind = unsafe doc[pos] == UInt8(ascii: "{") ? .object : .array
            var depth = 0
            repeat {
                switch unsafe doc[pos] {
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; unsafe pos += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1; unsafe pos += 1
                case UInt8(ascii: "\""):
                    unsafe pos += 1
                    while unsafe doc[pos] != UInt8(ascii: "\"") { unsafe pos += doc[pos] == UInt8(ascii: "\\") ? 2 : 1 }
                    unsafe pos += 1
                default: unsafe pos += 1
                }
            } while depth > 0
            return unsafe JSONSlice(start: start, end: pos, kind: kind)
        case UInt8(ascii: "t"):
            unsafe pos += 4
            return unsafe JSONSlice(start: start, end: pos, kind: .bool)
        case UInt8(ascii: "f"):
            unsafe pos += 5
            return unsafe JSONSlice(start: start, end: pos, kind: .bool)
        case UInt8(ascii: "n"):
            unsafe pos += 4
            return unsafe JSONSlice(start: start, end: pos, kind: .null)
        default:
            while unsafe pos < doc.count {
                switch unsafe doc[pos] {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"),
                     UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                    unsafe pos += 1
                    continue
                default: break
                }
                break
            }
            return unsafe JSONSlice(start: start, end: pos, kind: .number)
        }
    }
}

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
