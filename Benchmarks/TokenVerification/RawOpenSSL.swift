import CLibCrypto
import EdgeAuth

/// The baseline: the most direct OpenSSL 3 EVP verification of one signature
/// over one signing input, as a hand-written C program would do it, with every
/// object that can be created once created once, outside the measured loop.
///
/// - RSA (PKCS#1 v1.5 and PSS) and ECDSA: `EVP_MD` prefetched; `EVP_PKEY`
///   created once; an `EVP_PKEY_CTX` prepared once with `EVP_PKEY_verify_init`,
///   the signature digest and (RSA) the padding, PSS salt length and MGF1 digest.
///   Per call: SHA-2 of the signing input on a reused `EVP_MD_CTX`
///   (`EVP_DigestInit_ex2`/`Update`/`Final_ex`), then `EVP_PKEY_verify` on the
///   prepared context. The ECDSA signature is converted from JWS `r‖s` to DER
///   once, outside the loop (`ECDSA_SIG_set0` + `i2d_ECDSA_SIG`).
/// - HMAC: `EVP_MAC` prefetched; one `EVP_MAC_CTX` keyed once. Per call:
///   `EVP_MAC_init` with a NULL key (re-initialises with the key it holds),
///   `EVP_MAC_update`, `EVP_MAC_final`, `CRYPTO_memcmp` against the signature.
/// - Ed25519 (no pre-hash interface in OpenSSL 3.0): a reused `EVP_MD_CTX`;
///   per call `EVP_MD_CTX_reset`, `EVP_DigestVerifyInit_ex`, `EVP_DigestVerify`.
final class RawOpenSSLVerifier: @unchecked Sendable {
    private enum Operation {
        case digestThenVerify(mdContext: OpaquePointer, md: OpaquePointer, pkeyContext: OpaquePointer)
        case mac(context: OpaquePointer, tagLength: Int)
        case ed25519(mdContext: OpaquePointer, pkey: OpaquePointer)
    }

    let algorithm: Algorithm
    /// The bytes the signature covers.
    let signingInput: [UInt8]
    /// The signature in the form OpenSSL takes: DER for ECDSA, as in the token otherwise.
    let signature: [UInt8]
    private let operation: Operation

    init(algorithm: Algorithm, token: [UInt8], keyFile: [UInt8]) {
        self.algorithm = algorithm
        let (input, jwsSignature) = BenchData.signingInputAndSignature(token)
        self.signingInput = input

        switch algorithm.family {
        case .hmac:
            signature = jwsSignature
            operation = .mac(context: Self.macContext(secret: keyFile, hashBytes: algorithm.hashBytes), tagLength: algorithm.hashBytes)
        case .rsaPKCS1, .rsaPSS, .ecdsa:
            let pkey = Self.publicKey(fromPrivatePEM: keyFile)
            let md = Self.fetchDigest(hashBytes: algorithm.hashBytes)
            signature = algorithm.family == .ecdsa ? Self.der(jwsSignature) : jwsSignature
            guard let mdContext = EVP_MD_CTX_new(), let pkeyContext = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else {
                fatalError("EVP_MD_CTX_new/EVP_PKEY_CTX_new_from_pkey: \(Self.errors())")
            }
            var ok = EVP_PKEY_verify_init(pkeyContext) == 1 && EVP_PKEY_CTX_set_signature_md(pkeyContext, md) == 1
            switch algorithm.family {
            case .rsaPKCS1:
                ok = ok && EVP_PKEY_CTX_set_rsa_padding(pkeyContext, edgeauth_bench_rsa_pkcs1_padding) == 1
            case .rsaPSS:
                ok = ok && EVP_PKEY_CTX_set_rsa_padding(pkeyContext, edgeauth_bench_rsa_pss_padding) == 1
                    && EVP_PKEY_CTX_set_rsa_pss_saltlen(pkeyContext, edgeauth_bench_rsa_pss_saltlen_digest) == 1
                    && EVP_PKEY_CTX_set_rsa_mgf1_md(pkeyContext, md) == 1
            default:
                break
            }
            guard ok else { fatalError("preparing EVP_PKEY_CTX for \(algorithm.name): \(Self.errors())") }
            operation = .digestThenVerify(mdContext: mdContext, md: md, pkeyContext: pkeyContext)
        case .eddsa:
            signature = jwsSignature
            guard let mdContext = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new") }
            operation = .ed25519(mdContext: mdContext, pkey: Self.publicKey(fromPrivatePEM: keyFile))
        }
    }

    /// One verification of `signature` over `signingInput`.
    func verify() -> Bool {
        signingInput.withUnsafeBufferPointer { input in
            signature.withUnsafeBufferPointer { signature in
                switch operation {
                case .digestThenVerify(let mdContext, let md, let pkeyContext):
                    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { digest -> Bool in
                        var length: UInt32 = 0
                        guard EVP_DigestInit_ex2(mdContext, md, nil) == 1,
                              EVP_DigestUpdate(mdContext, input.baseAddress, input.count) == 1,
                              EVP_DigestFinal_ex(mdContext, digest.baseAddress, &length) == 1
                        else { return false }
                        let ok = EVP_PKEY_verify(pkeyContext, signature.baseAddress, signature.count, digest.baseAddress, Int(length)) == 1
                        if !ok { ERR_clear_error() }
                        return ok
                    }
                case .mac(let context, let tagLength):
                    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { tag -> Bool in
                        var length = 0
                        guard EVP_MAC_init(context, nil, 0, nil) == 1,
                              EVP_MAC_update(context, input.baseAddress, input.count) == 1,
                              EVP_MAC_final(context, tag.baseAddress, &length, tag.count) == 1,
                              length == tagLength, signature.count == tagLength
                        else { return false }
                        return CRYPTO_memcmp(tag.baseAddress, signature.baseAddress, length) == 0
                    }
                case .ed25519(let mdContext, let pkey):
                    EVP_MD_CTX_reset(mdContext)
                    let ok = EVP_DigestVerifyInit_ex(mdContext, nil, nil, nil, nil, pkey, nil) == 1
                        && EVP_DigestVerify(mdContext, signature.baseAddress, signature.count, input.baseAddress, input.count) == 1
                    if !ok { ERR_clear_error() }
                    return ok
                }
            }
        }
    }

    // MARK: Setup (outside the measured loop)

    /// Reads a PKCS#8 private key and returns an `EVP_PKEY` holding only its public half
    /// (SubjectPublicKeyInfo DER round trip), as a verifier would have it.
    private static func publicKey(fromPrivatePEM pem: [UInt8]) -> OpaquePointer {
        let bio = pem.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        guard let bio, let privateKey = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            fatalError("PEM_read_bio_PrivateKey: \(errors())")
        }
        BIO_free(bio)
        defer { EVP_PKEY_free(privateKey) }
        let length = i2d_PUBKEY(privateKey, nil)
        guard length > 0 else { fatalError("i2d_PUBKEY: \(errors())") }
        var spki = [UInt8](repeating: 0, count: Int(length))
        spki.withUnsafeMutableBufferPointer { buffer in
            var out: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            _ = i2d_PUBKEY(privateKey, &out)
        }
        let publicKey = spki.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, Int(length))
        }
        guard let publicKey else { fatalError("d2i_PUBKEY: \(errors())") }
        return publicKey
    }

    private static func fetchDigest(hashBytes: Int) -> OpaquePointer {
        let name = switch hashBytes {
        case 32: "SHA2-256"
        case 48: "SHA2-384"
        default: "SHA2-512"
        }
        guard let md = EVP_MD_fetch(nil, name, nil) else { fatalError("EVP_MD_fetch \(name): \(errors())") }
        return md
    }

    private static func macContext(secret: [UInt8], hashBytes: Int) -> OpaquePointer {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil), let context = EVP_MAC_CTX_new(mac) else {
            fatalError("EVP_MAC_fetch HMAC: \(errors())")
        }
        // OSSL_PARAM keeps pointers: these strings live as long as the process.
        let key = strdup("digest")
        let digestName = strdup(hashBytes == 32 ? "SHA2-256" : hashBytes == 48 ? "SHA2-384" : "SHA2-512")
        let params = UnsafeMutablePointer<OSSL_PARAM>.allocate(capacity: 2)
        params[0] = OSSL_PARAM_construct_utf8_string(key, digestName, 0)
        params[1] = OSSL_PARAM_construct_end()
        let ok = secret.withUnsafeBufferPointer { EVP_MAC_init(context, $0.baseAddress, $0.count, params) == 1 }
        guard ok else { fatalError("EVP_MAC_init: \(errors())") }
        return context
    }

    /// JWS `r‖s` to DER `ECDSA-Sig-Value`, with OpenSSL's own encoder.
    private static func der(_ jws: [UInt8]) -> [UInt8] {
        let half = jws.count / 2
        guard let sig = ECDSA_SIG_new() else { fatalError("ECDSA_SIG_new") }
        defer { ECDSA_SIG_free(sig) }
        let r = jws.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(half), nil) }
        let s = jws.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress! + half, Int32(half), nil) }
        guard ECDSA_SIG_set0(sig, r, s) == 1 else { fatalError("ECDSA_SIG_set0") }
        let length = i2d_ECDSA_SIG(sig, nil)
        var der = [UInt8](repeating: 0, count: Int(length))
        der.withUnsafeMutableBufferPointer { buffer in
            var out: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            _ = i2d_ECDSA_SIG(sig, &out)
        }
        return der
    }

    static func errors() -> String {
        var messages = [String]()
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.joined(separator: "; ")
    }
}
