/// An RFC 6901 JSON pointer into a token's claims (`/realm_access/roles`), parsed
/// once at configuration time so that resolving it on a token does not allocate.
public struct ClaimPointer: Sendable, Hashable, CustomStringConvertible {
    /// The unescaped reference tokens (`~1` → `/`, `~0` → `~`), as UTF-8.
    let tokens: [[UInt8]]
    public let description: String

    /// Nil for text that is not a pointer: it must start with `/` (or be empty, the
    /// whole document), and `~` must be followed by `0` or `1`.
    public init?(_ text: String) {
        guard text.isEmpty || text.hasPrefix("/") else { return nil }
        var tokens = [[UInt8]]()
        for raw in text.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            guard let token = unescapePointerToken(raw) else { return nil }
            tokens.append(Array(token.utf8))
        }
        self.tokens = tokens
        self.description = text
    }

    /// The pointer to one top-level claim, whatever its name contains (`https://acme.example/roles`).
    public init(claim name: String) {
        self.init(components: [name])
    }

    /// The pointer through these member names (or array indices), taken literally.
    public init(components: [String]) {
        tokens = components.map { Array($0.utf8) }
        var text = ""
        for component in components {
            text += "/"
            for character in component {
                switch character {
                case "~": text += "~0"
                case "/": text += "~1"
                default: text.append(character)
                }
            }
        }
        description = text
    }

    /// The value this pointer names in a validated document, or nil.
    package func resolve(in doc: UnsafeRawBufferPointer, from root: JSONSlice) -> JSONSlice? {
        var current = root
        for token in tokens {
            switch current.kind {
            case .object:
                guard let member = unsafe token.withUnsafeBytes({ unsafe JSONText.member(doc, current, $0) }) else { return nil }
                current = member
            case .array:
                // Decimal digits without a leading zero (RFC 6901 §4).
                guard !token.isEmpty, token.count <= 9, token.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      token.count == 1 || token[0] != 0x30
                else { return nil }
                var index = token.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                var found: JSONSlice?
                unsafe JSONText.forEachElement(doc, current) { element in
                    if index == 0 { found = element }
                    index -= 1
                    return index >= 0
                }
                guard let found else { return nil }
                current = found
            default:
                return nil
            }
        }
        return current
    }
}

extension ClaimPointer: ExpressibleByStringLiteral {
    /// A literal pointer; a malformed literal is a programming error.
    public init(stringLiteral value: String) {
        guard let pointer = ClaimPointer(value) else { preconditionFailure("not a JSON pointer: \(value)") }
        self = pointer
    }
}
