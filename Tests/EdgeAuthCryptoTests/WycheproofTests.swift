import EdgeAuth
import EdgeAuthTestThreads
import EdgeAuthTesting
import Foundation
import Testing

/// Wycheproof vectors fed through the JWK import path (the PEM path where a
/// group has no JWK), then through `VerificationKey.verify`.
@Suite("Wycheproof signature vectors")
struct WycheproofTests {
    struct File: CustomTestStringConvertible, Sendable {
        let name: String
        let algorithm: Algorithm
        /// The cases of each result, as docs/conformance.md lists them: a file that loses
        /// or gains cases is noticed, not passed on counts of zero.
        let valid, invalid, acceptable: Int
        var testDescription: String { name }
    }

    static let files = [
        File(name: "ecdsa_secp256r1_sha256_p1363_test.json", algorithm: .es256, valid: 173, invalid: 89, acceptable: 0),
        File(name: "ecdsa_secp384r1_sha384_p1363_test.json", algorithm: .es384, valid: 193, invalid: 87, acceptable: 0),
        File(name: "ed25519_test.json", algorithm: .edDSA, valid: 88, invalid: 63, acceptable: 0),
        File(name: "rsa_pss_2048_sha256_mgf1_32_test.json", algorithm: .ps256, valid: 63, invalid: 45, acceptable: 0),
        File(name: "rsa_signature_2048_sha256_test.json", algorithm: .rs256, valid: 9, invalid: 249, acceptable: 1),
        File(name: "rsa_signature_3072_sha256_test.json", algorithm: .rs256, valid: 8, invalid: 250, acceptable: 1),
        File(name: "rsa_signature_4096_sha256_test.json", algorithm: .rs256, valid: 7, invalid: 250, acceptable: 1),
    ]

    static func hex(_ text: String) -> [UInt8] { hexBytes(text) }

    static func verify(_ key: VerificationKey, _ algorithm: Algorithm, message: [UInt8], signature: [UInt8]) -> Bool {
        message.withUnsafeBytes { m in
            signature.withUnsafeBytes { s in key.verify(algorithm, signingInput: m, signature: s) }
        }
    }

    @Test("every valid signature verifies and every invalid one is rejected", .ownThread, arguments: files)
    func signatureFile(file: File) throws {
        let document = try Vectors.load("wycheproof/\(file.name)")
        var counts: [String: Int] = [:]
        for group in document["testGroups"]?.arrayValue ?? [] {
            let key: VerificationKey
            if let jwk = group["publicKeyJwk"] ?? group["keyJwk"] {
                key = try VerificationKey(jwk: jwk)
            } else {
                key = try VerificationKey(pem: try #require(group["publicKeyPem"]?.stringValue), restrictTo: file.algorithm)
            }
            for test in group["tests"]?.arrayValue ?? [] {
                let id = test["tcId"]?.doubleValue.map { Int($0) } ?? -1
                let result = try #require(test["result"]?.stringValue)
                let accepted = Self.verify(key, file.algorithm, message: Self.hex(test["msg"]?.stringValue ?? ""), signature: Self.hex(test["sig"]?.stringValue ?? ""))
                switch result {
                case "valid":
                    #expect(accepted, "\(file.name) tcId \(id) (valid) was rejected: \(test["comment"]?.stringValue ?? "") msg \(test["msg"]?.stringValue?.count ?? 0)")
                case "invalid":
                    #expect(!accepted, "\(file.name) tcId \(id) (invalid) was accepted: \(test["comment"]?.stringValue ?? "")")
                default:
                    // "acceptable": only MissingNull in these files — a DigestInfo without the
                    // NULL parameter. EdgeAuth is strict and rejects it (docs/conformance.md).
                    #expect(test["flags"]?.stringsValue == ["MissingNull"])
                    #expect(!accepted, "\(file.name) tcId \(id) (acceptable, MissingNull) was accepted")
                }
                counts[result, default: 0] += 1
            }
        }
        #expect(counts["valid", default: 0] == file.valid && counts["invalid", default: 0] == file.invalid
                && counts["acceptable", default: 0] == file.acceptable, "\(file.name): \(counts)")
    }

    /// The same secret as a JWK (`kty: oct`, the JWK import path) and as raw bytes.
    static func hmacKeys(_ secret: [UInt8]) throws -> [VerificationKey] {
        let jwk: JSONValue = ["kty": "oct", "k": .string(Base64URL.encode(secret)), "alg": "HS256"]
        return [try VerificationKey(jwk: jwk), try VerificationKey(hmacSecret: secret, restrictTo: .hs256)]
    }

    @Test("HMAC-SHA256 vectors, keys imported as JWKs and as raw secrets: 256-bit tags verify as Wycheproof says; truncated tags and short keys never do")
    func hmac() throws {
        let document = try Vectors.load("wycheproof/hmac_sha256_test.json")
        var refusedKeys = 0
        var truncated = 0
        var checked = 0
        for group in document["testGroups"]?.arrayValue ?? [] {
            let tagBits = Int(group["tagSize"]?.doubleValue ?? 0)
            for test in group["tests"]?.arrayValue ?? [] {
                let secret = Self.hex(test["key"]?.stringValue ?? "")
                let id = test["tcId"]?.doubleValue.map { Int($0) } ?? -1
                guard secret.count >= 32 else {
                    // RFC 7518 §3.2: an HS256 key must be at least 256 bits.
                    #expect(throws: CryptoError.self) { try Self.hmacKeys(secret) }
                    #expect(throws: CryptoError.self) { try VerificationKey(hmacSecret: secret) }
                    refusedKeys += 1
                    continue
                }
                for key in try Self.hmacKeys(secret) {
                    let accepted = Self.verify(key, .hs256, message: Self.hex(test["msg"]?.stringValue ?? ""), signature: Self.hex(test["tag"]?.stringValue ?? ""))
                    if tagBits < 256 {
                        #expect(!accepted, "tcId \(id): a \(tagBits)-bit tag is never a valid JWS signature")
                    } else {
                        #expect(accepted == (test["result"]?.stringValue == "valid"), "tcId \(id)")
                    }
                }
                if tagBits < 256 { truncated += 1 } else { checked += 1 }
            }
        }
        #expect(refusedKeys == 6 && truncated == 84 && checked == 84)
    }
}
