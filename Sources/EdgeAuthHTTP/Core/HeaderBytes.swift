/// Header names and list values as bytes: every request and answer goes through these, so
/// nothing here makes a `String`.
enum HeaderBytes {
    /// Whether `bytes` spell `lowercase` in any case (`lowercase` is letters, digits and `-`).
    @inline(__always)
    static func same(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        unsafe RequestDecoder.isEqual(bytes, lowercase, ignoringCase: true)
    }

    /// Whether `name` spells `lowercase` in any case.
    @inline(__always)
    static func same(_ name: String, _ lowercase: StaticString) -> Bool {
        guard name.utf8.count == lowercase.utf8CodeUnitCount else { return false }
        var name = name
        return name.withUTF8 { unsafe same(UnsafeRawBufferPointer($0), lowercase) }
    }

    /// Each element of a comma-separated list (RFC 9110 §5.6.1), without the spaces and tabs
    /// around it; empty elements are skipped.
    static func forEachElement(_ value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count, unsafe value[end] != UInt8(ascii: ",") { end += 1 }
            var first = start, last = end
            while first < last, unsafe value[first] == 0x20 || value[first] == 0x09 { first += 1 }
            while last > first, unsafe value[last - 1] == 0x20 || value[last - 1] == 0x09 { last -= 1 }
            if last > first { unsafe body(UnsafeRawBufferPointer(rebasing: value[first..<last])) }
            start = end + 1
        }
    }
}
