import EdgeAuth
import EdgeAuthTestThreads
import EdgeAuthTesting
import Testing

/// Compact-serialization structure, base64url strictness and size limits.
@Suite("Adversarial: token structure")
struct AdversarialStructureTests {
    typealias A = Adversary

    static var parts: [String] { A.segments(A.validToken) }

    static let segmentCases: [AttackCase] = [
        AttackCase("an empty token has no segments", .malformed(.segmentCount)) { "" },
        AttackCase("a token without a dot is one segment", .malformed(.segmentCount)) { parts[0] },
        AttackCase("one dot (signature cut off) gives two segments", .malformed(.segmentCount)) { parts[0] + "." + parts[1] },
        AttackCase("two dots and nothing else are three empty segments", .malformed(.emptySegment)) { ".." },
        AttackCase("three dots give four segments", .malformed(.segmentCount)) { A.validToken + "." + parts[2] },
        AttackCase("four dots (a five-segment JWE) are refused", .malformed(.segmentCount)) {
            [parts[0], "", parts[2], parts[1], parts[2]].joined(separator: ".")
        },
        AttackCase("five dots give six segments", .malformed(.segmentCount)) { A.validToken + "." + parts[2] + "." + parts[2] },
        AttackCase("a token of dots only is refused", .malformed(.segmentCount)) { "....." },
        AttackCase("two tokens joined with a dot are refused", .malformed(.segmentCount)) { A.validToken + "." + A.validToken },
        AttackCase("an empty header segment is refused", .malformed(.emptySegment)) { "." + parts[1] + "." + parts[2] },
        AttackCase("an empty payload segment (detached content) is refused", .malformed(.emptySegment)) { parts[0] + ".." + parts[2] },
        AttackCase("an empty signature segment is refused", .malformed(.emptySegment)) { parts[0] + "." + parts[1] + "." },
        AttackCase("JWS JSON general serialization is refused", .malformed(.jsonSerialization)) {
            #"{"payload":"\#(parts[1])","signatures":[{"protected":"\#(parts[0])","signature":"\#(parts[2])"}]}"#
        },
        AttackCase("JWS JSON flattened serialization is refused", .malformed(.jsonSerialization)) {
            #"{"payload":"\#(parts[1])","protected":"\#(parts[0])","signature":"\#(parts[2])"}"#
        },
        AttackCase("JWS JSON serialization containing exactly two dots is refused", .malformed(.jsonSerialization)) {
            #"{"payload":"\#(parts[1])","protected":"\#(parts[0])","header":{"kid":"a.b.c"},"signature":"\#(parts[2])"}"#
        },
        AttackCase("pretty-printed JWS JSON serialization is refused", .malformed(.jsonSerialization)) {
            "{\n  \"payload\": \"\(parts[1])\",\n  \"protected\": \"\(parts[0])\",\n  \"signature\": \"\(parts[2])\"\n}"
        },
    ]

    @Test("segment counts, empty segments and JSON serialization", arguments: segmentCases)
    func segments(_ attack: AttackCase) { attack.run() }

    static let whitespaceCases: [AttackCase] = [
        AttackCase("a leading space is refused", .malformed(.whitespace)) { " " + A.validToken },
        AttackCase("a trailing space is refused", .malformed(.whitespace)) { A.validToken + " " },
        AttackCase("a trailing LF is refused", .malformed(.whitespace)) { A.validToken + "\n" },
        AttackCase("a trailing CR LF is refused", .malformed(.whitespace)) { A.validToken + "\r\n" },
        AttackCase("a tab inside the header is refused", .malformed(.whitespace)) {
            A.mapSegment(A.validToken, 0) { A.inserting("\t", into: $0, at: 8) }
        },
        AttackCase("a LF inside the payload is refused", .malformed(.whitespace)) {
            A.mapSegment(A.validToken, 1) { A.inserting("\n", into: $0, at: 12) }
        },
        AttackCase("a CR inside the signature is refused", .malformed(.whitespace)) {
            A.mapSegment(A.validToken, 2) { A.inserting("\r", into: $0, at: 5) }
        },
        AttackCase("a space before a dot is refused", .malformed(.whitespace)) { parts[0] + " ." + parts[1] + "." + parts[2] },
        AttackCase("a space after a dot is refused", .malformed(.whitespace)) { parts[0] + "." + parts[1] + ". " + parts[2] },
        AttackCase("the 'Bearer ' scheme left in front is refused", .malformed(.whitespace)) { "Bearer " + A.validToken },
        AttackCase("a NUL byte inside the header is a control character", .malformed(.whitespace)) {
            A.mapSegment(A.validToken, 0) { A.inserting("\0", into: $0, at: 4) }
        },
        AttackCase("a NUL byte inside the payload is a control character", .malformed(.whitespace)) {
            A.mapSegment(A.validToken, 1) { A.inserting("\0", into: $0, at: 4) }
        },
        AttackCase("a form feed inside the payload is a control character", .malformed(.whitespace)) {
            A.mapSegment(A.validToken, 1) { A.inserting("\u{0C}", into: $0, at: 8) }
        },
        AttackCase("a NUL byte after the signature (C-string truncation) is a control character", .malformed(.whitespace)) {
            A.validToken + "\0"
        },
    ]

    @Test("whitespace and control characters anywhere in the token", arguments: whitespaceCases)
    func whitespace(_ attack: AttackCase) { attack.run() }

    /// `segment` with `=` appended up to (or past) a multiple of four.
    static func padded(_ segment: String) -> String {
        if segment.utf8.count % 4 == 0 { return segment + "==" }
        var segment = segment
        while segment.utf8.count % 4 != 0 { segment += "=" }
        return segment
    }

    static let alphabetCases: [AttackCase] = [
        AttackCase("'=' padding on the header is refused", .malformed(.base64Padding)) { A.mapSegment(A.validToken, 0, padded) },
        AttackCase("'=' padding on the payload is refused", .malformed(.base64Padding)) { A.mapSegment(A.validToken, 1, padded) },
        AttackCase("'=' padding on the signature is refused", .malformed(.base64Padding)) { A.mapSegment(A.validToken, 2, padded) },
        AttackCase("a lone '=' as the signature is refused", .malformed(.base64Padding)) { parts[0] + "." + parts[1] + ".=" },
        AttackCase("standard-base64 '+' in the signature is refused", .malformed(.base64Alphabet)) {
            A.mapSegment(A.validToken, 2) { A.replacing(at: 0, in: $0, with: "+") }
        },
        AttackCase("standard-base64 '/' in the header is refused", .malformed(.base64Alphabet)) {
            A.mapSegment(A.validToken, 0) { A.replacing(at: 3, in: $0, with: "/") }
        },
        AttackCase("standard-base64 '+' and '/' in the payload are refused", .malformed(.base64Alphabet)) {
            A.mapSegment(A.validToken, 1) { A.replacing(at: 5, in: A.replacing(at: 4, in: $0, with: "+"), with: "/") }
        },
        AttackCase("percent-encoding in the signature is refused", .malformed(.base64Alphabet)) {
            A.mapSegment(A.validToken, 2) { $0 + "%3D" }
        },
        AttackCase("'~' in the header is refused", .malformed(.base64Alphabet)) {
            A.mapSegment(A.validToken, 0) { A.replacing(at: 2, in: $0, with: "~") }
        },
        AttackCase("a non-ASCII letter in the signature is refused", .malformed(.base64Alphabet)) {
            A.mapSegment(A.validToken, 2) { A.replacing(at: 1, in: $0, with: "é") }
        },
        AttackCase("a raw 0xFF byte in the payload is refused", .malformed(.base64Alphabet), bytes: {
            var bytes = Array(A.validToken.utf8)
            bytes[parts[0].utf8.count + 3] = 0xFF
            return bytes
        }),
    ]

    @Test("padding and bytes outside the base64url alphabet", arguments: alphabetCases)
    func alphabet(_ attack: AttackCase) { attack.run() }

    // Headers and payloads whose encodings end in a 2-character (n % 3 == 1) or 3-character (n % 3 == 2) group.
    static let header2 = A.padded(A.header(), lengthMod3: 1)
    static let header3 = A.padded(A.header(), lengthMod3: 2)
    static let payload2 = A.padded(A.claims(), lengthMod3: 1)
    static let payload3 = A.padded(A.claims(), lengthMod3: 2)

    static let canonicalCases: [AttackCase] = [
        AttackCase("canonical header and payload ending in a 2-character group verify", .valid) { A.hs256(header: header2, payload: payload2) },
        AttackCase("canonical header and payload ending in a 3-character group verify", .valid) { A.hs256(header: header3, payload: payload3) },
        AttackCase("non-zero trailing bits in a header ending in 2 characters are refused", .malformed(.base64NonCanonical)) {
            A.mapSegment(A.hs256(header: header2), 0, A.nonCanonical)
        },
        AttackCase("non-zero trailing bits in a header ending in 3 characters are refused", .malformed(.base64NonCanonical)) {
            A.mapSegment(A.hs256(header: header3), 0, A.nonCanonical)
        },
        AttackCase("non-zero trailing bits in a payload ending in 2 characters are refused", .malformed(.base64NonCanonical)) {
            A.mapSegment(A.hs256(payload: payload2), 1, A.nonCanonical)
        },
        AttackCase("non-zero trailing bits in a payload ending in 3 characters are refused", .malformed(.base64NonCanonical)) {
            A.mapSegment(A.hs256(payload: payload3), 1, A.nonCanonical)
        },
        AttackCase("non-zero trailing bits in an HS256 signature (43 characters) are refused", .malformed(.base64NonCanonical)) {
            A.mapSegment(A.validToken, 2, A.nonCanonical)
        },
        AttackCase("non-zero trailing bits in an HS512 signature (86 characters) are refused", .malformed(.base64NonCanonical)) {
            A.mapSegment(A.signed(by: A.hmac, .hs512), 2, A.nonCanonical)
        },
        AttackCase("non-zero trailing bits in an ES256 signature are refused", .malformed(.base64NonCanonical)) {
            A.mapSegment(A.signed(by: A.ec256, .es256), 2, A.nonCanonical)
        },
    ]

    @Test("only the canonical base64url spelling is accepted", arguments: canonicalCases)
    func canonical(_ attack: AttackCase) { attack.run() }

    /// `segment` with "A"s appended until its length is 1 modulo 4.
    static func impossibleLength(_ segment: String) -> String {
        var segment = segment
        repeat { segment += "A" } while segment.utf8.count % 4 != 1
        return segment
    }

    static let lengthCases: [AttackCase] = [
        AttackCase("a header of length 1 mod 4 is refused", .malformed(.base64Length)) { A.mapSegment(A.validToken, 0, impossibleLength) },
        AttackCase("a payload of length 1 mod 4 is refused", .malformed(.base64Length)) { A.mapSegment(A.validToken, 1, impossibleLength) },
        AttackCase("a signature of length 1 mod 4 is refused", .malformed(.base64Length)) { A.mapSegment(A.validToken, 2, impossibleLength) },
        AttackCase("a one-character signature is refused", .malformed(.base64Length)) { parts[0] + "." + parts[1] + ".A" },
        AttackCase("a one-character header and payload are refused", .malformed(.base64Length)) { "e.e." + parts[2] },
    ]

    @Test("segment lengths no base64url text can have", arguments: lengthCases)
    func lengths(_ attack: AttackCase) { attack.run() }

    static let sizeCases: [AttackCase] = [
        AttackCase("a valid token of exactly 16384 bytes is accepted", .valid) { A.token(ofLength: 16384) },
        AttackCase("a valid token of 16385 bytes is over the default limit", .rejected(.tokenTooLarge(limit: 16384))) {
            A.token(ofLength: 16385)
        },
        AttackCase("16385 dots are rejected for size before the segments are counted", .rejected(.tokenTooLarge(limit: 16384))) {
            String(repeating: ".", count: 16385)
        },
        AttackCase("a 1 MiB token is rejected for size", .rejected(.tokenTooLarge(limit: 16384))) {
            String(repeating: "A", count: 1 << 20)
        },
        AttackCase(
            "a valid token of exactly the configured 1024 bytes is accepted", .valid,
            verifier: { A.verifier { $0.limits.maxTokenBytes = 1024 } }
        ) { A.token(ofLength: 1024) },
        AttackCase(
            "a valid token one byte over a configured 1024-byte limit is refused", .rejected(.tokenTooLarge(limit: 1024)),
            verifier: { A.verifier { $0.limits.maxTokenBytes = 1024 } }
        ) { A.token(ofLength: 1025) },
        AttackCase(
            "a 1 MiB token under a configured 4 MiB limit is verified", .valid,
            verifier: { A.verifier { $0.limits.maxTokenBytes = 4 << 20 } }
        ) { A.hs256(payload: A.claims(extra: #""pad":"\#(String(repeating: "x", count: 768 << 10))""#)) },
        AttackCase(
            "an ordinary token over a configured 128-byte limit is refused", .rejected(.tokenTooLarge(limit: 128)),
            verifier: { A.verifier { $0.limits.maxTokenBytes = 128 } }
        ) { A.validToken },
    ]

    @Test("token size limits", .ownThread, arguments: sizeCases)
    func size(_ attack: AttackCase) { attack.run() }
}
