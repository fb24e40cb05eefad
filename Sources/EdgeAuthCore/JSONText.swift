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

    /// A hexadecimal digit's value (JSON's `\u` escapes, URL percent-escapes).
    @inlinable
    package static func hexValue(_ byte: UInt8) -> UInt8? {
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
}
