import EdgeAuth
import EdgeAuthTesting
import Testing

/// Forged and malformed signature values for every family: lengths, encodings,
/// out-of-range ECDSA scalars (the "psychic signature" class), RSA and Ed25519 edge values.
@Suite("Adversarial: signature values")
struct AdversarialSignatureTests {
    typealias A = Adversary

    static let es256Token = A.signed(by: A.ec256, .es256)
    static let es384Token = A.signed(by: A.ec384, .es384)
    static let es512Token = A.signed(by: A.ec521, .es512)

    /// The token with its signature replaced by `r ‖ s`.
    static func ecdsa(_ token: String, r: [UInt8]? = nil, s: [UInt8]? = nil) -> String {
        let signature = A.signature(token)
        let half = signature.count / 2
        return A.withSignature(token, (r ?? Array(signature[..<half])) + (s ?? Array(signature[half...])))
    }

    static func zeros(_ count: Int) -> [UInt8] { [UInt8](repeating: 0, count: count) }
    static func ones(_ count: Int) -> [UInt8] { [UInt8](repeating: 0xFF, count: count) }

    static let ecdsaCases: [AttackCase] = [
        AttackCase("an ES256 signature verifies (control)", .valid) { es256Token },
        AttackCase("an ES384 signature verifies (control)", .valid) { es384Token },
        AttackCase("an ES512 signature verifies (control)", .valid) { es512Token },
        AttackCase("a 63-byte ES256 signature has the wrong length", .malformed(.signatureLength)) {
            A.withSignature(es256Token, Array(A.signature(es256Token).dropLast()))
        },
        AttackCase("a 65-byte ES256 signature has the wrong length", .malformed(.signatureLength)) {
            A.withSignature(es256Token, A.signature(es256Token) + [0])
        },
        AttackCase("a one-byte ES256 signature has the wrong length", .malformed(.signatureLength)) { A.withSignature(es256Token, [0]) },
        AttackCase("a DER-encoded ES256 signature has the wrong length", .malformed(.signatureLength)) {
            A.withSignature(es256Token, DER.ecdsaSignature(raw: A.signature(es256Token)))
        },
        AttackCase("a DER-encoded ES384 signature has the wrong length", .malformed(.signatureLength)) {
            A.withSignature(es384Token, DER.ecdsaSignature(raw: A.signature(es384Token)))
        },
        AttackCase("a DER-encoded ES512 signature has the wrong length", .malformed(.signatureLength)) {
            A.withSignature(es512Token, DER.ecdsaSignature(raw: A.signature(es512Token)))
        },
        AttackCase("an ES384-sized signature under ES256 has the wrong length", .malformed(.signatureLength)) {
            A.withSignature(es256Token, A.signature(es384Token))
        },
        AttackCase("ES256 with r = 0 does not verify", .rejected(.badSignature)) { ecdsa(es256Token, r: zeros(32)) },
        AttackCase("ES256 with s = 0 does not verify", .rejected(.badSignature)) { ecdsa(es256Token, s: zeros(32)) },
        AttackCase("ES256 with r = s = 0 (psychic signature) does not verify", .rejected(.badSignature)) {
            A.withSignature(es256Token, zeros(64))
        },
        AttackCase("ES384 with r = s = 0 (psychic signature) does not verify", .rejected(.badSignature)) {
            A.withSignature(es384Token, zeros(96))
        },
        AttackCase("ES512 with r = s = 0 (psychic signature) does not verify", .rejected(.badSignature)) {
            A.withSignature(es512Token, zeros(132))
        },
        AttackCase("ES256 with r = n does not verify", .rejected(.badSignature)) { ecdsa(es256Token, r: A.orderP256) },
        AttackCase("ES256 with s = n does not verify", .rejected(.badSignature)) { ecdsa(es256Token, s: A.orderP256) },
        AttackCase("ES256 with r = s = n does not verify", .rejected(.badSignature)) { A.withSignature(es256Token, A.orderP256 + A.orderP256) },
        AttackCase("ES256 with r = n + 1 does not verify", .rejected(.badSignature)) {
            ecdsa(es256Token, r: A.adding(1, toBigEndian: A.orderP256))
        },
        AttackCase("ES256 with s = n + 5 does not verify", .rejected(.badSignature)) {
            ecdsa(es256Token, s: A.adding(5, toBigEndian: A.orderP256))
        },
        AttackCase("ES256 with r = n - 1 (in range, wrong) does not verify", .rejected(.badSignature)) {
            var r = A.orderP256
            r[31] -= 1
            return ecdsa(es256Token, r: r)
        },
        AttackCase("ES256 with r = s = 1 does not verify", .rejected(.badSignature)) {
            A.withSignature(es256Token, zeros(31) + [1] + zeros(31) + [1])
        },
        AttackCase("ES256 with an all-0xFF signature does not verify", .rejected(.badSignature)) { A.withSignature(es256Token, ones(64)) },
        AttackCase("ES256 with r and s swapped does not verify", .rejected(.badSignature)) {
            let signature = A.signature(es256Token)
            return A.withSignature(es256Token, Array(signature[32...]) + Array(signature[..<32]))
        },
        AttackCase("ES384 with r = s = n does not verify", .rejected(.badSignature)) { A.withSignature(es384Token, A.orderP384 + A.orderP384) },
        AttackCase("ES384 with an all-0xFF signature does not verify", .rejected(.badSignature)) { A.withSignature(es384Token, ones(96)) },
        AttackCase("ES512 with r = s = n does not verify", .rejected(.badSignature)) { A.withSignature(es512Token, A.orderP521 + A.orderP521) },
        AttackCase("ES512 with r = n + 1 does not verify", .rejected(.badSignature)) {
            ecdsa(es512Token, r: A.adding(1, toBigEndian: A.orderP521))
        },
        AttackCase("ES512 with r + n (the same r modulo n, still 66 bytes) does not verify", .rejected(.badSignature)) {
            let r = Array(A.signature(es512Token)[..<66])
            return ecdsa(es512Token, r: A.addBigEndian(r, A.orderP521))
        },
        AttackCase("ES512 with s + n (the same s modulo n, still 66 bytes) does not verify", .rejected(.badSignature)) {
            let s = Array(A.signature(es512Token)[66...])
            return ecdsa(es512Token, s: A.addBigEndian(s, A.orderP521))
        },
        AttackCase("ES512 with an all-0xFF signature does not verify", .rejected(.badSignature)) { A.withSignature(es512Token, ones(132)) },
        AttackCase("ES256 with s replaced by n - s (the malleable twin) is accepted: JWS does not require low-S", .valid) {
            let s = Array(A.signature(es256Token)[32...])
            return ecdsa(es256Token, s: A.subtractBigEndian(A.orderP256, s))
        },
        AttackCase("ES384 with s replaced by n - s (the malleable twin) is accepted", .valid) {
            let s = Array(A.signature(es384Token)[48...])
            return ecdsa(es384Token, s: A.subtractBigEndian(A.orderP384, s))
        },
        AttackCase("an ES256 signature from another token does not verify", .rejected(.badSignature)) {
            A.withSignature(A.signed(by: A.ec256, .es256, payload: A.claims(["sub": #""admin""#])), A.signature(es256Token))
        },
    ]

    @Test("ECDSA signature values", arguments: ecdsaCases)
    func ecdsa(_ attack: AttackCase) { attack.run() }

    static let rs256Token = A.signed(by: A.rsa, .rs256)
    static let edToken = A.signed(by: A.ed25519, .edDSA)

    static let otherCases: [AttackCase] = [
        AttackCase("a 255-byte RS256 signature does not verify", .rejected(.badSignature)) {
            A.withSignature(rs256Token, Array(A.signature(rs256Token).dropFirst()))
        },
        AttackCase("a 257-byte RS256 signature does not verify", .rejected(.badSignature)) {
            A.withSignature(rs256Token, [0] + A.signature(rs256Token))
        },
        AttackCase("an all-0xFF RS256 signature (larger than the modulus) does not verify", .rejected(.badSignature)) {
            A.withSignature(rs256Token, ones(256))
        },
        AttackCase("an all-zero RS256 signature does not verify", .rejected(.badSignature)) { A.withSignature(rs256Token, zeros(256)) },
        AttackCase("an RS256 signature of 1 does not verify", .rejected(.badSignature)) { A.withSignature(rs256Token, zeros(255) + [1]) },
        AttackCase("the RSA modulus as the signature does not verify", .rejected(.badSignature)) { A.withSignature(rs256Token, A.rsaModulus) },
        AttackCase("a PS256 signature under an RS256 header does not verify", .rejected(.badSignature)) {
            A.withSignature(rs256Token, A.signature(A.signed(by: A.rsa, .ps256)))
        },
        AttackCase("an RS256 signature by another RSA key does not verify", .rejected(.badSignature)) {
            A.signed(by: A.attackerRSA, .rs256, kid: "rsa-1")
        },
        AttackCase("a 63-byte EdDSA signature has the wrong length", .malformed(.signatureLength)) {
            A.withSignature(edToken, Array(A.signature(edToken).dropLast()))
        },
        AttackCase("an all-zero EdDSA signature does not verify", .rejected(.badSignature)) { A.withSignature(edToken, zeros(64)) },
        AttackCase("an EdDSA signature with S + L (non-canonical S) does not verify", .rejected(.badSignature)) {
            let signature = A.signature(edToken)
            return A.withSignature(edToken, Array(signature[..<32]) + A.addLittleEndian(Array(signature[32...]), A.orderEd25519LE))
        },
        AttackCase("an EdDSA signature by another key does not verify", .rejected(.badSignature)) {
            A.signed(by: A.attackerEd25519, .edDSA, kid: "ed-1")
        },
        AttackCase("a 31-byte HS256 tag has the wrong length", .malformed(.signatureLength)) {
            A.withSignature(A.validToken, Array(A.signature(A.validToken).dropLast()))
        },
        AttackCase("a 33-byte HS256 tag has the wrong length", .malformed(.signatureLength)) {
            A.withSignature(A.validToken, A.signature(A.validToken) + [0])
        },
        AttackCase("a 16-byte truncated HS256 tag has the wrong length", .malformed(.signatureLength)) {
            A.withSignature(A.validToken, Array(A.signature(A.validToken).prefix(16)))
        },
        AttackCase("an HS512-sized tag under HS256 has the wrong length", .malformed(.signatureLength)) {
            A.withSignature(A.validToken, A.signature(A.signed(by: A.hmac, .hs512)))
        },
        AttackCase("an all-zero HS256 tag does not verify", .rejected(.badSignature)) { A.withSignature(A.validToken, zeros(32)) },
        AttackCase("an HS512 tag truncated to 32 bytes does not verify as HS256", .rejected(.badSignature)) {
            A.withSignature(A.validToken, Array(A.signature(A.sign(A.hmac, .hs512, header: A.header(), payload: A.claims())).prefix(32)))
        },
        AttackCase("the last tag bit flipped does not verify", .rejected(.badSignature)) {
            var tag = A.signature(A.validToken)
            tag[31] ^= 1
            return A.withSignature(A.validToken, tag)
        },
    ]

    @Test("RSA, EdDSA and HMAC signature values", arguments: otherCases)
    func other(_ attack: AttackCase) { attack.run() }
}
