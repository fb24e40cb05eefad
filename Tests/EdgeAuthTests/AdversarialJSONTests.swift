import EdgeAuth
import EdgeAuthTesting
import Testing

/// Strict JSON (RFC 8259) in the header and the payload: every token here is
/// correctly signed, so only the JSON rules can reject it.
@Suite("Adversarial: JSON")
struct AdversarialJSONTests {
    typealias A = Adversary

    /// A correctly signed token whose payload is `payload`.
    static func payload(_ name: String, _ expected: Expected, _ payload: String) -> AttackCase {
        AttackCase(name, expected) { A.hs256(payload: payload) }
    }

    /// A correctly signed token whose header is `header`.
    static func header(_ name: String, _ expected: Expected, _ header: String) -> AttackCase {
        AttackCase(name, expected) { A.hs256(header: header) }
    }

    /// A correctly signed token with one more payload member whose value is `value` (raw JSON text).
    static func value(_ name: String, _ expected: Expected, _ value: String) -> AttackCase {
        payload(name, expected, A.claims(extra: #""x":\#(value)"#))
    }

    /// A correctly signed token whose payload is valid claims plus a string member with these raw bytes.
    static func stringBytes(_ name: String, _ expected: Expected, _ content: [UInt8]) -> AttackCase {
        AttackCase(name, expected) { A.hs256(payloadBytes: A.claimsBytes(content: content)) }
    }

    static let notObjectCases: [AttackCase] = [
        header("a header that is an array is refused", .malformed(.headerNotObject), #"["alg","HS256"]"#),
        header("a header that is an empty array is refused", .malformed(.headerNotObject), "[]"),
        header("a header that is a string is refused", .malformed(.headerNotObject), #""HS256""#),
        header("a header that is a number is refused", .malformed(.headerNotObject), "256"),
        header("a header that is null is refused", .malformed(.headerNotObject), "null"),
        header("a header that is true is refused", .malformed(.headerNotObject), "true"),
        header("a header of whitespace only is refused", .malformed(.headerNotObject), " \n"),
        AttackCase("a header that encodes to nothing is an empty segment", .malformed(.emptySegment)) { A.hs256(header: "") },
        payload("a payload that is an array is refused", .malformed(.payloadNotObject), #"[{"sub":"user-123"}]"#),
        payload("a payload that is a string is refused", .malformed(.payloadNotObject), #""user-123""#),
        payload("a payload that is a number is refused", .malformed(.payloadNotObject), "1764003600"),
        payload("a payload that is null is refused", .malformed(.payloadNotObject), "null"),
        payload("a payload that is false is refused", .malformed(.payloadNotObject), "false"),
        payload("a payload of whitespace only is refused", .malformed(.payloadNotObject), "\t "),
        AttackCase("a payload that encodes to nothing is an empty segment", .malformed(.emptySegment)) { A.hs256(payload: "") },
    ]

    @Test("header and payload must be JSON objects", arguments: notObjectCases)
    func notObject(_ attack: AttackCase) { attack.run() }

    static let grammarCases: [AttackCase] = [
        header("a trailing comma in the header is refused", .malformed(.invalidJSON), #"{"alg":"HS256","kid":"hmac-1",}"#),
        header("single-quoted header names are refused", .malformed(.invalidJSON), #"{'alg':'HS256'}"#),
        header("garbage after the header object is refused", .malformed(.invalidJSON), #"{"alg":"HS256","kid":"hmac-1"}x"#),
        header("an unterminated header object is refused", .malformed(.invalidJSON), #"{"alg":"HS256","kid":"hmac-1""#),
        payload("a trailing comma in the payload object is refused", .malformed(.invalidJSON), A.claims(extra: #""x":1,"#)),
        value("a trailing comma in an array is refused", .malformed(.invalidJSON), #"["a",]"#),
        value("an empty array element is refused", .malformed(.invalidJSON), #"["a",,"b"]"#),
        payload("single-quoted payload names are refused", .malformed(.invalidJSON), A.claims(extra: #"'x':"a""#)),
        value("a single-quoted string value is refused", .malformed(.invalidJSON), "'a'"),
        payload("unquoted member names are refused", .malformed(.invalidJSON), A.claims(extra: "x:1")),
        payload("a missing comma between members is refused", .malformed(.invalidJSON), A.claims(extra: #""x":1 "y":2"#)),
        payload("a missing colon is refused", .malformed(.invalidJSON), A.claims(extra: #""x" 1"#)),
        payload("a block comment is refused", .malformed(.invalidJSON), A.claims(extra: #""x":1/* admin */"#)),
        payload("a line comment is refused", .malformed(.invalidJSON), A.claims(extra: "\"x\":1 // admin\n")),
        payload("garbage after the payload object is refused", .malformed(.invalidJSON), A.claims() + "x"),
        payload("a second object after the payload is refused", .malformed(.invalidJSON), A.claims() + #"{"sub":"admin"}"#),
        payload("a NUL byte after the payload object is refused", .malformed(.invalidJSON), A.claims() + "\0"),
        payload("an unterminated string is refused", .malformed(.invalidJSON), String(A.claims().dropLast()) + #","x":"abc"#),
        payload("an unterminated payload object is refused", .malformed(.invalidJSON), String(A.claims().dropLast())),
        value("a capitalised True is refused", .malformed(.invalidJSON), "True"),
        value("a truncated null is refused", .malformed(.invalidJSON), "nul"),
        value("undefined is refused", .malformed(.invalidJSON), "undefined"),
        value("a bad escape \\x41 is refused", .malformed(.invalidJSON), #""\x41""#),
        value("a short \\u escape is refused", .malformed(.invalidJSON), #""\u12""#),
        value("a non-hex \\u escape is refused", .malformed(.invalidJSON), #""\uZZZZ""#),
        value("an uppercase \\U escape is refused", .malformed(.invalidJSON), #""\U0041""#),
        value("an escaped single quote is refused", .malformed(.invalidJSON), #""\'""#),
        value("a form feed between tokens is not JSON whitespace", .malformed(.invalidJSON), "\u{0C}1"),
        value("a vertical tab between tokens is not JSON whitespace", .malformed(.invalidJSON), "\u{0B}1"),
        value("a no-break space between tokens is not JSON whitespace", .malformed(.invalidJSON), "\u{A0}1"),
        AttackCase("JSON whitespace between every token is accepted", .valid) {
            A.hs256(
                header: " {\n\t\"alg\" : \"HS256\" ,\r\n \"kid\":\"hmac-1\"\n} ",
                payload: "\r\n{ \"iss\" : \"\(A.issuer)\" ,\n\"aud\":[ \"\(A.audience)\" ] , \"exp\" :\t\(A.now + 60) }\n"
            )
        },
    ]

    @Test("JSON grammar", arguments: grammarCases)
    func grammar(_ attack: AttackCase) { attack.run() }

    static let numberCases: [AttackCase] = [
        value("a leading zero is refused", .malformed(.invalidJSON), "01"),
        value("a leading zero in exp is refused", .malformed(.invalidJSON), "01764003600"),
        value("a negative leading zero is refused", .malformed(.invalidJSON), "-01"),
        value("a leading plus is refused", .malformed(.invalidJSON), "+1"),
        value("a leading decimal point is refused", .malformed(.invalidJSON), ".5"),
        value("a trailing decimal point is refused", .malformed(.invalidJSON), "1."),
        value("a decimal point before the exponent is refused", .malformed(.invalidJSON), "1.e5"),
        value("an exponent without digits is refused", .malformed(.invalidJSON), "1e"),
        value("a signed exponent without digits is refused", .malformed(.invalidJSON), "1e+"),
        value("a lone minus is refused", .malformed(.invalidJSON), "-"),
        value("a double minus is refused", .malformed(.invalidJSON), "--1"),
        value("NaN is refused", .malformed(.invalidJSON), "NaN"),
        value("Infinity is refused", .malformed(.invalidJSON), "Infinity"),
        value("-Infinity is refused", .malformed(.invalidJSON), "-Infinity"),
        value("hexadecimal is refused", .malformed(.invalidJSON), "0x10"),
        value("digit separators are refused", .malformed(.invalidJSON), "1_000"),
        value("valid number forms are accepted", .valid, "[0,-0,0.5,-1.25e-3,1E+2,12345678901234567890123]"),
    ]

    @Test("numbers RFC 8259 forbids", arguments: numberCases)
    func numbers(_ attack: AttackCase) { attack.run() }

    static let duplicateCases: [AttackCase] = [
        header("alg twice in the header (HS256 then none) is refused", .malformed(.duplicateMember), #"{"alg":"HS256","alg":"none"}"#),
        header("alg twice in the header, once as \\u0061lg, is refused", .malformed(.duplicateMember), #"{"alg":"HS256","\u0061lg":"none"}"#),
        header("kid twice in the header is refused", .malformed(.duplicateMember), #"{"alg":"HS256","kid":"hmac-1","kid":"attacker"}"#),
        header("a duplicate inside a nested header object is refused", .malformed(.duplicateMember), #"{"alg":"HS256","x":{"k":1,"\u006b":2}}"#),
        payload("exp twice in the payload is refused", .malformed(.duplicateMember), A.claims(extra: #""exp":9999999999"#)),
        payload("exp twice, once as \\u0065xp, is refused", .malformed(.duplicateMember), A.claims(extra: #""\u0065xp":9999999999"#)),
        payload("iss twice, once as i\\u0073s, is refused", .malformed(.duplicateMember), A.claims(extra: #""i\u0073s":"https://attacker.example/""#)),
        payload("a name with an escaped solidus equals the plain name", .malformed(.duplicateMember), A.claims(extra: #""a/b":1,"a\/b":2"#)),
        payload("a surrogate-pair escape equals the raw UTF-8 name", .malformed(.duplicateMember), A.claims(extra: #""😀":1,"\ud83d\ude00":2"#)),
        payload("\\u00e9 equals the raw UTF-8 é", .malformed(.duplicateMember), A.claims(extra: #""é":1,"\u00E9":2"#)),
        payload("a duplicate inside a nested object is refused", .malformed(.duplicateMember), A.claims(extra: #""ctx":{"role":"user","role":"admin"}"#)),
        payload("a duplicate inside an object in an array is refused", .malformed(.duplicateMember), A.claims(extra: #""list":[{"a":1},{"a":1,"a":2}]"#)),
        payload("a top-level duplicate after a nested object is refused", .malformed(.duplicateMember), A.claims(extra: #""a":1,"n":{"x":1,"y":{"z":2}},"a":2"#)),
        payload("the same name in sibling objects is accepted", .valid, A.claims(extra: #""a":{"k":1},"b":{"k":2}"#)),
        payload("the same name at different depths is accepted", .valid, A.claims(extra: #""k":{"k":{"k":1}}"#)),
        payload("precomposed and decomposed é are different names", .valid, A.claims(extra: #""\u00e9":1,"e\u0301":2"#)),
        payload("names differing in case are different names", .valid, A.claims(extra: #""EXP":1,"Exp":2"#)),
    ]

    @Test("duplicate member names", arguments: duplicateCases)
    func duplicates(_ attack: AttackCase) { attack.run() }

    static func arrays(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }

    static func objects(_ depth: Int) -> String {
        String(repeating: #"{"a":"#, count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)
    }

    static let limitCases: [AttackCase] = [
        value("15 nested arrays in a claim (depth 16) are accepted", .valid, arrays(15)),
        value("16 nested arrays in a claim (depth 17) are refused", .malformed(.nestingTooDeep), arrays(16)),
        value("15 nested objects in a claim (depth 16) are accepted", .valid, objects(15)),
        value("16 nested objects in a claim (depth 17) are refused", .malformed(.nestingTooDeep), objects(16)),
        value("10000 unclosed brackets are refused for depth, not overflow", .malformed(.nestingTooDeep), String(repeating: "[", count: 10_000)),
        header("16 nested arrays in the header are refused", .malformed(.nestingTooDeep), A.header(extra: #""x":\#(arrays(16))"#)),
        AttackCase("a claim at a configured depth of 2 is accepted", .valid, verifier: { A.verifier { $0.limits.json.maxDepth = 2 } }) {
            A.hs256(payload: A.claims(extra: #""x":{"y":1}"#))
        },
        AttackCase("a claim one deeper than a configured depth of 2 is refused", .malformed(.nestingTooDeep), verifier: { A.verifier { $0.limits.json.maxDepth = 2 } }) {
            A.hs256(payload: A.claims(extra: #""x":{"y":[]}"#))
        },
        payload("256 payload members are accepted", .valid, A.claims(extra: members(251))),
        payload("257 payload members are refused", .malformed(.tooManyMembers), A.claims(extra: members(252))),
        payload("nested members count toward the limit (256 accepted)", .valid, A.claims(extra: #""n":{\#(members(250))}"#)),
        payload("nested members count toward the limit (257 refused)", .malformed(.tooManyMembers), A.claims(extra: #""n":{\#(members(251))}"#)),
        payload("1000 members are refused", .malformed(.tooManyMembers), A.claims(extra: members(1000))),
        header("257 header members are refused", .malformed(.tooManyMembers), A.header(extra: members(254))),
        AttackCase("a payload at a configured limit of 6 members is accepted", .valid, verifier: { A.verifier { $0.limits.json.maxMembers = 6 } }) {
            A.hs256(payload: A.claims(extra: members(1)))
        },
        AttackCase("a payload over a configured limit of 6 members is refused", .malformed(.tooManyMembers), verifier: { A.verifier { $0.limits.json.maxMembers = 6 } }) {
            A.hs256(payload: A.claims(extra: members(2)))
        },
        AttackCase("a configured limit of 0 members refuses even a one-member header", .malformed(.tooManyMembers), verifier: {
            A.verifier {
                $0.limits.json.maxMembers = 0
                $0.issuers = .any
                $0.audiences = .any
            }
        }) {
            A.hs256(header: #"{"alg":"HS256"}"#, payload: #"{"exp":\#(A.now + 60)}"#)
        },
    ]

    /// `count` members `"m0":0,"m1":0,…` (without braces).
    static func members(_ count: Int) -> String {
        (0..<count).map { #""m\#($0)":0"# }.joined(separator: ",")
    }

    @Test("nesting depth and member count limits", arguments: limitCases)
    func limits(_ attack: AttackCase) { attack.run() }

    static let utf8Cases: [AttackCase] = [
        stringBytes("an overlong 2-byte sequence (C0 AF) is refused", .malformed(.invalidUTF8), [0xC0, 0xAF]),
        stringBytes("an overlong 2-byte sequence (C1 BF) is refused", .malformed(.invalidUTF8), [0xC1, 0xBF]),
        stringBytes("an overlong 3-byte sequence (E0 80 AF) is refused", .malformed(.invalidUTF8), [0xE0, 0x80, 0xAF]),
        stringBytes("an overlong 4-byte sequence (F0 80 80 AF) is refused", .malformed(.invalidUTF8), [0xF0, 0x80, 0x80, 0xAF]),
        stringBytes("a high surrogate encoded in UTF-8 (ED A0 80) is refused", .malformed(.invalidUTF8), [0xED, 0xA0, 0x80]),
        stringBytes("a low surrogate encoded in UTF-8 (ED BF BF) is refused", .malformed(.invalidUTF8), [0xED, 0xBF, 0xBF]),
        stringBytes("a truncated 2-byte sequence is refused", .malformed(.invalidUTF8), [0x61, 0xC3]),
        stringBytes("a truncated 3-byte sequence is refused", .malformed(.invalidUTF8), [0xE2, 0x82]),
        stringBytes("a truncated 4-byte sequence is refused", .malformed(.invalidUTF8), [0xF0, 0x9F, 0x98]),
        stringBytes("a lone continuation byte is refused", .malformed(.invalidUTF8), [0x80]),
        stringBytes("a 0xFF byte is refused", .malformed(.invalidUTF8), [0xFF]),
        stringBytes("a 0xFE byte is refused", .malformed(.invalidUTF8), [0xFE]),
        stringBytes("a code point above U+10FFFF (F4 90 80 80) is refused", .malformed(.invalidUTF8), [0xF4, 0x90, 0x80, 0x80]),
        stringBytes("a 5-byte lead (F8) is refused", .malformed(.invalidUTF8), [0xF8, 0x88, 0x80, 0x80, 0x80]),
        AttackCase("a sequence cut off by the end of the payload is refused", .malformed(.invalidUTF8)) {
            A.hs256(payloadBytes: Array(A.claims().dropLast().utf8) + Array(#","x":""#.utf8) + [0xE2])
        },
        AttackCase("invalid UTF-8 in a member name is refused", .malformed(.invalidUTF8)) {
            A.hs256(payloadBytes: Array(A.claims().dropLast().utf8) + Array(#","a"#.utf8) + [0xFF] + Array(#"":1}"#.utf8))
        },
        AttackCase("invalid UTF-8 in the header kid is refused", .malformed(.invalidUTF8)) {
            A.hs256(headerBytes: Array(#"{"alg":"HS256","kid":"hmac-"#.utf8) + [0xC0, 0xB1] + Array(#""}"#.utf8), payloadBytes: Array(A.claims().utf8))
        },
        stringBytes("2-, 3- and 4-byte sequences are accepted", .valid, Array("é€😀".utf8)),
        stringBytes("U+10FFFF (F4 8F BF BF) is accepted", .valid, [0xF4, 0x8F, 0xBF, 0xBF]),
        stringBytes("the noncharacter U+FFFF (EF BF BF) is valid UTF-8", .valid, [0xEF, 0xBF, 0xBF]),
    ]

    @Test("invalid UTF-8 in strings", arguments: utf8Cases)
    func utf8(_ attack: AttackCase) { attack.run() }

    static let escapeCases: [AttackCase] = [
        value("a lone high surrogate escape is refused", .malformed(.invalidUTF8), #""\ud800""#),
        value("a lone low surrogate escape is refused", .malformed(.invalidUTF8), #""\udc00""#),
        value("a high surrogate followed by a non-surrogate escape is refused", .malformed(.invalidUTF8), #""\ud800\u0041""#),
        value("two high surrogates are refused", .malformed(.invalidUTF8), #""\ud800\ud800""#),
        value("a reversed surrogate pair is refused", .malformed(.invalidUTF8), #""\ude00\ud83d""#),
        value("a high surrogate followed by a plain character is refused", .malformed(.invalidUTF8), #""\ud83dx""#),
        value("a high surrogate at the end of the string is refused", .malformed(.invalidUTF8), #""ab\uD83D""#),
        header("an unpaired surrogate in the header kid is refused", .malformed(.invalidUTF8), #"{"alg":"HS256","kid":"\udfff"}"#),
        value("a valid surrogate pair escape is accepted", .valid, #""\ud83d\ude00""#),
        value("an escaped NUL (\\u0000) is valid JSON", .valid, #""a\u0000b""#),
    ]

    @Test("surrogate escapes", arguments: escapeCases)
    func escapes(_ attack: AttackCase) { attack.run() }

    static let controlCases: [AttackCase] = [
        stringBytes("a raw NUL inside a string is refused", .malformed(.invalidJSON), [0x61, 0x00, 0x62]),
        stringBytes("a raw U+0001 inside a string is refused", .malformed(.invalidJSON), [0x01]),
        stringBytes("a raw tab inside a string is refused", .malformed(.invalidJSON), [0x09]),
        stringBytes("a raw LF inside a string is refused", .malformed(.invalidJSON), [0x0A]),
        stringBytes("a raw U+001F inside a string is refused", .malformed(.invalidJSON), [0x1F]),
        AttackCase("a raw CR inside the header kid is refused", .malformed(.invalidJSON)) {
            A.hs256(header: "{\"alg\":\"HS256\",\"kid\":\"hmac-1\r\"}")
        },
        stringBytes("a raw DEL (U+007F) inside a string is accepted", .valid, [0x7F]),
        AttackCase("a byte-order mark before the header is refused", .malformed(.headerNotObject)) {
            A.hs256(headerBytes: [0xEF, 0xBB, 0xBF] + Array(A.header().utf8), payloadBytes: Array(A.claims().utf8))
        },
        AttackCase("a byte-order mark before the payload is refused", .malformed(.payloadNotObject)) {
            A.hs256(payloadBytes: [0xEF, 0xBB, 0xBF] + Array(A.claims().utf8))
        },
        AttackCase("a byte-order mark after the payload is refused", .malformed(.invalidJSON)) {
            A.hs256(payloadBytes: Array(A.claims().utf8) + [0xEF, 0xBB, 0xBF])
        },
        stringBytes("a byte-order mark inside a string is an ordinary character", .valid, [0xEF, 0xBB, 0xBF]),
    ]

    @Test("control characters and byte-order marks", arguments: controlCases)
    func controls(_ attack: AttackCase) { attack.run() }
}
