/// The JSON type of a scanned value.
public enum JSONKind: UInt8, Sendable {
    case object, array, string, number, bool, null
}

/// A value inside a scanned document, by offsets: nothing is copied or decoded.
/// For strings, `start..<end` is the content between the quotes.
public struct JSONSlice: Sendable, Equatable {
    // 32-bit offsets keep a slice at 12 bytes: the scanner returns and copies many
    // of them (documents are limited far below 4 GiB).
    @usableFromInline var storedStart: UInt32
    @usableFromInline var storedEnd: UInt32
    public var kind: JSONKind
    /// A string whose content contains backslash escapes (compare with `JSONText`).
    public var hasEscapes: Bool
    /// An array that `JSONScanner` found to hold only strings (fits in the slice's
    /// padding; false when unknown).
    @usableFromInline var stringsOnly: Bool

    @inlinable
    public init(start: Int, end: Int, kind: JSONKind, hasEscapes: Bool = false) {
        self.init(start: start, end: end, kind: kind, hasEscapes: hasEscapes, stringsOnly: false)
    }

    @inlinable
    init(start: Int, end: Int, kind: JSONKind, hasEscapes: Bool, stringsOnly: Bool) {
        self.storedStart = UInt32(truncatingIfNeeded: start)
        self.storedEnd = UInt32(truncatingIfNeeded: end)
        self.kind = kind
        self.hasEscapes = hasEscapes
        self.stringsOnly = stringsOnly
    }

    @inlinable public var start: Int { Int(storedStart) }
    @inlinable public var end: Int { Int(storedEnd) }
    @inlinable public var count: Int { end - start }
}
