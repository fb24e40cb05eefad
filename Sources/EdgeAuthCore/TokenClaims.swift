/// The raw claims of a verified token, decoded only when asked for.
public struct TokenClaims: Sendable, Hashable {
    /// The payload JSON exactly as signed.
    public let json: [UInt8]

    public init(json: [UInt8]) { self.json = json }

    /// All claims, decoded now.
    public var all: [String: JSONValue] {
        (try? JSONValue.parse(json))?.objectValue ?? [:]
    }

    /// One top-level claim, decoded now; nil when absent.
    public subscript(name: String) -> JSONValue? {
        unsafe json.withUnsafeBytes { doc -> JSONValue? in
            var reader = unsafe ValidatedReader(doc: doc, pos: 0)
            let object = unsafe reader.value()
            var name = name
            return name.withUTF8 { utf8 in
                unsafe JSONText.member(doc, object, UnsafeRawBufferPointer(utf8)).map { unsafe JSONValue.build(doc, $0) }
            }
        }
    }

    /// The value at an RFC 6901 JSON pointer (`/realm_access/roles`), decoded now.
    public func value(at pointer: String) -> JSONValue? {
        guard pointer.hasPrefix("/") else { return pointer.isEmpty ? try? JSONValue.parse(json) : nil }
        var current = try? JSONValue.parse(json)
        for rawToken in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard let token = unescapePointerToken(rawToken) else { return nil }
            switch current {
            case .object(let members)?: current = members[token]
            case .array(let items)?:
                // Decimal digits without a leading zero (RFC 6901 §4), as `ClaimPointer` reads them.
                guard token.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), token.utf8.count == 1 || token.utf8.first != 0x30,
                      let index = Int(token), items.indices.contains(index)
                else { return nil }
                current = items[index]
            default: return nil
            }
        }
        return current
    }
}

/// Unescapes one RFC 6901 reference token (`~1` is `/`, `~0` is `~`); nil for any other `~`.
func unescapePointerToken(_ token: Substring) -> String? {
    var out = ""
    var characters = token.makeIterator()
    while let character = characters.next() {
        guard character == "~" else {
            out.append(character)
            continue
        }
        switch characters.next() {
        case "0": out.append("~")
        case "1": out.append("/")
        default: return nil
        }
    }
    return out
}
