extension JSONText {
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
