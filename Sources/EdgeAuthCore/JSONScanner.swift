/// A member name of one to seven raw bytes as a number: its bytes little-endian,
/// zero above its length. A raw JSON string holds no NUL byte, so equal keys are
/// equal names. 0 when the name is longer, empty, spelled with escapes, or too
/// close to the document's end for one 8-byte load: compare its bytes instead.
@usableFromInline
typealias NameKey = UInt64

/// Offsets of one object member's name, kept while its object is open so that
/// duplicates can be found without building a dictionary.
@usableFromInline
struct MemberName {
    @usableFromInline var start: UInt32
    @usableFromInline var end: UInt32
    /// Up to the first four raw bytes: most distinct names differ in length or here.
    @usableFromInline var prefix: UInt32
    @usableFromInline var escaped: Bool
}

/// A strict, validating, non-allocating JSON scanner (RFC 8259) over borrowed bytes.
///
/// It checks the whole document — grammar, UTF-8, escapes, nesting depth, member
/// count, duplicate names in every object — and reports each top-level member
/// as offsets to the caller. The scratch buffer for member names is borrowed too.
@usableFromInline
@unsafe struct JSONScanner {
    @usableFromInline let doc: UnsafeRawBufferPointer
    /// `doc`'s bytes and length, held apart so that reads need no optional unwrapping.
    @usableFromInline let base: UnsafeRawPointer
    @usableFromInline let count: Int
    @usableFromInline var pos: Int = 0
    @usableFromInline let maxDepth: Int
    @usableFromInline let maxMembers: Int
    @usableFromInline let names: UnsafeMutableBufferPointer<MemberName>
    @usableFromInline var nameCount: Int = 0
    @usableFromInline var membersSeen: Int = 0

    @usableFromInline
    init(doc: UnsafeRawBufferPointer, limits: JSONLimits, names: UnsafeMutableBufferPointer<MemberName>) {
        unsafe self.doc = unsafe doc
        // An empty document has no address; any valid one does (`count` is 0, nothing is read).
        unsafe self.base = unsafe doc.baseAddress ?? UnsafeRawPointer(("" as StaticString).utf8Start)
        unsafe self.count = doc.count
        unsafe self.maxDepth = limits.maxDepth
        // The name buffer is never smaller than the limit, so the limit is what binds.
        unsafe self.maxMembers = min(limits.maxMembers, names.count)
        unsafe self.names = unsafe names
    }

    @inline(__always) @usableFromInline
    func byte(_ offset: Int) -> UInt8 { unsafe base.load(fromByteOffset: offset, as: UInt8.self) }

    /// Scans a document that must be exactly one JSON object, calling `onMember`
    /// for each top-level member with its name and value.
    /// - Throws: `notObject` when the top-level value is not an object; otherwise the malformation.
    @usableFromInline
    mutating func scanTopLevelObject(
        notObject: Malformation,
        _ onMember: (JSONSlice, NameKey, JSONSlice) throws(Malformation) -> Void
    ) throws(Malformation) {
        unsafe skipWhitespace()
        guard unsafe pos < count, unsafe byte(pos) == UInt8(ascii: "{") else {
            // Distinguish "valid JSON but not an object" from "not JSON": both reject.
            throw notObject
        }
        try unsafe scanObject(depth: 1, onMember)
        unsafe skipWhitespace()
        if unsafe pos != count { throw .invalidJSON }
    }

    @inline(__always) @usableFromInline
    mutating func skipWhitespace() {
        while unsafe pos < count {
            switch unsafe byte(pos) {
            case 0x20, 0x09, 0x0A, 0x0D: unsafe pos &+= 1
            default: return
            }
        }
    }

    /// The value at `pos` (the caller has skipped the whitespace before it).
    @usableFromInline
    mutating func scanValue(depth: Int) throws(Malformation) -> JSONSlice {
        guard unsafe pos < count else { throw .invalidJSON }
        let start = unsafe pos
        switch unsafe byte(pos) {
        case UInt8(ascii: "{"):
            try unsafe scanObject(depth: depth + 1) { (_, _, _) throws(Malformation) in }
            return unsafe JSONSlice(start: start, end: pos, kind: .object)
        case UInt8(ascii: "["):
            let stringsOnly = try unsafe scanArray(depth: depth + 1)
            return unsafe JSONSlice(start: start, end: pos, kind: .array, hasEscapes: false, stringsOnly: stringsOnly)
        case UInt8(ascii: "\""):
            return try unsafe scanString()
        case UInt8(ascii: "t"):
            try unsafe expectLiteral("true")
            return unsafe JSONSlice(start: start, end: pos, kind: .bool)
        case UInt8(ascii: "f"):
            try unsafe expectLiteral("false")
            return unsafe JSONSlice(start: start, end: pos, kind: .bool)
        case UInt8(ascii: "n"):
            try unsafe expectLiteral("null")
            return unsafe JSONSlice(start: start, end: pos, kind: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try unsafe scanNumber()
            return unsafe JSONSlice(start: start, end: pos, kind: .number)
        default:
            throw .invalidJSON
        }
    }

    /// A member's or element's value: strings, the most common values, go straight to
    /// the string scan (one call less per string than through `scanValue`).
    @inline(__always) @usableFromInline
    mutating func scanMemberValue(depth: Int) throws(Malformation) -> JSONSlice {
        unsafe skipWhitespace()
        if unsafe pos < count, unsafe byte(pos) == UInt8(ascii: "\"") { return try unsafe scanString() }
        return try unsafe scanValue(depth: depth)
    }

    @usableFromInline
    mutating func expectLiteral(_ literal: StaticString) throws(Malformation) {
        let n = literal.utf8CodeUnitCount
        guard unsafe pos &+ n <= count else { throw .invalidJSON }
        let p = unsafe literal.utf8Start
        for i in 0..<n where unsafe byte(pos + i) != p[i] { throw .invalidJSON }
        unsafe pos &+= n
    }

    @usableFromInline
    mutating func scanObject(
        depth: Int,
        _ onMember: (JSONSlice, NameKey, JSONSlice) throws(Malformation) -> Void
    ) throws(Malformation) {
        if unsafe depth > maxDepth { throw .nestingTooDeep }
        unsafe pos &+= 1  // "{"
        var names = unsafe NameSet(frame: nameCount)
        defer { unsafe nameCount = names.frame }
        unsafe skipWhitespace()
        if unsafe pos < count, unsafe byte(pos) == UInt8(ascii: "}") {
            unsafe pos &+= 1
            return
        }
        while true {
            unsafe skipWhitespace()
            guard unsafe pos < count, unsafe byte(pos) == UInt8(ascii: "\"") else { throw .invalidJSON }
            let (name, key) = try unsafe scanName()
            try unsafe recordName(name, key: key, in: &names)
            unsafe skipWhitespace()
            guard unsafe pos < count, unsafe byte(pos) == UInt8(ascii: ":") else { throw .invalidJSON }
            unsafe pos &+= 1
            let value = try unsafe scanMemberValue(depth: depth)
            try onMember(name, key, value)
            unsafe skipWhitespace()
            guard unsafe pos < count else { throw .invalidJSON }
            if unsafe byte(pos) == UInt8(ascii: ",") {
                unsafe pos &+= 1
                continue
            }
            if unsafe byte(pos) == UInt8(ascii: "}") {
                unsafe pos &+= 1
                return
            }
            throw .invalidJSON
        }
    }

    /// The names of one open object: where its entries start in the name table, and a
    /// 64-bit filter of the names seen so far, so that most names are known to be new
    /// without comparing them with every earlier one.
    @usableFromInline
    struct NameSet {
        @usableFromInline let frame: Int
        @usableFromInline var filter: UInt64 = 0
        /// A name spelled with escapes has no raw bytes to filter on: once one is
        /// seen, every later name is compared with all the others.
        @usableFromInline var sawEscapes = false

        @usableFromInline init(frame: Int) { self.frame = frame }
    }

    /// Rejects a name already used in the open object, then remembers it.
    @inline(__always) @usableFromInline
    mutating func recordName(_ name: JSONSlice, key: NameKey, in set: inout NameSet) throws(Malformation) {
        unsafe membersSeen &+= 1
        guard unsafe membersSeen <= maxMembers else { throw .tooManyMembers }
        let length = UInt32(truncatingIfNeeded: name.count)
        var prefix = UInt32(truncatingIfNeeded: key)
        if key == 0 {
            for i in 0..<min(name.count, 4) { unsafe prefix |= UInt32(byte(name.start &+ i)) << (8 * UInt32(i)) }
        }
        let bit: UInt64 = 1 << (((UInt64(prefix) | UInt64(length) << 32) &* 0x9E37_79B9_7F4A_7C15) >> 58)
        if name.hasEscapes { set.sawEscapes = true }
        if set.filter & bit != 0 || set.sawEscapes {
            try unsafe checkNotRepeated(name, prefix: prefix, since: set.frame)
        }
        set.filter |= bit
        unsafe names[nameCount] = MemberName(start: UInt32(name.start), end: UInt32(name.end), prefix: prefix, escaped: name.hasEscapes)
        unsafe nameCount &+= 1
    }

    /// Compares `name` with every name of the open object (kept out of line: the
    /// filter makes it rare, and its loop would burden the common path's registers).
    @inline(never) @usableFromInline
    func checkNotRepeated(_ name: JSONSlice, prefix: UInt32, since frame: Int) throws(Malformation) {
        let count = UInt32(name.count)
        for i in unsafe frame..<nameCount {
            let other = unsafe names[i]
            // Raw bytes that differ in length or prefix are different names unless escapes are involved.
            if !name.hasEscapes, !other.escaped, other.end - other.start != count || other.prefix != prefix { continue }
            let otherSlice = JSONSlice(start: Int(other.start), end: Int(other.end), kind: .string, hasEscapes: other.escaped)
            if unsafe JSONText.equal(doc, name, otherSlice) { throw .duplicateMember }
        }
    }

    /// - Returns: whether every element is a string.
    @usableFromInline
    mutating func scanArray(depth: Int) throws(Malformation) -> Bool {
        if unsafe depth > maxDepth { throw .nestingTooDeep }
        unsafe pos &+= 1  // "["
        unsafe skipWhitespace()
        if unsafe pos < count, unsafe byte(pos) == UInt8(ascii: "]") {
            unsafe pos &+= 1
            return true
        }
        var stringsOnly = true
        while true {
            if try unsafe scanMemberValue(depth: depth).kind != .string { stringsOnly = false }
            unsafe skipWhitespace()
            guard unsafe pos < count else { throw .invalidJSON }
            if unsafe byte(pos) == UInt8(ascii: ",") {
                unsafe pos &+= 1
                continue
            }
            if unsafe byte(pos) == UInt8(ascii: "]") {
                unsafe pos &+= 1
                return stringsOnly
            }
            throw .invalidJSON
        }
    }

    /// Scans a member name; a name of up to seven plain bytes is found with one load,
    /// which also gives its `NameKey`.
    @inline(__always) @usableFromInline
    mutating func scanName() throws(Malformation) -> (JSONSlice, NameKey) {
        let start = unsafe pos &+ 1
        if unsafe start &+ 8 <= count {
            let word = unsafe UInt64(littleEndian: base.loadUnaligned(fromByteOffset: start, as: UInt64.self))
            let mask = SWAR.stringSpecialMask(word)
            if mask != 0 {
                let length = SWAR.firstMarked(mask)
                if unsafe byte(start &+ length) == UInt8(ascii: "\"") {
                    unsafe pos = start &+ length &+ 1
                    return (JSONSlice(start: start, end: start &+ length, kind: .string), word & ((1 << (8 &* UInt64(length))) &- 1))
                }
            }
        }
        return unsafe (try scanString(), 0)
    }

    /// Scans a string starting at its opening quote; validates escapes and UTF-8.
    @inline(__always) @usableFromInline
    mutating func scanString() throws(Malformation) -> JSONSlice {
        let start = unsafe pos + 1  // after the opening quote
        var p = start
        var escaped = false
        let n = unsafe count
        while true {
            // Plain ASCII eight bytes at a time, landing on the first byte that needs a look.
            p = unsafe SWAR.firstMarked(in: base, from: p, end: n, SWAR.stringSpecialMask).offset
            guard p < n else { throw .invalidJSON }
            let byte = unsafe byte(p)
            if byte == UInt8(ascii: "\"") {
                unsafe pos = p + 1
                return JSONSlice(start: start, end: p, kind: .string, hasEscapes: escaped)
            }
            if byte < 0x80, byte >= 0x20, byte != UInt8(ascii: "\\") {
                p &+= 1  // within the last 7 bytes
                continue
            }
            unsafe pos = p
            if byte == UInt8(ascii: "\\") {
                escaped = true
                try unsafe scanEscape()
            } else if byte < 0x20 {
                throw .invalidJSON
            } else {
                try unsafe scanUTF8Sequence(lead: byte)
            }
            p = unsafe pos
        }
    }

    @usableFromInline
    mutating func scanEscape() throws(Malformation) {
        unsafe pos &+= 1
        guard unsafe pos < count else { throw .invalidJSON }
        switch unsafe byte(pos) {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            unsafe pos &+= 1
        case UInt8(ascii: "u"):
            unsafe pos &+= 1
            let unit = try unsafe hex4()
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard unsafe pos &+ 1 < count, unsafe byte(pos) == UInt8(ascii: "\\"), unsafe byte(pos + 1) == UInt8(ascii: "u") else {
                    throw .invalidUTF8
                }
                unsafe pos &+= 2
                let low = try unsafe hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw .invalidUTF8 }
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw .invalidUTF8
            }
        default:
            throw .invalidJSON
        }
    }

    @usableFromInline
    mutating func hex4() throws(Malformation) -> UInt32 {
        guard unsafe pos + 4 <= count else { throw .invalidJSON }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = unsafe JSONText.hexValue(byte(pos)) else { throw .invalidJSON }
            value = value << 4 | UInt32(digit)
            unsafe pos &+= 1
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
    @usableFromInline
    mutating func scanUTF8Sequence(lead: UInt8) throws(Malformation) {
        let n = unsafe count
        var lowerBound: UInt8 = 0x80
        var upperBound: UInt8 = 0xBF
        let continuation: Int
        switch lead {
        case 0xC2...0xDF: continuation = 1
        case 0xE0: continuation = 2; lowerBound = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: continuation = 2
        case 0xED: continuation = 2; upperBound = 0x9F
        case 0xF0: continuation = 3; lowerBound = 0x90
        case 0xF1...0xF3: continuation = 3
        case 0xF4: continuation = 3; upperBound = 0x8F
        default: throw .invalidUTF8
        }
        guard unsafe pos + continuation < n else { throw .invalidUTF8 }
        let second = unsafe byte(pos + 1)
        guard second >= lowerBound, second <= upperBound else { throw .invalidUTF8 }
        if continuation > 1 {
            for i in 2...continuation where unsafe byte(pos + i) & 0xC0 != 0x80 { throw .invalidUTF8 }
        }
        unsafe pos &+= continuation + 1
    }

    @usableFromInline
    mutating func scanNumber() throws(Malformation) {
        let n = unsafe count
        if unsafe byte(pos) == UInt8(ascii: "-") { unsafe pos &+= 1 }
        guard unsafe pos < n else { throw .invalidJSON }
        if unsafe byte(pos) == UInt8(ascii: "0") {
            unsafe pos &+= 1
        } else if unsafe (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(byte(pos)) {
            unsafe skipDigits()
        } else {
            throw .invalidJSON
        }
        if unsafe pos < n, unsafe byte(pos) == UInt8(ascii: ".") {
            unsafe pos &+= 1
            let digits = unsafe pos
            unsafe skipDigits()
            if unsafe pos == digits { throw .invalidJSON }
        }
        if unsafe pos < n, unsafe byte(pos) == UInt8(ascii: "e") || byte(pos) == UInt8(ascii: "E") {
            unsafe pos &+= 1
            if unsafe pos < n, unsafe byte(pos) == UInt8(ascii: "+") || byte(pos) == UInt8(ascii: "-") { unsafe pos &+= 1 }
            let digits = unsafe pos
            unsafe skipDigits()
            if unsafe pos == digits { throw .invalidJSON }
        }
    }

    /// Moves past a run of ASCII digits, eight bytes at a time while eight are left.
    @inline(__always) @usableFromInline
    mutating func skipDigits() {
        let (stop, found) = unsafe SWAR.firstMarked(in: base, from: pos, end: count, SWAR.nonDigitMask)
        unsafe pos = stop
        if found { return }
        while unsafe pos < count, unsafe (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte(pos)) { unsafe pos &+= 1 }
    }
}
