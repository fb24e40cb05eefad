internal import COpenSSL
public import EdgeAuthCore

/// A public key (or HMAC secret) bound to the algorithms its type allows.
///
/// An RSA or EC key can never verify an HS* token and an HMAC secret never an
/// asymmetric one: `algorithms` is derived from the key type and narrowed by the
/// JWK's `alg`. OpenSSL objects are created once here and reused for every verify.
public final class VerificationKey: Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case rsa(bits: Int)
        /// An RSA key restricted to PSS by its SPKI (`id-RSASSA-PSS`).
        case rsaPSS(bits: Int)
        case ec(Curve)
        case ed25519
        case hmac(bytes: Int)
    }

    /// The JWK `kid`, if any.
    public let kid: String?
    public let kind: Kind
    /// Exactly the algorithms this key may verify.
    public let algorithms: AlgorithmSet

    let kidBytes: [UInt8]?
    /// SHA-256 of the public key (DER SubjectPublicKeyInfo) or of the HMAC secret:
    /// identifies the key material without revealing a secret.
    public let fingerprint: [UInt8]

    /// The fingerprint of `material`; a key whose fingerprint cannot be taken is refused
    /// (an empty one would make different keys look alike to the verdict cache).
    private static func fingerprint(of material: Material) throws(CryptoError) -> [UInt8] {
        let digest: [UInt8]?
        switch material {
        case .secret(let secret): digest = OpenSSLSHA256.hash(secret)
        case .pkey(let pkey):
            var der: UnsafeMutablePointer<UInt8>?
            let length = unsafe i2d_PUBKEY(pkey.pointer, &der)
            guard length > 0, let der = unsafe der else { throw CryptoError.openSSL("i2d_PUBKEY") }
            defer { unsafe CRYPTO_free(der, #fileID, #line) }
            digest = unsafe OpenSSLSHA256.hash(UnsafeRawBufferPointer(start: der, count: Int(length)))
        }
        guard let digest else { throw CryptoError.openSSL("SHA-256 of the key") }
        return digest
    }
    private let material: Material
    /// Reusable contexts, indexed by `Algorithm.rawValue`.
    private let pools: [ContextPool?]

    private enum Material: Sendable {
        case pkey(PKey)
        case secret([UInt8])
    }

    /// Minimum RSA modulus size accepted (RFC 7518 §3.3).
    public static let minimumRSABits = 2048
    /// Largest RSA modulus accepted (bounds verification cost).
    public static let maximumRSABits = 16384

    init(pkey: PKey, kid: String?, restrictTo restriction: Algorithm?) throws(CryptoError) {
        let kind: Kind
        var allowed: AlgorithmSet
        switch pkey.baseID {
        case edgeauth_evp_pkey_rsa, edgeauth_evp_pkey_rsa_pss:
            let bits = Int(pkey.bits)
            guard bits >= Self.minimumRSABits else {
                throw CryptoError(.weakKey, "RSA modulus is \(bits) bits; at least \(Self.minimumRSABits) are required")
            }
            guard bits <= Self.maximumRSABits else {
                throw CryptoError(.unsupportedKey, "RSA modulus is \(bits) bits; at most \(Self.maximumRSABits) are supported")
            }
            if pkey.baseID == edgeauth_evp_pkey_rsa_pss {
                kind = .rsaPSS(bits: bits)
                allowed = AlgorithmSet([Algorithm.ps256, .ps384, .ps512])
            } else {
                kind = .rsa(bits: bits)
                allowed = AlgorithmSet([Algorithm.rs256, .rs384, .rs512, .ps256, .ps384, .ps512])
            }
        case edgeauth_evp_pkey_ec:
            guard let group = pkey.groupName, let curve = Curve(openSSLGroup: group) else {
                throw CryptoError(.unsupportedKey, "EC curve \(pkey.groupName ?? "?") is not P-256, P-384 or P-521")
            }
            kind = .ec(curve)
            allowed = AlgorithmSet([curve.algorithm])
        case edgeauth_evp_pkey_ed25519:
            kind = .ed25519
            allowed = AlgorithmSet([Algorithm.edDSA])
        default:
            throw CryptoError(.unsupportedKey, "key type \(pkey.baseID) is not RSA, EC or Ed25519")
        }
        if let restriction {
            guard allowed.contains(restriction) else {
                throw CryptoError(.invalidKey, "key alg \(restriction.name) does not fit a \(kind) key")
            }
            allowed = AlgorithmSet([restriction])
        }
        _ = try Digests.required()
        self.kid = kid
        self.kidBytes = kid.map { Array($0.utf8) }
        self.kind = kind
        self.algorithms = allowed
        self.material = .pkey(pkey)
        self.fingerprint = try Self.fingerprint(of: .pkey(pkey))
        self.pools = Algorithm.allCases.map { alg in
            guard allowed.contains(alg), alg.family != .eddsa else { return nil }
            return PreparedSignatureContexts.pool(pkey, alg, for: .verify)
        }
    }

    /// An HMAC secret for HS256/384/512. A secret may verify an algorithm only if it
    /// is at least as long as the hash (RFC 7518 §3.2).
    /// - Throws: `weakKey` when the secret is shorter than 32 bytes.
    public init(hmacSecret secret: [UInt8], kid: String? = nil, restrictTo restriction: Algorithm? = nil) throws(CryptoError) {
        var allowed = AlgorithmSet([Algorithm.hs256, .hs384, .hs512].filter { secret.count >= $0.hashBytes })
        guard !allowed.isEmpty else {
            throw CryptoError(.weakKey, "HMAC secret is \(secret.count) bytes; at least 32 are required for HS256")
        }
        if let restriction {
            guard restriction.family == .hmac else {
                throw CryptoError(.invalidKey, "an HMAC secret cannot verify \(restriction.name)")
            }
            guard allowed.contains(restriction) else {
                throw CryptoError(.weakKey, "HMAC secret is \(secret.count) bytes; \(restriction.name) needs at least \(restriction.hashBytes)")
            }
            allowed = AlgorithmSet([restriction])
        }
        _ = try Digests.required()
        self.kid = kid
        self.kidBytes = kid.map { Array($0.utf8) }
        self.kind = .hmac(bytes: secret.count)
        self.algorithms = allowed
        self.material = .secret(secret)
        self.fingerprint = try Self.fingerprint(of: .secret(secret))
        self.pools = Algorithm.allCases.map { alg in
            allowed.contains(alg) ? Self.macContextPool(secret: secret, algorithm: alg) : nil
        }
    }

    public var description: String {
        "VerificationKey(kid: \(kid ?? "none"), kind: \(kind), algorithms: \(algorithms.algorithms.map(\.name)))"
    }

    // MARK: Verification

    /// Verifies `signature` over `signingInput` with `algorithm`.
    /// Returns false for any failure, including an algorithm this key may not verify.
    public func verify(_ algorithm: Algorithm, signingInput: UnsafeRawBufferPointer, signature: UnsafeRawBufferPointer) -> Bool {
        guard algorithms.contains(algorithm) else { return false }
        switch algorithm.family {
        case .hmac: return unsafe verifyMAC(algorithm, signingInput, signature)
        case .rsaPKCS1, .rsaPSS: return unsafe verifyRSA(algorithm, signingInput, signature)
        case .ecdsa: return unsafe verifyECDSA(algorithm, signingInput, signature)
        case .eddsa: return unsafe verifyEd25519(signingInput, signature)
        }
    }

    private func verifyMAC(_ algorithm: Algorithm, _ input: UnsafeRawBufferPointer, _ signature: UnsafeRawBufferPointer) -> Bool {
        // A truncated tag is never a valid JWS signature.
        guard signature.count == algorithm.hashBytes, let pool = pools[Int(algorithm.rawValue)] else { return false }
        return unsafe pool.with { context -> Bool in
            let ctx = OpaquePointer(context)
            return unsafe withUnsafeTemporaryAllocation(byteCount: 64, alignment: 8) { tag -> Bool in
                var length = 0
                // A NULL key re-initialises the context with the key it already holds.
                guard unsafe EVP_MAC_init(ctx, nil, 0, nil) == 1,
                      unsafe EVP_MAC_update(ctx, input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count) == 1,
                      unsafe EVP_MAC_final(ctx, tag.baseAddress?.assumingMemoryBound(to: UInt8.self), &length, 64) == 1,
                      length == algorithm.hashBytes
                else {
                    OpenSSLErrors.clear()
                    return false
                }
                return unsafe constantTimeEqual(UnsafeRawBufferPointer(rebasing: tag[0..<length]), signature)
            }
        } ?? false
    }

    private func verifyRSA(_ algorithm: Algorithm, _ input: UnsafeRawBufferPointer, _ signature: UnsafeRawBufferPointer) -> Bool {
        guard case .pkey(let pkey) = material, signature.count == Int(pkey.size) else { return false }
        return unsafe verifyDigest(algorithm, input, signature)
    }

    private func verifyECDSA(_ algorithm: Algorithm, _ input: UnsafeRawBufferPointer, _ signature: UnsafeRawBufferPointer) -> Bool {
        guard case .ec(let curve) = kind, signature.count == 2 * curve.coordinateBytes else { return false }
        let size = curve.coordinateBytes
        let r = unsafe UnsafeRawBufferPointer(rebasing: signature[0..<size])
        let s = unsafe UnsafeRawBufferPointer(rebasing: signature[size...])
        // r and s must be in 1...n-1: zero or ≥ n is the "psychic signature" class.
        let inRange = unsafe curve.order.withUnsafeBytes { n in
            unsafe ECDSASignature.isInRange(r, order: n) && ECDSASignature.isInRange(s, order: n)
        }
        guard inRange else { return false }
        return unsafe withUnsafeTemporaryAllocation(byteCount: 2 * size + 16, alignment: 8) { der -> Bool in
            let length = unsafe ECDSASignature.der(r: r, s: s, into: der)
            return unsafe verifyDigest(algorithm, input, UnsafeRawBufferPointer(rebasing: der[0..<length]))
        }
    }

    /// Hashes `input` and checks `signature` with this key's prepared `EVP_PKEY_CTX`.
    private func verifyDigest(_ algorithm: Algorithm, _ input: UnsafeRawBufferPointer, _ signature: UnsafeRawBufferPointer) -> Bool {
        guard let pool = pools[Int(algorithm.rawValue)] else { return false }
        return unsafe withUnsafeTemporaryAllocation(byteCount: 64, alignment: 8) { digest -> Bool in
            guard let digestLength = unsafe DigestContexts.shared.hash(algorithm.hashBytes, input, into: digest) else { return false }
            return unsafe pool.with { context -> Bool in
                let ok = unsafe EVP_PKEY_verify(
                    OpaquePointer(context),
                    signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count,
                    digest.baseAddress?.assumingMemoryBound(to: UInt8.self), digestLength
                ) == 1
                if !ok { OpenSSLErrors.clear() }
                return ok
            } ?? false
        }
    }

    private func verifyEd25519(_ input: UnsafeRawBufferPointer, _ signature: UnsafeRawBufferPointer) -> Bool {
        guard case .pkey(let pkey) = material, signature.count == 64 else { return false }
        // Ed25519 has no pre-hash interface in OpenSSL 3.0: one-shot DigestVerify on a reused EVP_MD_CTX.
        return unsafe DigestContexts.shared.signatureContexts.with { context -> Bool in
            let ctx = OpaquePointer(context)
            unsafe EVP_MD_CTX_reset(ctx)
            let ok = unsafe EVP_DigestVerifyInit_ex(ctx, nil, nil, nil, nil, pkey.pointer, nil) == 1
                && EVP_DigestVerify(
                    ctx,
                    signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count,
                    input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count
                ) == 1
            if !ok { OpenSSLErrors.clear() }
            return ok
        } ?? false
    }

    // MARK: Context pools

    private static func macContextPool(secret: [UInt8], algorithm: Algorithm) -> ContextPool {
        unsafe ContextPool(
            make: {
                guard let hmac = unsafe Digests.shared?.hmac, let ctx = unsafe EVP_MAC_CTX_new(hmac) else { return nil }
                // OSSL_PARAM holds pointers: key and value must be static storage.
                let digestKey: StaticString = "digest"
                let digestName: StaticString = switch algorithm.hashBytes {
                case 32: "SHA2-256"
                case 48: "SHA2-384"
                default: "SHA2-512"
                }
                var params = unsafe [
                    OSSL_PARAM_construct_utf8_string(
                        UnsafeRawPointer(digestKey.utf8Start).assumingMemoryBound(to: CChar.self),
                        UnsafeMutableRawPointer(mutating: digestName.utf8Start).assumingMemoryBound(to: CChar.self), 0),
                    OSSL_PARAM_construct_end(),
                ]
                let ok = unsafe secret.withUnsafeBufferPointer { key in
                    unsafe EVP_MAC_init(ctx, key.baseAddress, key.count, &params) == 1
                }
                guard ok else {
                    unsafe EVP_MAC_CTX_free(ctx)
                    OpenSSLErrors.clear()
                    return nil
                }
                return unsafe UnsafeMutableRawPointer(ctx)
            },
            destroy: { unsafe EVP_MAC_CTX_free(OpaquePointer($0)) }
        )
    }
}
