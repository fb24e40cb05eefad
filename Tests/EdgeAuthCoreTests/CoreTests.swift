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
        let claims = Claims(json: Array(#"{"realm_access":{"roles":["admin","a/b"]},"x~y":{"1":true},"list":[{"k":"v"}]}"#.utf8))
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
