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
