import EdgeAuth
import EdgeAuthTesting
import Foundation
import Testing

/// Keys, token builders and the case type shared by the adversarial suites.
///
/// Every key is generated once per test process. The "attacker" keys are never
/// configured in any verifier: a token they sign must always be rejected.
enum Adversary {
    static let now: Int64 = 1_764_000_000
    static let issuer = "https://issuer.example/"
    static let audience = "https://api.example"

    // MARK: Keys

    static let hmacSecret: [UInt8] = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 7) }
    static let hmac = SigningKey.hmac(secret: hmacSecret, kid: "hmac-1")
    static let rsa = try! SigningKey.generate(.rsa(bits: 2048), kid: "rsa-1")
    static let ec256 = try! SigningKey.generate(.ec(.p256), kid: "ec-256")
    static let ec384 = try! SigningKey.generate(.ec(.p384), kid: "ec-384")
    static let ec521 = try! SigningKey.generate(.ec(.p521), kid: "ec-521")
    static let ed25519 = try! SigningKey.generate(.ed25519, kid: "ed-1")

    static let attackerRSA = try! SigningKey.generate(.rsa(bits: 2048), kid: "attacker")
    static let attackerEC = try! SigningKey.generate(.ec(.p256), kid: "attacker")
    static let attackerEd25519 = try! SigningKey.generate(.ed25519, kid: "attacker")
    static let attackerHMAC = SigningKey.hmac(secret: Array(repeating: 0x41, count: 64), kid: "attacker")

    /// Every legitimate key, each with its own kid.
    static let keys = KeySet(keys: [hmac, rsa, ec256, ec384, ec521, ed25519].map { try! $0.verificationKey() })

    /// The RSA public key as an SPKI PEM (what an operator puts in a file).
    static let rsaPublicPEM: String = {
        let jwk = try! rsa.publicJWK()
        let n = try! Base64URL.decode(jwk["n"]!.stringValue!)
        let e = try! Base64URL.decode(jwk["e"]!.stringValue!)
        return DER.pem("PUBLIC KEY", DER.rsaSPKI(n: n, e: e))
    }()

    /// The RSA modulus bytes.
    static let rsaModulus: [UInt8] = try! Base64URL.decode(try! rsa.publicJWK()["n"]!.stringValue!)

    // MARK: Verifiers

    static func policy(_ configure: (inout ValidationPolicy) -> Void = { _ in }) -> ValidationPolicy {
        var policy = ValidationPolicy(issuers: .exactly([issuer]), audiences: .anyOf([audience]))
        configure(&policy)
        return policy
    }

    static func verifier(keys: KeySet = keys, _ configure: (inout ValidationPolicy) -> Void = { _ in }) -> Verifier {
        Verifier(policy: policy(configure), keys: keys)
    }

    /// Default policy (leeway 30, exp required) over every legitimate key.
    static let standard = verifier()

    // MARK: JSON text

    /// A header: `alg`, `typ: JWT`, `kid` when given, then `extra` members verbatim.
    static func header(_ alg: String = "HS256", kid: String? = "hmac-1", extra: String = "") -> String {
        var text = #"{"alg":"\#(alg)","typ":"JWT""#
        if let kid { text += #","kid":"\#(kid)""# }
        if !extra.isEmpty { text += "," + extra }
        return text + "}"
    }

    /// Valid claims (iss, aud, sub, iat = now, exp = now + 1 h). `overrides` replaces or adds
    /// members with raw JSON text, `removing` drops standard ones, `extra` is appended verbatim.
    static func claims(_ overrides: [String: String] = [:], removing: Set<String> = [], extra: String = "") -> String {
        let standard: [(String, String)] = [
            ("iss", #""\#(issuer)""#), ("aud", #""\#(audience)""#), ("sub", #""user-123""#),
            ("iat", "\(now)"), ("exp", "\(now + 3600)"),
        ]
        var members = [String]()
        for (name, value) in standard where !removing.contains(name) {
            members.append(#""\#(name)":\#(overrides[name] ?? value)"#)
        }
        for (name, value) in overrides.sorted(by: { $0.key < $1.key }) where !standard.contains(where: { $0.0 == name }) {
            members.append(#""\#(name)":\#(value)"#)
        }
        if !extra.isEmpty { members.append(extra) }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// Valid claims with one more string member whose content is the given raw bytes.
    static func claimsBytes(stringMember name: String = "name", content: [UInt8]) -> [UInt8] {
        var bytes = Array(claims().utf8.dropLast())
        bytes += Array(#","\#(name)":""#.utf8) + content + Array(#""}"#.utf8)
        return bytes
    }

    // MARK: Signing

    static func sign(_ key: SigningKey, _ alg: Algorithm, header: String, payload: String) -> String {
        sign(key, alg, headerBytes: Array(header.utf8), payloadBytes: Array(payload.utf8))
    }

    static func sign(_ key: SigningKey, _ alg: Algorithm, headerBytes: [UInt8], payloadBytes: [UInt8]) -> String {
        try! TokenSigner.sign(rawHeader: headerBytes, rawPayload: payloadBytes, key: key, algorithm: alg)
    }

    /// A token signed with the configured HMAC key (HS256 unless the header says otherwise).
    static func hs256(header: String = Adversary.header(), payload: String = Adversary.claims()) -> String {
        sign(hmac, .hs256, header: header, payload: payload)
    }

    static func hs256(headerBytes: [UInt8]? = nil, payloadBytes: [UInt8]) -> String {
        sign(hmac, .hs256, headerBytes: headerBytes ?? Array(header().utf8), payloadBytes: payloadBytes)
    }

    /// A token signed by `key` whose header names `alg` and the key's kid (or `kid`).
    static func signed(by key: SigningKey, _ alg: Algorithm, kid: String?? = .none, extraHeader: String = "", payload: String = Adversary.claims()) -> String {
        let kidValue: String? = kid ?? key.kid
        return sign(key, alg, header: header(alg.name, kid: kidValue, extra: extraHeader), payload: payload)
    }

    /// A well-formed token every default verifier accepts.
    static let validToken = hs256()

    // MARK: Token surgery

    static func segments(_ token: String) -> [String] {
        token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    static func b64(_ text: String) -> String { Base64URL.encode(Array(text.utf8)) }

    /// The token with its signature replaced by `bytes`.
    static func withSignature(_ token: String, _ bytes: [UInt8]) -> String {
        let s = segments(token)
        return s[0] + "." + s[1] + "." + Base64URL.encode(bytes)
    }

    /// The token with its header replaced (signature kept, so it no longer covers the header).
    static func withHeader(_ token: String, _ header: String) -> String {
        let s = segments(token)
        return b64(header) + "." + s[1] + "." + s[2]
    }

    /// The token with its payload replaced (signature kept).
    static func withPayload(_ token: String, _ payload: String) -> String {
        let s = segments(token)
        return s[0] + "." + b64(payload) + "." + s[2]
    }

    static func signature(_ token: String) -> [UInt8] { try! Base64URL.decode(segments(token)[2]) }

    /// Replaces segment `index` with `transform(segment)`.
    static func mapSegment(_ token: String, _ index: Int, _ transform: (String) -> String) -> String {
        var s = segments(token)
        s[index] = transform(s[index])
        return s.joined(separator: ".")
    }

    /// Inserts `text` into `segment` after `offset` characters.
    static func inserting(_ text: String, into segment: String, at offset: Int) -> String {
        let index = segment.index(segment.startIndex, offsetBy: offset)
        return String(segment[..<index]) + text + String(segment[index...])
    }

    /// Replaces the character at `offset`.
    static func replacing(at offset: Int, in segment: String, with text: String) -> String {
        let index = segment.index(segment.startIndex, offsetBy: offset)
        return String(segment[..<index]) + text + String(segment[segment.index(after: index)...])
    }

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Sets the lowest unused bit of the last character: the same bytes, a second spelling.
    static func nonCanonical(_ segment: String) -> String {
        precondition(segment.utf8.count % 4 == 2 || segment.utf8.count % 4 == 3, "segment has no unused bits")
        var bytes = Array(segment.utf8)
        let value = alphabet.firstIndex(of: bytes[bytes.count - 1])!
        precondition(value & 1 == 0, "segment is not canonical to begin with")
        bytes[bytes.count - 1] = alphabet[value | 1]
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `text` followed by spaces until its UTF-8 length is `remainder` modulo 3.
    static func padded(_ text: String, lengthMod3 remainder: Int) -> String {
        var text = text
        while text.utf8.count % 3 != remainder { text += " " }
        return text
    }

    /// A valid HS256 token of exactly `length` bytes (a `pad` claim and header spaces adjust it).
    static func token(ofLength length: Int) -> String {
        func encodedLength(_ bytes: Int) -> Int { bytes / 3 * 4 + (bytes % 3 == 0 ? 0 : bytes % 3 + 1) }
        for spaces in 0..<3 {
            let headerText = header() + String(repeating: " ", count: spaces)
            let headerLength = encodedLength(headerText.utf8.count)
            let base = claims(extra: #""pad":"""#).utf8.count
            for pad in 0..<length {
                let total = headerLength + 1 + encodedLength(base + pad) + 1 + 43
                if total == length {
                    let token = hs256(header: headerText, payload: claims(extra: #""pad":"\#(String(repeating: "x", count: pad))""#))
                    precondition(token.utf8.count == length)
                    return token
                }
                if total > length { break }
            }
        }
        preconditionFailure("no token of length \(length)")
    }

    // MARK: Numbers

    static func hex(_ text: String) -> [UInt8] { hexBytes(text) }

    /// Group orders, big-endian, as long as a JWS r or s.
    static let orderP256 = hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551")
    static let orderP384 = hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973")
    static let orderP521 = hex("01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409")
    /// The Ed25519 group order L, little-endian.
    static let orderEd25519LE = hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")

    /// Big-endian `value + k` (same width; the caller keeps it from overflowing).
    static func adding(_ k: Int, toBigEndian value: [UInt8]) -> [UInt8] {
        var out = value
        var carry = k
        for i in stride(from: out.count - 1, through: 0, by: -1) where carry > 0 {
            let sum = Int(out[i]) + carry
            out[i] = UInt8(sum & 0xFF)
            carry = sum >> 8
        }
        return out
    }

    /// Big-endian sum of two equal-length numbers (carry out dropped).
    static func addBigEndian(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        Array(addLittleEndian(Array(a.reversed()), Array(b.reversed())).reversed())
    }

    /// Big-endian `a - b` for equal-length numbers with `a >= b`.
    static func subtractBigEndian(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: a.count)
        var borrow = 0
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            var difference = Int(a[i]) - Int(b[i]) - borrow
            borrow = difference < 0 ? 1 : 0
            if difference < 0 { difference += 256 }
            out[i] = UInt8(difference)
        }
        return out
    }

    /// Little-endian sum of two equal-length numbers (carry out dropped).
    static func addLittleEndian(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: a.count)
        var carry = 0
        for i in 0..<a.count {
            let sum = Int(a[i]) + Int(b[i]) + carry
            out[i] = UInt8(sum & 0xFF)
            carry = sum >> 8
        }
        return out
    }
}

/// Minimal DER encoding for building public keys and ECDSA signatures in tests.
enum DER {
    static func length(_ n: Int) -> [UInt8] {
        if n < 0x80 { return [UInt8(n)] }
        if n < 0x100 { return [0x81, UInt8(n)] }
        return [0x82, UInt8(n >> 8), UInt8(n & 0xFF)]
    }

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }

    /// A non-negative INTEGER from big-endian bytes.
    static func integer(_ bigEndian: [UInt8]) -> [UInt8] {
        var value = Array(bigEndian.drop(while: { $0 == 0 }))
        if value.isEmpty { value = [0] }
        if value[0] & 0x80 != 0 { value.insert(0, at: 0) }
        return tlv(0x02, value)
    }

    /// SubjectPublicKeyInfo for an rsaEncryption key.
    static func rsaSPKI(n: [UInt8], e: [UInt8]) -> [UInt8] {
        let rsaPublicKey = tlv(0x30, integer(n) + integer(e))
        let algorithm = tlv(0x30, [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00])
        return tlv(0x30, algorithm + tlv(0x03, [0x00] + rsaPublicKey))
    }

    /// `ECDSA-Sig-Value` from a JWS raw r‖s signature.
    static func ecdsaSignature(raw: [UInt8]) -> [UInt8] {
        let half = raw.count / 2
        return tlv(0x30, integer(Array(raw[..<half])) + integer(Array(raw[half...])))
    }

    static func pem(_ label: String, _ der: [UInt8]) -> String {
        let base64 = Data(der).base64EncodedString()
        var lines = [String]()
        var rest = Substring(base64)
        while !rest.isEmpty {
            lines.append(String(rest.prefix(64)))
            rest = rest.dropFirst(64)
        }
        return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
    }
}

/// What a verifier must answer.
enum Expected: Sendable, CustomStringConvertible {
    /// Rejected with exactly this reason.
    case rejected(Reason)
    /// Accepted.
    case valid
    /// Accepted, with `exp` read as this NumericDate.
    case validExpiring(at: Int64)

    static func malformed(_ malformation: Malformation) -> Expected { .rejected(.malformed(malformation)) }

    var description: String {
        switch self {
        case .rejected(let reason): "rejected \(reason)"
        case .valid: "valid"
        case .validExpiring(let exp): "valid, exp \(exp)"
        }
    }
}

/// One adversarial input, the verifier it is shown to, and the verdict it must get.
struct AttackCase: Sendable, CustomTestStringConvertible {
    let name: String
    let expected: Expected
    let now: Int64
    let verifier: @Sendable () -> Verifier
    let token: @Sendable () -> [UInt8]

    var testDescription: String { name }

    init(
        _ name: String, _ expected: Expected, now: Int64 = Adversary.now,
        verifier: @escaping @Sendable () -> Verifier = { Adversary.standard },
        token: @escaping @Sendable () -> String
    ) {
        self.name = name
        self.expected = expected
        self.now = now
        self.verifier = verifier
        self.token = { Array(token().utf8) }
    }

    init(
        _ name: String, _ expected: Expected, now: Int64 = Adversary.now,
        verifier: @escaping @Sendable () -> Verifier = { Adversary.standard },
        bytes: @escaping @Sendable () -> [UInt8]
    ) {
        self.name = name
        self.expected = expected
        self.now = now
        self.verifier = verifier
        self.token = bytes
    }

    /// Verifies the token and checks the verdict.
    func run(sourceLocation: SourceLocation = #_sourceLocation) {
        let verdict = verifier().verify(token(), now: now)
        switch expected {
        case .rejected(let reason):
            #expect(verdict.reason == reason, "\(name): expected \(reason), got \(verdict)", sourceLocation: sourceLocation)
        case .valid:
            #expect(verdict.identity != nil, "\(name): expected a valid token, got \(verdict)", sourceLocation: sourceLocation)
        case .validExpiring(let exp):
            #expect(verdict.identity?.expiresAt == exp, "\(name): expected valid with exp \(exp), got \(verdict)", sourceLocation: sourceLocation)
        }
    }
}
