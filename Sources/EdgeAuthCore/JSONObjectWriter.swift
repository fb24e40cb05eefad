/// Writes one JSON object member by member into bytes, for documents whose shape the caller
/// knows (state records, token payloads, token responses): no `JSONValue` tree, no dictionary,
/// no `String` in between. Members keep the order they are written in; names are written as
/// given, so they must not need escaping.
public struct JSONObjectWriter: Sendable {
    private var out: [UInt8]
    private var empty = true

    public init(capacity: Int = 256) {
        out = []
        out.reserveCapacity(capacity)
        out.append(UInt8(ascii: "{"))
    }

    /// The object, closed.
    public consuming func finished() -> [UInt8] {
        out.append(UInt8(ascii: "}"))
        return out
    }

    public mutating func string(_ name: StaticString, _ value: String) {
        self.name(name)
        Self.appendString(value, to: &out)
    }

    /// A string given as UTF-8 bytes.
    public mutating func string(_ name: StaticString, utf8 value: [UInt8]) {
        self.name(name)
        out.append(UInt8(ascii: "\""))
        unsafe value.withUnsafeBytes { unsafe JSONText.appendEscaped($0, to: &out) }
        out.append(UInt8(ascii: "\""))
    }

    /// Left out when nil.
    public mutating func string(_ name: StaticString, _ value: String?) {
        if let value { string(name, value) }
    }

    public mutating func integer(_ name: StaticString, _ value: Int64) {
        self.name(name)
        Self.appendInteger(value, to: &out)
    }

    /// Left out when nil.
    public mutating func integer(_ name: StaticString, _ value: Int64?) {
        if let value { integer(name, value) }
    }

    public mutating func bool(_ name: StaticString, _ value: Bool) {
        self.name(name)
        out.append(contentsOf: value ? Self.trueLiteral : Self.falseLiteral)
    }

    public mutating func strings(_ name: StaticString, _ values: some Sequence<String>) {
        array(name, values) { out, value in Self.appendString(value, to: &out) }
    }

    /// A nested object, written by `body` into the same bytes.
    public mutating func object(_ name: StaticString, _ body: (inout JSONObjectWriter) -> Void) {
        self.name(name)
        var writer = JSONObjectWriter(continuing: &out)
        body(&writer)
        out = writer.finished()
    }

    /// An array of objects, each written by `body` into the same bytes.
    public mutating func objects<Values: Sequence>(_ name: StaticString, _ values: Values, _ body: (inout JSONObjectWriter, Values.Element) -> Void) {
        array(name, values) { out, value in
            var writer = JSONObjectWriter(continuing: &out)
            body(&writer, value)
            out = writer.finished()
        }
    }

    /// A writer that appends an object to `out`, which it takes over until `finished()`.
    private init(continuing out: inout [UInt8]) {
        self.out = []
        swap(&self.out, &out)
        self.out.append(UInt8(ascii: "{"))
    }

    private mutating func array<Values: Sequence>(_ name: StaticString, _ values: Values, _ element: (inout [UInt8], Values.Element) -> Void) {
        self.name(name)
        out.append(UInt8(ascii: "["))
        var first = true
        for value in values {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            element(&out, value)
        }
        out.append(UInt8(ascii: "]"))
    }

    private mutating func name(_ name: StaticString) {
        if !empty { out.append(UInt8(ascii: ",")) }
        empty = false
        out.append(UInt8(ascii: "\""))
        unsafe out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    private static let trueLiteral = Array("true".utf8)
    private static let falseLiteral = Array("false".utf8)

    /// `value` as a JSON string literal, escaped as `JSONValue.writeString` escapes.
    public static func appendString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in unsafe JSONText.appendEscaped(UnsafeRawBufferPointer(bytes), to: &out) }
        out.append(UInt8(ascii: "\""))
    }

    public static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        unsafe withUnsafeTemporaryAllocation(byteCount: 24, alignment: 1) { buffer in
            let count = unsafe writeDigits(value.magnitude, to: buffer.baseAddress!)
            unsafe out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }
}
