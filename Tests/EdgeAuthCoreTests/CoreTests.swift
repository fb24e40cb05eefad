import EdgeAuthCore
import Testing

@Suite("Base64URL")
struct Base64URLTests {
    @Test("decodes canonical unpadded base64url and round-trips every length")
    func roundTrip() throws {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(try Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
        #expect(try Base64URL.decode("_-8") == [0xFF, 0xEF])
    }

    @Test("rejects padding, whitespace, the standard alphabet, impossible lengths and non-zero trailing bits",
          arguments: [("YQ==", Malformation.base64Padding), ("Y Q", .whitespace), ("a+b/", .base64Alphabet),
                      ("abcde", .base64Length), ("YR", .base64NonCanonical), ("YWJ", .base64NonCanonical), ("YQ\n", .whitespace)])
    func strictness(input: String, expected: Malformation) {
        #expect(throws: expected) { try Base64URL.decode(input) }
    }
}

@Suite("JSON values and NumericDate")
struct JSONTests {
    @Test("parses nested documents and keeps numbers as written")
    func parse() throws {
        let value = try JSONValue.parse(#"{"a": [1, 2.5e3, true, null, "x\u00e9\ud83d\ude00"], "b": {"c": -0}}"#)
        #expect(value["a"] == [1, .number("2.5e3"), true, .null, "xé😀"])
        #expect(value["b"]?["c"] == .number("-0"))
        #expect(value.jsonText == #"{"a":[1,2.5e3,true,null,"xé😀"],"b":{"c":-0}}"#)
    }

    @Test("rejects duplicate names even when spelled with escapes, in nested objects too")
    func duplicates() {
        #expect(throws: Malformation.duplicateMember) { try JSONValue.parse(#"{"a":1,"\u0061":2}"#) }
        #expect(throws: Malformation.duplicateMember) { try JSONValue.parse(#"{"x":{"k":1,"k":1}}"#) }
        #expect(throws: Never.self) { try JSONValue.parse(#"{"x":{"k":1},"y":{"k":1}}"#) }
    }

    @Test("enforces depth and member limits")
    func limits() {
        let deep = String(repeating: "[", count: 20) + String(repeating: "]", count: 20)
        #expect(throws: Malformation.nestingTooDeep) { try JSONValue.parse(deep, limits: JSONLimits(maxDepth: 10, maxMembers: 10)) }
        #expect(throws: Malformation.tooManyMembers) { try JSONValue.parse(#"{"a":1,"b":2,"c":3}"#, limits: JSONLimits(maxDepth: 10, maxMembers: 2)) }
    }

    @Test("NumericDate accepts integers, fractions and exponents in range, floors fractions",
          arguments: [("1764000000", Int64(1_764_000_000)), ("1764000000.9", 1_764_000_000), ("1.764e9", 1_764_000_000),
                      ("0", 0), ("-0", 0), ("0.5", 0), ("253402300799", 253_402_300_799), ("17640000000e-1", 1_764_000_000)])
    func numericDateAccepted(text: String, expected: Int64) {
        #expect(numericDate(text) == expected)
    }

    @Test("NumericDate rejects negative, huge and non-number values",
          arguments: ["-1", "1e400", "253402300800", "99999999999999999999999", "\"1764000000\"", "null", "true"])
    func numericDateRejected(text: String) {
        #expect(numericDate(text) == nil)
    }

    @Test("NumericDate rounding up (nbf, iat) never narrows a fraction to an earlier second",
          arguments: [("1764000000.1", Int64(1_764_000_001)), ("1764000000", 1_764_000_000), ("0.5", 1), ("1e-30", 1),
                      ("1764000000.0000000000000000000001", 1_764_000_001), ("1.7640000001e9", 1_764_000_001), ("0", 0)])
    func numericDateRoundedUp(text: String, expected: Int64) {
        #expect(numericDate(text, roundingUp: true) == expected)
    }

    func numericDate(_ text: String, roundingUp: Bool = false) -> Int64? {
        let doc = Array("{\"v\":\(text)}".utf8)
        return doc.withUnsafeBytes { raw in
            var result: Int64?
            JSONText.forEachMember(raw, JSONSlice(start: 0, end: raw.count, kind: .object)) { _, value in
                result = JSONText.numericDate(raw, value, roundingUp: roundingUp)
                return false
            }
            return result
        }
    }
}

@Suite("Claims and identity")
struct ClaimsTests {
    @Test("claims are decoded lazily by name and by JSON pointer")
    func claims() throws {
        let claims = TokenClaims(json: Array(#"{"realm_access":{"roles":["admin","a/b"]},"x~y":{"1":true},"list":[{"k":"v"}]}"#.utf8))
        #expect(claims["realm_access"]?["roles"] == ["admin", "a/b"])
        #expect(claims.value(at: "/realm_access/roles") == ["admin", "a/b"])
        #expect(claims.value(at: "/x~0y/1") == true)
        #expect(claims.value(at: "/list/0/k") == "v")
        #expect(claims.value(at: "/list/1") == nil)
        #expect(claims.value(at: "/bad~2") == nil)
        #expect(claims["absent"] == nil)
    }

    @Test("Reason codes are stable strings")
    func reasonCodes() {
        #expect(Reason.malformed(.base64Padding).code == "malformed.base64Padding")
        #expect(Reason.wrongAudience(expected: ["a"], got: ["b"]).code == "wrongAudience")
        #expect(Reason.wrongAudience(expected: ["https://api"], got: ["account"]).explanation.contains("\"account\""))
        #expect(Reason.wrongIssuer(expected: ["https://t.auth0.com/"], got: "https://t.auth0.com").explanation.contains("trailing slash"))
    }
}

@Suite("Token parsing beyond the stack name table")
struct NameTableTests {
    func parse(payload: String, maxMembers: Int = 256) -> Result<Int, Reason> {
        let token = Base64URL.encode(Array(#"{"alg":"EdDSA"}"#.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "."
            + Base64URL.encode([UInt8](repeating: 0, count: 64))
        return Array(token.utf8).withUnsafeBytes { raw in
            TokenView.parse(raw, limits: TokenLimits(json: JSONLimits(maxDepth: 16, maxMembers: maxMembers))) { result in
                result.map { view in
                    var count = 0
                    JSONText.forEachMember(view.payload, view.payloadObject) { _, _ in
                        count += 1
                        return true
                    }
                    return count
                }
            }
        }
    }

    func object(_ names: [String]) -> String {
        "{" + names.map { "\"\($0)\":1" }.joined(separator: ",") + "}"
    }

    @Test("200 members, more than the stack table holds, parse; duplicates among them are still found")
    func largeObjects() throws {
        let names = (0..<200).map { "claim\($0)" }
        #expect(try parse(payload: object(names)).get() == 200)
        #expect(throws: Reason.malformed(.duplicateMember)) { try parse(payload: object(names + ["claim7"])).get() }
        #expect(throws: Reason.malformed(.tooManyMembers)) { try parse(payload: object(names), maxMembers: 150).get() }
    }
}

@Suite("Duplicate member names, with the name filter")
struct DuplicateNameTests {
    func parse(_ payload: String) -> Result<Int, Reason> { NameTableTests().parse(payload: payload) }

    @Test("a repeated name is found wherever the two copies are, for names of 1 to 9 bytes")
    func everyPosition() throws {
        for length in 1...9 {
            let names = (0..<24).map { String(repeating: "n", count: length - 1) + String(UnicodeScalar(UInt8(65 + $0))) }
            #expect(try parse(NameTableTests().object(names)).get() == 24)
            for first in stride(from: 0, to: 24, by: 5) {
                for second in (first + 1)..<24 {
                    var repeated = names
                    repeated[second] = names[first]
                    #expect(throws: Reason.malformed(.duplicateMember), "length \(length), \(first) and \(second)") {
                        try parse(NameTableTests().object(repeated)).get()
                    }
                }
            }
        }
    }

    @Test("names spelled with escapes match raw names before and after them")
    func escapes() throws {
        #expect(throws: Reason.malformed(.duplicateMember)) { try parse(#"{"exp":1,"b":2,"\u0065xp":3}"#).get() }
        #expect(throws: Reason.malformed(.duplicateMember)) { try parse(#"{"\u0065xp":1,"b":2,"exp":3}"#).get() }
        #expect(throws: Reason.malformed(.duplicateMember)) { try parse(#"{"\u0065xp":1,"e\u0078p":3}"#).get() }
        #expect(try parse(#"{"\u0065xp":1,"b":2,"expx":3,"ex":4}"#).get() == 4)
    }

    @Test("names that share a prefix and length but differ later, and the same name in different objects, are not duplicates")
    func nearMisses() throws {
        #expect(try parse(#"{"abcdX":1,"abcdY":2,"o":{"abcdX":1},"p":{"abcdX":{"abcdX":1}}}"#).get() == 4)
        #expect(throws: Reason.malformed(.duplicateMember)) { try parse(#"{"o":{"k":1,"a":2,"k":3}}"#).get() }
    }
}

@Suite("Segment decoding")
struct SegmentDecodingTests {
    /// The reason `TokenView.parse` gives, or nil when it accepts.
    func reason(_ token: String) -> Reason? {
        Array(token.utf8).withUnsafeBytes { raw in
            TokenView.parse(raw) { result -> Reason? in
                if case .failure(let reason) = result { return reason }
                return nil
            }
        }
    }

    @Test("every split point of a valid token's text is found, and every segment length decodes the same bytes")
    func lengths() throws {
        for payloadLength in 0..<40 {
            let payload = #"{"exp":1,"x":""# + String(repeating: "y", count: payloadLength) + #""}"#
            for signatureLength in [16, 17, 31, 64, 65] {
                let signature = (0..<signatureLength).map { UInt8(truncatingIfNeeded: $0 * 37) }
                let token = Base64URL.encode(Array(#"{"alg":"RS256"}"#.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "." + Base64URL.encode(signature)
                let decoded: ([UInt8], [UInt8], [UInt8], Int)? = Array(token.utf8).withUnsafeBytes { raw in
                    TokenView.parse(raw) { result in
                        guard case .success(let view) = result else { return nil }
                        return (Array(view.header), Array(view.payload), Array(view.signature), view.signingInput.count)
                    }
                }
                let view = try #require(decoded, "payload \(payloadLength), signature \(signatureLength)")
                #expect(view.0 == Array(#"{"alg":"RS256"}"#.utf8))
                #expect(view.1 == Array(payload.utf8))
                #expect(view.2 == signature)
                #expect(view.3 == token.utf8.count - 1 - Base64URL.encode(signature).utf8.count)
            }
        }
    }

    @Test("a problem anywhere in a segment gets the code the strict rules give it")
    func problems() {
        let header = Base64URL.encode(Array(#"{"alg":"HS256"}"#.utf8))
        let payload = Base64URL.encode(Array(#"{"exp":1}"#.utf8))
        let signature = Base64URL.encode([UInt8](repeating: 7, count: 32))
        #expect(reason(header + "." + payload) == .malformed(.segmentCount))
        #expect(reason(header + "." + payload + "." + signature + ".") == .malformed(.segmentCount))
        #expect(reason(header + ".." + signature) == .malformed(.emptySegment))
        #expect(reason("." + payload + "." + signature) == .malformed(.emptySegment))
        #expect(reason(header + "." + payload + "." + signature + "=") == .malformed(.base64Padding))
        #expect(reason(header + "." + payload + " ." + signature) == .malformed(.whitespace))
        #expect(reason(header + "." + payload + "+." + signature) == .malformed(.base64Alphabet))
        // "Ag" carries bits beyond its one byte in "g": not the canonical encoding of 0x02.
        #expect(reason(header + "." + payload + "." + signature.dropLast(2) + "Ah") == .malformed(.base64NonCanonical))
        #expect(reason(header + "." + payload + "é." + signature) == .malformed(.base64Alphabet))
        #expect(reason(header + "." + payload + "." + signature) == nil)
    }
}
