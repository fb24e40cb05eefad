import EdgeAuth
import EdgeAuthTesting
import Testing

/// Algorithm confusion, `kid` tricks and keys smuggled in through the header.
@Suite("Adversarial: key selection")
struct AdversarialKeyTests {
    typealias A = Adversary

    /// Only the RSA public key, imported from PEM with kid rsa-1 (no HMAC key anywhere).
    static let rsaPEMOnly: @Sendable () -> Verifier = {
        A.verifier(keys: KeySet(keys: [try! VerificationKey(pem: A.rsaPublicPEM, kid: "rsa-1")]))
    }

    /// Only the RSA public key, as a JWK whose alg is RS256.
    static let rsaJWKRS256: @Sendable () -> Verifier = {
        A.verifier(keys: KeySet(keys: [try! VerificationKey(jwk: A.rsa.publicJWK(alg: .rs256))]))
    }

    /// A 32-byte HMAC secret: long enough for HS256 only.
    static let shortSecret: [UInt8] = Array(A.hmacSecret.prefix(32))
    static let shortSecretKey = SigningKey.hmac(secret: shortSecret, kid: "short")
    static let shortSecretVerifier: @Sendable () -> Verifier = {
        A.verifier(keys: KeySet(keys: [try! VerificationKey(hmacSecret: shortSecret, kid: "short")]))
    }

    /// An HS256 token signed with `secret` bytes, with `kid` in the header if given.
    static func hs(_ alg: Algorithm = .hs256, secret: [UInt8], kid: String?) -> String {
        A.sign(SigningKey.hmac(secret: secret), alg, header: A.header(alg.name, kid: kid), payload: A.claims())
    }

    static let confusionCases: [AttackCase] = [
        AttackCase("the RSA key imported from PEM verifies RS256 (control)", .valid, verifier: rsaPEMOnly) {
            A.signed(by: A.rsa, .rs256)
        },
        AttackCase(
            "HS256 keyed with the RSA public key's PEM text and the RSA kid is a key/algorithm mismatch",
            .rejected(.keyAlgorithmMismatch(kid: "rsa-1", algorithm: "HS256")), verifier: rsaPEMOnly
        ) { hs(secret: Array(A.rsaPublicPEM.utf8), kid: "rsa-1") },
        AttackCase(
            "HS256 keyed with the RSA public key's PEM text and no kid finds no key",
            .rejected(.unknownKey(kid: nil)), verifier: rsaPEMOnly
        ) { hs(secret: Array(A.rsaPublicPEM.utf8), kid: nil) },
        AttackCase(
            "HS256 keyed with the RSA modulus bytes and the RSA kid is a key/algorithm mismatch",
            .rejected(.keyAlgorithmMismatch(kid: "rsa-1", algorithm: "HS256")), verifier: rsaPEMOnly
        ) { hs(secret: A.rsaModulus, kid: "rsa-1") },
        AttackCase(
            "HS256 keyed with the RSA modulus bytes and no kid finds no key",
            .rejected(.unknownKey(kid: nil)), verifier: rsaPEMOnly
        ) { hs(secret: A.rsaModulus, kid: nil) },
        AttackCase(
            "HS256 keyed with the RSA public JWK text and no kid finds no key",
            .rejected(.unknownKey(kid: nil)), verifier: rsaPEMOnly
        ) { hs(secret: Array(try! A.rsa.publicJWK().jsonText.utf8), kid: nil) },
        AttackCase(
            "HS512 keyed with the RSA public key's PEM text and the RSA kid is a key/algorithm mismatch",
            .rejected(.keyAlgorithmMismatch(kid: "rsa-1", algorithm: "HS512")), verifier: rsaPEMOnly
        ) { hs(.hs512, secret: Array(A.rsaPublicPEM.utf8), kid: "rsa-1") },
        AttackCase(
            "HS256 keyed with the RSA PEM is not verified by trying the configured HMAC key either",
            .rejected(.badSignature)
        ) { hs(secret: Array(A.rsaPublicPEM.utf8), kid: nil) },
        AttackCase(
            "ES256 against the RSA kid is a key/algorithm mismatch",
            .rejected(.keyAlgorithmMismatch(kid: "rsa-1", algorithm: "ES256")), verifier: rsaPEMOnly
        ) { A.signed(by: A.attackerEC, .es256, kid: "rsa-1") },
        AttackCase("ES256 without kid against an RSA-only key set finds no key", .rejected(.unknownKey(kid: nil)), verifier: rsaPEMOnly) {
            A.signed(by: A.attackerEC, .es256, kid: .some(nil))
        },
        AttackCase("RS256 against the EC kid is a key/algorithm mismatch", .rejected(.keyAlgorithmMismatch(kid: "ec-256", algorithm: "RS256"))) {
            A.signed(by: A.attackerRSA, .rs256, kid: "ec-256")
        },
        AttackCase("EdDSA against the EC kid is a key/algorithm mismatch", .rejected(.keyAlgorithmMismatch(kid: "ec-256", algorithm: "EdDSA"))) {
            A.signed(by: A.attackerEd25519, .edDSA, kid: "ec-256")
        },
        AttackCase("ES256 against the Ed25519 kid is a key/algorithm mismatch", .rejected(.keyAlgorithmMismatch(kid: "ed-1", algorithm: "ES256"))) {
            A.signed(by: A.attackerEC, .es256, kid: "ed-1")
        },
        AttackCase("ES384 against the P-256 kid is a key/algorithm mismatch", .rejected(.keyAlgorithmMismatch(kid: "ec-256", algorithm: "ES384"))) {
            A.signed(by: A.ec384, .es384, kid: "ec-256")
        },
        AttackCase(
            "HS256 keyed with the EC public point and the EC kid is a key/algorithm mismatch",
            .rejected(.keyAlgorithmMismatch(kid: "ec-256", algorithm: "HS256"))
        ) {
            let jwk = try! A.ec256.publicJWK()
            let point = [0x04] + (try! Base64URL.decode(jwk["x"]!.stringValue!)) + (try! Base64URL.decode(jwk["y"]!.stringValue!))
            return hs(secret: point, kid: "ec-256")
        },
        AttackCase("HS256 against the Ed25519 kid is a key/algorithm mismatch", .rejected(.keyAlgorithmMismatch(kid: "ed-1", algorithm: "HS256"))) {
            hs(secret: Array(repeating: 1, count: 32), kid: "ed-1")
        },
        AttackCase("RS256 against the HMAC kid is a key/algorithm mismatch", .rejected(.keyAlgorithmMismatch(kid: "hmac-1", algorithm: "RS256"))) {
            A.signed(by: A.attackerRSA, .rs256, kid: "hmac-1")
        },
        AttackCase("ES256 against the HMAC kid is a key/algorithm mismatch", .rejected(.keyAlgorithmMismatch(kid: "hmac-1", algorithm: "ES256"))) {
            A.signed(by: A.attackerEC, .es256, kid: "hmac-1")
        },
        AttackCase("EdDSA against the HMAC kid is a key/algorithm mismatch", .rejected(.keyAlgorithmMismatch(kid: "hmac-1", algorithm: "EdDSA"))) {
            A.signed(by: A.attackerEd25519, .edDSA, kid: "hmac-1")
        },
        AttackCase("ES256 without kid against an HMAC-only key set finds no key", .rejected(.unknownKey(kid: nil)), verifier: shortSecretVerifier) {
            A.signed(by: A.attackerEC, .es256, kid: .some(nil))
        },
        AttackCase(
            "PS256 against a JWK whose alg is RS256 is a key/algorithm mismatch",
            .rejected(.keyAlgorithmMismatch(kid: "rsa-1", algorithm: "PS256")), verifier: rsaJWKRS256
        ) { A.signed(by: A.rsa, .ps256) },
        AttackCase(
            "RS384 against a JWK whose alg is RS256 is a key/algorithm mismatch",
            .rejected(.keyAlgorithmMismatch(kid: "rsa-1", algorithm: "RS384")), verifier: rsaJWKRS256
        ) { A.signed(by: A.rsa, .rs384) },
        AttackCase("RS256 against a JWK whose alg is RS256 is accepted", .valid, verifier: rsaJWKRS256) { A.signed(by: A.rsa, .rs256) },
        AttackCase("PS256 against an RSA JWK without alg is accepted", .valid) { A.signed(by: A.rsa, .ps256) },
        AttackCase(
            "RS256 against a JWK whose alg is PS256 is a key/algorithm mismatch",
            .rejected(.keyAlgorithmMismatch(kid: "rsa-1", algorithm: "RS256")),
            verifier: { A.verifier(keys: KeySet(keys: [try! VerificationKey(jwk: A.rsa.publicJWK(alg: .ps256))])) }
        ) { A.signed(by: A.rsa, .rs256) },
        AttackCase("HS256 with a 32-byte secret is accepted", .valid, verifier: shortSecretVerifier) {
            A.signed(by: shortSecretKey, .hs256)
        },
        AttackCase(
            "HS384 with a 32-byte secret is a key/algorithm mismatch (the key cannot verify HS384)",
            .rejected(.keyAlgorithmMismatch(kid: "short", algorithm: "HS384")), verifier: shortSecretVerifier
        ) { A.signed(by: shortSecretKey, .hs384) },
        AttackCase(
            "HS512 with a 32-byte secret is a key/algorithm mismatch (the key cannot verify HS512)",
            .rejected(.keyAlgorithmMismatch(kid: "short", algorithm: "HS512")), verifier: shortSecretVerifier
        ) { A.signed(by: shortSecretKey, .hs512) },
        AttackCase("HS512 with a 32-byte secret and no kid finds no key", .rejected(.unknownKey(kid: nil)), verifier: shortSecretVerifier) {
            A.signed(by: shortSecretKey, .hs512, kid: .some(nil))
        },
        AttackCase(
            "HS384 against an oct JWK whose alg is HS256 is a key/algorithm mismatch",
            .rejected(.keyAlgorithmMismatch(kid: "hmac-1", algorithm: "HS384")),
            verifier: { A.verifier(keys: KeySet(keys: [try! VerificationKey(jwk: A.hmac.publicJWK(alg: .hs256))])) }
        ) { A.signed(by: A.hmac, .hs384) },
        AttackCase(
            "a token relabelled from ES256 to HS512 (same signature length) is a key/algorithm mismatch",
            .rejected(.keyAlgorithmMismatch(kid: "ec-256", algorithm: "HS512"))
        ) { A.withHeader(A.signed(by: A.ec256, .es256), A.header("HS512", kid: "ec-256")) },
        AttackCase(
            "a token relabelled from EdDSA to ES256 (same signature length) is a key/algorithm mismatch",
            .rejected(.keyAlgorithmMismatch(kid: "ed-1", algorithm: "ES256"))
        ) { A.withHeader(A.signed(by: A.ed25519, .edDSA), A.header("ES256", kid: "ed-1")) },
        AttackCase("a token relabelled from RS256 to PS256 does not verify", .rejected(.badSignature)) {
            A.withHeader(A.signed(by: A.rsa, .rs256), A.header("PS256", kid: "rsa-1"))
        },
        AttackCase("a token relabelled from RS256 to HS256 has the wrong signature length", .malformed(.signatureLength)) {
            A.withHeader(A.signed(by: A.rsa, .rs256), A.header("HS256", kid: "rsa-1"))
        },
    ]

    @Test("algorithm confusion", arguments: confusionCases)
    func confusion(_ attack: AttackCase) { attack.run() }

    /// A JWKS with the RSA key published under several kids, some unusable for signatures.
    static let jwksVerifier: @Sendable () -> Verifier = {
        let base = try! A.rsa.publicJWK()
        func entry(_ kid: String, _ members: [String: JSONValue]) -> JSONValue {
            var jwk = base.objectValue!
            jwk["kid"] = .string(kid)
            jwk["use"] = nil
            for (name, value) in members { jwk[name] = value }
            return .object(jwk)
        }
        let jwks: JSONValue = ["keys": [
            entry("enc-1", ["use": "enc"]),
            entry("ops-encrypt", ["key_ops": ["encrypt"]]),
            entry("ops-sign", ["key_ops": ["sign"]]),
            entry("ops-verify", ["key_ops": ["verify"]]),
            entry("use-sig", ["use": "sig"]),
        ]]
        let keys = try! KeySet(jwks: jwks)
        precondition(keys.keys.count == 2 && keys.skipped.count == 3, "\(keys.skipped)")
        return A.verifier(keys: keys)
    }

    static let jwksCases: [AttackCase] = [
        AttackCase("a JWK with use enc is skipped, so its kid is unknown", .rejected(.unknownKey(kid: "enc-1")), verifier: jwksVerifier) {
            A.signed(by: A.rsa, .rs256, kid: "enc-1")
        },
        AttackCase("a JWK whose key_ops is [encrypt] is skipped", .rejected(.unknownKey(kid: "ops-encrypt")), verifier: jwksVerifier) {
            A.signed(by: A.rsa, .rs256, kid: "ops-encrypt")
        },
        AttackCase("a JWK whose key_ops is [sign] (not verify) is skipped", .rejected(.unknownKey(kid: "ops-sign")), verifier: jwksVerifier) {
            A.signed(by: A.rsa, .rs256, kid: "ops-sign")
        },
        AttackCase("a JWK whose key_ops includes verify is used", .valid, verifier: jwksVerifier) {
            A.signed(by: A.rsa, .rs256, kid: "ops-verify")
        },
        AttackCase("a JWK with use sig is used", .valid, verifier: jwksVerifier) {
            A.signed(by: A.rsa, .rs256, kid: "use-sig")
        },
    ]

    @Test("JWK use and key_ops", arguments: jwksCases)
    func jwkUse(_ attack: AttackCase) { attack.run() }

    static let longKid = String(repeating: "k", count: 10_240)

    static let kidCases: [AttackCase] = [
        AttackCase("a path-traversal kid is unknown", .rejected(.unknownKey(kid: "../../etc/passwd"))) {
            A.signed(by: A.attackerHMAC, .hs256, kid: "../../etc/passwd")
        },
        AttackCase("a /dev/null kid is unknown", .rejected(.unknownKey(kid: "/dev/null"))) {
            A.signed(by: A.attackerHMAC, .hs256, kid: "/dev/null")
        },
        AttackCase("an SQL-injection kid is unknown", .rejected(.unknownKey(kid: "' OR 1=1 --"))) {
            A.signed(by: A.attackerHMAC, .hs256, kid: "' OR 1=1 --")
        },
        AttackCase("a URL kid is unknown", .rejected(.unknownKey(kid: "https://attacker.example/key.pem"))) {
            A.signed(by: A.attackerHMAC, .hs256, kid: "https://attacker.example/key.pem")
        },
        AttackCase("a 10 KB kid is unknown", .rejected(.unknownKey(kid: longKid))) {
            A.signed(by: A.attackerHMAC, .hs256, kid: longKid)
        },
        AttackCase("a 20 KB kid makes the token too large", .rejected(.tokenTooLarge(limit: 16384))) {
            A.signed(by: A.attackerHMAC, .hs256, kid: longKid + longKid)
        },
        AttackCase("a kid with a trailing escaped NUL does not match the real kid", .rejected(.unknownKey(kid: "hmac-1\u{0}"))) {
            A.sign(A.hmac, .hs256, header: #"{"alg":"HS256","kid":"hmac-1\u0000"}"#, payload: A.claims())
        },
        AttackCase("a kid with an embedded escaped NUL does not match a prefix", .rejected(.unknownKey(kid: "hmac\u{0}-1"))) {
            A.sign(A.hmac, .hs256, header: #"{"alg":"HS256","kid":"hmac\u0000-1"}"#, payload: A.claims())
        },
        AttackCase("a kid with a trailing space is unknown", .rejected(.unknownKey(kid: "hmac-1 "))) {
            A.signed(by: A.hmac, .hs256, kid: "hmac-1 ")
        },
        AttackCase("a kid differing in case is unknown", .rejected(.unknownKey(kid: "HMAC-1"))) {
            A.signed(by: A.hmac, .hs256, kid: "HMAC-1")
        },
        AttackCase("an empty kid is unknown", .rejected(.unknownKey(kid: ""))) {
            A.signed(by: A.hmac, .hs256, kid: "")
        },
        AttackCase("a kid spelled with \\u escapes selects the real key", .valid) {
            A.sign(A.hmac, .hs256, header: #"{"alg":"HS256","kid":"hmac\u002d1"}"#, payload: A.claims())
        },
        AttackCase("a kid spelled entirely with \\u escapes selects the real key", .valid) {
            A.sign(A.hmac, .hs256, header: #"{"alg":"HS256","kid":"\u0068\u006d\u0061\u0063\u002D\u0031"}"#, payload: A.claims())
        },
        AttackCase("an escaped kid of the RSA key with HS256 is a key/algorithm mismatch", .rejected(.keyAlgorithmMismatch(kid: "rsa-1", algorithm: "HS256"))) {
            A.sign(A.attackerHMAC, .hs256, header: #"{"alg":"HS256","kid":"rsa\u002d1"}"#, payload: A.claims())
        },
        AttackCase("the real HMAC kid with the attacker's secret does not verify", .rejected(.badSignature)) {
            A.signed(by: A.attackerHMAC, .hs256, kid: "hmac-1")
        },
        AttackCase("a tampered payload under the real kid does not verify", .rejected(.badSignature)) {
            A.withPayload(A.validToken, A.claims(["sub": #""admin""#]))
        },
        AttackCase(
            "a kid in the token never matches a key configured without kid", .rejected(.unknownKey(kid: "hmac-1")),
            verifier: { A.verifier(keys: KeySet(keys: [try! VerificationKey(hmacSecret: A.hmacSecret)])) }
        ) { A.validToken },
        AttackCase(
            "two keys sharing a kid: the one that fits the algorithm is used", .valid,
            verifier: {
                A.verifier(keys: KeySet(keys: [
                    try! VerificationKey(jwk: A.rsa.publicJWK().withMember("kid", "shared")),
                    try! VerificationKey(hmacSecret: A.hmacSecret, kid: "shared"),
                ]))
            }
        ) { A.signed(by: A.hmac, .hs256, kid: "shared") },
    ]

    @Test("kid tricks", arguments: kidCases)
    func kid(_ attack: AttackCase) { attack.run() }

    /// Six HMAC keys without kid; the verifier tries at most four for a token without kid.
    static let manyKeys: [SigningKey] = (0..<6).map { index in SigningKey.hmac(secret: Array(repeating: UInt8(0x30 + index), count: 32)) }
    static let manyKeysVerifier: @Sendable () -> Verifier = {
        A.verifier(keys: KeySet(keys: [try! VerificationKey(jwk: A.ec256.publicJWK())] + manyKeys.map { try! $0.verificationKey() }))
    }

    static let noKidCases: [AttackCase] = [
        AttackCase("without kid, a token signed by the 1st of six HMAC keys verifies", .valid, verifier: manyKeysVerifier) {
            A.signed(by: manyKeys[0], .hs256)
        },
        AttackCase("without kid, a token signed by the 4th of six HMAC keys verifies", .valid, verifier: manyKeysVerifier) {
            A.signed(by: manyKeys[3], .hs256)
        },
        AttackCase("without kid, the 5th of six HMAC keys is beyond the try limit", .rejected(.badSignature), verifier: manyKeysVerifier) {
            A.signed(by: manyKeys[4], .hs256)
        },
        AttackCase("without kid, the 6th of six HMAC keys is beyond the try limit", .rejected(.badSignature), verifier: manyKeysVerifier) {
            A.signed(by: manyKeys[5], .hs256)
        },
        AttackCase("without kid, keys of another type are not tried or counted", .valid, verifier: manyKeysVerifier) {
            A.signed(by: A.ec256, .es256, kid: .some(nil))
        },
        AttackCase("without kid, no key fitting the algorithm means unknown key", .rejected(.unknownKey(kid: nil)), verifier: manyKeysVerifier) {
            A.signed(by: A.rsa, .rs256, kid: .some(nil))
        },
    ]

    @Test("tokens without kid against several keys", arguments: noKidCases)
    func noKid(_ attack: AttackCase) { attack.run() }

    static let injectionCases: [AttackCase] = [
        AttackCase("an embedded jwk with the attacker's kid is unknown", .rejected(.unknownKey(kid: "attacker"))) {
            A.signed(by: A.attackerRSA, .rs256, extraHeader: #""jwk":\#(try! A.attackerRSA.publicJWK().jsonText)"#)
        },
        AttackCase("an embedded jwk with the real kid does not verify", .rejected(.badSignature)) {
            A.signed(by: A.attackerRSA, .rs256, kid: "rsa-1", extraHeader: #""jwk":\#(try! A.attackerRSA.publicJWK().jsonText)"#)
        },
        AttackCase("an embedded jwk without kid does not verify", .rejected(.badSignature)) {
            A.signed(by: A.attackerRSA, .rs256, kid: .some(nil), extraHeader: #""jwk":\#(try! A.attackerRSA.publicJWK().jsonText)"#)
        },
        AttackCase("an embedded EC jwk with the real kid does not verify", .rejected(.badSignature)) {
            A.signed(by: A.attackerEC, .es256, kid: "ec-256", extraHeader: #""jwk":\#(try! A.attackerEC.publicJWK().jsonText)"#)
        },
        AttackCase("an embedded oct jwk carrying the attacker's HMAC secret does not verify", .rejected(.badSignature)) {
            A.signed(by: A.attackerHMAC, .hs256, kid: .some(nil), extraHeader: #""jwk":\#(try! A.attackerHMAC.publicJWK().jsonText)"#)
        },
        AttackCase("a jku pointing at the attacker's JWKS does not verify", .rejected(.badSignature)) {
            A.signed(by: A.attackerRSA, .rs256, kid: "rsa-1", extraHeader: #""jku":"https://attacker.example/.well-known/jwks.json""#)
        },
        AttackCase("an x5u pointing at the attacker's certificate does not verify", .rejected(.badSignature)) {
            A.signed(by: A.attackerRSA, .rs256, kid: "rsa-1", extraHeader: #""x5u":"https://attacker.example/cert.pem""#)
        },
        AttackCase("an x5c chain from the attacker does not verify", .rejected(.badSignature)) {
            A.signed(by: A.attackerRSA, .rs256, kid: .some(nil), extraHeader: #""x5c":["MIIBszCCAVmgAwIBAgIUattacker"]"#)
        },
        AttackCase("a jku with the attacker's kid is unknown", .rejected(.unknownKey(kid: "attacker"))) {
            A.signed(by: A.attackerEC, .es256, extraHeader: #""jku":"https://attacker.example/jwks.json""#)
        },
    ]

    @Test("keys named or embedded in the header are never used", arguments: injectionCases)
    func injection(_ attack: AttackCase) { attack.run() }
}

extension JSONValue {
    /// A copy of this object with one member set.
    func withMember(_ name: String, _ value: JSONValue) -> JSONValue {
        var members = objectValue ?? [:]
        members[name] = value
        return .object(members)
    }
}
