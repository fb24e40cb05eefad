import EdgeAuthCore
import EdgeAuthCrypto
import Foundation

/// Random values and digests of secrets: codes, refresh tokens and client secrets are
/// opaque random strings, and only their SHA-256 is ever stored.
enum Secrets {
    /// `bytes` random bytes (the system's CSPRNG) in base64url: 32 bytes are 43 characters.
    static func random(bytes count: Int = 32) -> String {
        Base64URL.encode(randomBytes(count))
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        SecureRandom.bytes(count)
    }

    /// The SHA-256 of a secret, as the key or value it is stored under.
    static func digest(_ secret: String) -> [UInt8] {
        OpenSSLSHA256.hash(Array(secret.utf8)) ?? []
    }

    static func digestHex(_ secret: String) -> String {
        hex(digest(secret))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = hexDigits
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Compares two byte strings in time that depends only on their lengths (A11).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// The PKCE S256 transformation (RFC 7636 §4.2).
    static func s256(_ verifier: String) -> String {
        Base64URL.encode(OpenSSLSHA256.hash(Array(verifier.utf8)) ?? [])
    }
}
