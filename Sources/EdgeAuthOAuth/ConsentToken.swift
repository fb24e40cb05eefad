import EdgeAuth
import Foundation

/// The CSRF protection of the consent form (A6): a token in the form itself, signed with the
/// server's consent key and bound to one pending authorization and one nonce, so it needs no
/// cookie (popups and webviews lose them) and is accepted once: the pending authorization
/// forgets the nonce when the decision is taken.
enum ConsentToken {
    /// `pendingID.nonce.expiry.signature`.
    static func make(pendingID: String, nonce: String, expiresAt: Int64, key: SigningKey) throws -> String {
        let body = "\(pendingID).\(nonce).\(expiresAt)"
        return body + "." + Base64URL.encode(try key.sign(.hs256, Array(body.utf8)))
    }

    /// The pending authorization and nonce a token names, when its signature is this server's and it has not expired.
    static func open(_ token: String, key: SigningKey, now: Int64) -> (pendingID: String, nonce: String)? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, let expiry = Int64(parts[2]), expiry > now,
              let signature = try? Base64URL.decode(parts[3]),
              let expected = try? key.sign(.hs256, Array(parts[0..<3].joined(separator: ".").utf8)),
              Secrets.constantTimeEqual(signature, expected)
        else { return nil }
        return (String(parts[0]), String(parts[1]))
    }
}
