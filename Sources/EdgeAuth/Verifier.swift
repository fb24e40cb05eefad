@_exported public import EdgeAuthCore
@_exported public import EdgeAuthCrypto
import Foundation

/// The bearer-token verifier: strict parsing, a key bound to the token's
/// algorithm, the signature, then the claims policy. Every outcome is a
/// `Verdict`; nothing is thrown for a bad token.
///
/// Thread-safe: one verifier serves every request of a process.
public final class Verifier: Sendable {
    public let policy: ValidationPolicy
    public let keys: KeySet

    public init(policy: ValidationPolicy, keys: KeySet) {
        self.policy = policy
        self.keys = keys
    }

    /// Verifies the token bytes (without the `Bearer ` prefix).
    /// - Parameter now: seconds since the epoch; defaults to the system clock.
    public func verify(_ token: UnsafeRawBufferPointer, now: Int64? = nil) -> Verdict {
        let now = now ?? Self.currentTime()
        return TokenView.parse(token, limits: policy.limits) { result -> Verdict in
            switch result {
            case .failure(let reason):
                return .rejected(reason)
            case .success(let view):
                if let reason = policy.checkHeader(view) ?? keys.verifySignature(view) ?? policy.checkClaims(view, now: now) {
                    return .rejected(reason)
                }
                return .valid(Identity(standardClaimsOf: view))
            }
        }
    }

    /// Verifies a token given as text.
    public func verify(_ token: String, now: Int64? = nil) -> Verdict {
        var token = token
        return token.withUTF8 { verify(UnsafeRawBufferPointer($0), now: now) }
    }

    /// Verifies a token given as bytes.
    public func verify(_ token: [UInt8], now: Int64? = nil) -> Verdict {
        token.withUnsafeBytes { verify($0, now: now) }
    }

    /// Seconds since the epoch from the system clock.
    public static func currentTime() -> Int64 {
        Int64(Date().timeIntervalSince1970)
    }
}
