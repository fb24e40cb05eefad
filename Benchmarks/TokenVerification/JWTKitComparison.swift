import EdgeAuth
import Foundation
import JWTKit

/// The claims jwt-kit decodes and checks: the same time, issuer and audience
/// rules the EdgeAuth policy applies (`exp` against the benchmark clock).
struct BenchPayload: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var scope: String?
    var azp: String?

    static let now = Date(timeIntervalSince1970: TimeInterval(BenchData.now))
    static let issuers: Set<String> = [BenchData.auth0Issuer, BenchData.keycloakIssuer]

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired(currentDate: Self.now)
        try aud.verifyIntendedAudience(includes: BenchData.audience)
        guard Self.issuers.contains(iss.value) else {
            throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "unexpected issuer")
        }
    }
}

/// A jwt-kit key collection holding the one key that verifies tokens of
/// `algorithm`, built from the same JWK (or HMAC secret) EdgeAuth uses, under
/// the token's `kid` (HMAC tokens have none: the key is the default).
enum JWTKitKeys {
    static func collection(for algorithm: Algorithm, kid: String?) async throws -> JWTKeyCollection {
        let keys = JWTKeyCollection()
        let jwk = BenchData.jwk(for: algorithm)
        let identifier = kid.map { JWKIdentifier(string: $0) }
        func member(_ name: String) -> String {
            guard let value = jwk[name] else { fatalError("JWK for \(algorithm.name) has no \(name)") }
            return value
        }
        switch algorithm {
        case .hs256, .hs384, .hs512:
            let secret = HMACKey(from: BenchData.bytes(BenchData.keyFile(algorithm)))
            let digest: DigestAlgorithm = algorithm == .hs256 ? .sha256 : algorithm == .hs384 ? .sha384 : .sha512
            await keys.add(hmac: secret, digestAlgorithm: digest, kid: identifier)
        case .rs256, .rs384, .rs512:
            let key = try Insecure.RSA.PublicKey(modulus: member("n"), exponent: member("e"))
            await keys.add(rsa: key, digestAlgorithm: digest(algorithm), kid: identifier)
        case .ps256, .ps384, .ps512:
            let key = try Insecure.RSA.PublicKey(modulus: member("n"), exponent: member("e"))
            await keys.add(pss: key, digestAlgorithm: digest(algorithm), kid: identifier)
        case .es256:
            await keys.add(ecdsa: try ES256PublicKey(parameters: (member("x"), member("y"))), kid: identifier)
        case .es384:
            await keys.add(ecdsa: try ES384PublicKey(parameters: (member("x"), member("y"))), kid: identifier)
        case .es512:
            await keys.add(ecdsa: try ES512PublicKey(parameters: (member("x"), member("y"))), kid: identifier)
        case .edDSA:
            await keys.add(eddsa: try EdDSA.PublicKey(x: member("x"), curve: .ed25519), kid: identifier)
        }
        return keys
    }

    private static func digest(_ algorithm: Algorithm) -> DigestAlgorithm {
        switch algorithm.hashBytes {
        case 32: .sha256
        case 48: .sha384
        default: .sha512
        }
    }
}

/// Holds what a jwt-kit benchmark's setup built, for its measured closure.
final class JWTKitFixture: @unchecked Sendable {
    var keys: JWTKeyCollection?
}
