import EdgeAuth
import Foundation
import NIOCore

/// Why a request body was refused, and the answer that says so.
public enum RequestBodyError: Error, Sendable, Equatable {
    /// Larger than the route accepts (413).
    case tooLarge(limit: Int)
    /// Another media type than the route reads (415).
    case unsupportedMediaType(expected: String)
    /// Not a valid document of its type (400), with what is wrong.
    case malformed(String)

    public var reply: HTTPReply {
        switch self {
        case .tooLarge(let limit): .error(.payloadTooLarge, "invalid_request", "the request body is larger than \(limit) bytes")
        case .unsupportedMediaType(let expected): .error(.unsupportedMediaType, "invalid_request", "the request body must be \(expected)")
        case .malformed(let problem): .error(.badRequest, "invalid_request", problem)
        }
    }
}

/// An `application/x-www-form-urlencoded` body (the OAuth token, registration-less and
/// consent endpoints), decoded strictly: valid percent-escapes and UTF-8 only, within limits.
public struct FormBody: Sendable {
    /// The fields in the order sent.
    public let fields: [(name: String, value: String)]

    public struct Limits: Sendable {
        public var maxBytes = 64 * 1024
        public var maxFields = 64
        public init() {}
    }

    public static let mediaType = "application/x-www-form-urlencoded"

    /// Decodes a request's body after checking its `Content-Type`.
    public init(_ body: ByteBuffer, contentType: String?, limits: Limits = Limits()) throws(RequestBodyError) {
        guard let contentType, MediaType.matches(contentType, Self.mediaType) else { throw .unsupportedMediaType(expected: Self.mediaType) }
        guard body.readableBytes <= limits.maxBytes else { throw .tooLarge(limit: limits.maxBytes) }
        // One copy into an array, then slices of it: walking the buffer's view index by index
        // cost more than the rest of a token request's form handling.
        let bytes = Array(body.readableBytesView)
        var fields = [(name: String, value: String)]()
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.endIndex
            defer { start = end + 1 }
            guard end > start else { continue }  // `&&`: an empty pair is skipped
            guard fields.count < limits.maxFields else { throw .malformed("the form has more than \(limits.maxFields) fields") }
            let pair = bytes[start..<end]
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            let name = try Self.decode(pair[..<(equals ?? end)])
            guard !name.isEmpty else { throw .malformed("a form field has no name") }
            let value = if let equals { try Self.decode(pair[(equals + 1)...]) } else { "" }
            fields.append((name, value))
        }
        self.fields = fields
    }

    /// The fields of a URL's query string (`/authorize` by GET), decoded the same way.
    public init(query: Substring?, limits: Limits = Limits()) throws(RequestBodyError) {
        try self.init(ByteBuffer(string: String(query ?? "")), contentType: Self.mediaType, limits: limits)
    }

    /// Every field by name; a repeated parameter is an error (RFC 6749 §3.1).
    public func parameters() throws(RequestBodyError) -> [String: String] {
        var out: [String: String] = [:]
        for field in fields {
            guard out.updateValue(field.value, forKey: field.name) == nil else { throw .malformed("the parameter \(field.name) is repeated") }
        }
        return out
    }

    /// The value of a field sent at most once (RFC 6749 §3.1: a repeated parameter is an error).
    public func value(_ name: String) throws(RequestBodyError) -> String? {
        var found: String?
        for field in fields where field.name == name {
            guard found == nil else { throw .malformed("the parameter \(name) is repeated") }
            found = field.value
        }
        return found
    }

    /// `+` is a space; `%XY` a byte; the result must be UTF-8.
    private static func decode(_ bytes: ArraySlice<UInt8>) throws(RequestBodyError) -> String {
        if !bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) {
            guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformed("the form is not UTF-8") }
            return text
        }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            bytes.formIndex(after: &index)
            switch byte {
            case UInt8(ascii: "+"):
                out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard index != bytes.endIndex, let high = JSONText.hexValue(bytes[index]) else { throw .malformed("the form has an invalid percent-escape") }
                bytes.formIndex(after: &index)
                guard index != bytes.endIndex, let low = JSONText.hexValue(bytes[index]) else { throw .malformed("the form has an invalid percent-escape") }
                bytes.formIndex(after: &index)
                out.append(high << 4 | low)
            default:
                out.append(byte)
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw .malformed("the form is not UTF-8") }
        return text
    }
}

/// An `application/json` body (dynamic client registration), parsed strictly within limits.
public enum JSONBody {
    public static let mediaType = "application/json"

    public static func parse(_ body: ByteBuffer, contentType: String?, maxBytes: Int = 64 * 1024,
                             limits: JSONLimits = JSONLimits(maxDepth: 16, maxMembers: 1024)) throws(RequestBodyError) -> JSONValue {
        guard let contentType, MediaType.matches(contentType, mediaType) else { throw .unsupportedMediaType(expected: mediaType) }
        guard body.readableBytes <= maxBytes else { throw .tooLarge(limit: maxBytes) }
        do {
            return try JSONValue.parse(body.readableBytesView, limits: limits)
        } catch {
            throw .malformed("the request body is not valid JSON: \(error.explanation)")
        }
    }
}

/// Media-type comparison (RFC 9110 §8.3.1): the type and subtype case-insensitively, parameters ignored.
enum MediaType {
    /// Whether `contentType`'s type and subtype (before any parameter, without the spaces
    /// and tabs around them, in any case) are `expected` (lowercase).
    static func matches(_ contentType: String, _ expected: String) -> Bool {
        matches(contentType.utf8, expected)
    }

    /// The same on the value's bytes.
    static func matches<Bytes: BidirectionalCollection<UInt8>>(_ contentType: Bytes, _ expected: String) -> Bool {
        var essence = contentType.prefix { $0 != UInt8(ascii: ";") }[...]
        while let first = essence.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { essence.removeFirst() }
        while let last = essence.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { essence.removeLast() }
        return essence.elementsEqual(expected.utf8) { byte, wanted in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 == wanted : byte == wanted
        }
    }
}
