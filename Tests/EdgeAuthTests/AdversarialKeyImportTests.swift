import EdgeAuth
import EdgeAuthTesting
import Foundation
import Testing

/// Keys an attacker (or a careless JWKS) might hand to the verifier: wrong use,
/// private material, weak or invalid parameters, algorithm bindings that do not fit.
@Suite("Adversarial: key import")
struct AdversarialKeyImportTests {
    typealias A = Adversary

    /// One key import and the error code it must raise (nil: imported).
    struct ImportCase: Sendable, CustomTestStringConvertible {
        let name: String
        let expected: CryptoError.Code?
        let make: @Sendable () throws(CryptoError) -> VerificationKey
        var testDescription: String { name }

        init(_ name: String, _ expected: CryptoError.Code?, _ make: @escaping @Sendable () throws(CryptoError) -> VerificationKey) {
            self.name = name
            self.expected = expected
            self.make = make
        }

        func run(sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                let key = try make()
                #expect(expected == nil, "\(name): imported \(key), expected \(expected.map(String.init(describing:)) ?? "")", sourceLocation: sourceLocation)
            } catch {
                #expect(error.code == expected, "\(name): \(error)", sourceLocation: sourceLocation)
            }
        }
    }

    static func jwk(_ key: SigningKey, set: [String: JSONValue] = [:], remove: [String] = []) -> JSONValue {
        var members = try! key.publicJWK().objectValue!
        for name in remove { members[name] = nil }
        for (name, value) in set { members[name] = value }
        return .object(members)
    }

    static func jwkCase(_ name: String, _ expected: CryptoError.Code?, _ key: SigningKey, set: [String: JSONValue] = [:], remove: [String] = []) -> ImportCase {
        ImportCase(name, expected) { () throws(CryptoError) in try VerificationKey(jwk: jwk(key, set: set, remove: remove)) }
    }

    static func b64(_ bytes: [UInt8]) -> JSONValue { .string(Base64URL.encode(bytes)) }

    static let weakRSA = try! SigningKey.generate(.rsa(bits: 1024), kid: "weak")

    static let jwkCases: [ImportCase] = [
        jwkCase("an RSA JWK with use sig is imported", nil, A.rsa),
        jwkCase("an RSA JWK with use enc is refused", .keyUse, A.rsa, set: ["use": "enc"]),
        jwkCase("an RSA JWK with an unknown use is refused", .keyUse, A.rsa, set: ["use": "signature"]),
        jwkCase("an RSA JWK whose key_ops is [encrypt] is refused", .keyUse, A.rsa, set: ["key_ops": ["encrypt"]]),
        jwkCase("an RSA JWK whose key_ops is [sign] is refused", .keyUse, A.rsa, set: ["key_ops": ["sign"]]),
        jwkCase("an RSA JWK whose key_ops is empty is refused", .keyUse, A.rsa, set: ["key_ops": []]),
        jwkCase("an RSA JWK whose key_ops includes verify is imported", nil, A.rsa, set: ["key_ops": ["sign", "verify"]]),
        jwkCase("key_ops as a string is refused", .invalidKey, A.rsa, set: ["key_ops": "verify"]),
        jwkCase("key_ops with a number is refused", .invalidKey, A.rsa, set: ["key_ops": [1, "verify"]]),
        jwkCase("use as a boolean is refused", .invalidKey, A.rsa, set: ["use": true]),
        jwkCase("an RSA JWK bound to HS256 is refused (algorithm confusion)", .invalidKey, A.rsa, set: ["alg": "HS256"]),
        jwkCase("an RSA JWK bound to ES256 is refused", .invalidKey, A.rsa, set: ["alg": "ES256"]),
        jwkCase("an RSA JWK bound to alg none is refused", .unsupportedKey, A.rsa, set: ["alg": "none"]),
        jwkCase("an RSA JWK bound to a lowercase rs256 is refused", .unsupportedKey, A.rsa, set: ["alg": "rs256"]),
        jwkCase("an RSA JWK with alg as a number is refused", .invalidKey, A.rsa, set: ["alg": 256]),
        jwkCase("an EC P-256 JWK bound to ES384 is refused", .invalidKey, A.ec256, set: ["alg": "ES384"]),
        jwkCase("an EC JWK bound to HS256 is refused", .invalidKey, A.ec256, set: ["alg": "HS256"]),
        jwkCase("an Ed25519 JWK bound to ES256 is refused", .invalidKey, A.ed25519, set: ["alg": "ES256"]),
        jwkCase("an RSA JWK carrying the private exponent d is refused", .invalidKey, A.rsa, set: ["d": "AQAB"]),
        jwkCase("an EC JWK carrying d is refused", .invalidKey, A.ec256, set: ["d": b64([UInt8](repeating: 1, count: 32))]),
        jwkCase("an OKP JWK carrying d is refused", .invalidKey, A.ed25519, set: ["d": b64([UInt8](repeating: 1, count: 32))]),
        jwkCase("an RSA modulus of 1024 bits is weak", .weakKey, weakRSA),
        jwkCase("an RSA exponent of 1 is refused", .invalidKey, A.rsa, set: ["e": b64([1])]),
        jwkCase("an even RSA exponent is refused", .invalidKey, A.rsa, set: ["e": b64([2])]),
        jwkCase("a zero RSA exponent is refused", .invalidKey, A.rsa, set: ["e": b64([0])]),
        jwkCase("an RSA exponent over 64 bits is refused", .invalidKey, A.rsa, set: ["e": b64([UInt8](repeating: 1, count: 9))]),
        jwkCase("an RSA JWK without n is refused", .invalidKey, A.rsa, remove: ["n"]),
        jwkCase("an RSA modulus with = padding is refused", .invalidKey, A.rsa, set: ["n": .string(Base64URL.encode(A.rsaModulus + [0x01]) + "=")]),
        jwkCase("an RSA modulus in standard base64 is refused", .invalidKey, A.rsa, set: ["n": .string("+/" + Base64URL.encode(A.rsaModulus).dropFirst(2))]),
        jwkCase("an EC point off the curve is refused (invalid-curve attack)", .invalidKey, A.ec256, set: ["y": {
            var y = try! Base64URL.decode(try! A.ec256.publicJWK()["y"]!.stringValue!)
            y[31] ^= 1
            return b64(y)
        }()]),
        jwkCase("an EC point at zero is refused", .invalidKey, A.ec256, set: ["x": b64([UInt8](repeating: 0, count: 32)), "y": b64([UInt8](repeating: 0, count: 32))]),
        jwkCase("an EC x coordinate of 31 bytes is refused", .invalidKey, A.ec256, set: ["x": b64([UInt8](repeating: 1, count: 31))]),
        jwkCase("P-384 coordinates under crv P-256 are refused", .invalidKey, A.ec384, set: ["crv": "P-256"]),
        jwkCase("crv secp256k1 is unsupported", .unsupportedKey, A.ec256, set: ["crv": "secp256k1"]),
        jwkCase("an EC JWK without crv is unsupported", .unsupportedKey, A.ec256, remove: ["crv"]),
        jwkCase("an OKP X25519 key is unsupported", .unsupportedKey, A.ed25519, set: ["crv": "X25519"]),
        jwkCase("an Ed25519 x of 31 bytes is refused", .invalidKey, A.ed25519, set: ["x": b64([UInt8](repeating: 1, count: 31))]),
        jwkCase("kty RSA with a trailing space is unsupported", .unsupportedKey, A.rsa, set: ["kty": "RSA "]),
        jwkCase("kty in lowercase is unsupported", .unsupportedKey, A.rsa, set: ["kty": "rsa"]),
        jwkCase("a JWK without kty is refused", .invalidKey, A.rsa, remove: ["kty"]),
        jwkCase("a kid that is a number is refused", .invalidKey, A.rsa, set: ["kid": 7]),
        jwkCase("an oct JWK of 16 bytes is weak", .weakKey, SigningKey.hmac(secret: [UInt8](repeating: 3, count: 16))),
        jwkCase("an oct JWK of 31 bytes is weak", .weakKey, SigningKey.hmac(secret: [UInt8](repeating: 3, count: 31))),
        jwkCase("an oct JWK of 32 bytes bound to HS512 is weak", .weakKey, SigningKey.hmac(secret: [UInt8](repeating: 3, count: 32)), set: ["alg": "HS512"]),
        jwkCase("an oct JWK bound to RS256 is refused", .invalidKey, A.hmac, set: ["alg": "RS256"]),
        jwkCase("an oct JWK with an empty k is weak", .weakKey, A.hmac, set: ["k": ""]),
        ImportCase("a JWK that is not an object is refused", .invalidKey) { () throws(CryptoError) in try VerificationKey(jwk: ["kty", "RSA"]) },
    ]

    @Test("JWK import", arguments: jwkCases)
    func jwkImport(_ attack: ImportCase) { attack.run() }

    static let otherCases: [ImportCase] = [
        ImportCase("an HMAC secret of 31 bytes is weak", .weakKey) { () throws(CryptoError) in
            try VerificationKey(hmacSecret: [UInt8](repeating: 1, count: 31))
        },
        ImportCase("an empty HMAC secret is weak", .weakKey) { () throws(CryptoError) in try VerificationKey(hmacSecret: []) },
        ImportCase("an HMAC secret of 32 bytes is imported", nil) { () throws(CryptoError) in
            try VerificationKey(hmacSecret: [UInt8](repeating: 1, count: 32))
        },
        ImportCase("an HMAC secret of 32 bytes restricted to HS512 is weak", .weakKey) { () throws(CryptoError) in
            try VerificationKey(hmacSecret: [UInt8](repeating: 1, count: 32), restrictTo: .hs512)
        },
        ImportCase("an HMAC secret restricted to RS256 is refused", .invalidKey) { () throws(CryptoError) in
            try VerificationKey(hmacSecret: [UInt8](repeating: 1, count: 64), restrictTo: .rs256)
        },
        ImportCase("an RSA PEM restricted to HS256 is refused", .invalidKey) { () throws(CryptoError) in
            try VerificationKey(pem: A.rsaPublicPEM, kid: "rsa-1", restrictTo: .hs256)
        },
        ImportCase("an RSA PEM is imported", nil) { () throws(CryptoError) in try VerificationKey(pem: A.rsaPublicPEM) },
        ImportCase("a PEM private key is refused", .invalidKey) { () throws(CryptoError) in
            try VerificationKey(pem: try A.ec256.privateKeyPEM())
        },
        ImportCase("an encrypted PEM private key is refused", .invalidKey) { () throws(CryptoError) in
            try VerificationKey(pem: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n")
        },
        ImportCase("a PEM public key with a corrupted body is refused", .invalidKey) { () throws(CryptoError) in
            try VerificationKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PUBLIC KEY-----\n")
        },
        ImportCase("text without a PEM block is refused", .invalidKey) { () throws(CryptoError) in
            try VerificationKey(pem: A.rsaPublicPEM.replacingOccurrences(of: "-----", with: ""))
        },
        ImportCase("a PEM CRL is unsupported", .unsupportedKey) { () throws(CryptoError) in
            try VerificationKey(pem: "-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n")
        },
    ]

    @Test("HMAC secrets and PEM keys", arguments: otherCases)
    func otherImport(_ attack: ImportCase) { attack.run() }

    @Test("a JWKS keeps its usable keys and skips the others with a message")
    func jwksSkipsUnusableKeys() throws {
        let jwks: JSONValue = ["keys": [
            Self.jwk(A.rsa),
            Self.jwk(A.rsa, set: ["kid": "enc", "use": "enc"]),
            Self.jwk(A.rsa, set: ["kid": "private", "d": "AQAB"]),
            Self.jwk(SigningKey.hmac(secret: [UInt8](repeating: 3, count: 16), kid: "weak")),
            Self.jwk(A.ec256, set: ["kid": "confused", "alg": "HS256"]),
            ["kty": "EC", "kid": "k1", "crv": "P-256"],
            "not a key",
        ]]
        let keys = try KeySet(jwks: jwks)
        #expect(keys.keys.map(\.kid) == ["rsa-1"])
        #expect(keys.skipped.count == 6, "\(keys.skipped)")
        let verifier = A.verifier(keys: keys)
        #expect(verifier.verify(A.signed(by: A.rsa, .rs256), now: A.now).identity != nil)
        #expect(verifier.verify(A.signed(by: A.rsa, .rs256, kid: "enc"), now: A.now).reason == .unknownKey(kid: "enc"))
        #expect(verifier.verify(A.signed(by: A.ec256, .es256, kid: "confused"), now: A.now).reason == .unknownKey(kid: "confused"))
        #expect(
            verifier.verify(A.sign(SigningKey.hmac(secret: [UInt8](repeating: 3, count: 16)), .hs256, header: A.header(kid: "weak"), payload: A.claims()), now: A.now).reason
                == .unknownKey(kid: "weak")
        )
    }

    struct DocumentCase: Sendable, CustomTestStringConvertible {
        let name: String
        let json: String
        var testDescription: String { name }
    }

    static let documentCases: [DocumentCase] = [
        DocumentCase(name: "a JWKS with keys twice (duplicate member) is refused", json: #"{"keys":[],"keys":[]}"#),
        DocumentCase(name: "a JWKS with a duplicate member inside a key is refused", json: #"{"keys":[{"kty":"oct","k":"AAAA","k":"BBBB"}]}"#),
        DocumentCase(name: "a JWKS whose keys is an object is refused", json: #"{"keys":{"kty":"oct"}}"#),
        DocumentCase(name: "a JWKS that is an array is refused", json: #"[{"kty":"oct"}]"#),
        DocumentCase(name: "a JWKS with a trailing comma is refused", json: #"{"keys":[],}"#),
        DocumentCase(name: "a JWKS with an unpaired surrogate is refused", json: #"{"keys":[],"x":"\ud800"}"#),
    ]

    @Test("JWKS documents that are not a JWKS", arguments: documentCases)
    func jwksDocument(_ document: DocumentCase) {
        #expect(throws: CryptoError.self, "\(document.name)") { try KeySet(jwksJSON: Array(document.json.utf8)) }
        do {
            _ = try KeySet(jwksJSON: Array(document.json.utf8))
        } catch {
            #expect(error.code == .invalidKey)
        }
    }
}
