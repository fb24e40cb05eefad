internal import COpenSSL
public import EdgeAuthCore

/// A private key (or HMAC secret) that signs JWS tokens: for the development
/// issuer, `edgeauth dev-token`, benchmark data and tests. Production tokens
/// come from an identity provider.
public final class SigningKey: @unchecked Sendable {
    public enum Spec: Sendable, Hashable {
        case rsa(bits: Int)
        case ec(Curve)
        case ed25519
    }

    private enum Material {
        case pkey(PKey)
        case secret([UInt8])
    }

    private let material: Material
    public let kid: String?
    /// Signing contexts prepared once per algorithm (by `Algorithm.rawValue`): making one per
    /// signature repeats OpenSSL's fetches every time (docs/benchmarks.md). EdDSA signs the
    /// whole input, so it has none.
    private let pools: [ContextPool?]
    /// The size of r and s for an EC key (its curve's coordinates), read once.
    private let ecCoordinateBytes: Int?

    private init(material: Material, kid: String?) {
        self.material = material
        self.kid = kid
        guard case .pkey(let pkey) = material else {
            pools = Algorithm.allCases.map { _ in nil }
            ecCoordinateBytes = nil
            return
        }
        pools = Algorithm.allCases.map { $0.family == .eddsa || $0.family == .hmac ? nil : PreparedSignatureContexts.pool(pkey, $0, for: .sign) }
        ecCoordinateBytes = pkey.groupName.flatMap(Curve.init(openSSLGroup:))?.coordinateBytes
    }

    /// Generates a new key.
    public static func generate(_ spec: Spec, kid: String? = nil) throws(CryptoError) -> SigningKey {
        // The context keeps the key-type pointer: static storage only.
        let name: StaticString
        switch spec {
        case .rsa: name = "RSA"
        case .ec: name = "EC"
        case .ed25519: name = "ED25519"
        }
        guard let ctx = unsafe EVP_PKEY_CTX_new_from_name(nil, UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self), nil) else {
            throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_name")
        }
        defer { unsafe EVP_PKEY_CTX_free(ctx) }
        guard unsafe EVP_PKEY_keygen_init(ctx) == 1 else { throw CryptoError.openSSL("EVP_PKEY_keygen_init") }
        switch spec {
        case .rsa(let bits):
            guard unsafe EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(bits)) == 1 else { throw CryptoError.openSSL("RSA key size") }
        case .ec(let curve):
            guard unsafe EVP_PKEY_CTX_set_group_name(ctx, curve.openSSLGroup) == 1 else { throw CryptoError.openSSL("EC group") }
        case .ed25519:
            break
        }
        var pkey: OpaquePointer?
        guard unsafe EVP_PKEY_generate(ctx, &pkey) == 1, let pkey = unsafe pkey else { throw CryptoError.openSSL("EVP_PKEY_generate") }
        return SigningKey(material: .pkey(unsafe PKey(taking: pkey)), kid: kid)
    }

    /// An HMAC secret for HS256/384/512.
    public static func hmac(secret: [UInt8], kid: String? = nil) -> SigningKey {
        SigningKey(material: .secret(secret), kid: kid)
    }

    /// Loads a PEM private key (PKCS#8, or traditional RSA/EC).
    public static func load(pem: String, kid: String? = nil) throws(CryptoError) -> SigningKey {
        SigningKey(material: .pkey(try KeyBuilder.decode(pem: pem, selection: edgeauth_evp_pkey_keypair)), kid: kid)
    }

    /// The private key as PKCS#8 PEM (HMAC secrets have no PEM form).
    public func privateKeyPEM() throws(CryptoError) -> String {
        guard case .pkey(let pkey) = material else { throw CryptoError(.unsupportedKey, "an HMAC secret has no PEM form") }
        // The encoder context keeps these pointers: static storage only.
        let format: StaticString = "PEM", structure: StaticString = "PrivateKeyInfo"
        guard let ctx = unsafe OSSL_ENCODER_CTX_new_for_pkey(
            pkey.pointer, edgeauth_evp_pkey_keypair,
            UnsafeRawPointer(format.utf8Start).assumingMemoryBound(to: CChar.self),
            UnsafeRawPointer(structure.utf8Start).assumingMemoryBound(to: CChar.self), nil)
        else {
            throw CryptoError.openSSL("OSSL_ENCODER_CTX_new_for_pkey")
        }
        defer { unsafe OSSL_ENCODER_CTX_free(ctx) }
        var data: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard unsafe OSSL_ENCODER_to_data(ctx, &data, &length) == 1, let data = unsafe data else {
            throw CryptoError.openSSL("OSSL_ENCODER_to_data")
        }
        defer { unsafe CRYPTO_free(data, #fileID, #line) }
        return unsafe String(decoding: UnsafeBufferPointer(start: data, count: length), as: UTF8.self)
    }

    /// The public JWK (`kid`, `use: sig`, and `alg` when given).
    public func publicJWK(alg: Algorithm? = nil) throws(CryptoError) -> JSONValue {
        var members: [String: JSONValue] = [:]
        switch material {
        case .secret(let secret):
            members = ["kty": "oct", "k": .string(Base64URL.encode(secret))]
        case .pkey(let pkey):
            switch pkey.baseID {
            case edgeauth_evp_pkey_rsa:
                members = ["kty": "RSA", "n": .string(Base64URL.encode(try Self.bnParam(pkey, "n"))), "e": .string(Base64URL.encode(try Self.bnParam(pkey, "e")))]
            case edgeauth_evp_pkey_ec:
                guard let curve = pkey.groupName.flatMap(Curve.init(openSSLGroup:)) else { throw CryptoError(.unsupportedKey, "EC curve") }
                let point = try Self.octetParam(pkey, "pub")
                let size = curve.coordinateBytes
                guard point.count == 1 + 2 * size, point[0] == 0x04 else { throw CryptoError(.invalidKey, "EC point is not uncompressed") }
                members = ["kty": "EC", "crv": .string(curve.rawValue),
                           "x": .string(Base64URL.encode(point[1...size])), "y": .string(Base64URL.encode(point[(1 + size)...]))]
            case edgeauth_evp_pkey_ed25519:
                var raw = [UInt8](repeating: 0, count: 32)
                var length = 32
                guard unsafe EVP_PKEY_get_raw_public_key(pkey.pointer, &raw, &length) == 1 else { throw CryptoError.openSSL("raw public key") }
                members = ["kty": "OKP", "crv": "Ed25519", "x": .string(Base64URL.encode(raw))]
            default:
                throw CryptoError(.unsupportedKey, "key type \(pkey.baseID)")
            }
        }
        if let kid { members["kid"] = .string(kid) }
        if let alg { members["alg"] = .string(alg.name) }
        members["use"] = "sig"
        return .object(members)
    }

    /// A verification key for this signing key's public half.
    public func verificationKey(alg: Algorithm? = nil) throws(CryptoError) -> VerificationKey {
        if case .secret(let secret) = material { return try VerificationKey(hmacSecret: secret, kid: kid, restrictTo: alg) }
        return try VerificationKey(jwk: try publicJWK(alg: alg))
    }

    /// Signs `input` with `algorithm`, producing the JWS signature bytes (raw r‖s for ECDSA).
    public func sign(_ algorithm: Algorithm, _ input: [UInt8]) throws(CryptoError) -> [UInt8] {
        switch material {
        case .secret(let secret):
            guard algorithm.family == .hmac else { throw CryptoError(.invalidKey, "an HMAC secret cannot sign \(algorithm.name)") }
            var out = [UInt8](repeating: 0, count: 64)
            var length = 0
            let ok = unsafe secret.withUnsafeBufferPointer { key in
                unsafe input.withUnsafeBufferPointer { data in
                    unsafe EVP_Q_mac(nil, "HMAC", nil, Digests.name(forHashBytes: algorithm.hashBytes), nil,
                                     key.baseAddress, key.count, data.baseAddress, data.count, &out, 64, &length) != nil
                }
            }
            guard ok else { throw CryptoError.openSSL("HMAC") }
            return Array(out.prefix(length))
        case .pkey(let pkey):
            return try signAsymmetric(pkey, algorithm, input)
        }
    }

    private func signAsymmetric(_ pkey: PKey, _ algorithm: Algorithm, _ input: [UInt8]) throws(CryptoError) -> [UInt8] {
        let signature: [UInt8]
        if let prepared = signPrepared(pkey, algorithm, input) {
            signature = prepared
        } else {
            signature = try signOneShot(pkey, algorithm, input)
        }
        guard algorithm.family == .ecdsa else { return signature }
        guard let size = ecCoordinateBytes else { throw CryptoError(.unsupportedKey, "EC curve") }
        return try Self.rawECDSA(der: signature, size: size)
    }

    /// The signature from a prepared context: the input hashed, then its digest signed. Nil
    /// when the key has no context for `algorithm` (EdDSA, or one OpenSSL refused to prepare).
    private func signPrepared(_ pkey: PKey, _ algorithm: Algorithm, _ input: [UInt8]) -> [UInt8]? {
        guard let pool = pools[Int(algorithm.rawValue)] else { return nil }
        var digest = [UInt8](repeating: 0, count: 64)
        let digestLength = unsafe input.withUnsafeBytes { bytes in
            unsafe digest.withUnsafeMutableBytes { unsafe DigestContexts.shared.hash(algorithm.hashBytes, bytes, into: $0) }
        }
        guard let digestLength, digestLength == algorithm.hashBytes else { return nil }
        return unsafe pool.with { context -> [UInt8]? in
            let ctx = OpaquePointer(context)
            var signature = [UInt8](repeating: 0, count: Int(pkey.size))
            var length = signature.count
            guard unsafe EVP_PKEY_sign(ctx, &signature, &length, digest, digestLength) == 1 else {
                OpenSSLErrors.clear()
                return nil
            }
            signature.removeLast(signature.count - length)
            return signature
        } ?? nil
    }

    private func signOneShot(_ pkey: PKey, _ algorithm: Algorithm, _ input: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard let mctx = unsafe EVP_MD_CTX_new() else { throw CryptoError.openSSL("EVP_MD_CTX_new") }
        defer { unsafe EVP_MD_CTX_free(mctx) }
        var pctx: OpaquePointer?
        let digests = try Digests.required()
        let md: OpaquePointer? = algorithm.family == .eddsa ? nil : unsafe digests.md(forHashBytes: algorithm.hashBytes)
        guard unsafe EVP_DigestSignInit(mctx, &pctx, md, nil, pkey.pointer) == 1 else { throw CryptoError.openSSL("EVP_DigestSignInit") }
        if algorithm.family == .rsaPSS {
            guard unsafe EVP_PKEY_CTX_set_rsa_padding(pctx, edgeauth_rsa_pkcs1_pss_padding) == 1,
                  unsafe EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, edgeauth_rsa_pss_saltlen_digest) == 1
            else { throw CryptoError.openSSL("PSS parameters") }
        }
        var length = 0
        guard unsafe EVP_DigestSign(mctx, nil, &length, input, input.count) == 1 else { throw CryptoError.openSSL("EVP_DigestSign size") }
        var signature = [UInt8](repeating: 0, count: length)
        guard unsafe EVP_DigestSign(mctx, &signature, &length, input, input.count) == 1 else { throw CryptoError.openSSL("EVP_DigestSign") }
        signature.removeLast(signature.count - length)
        return signature
    }

    /// DER `ECDSA-Sig-Value` → fixed-size r‖s.
    private static func rawECDSA(der: [UInt8], size: Int) throws(CryptoError) -> [UInt8] {
        let sig = unsafe der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var p = buffer.baseAddress
            return unsafe d2i_ECDSA_SIG(nil, &p, buffer.count)
        }
        guard let sig = unsafe sig else { throw CryptoError.openSSL("d2i_ECDSA_SIG") }
        defer { unsafe ECDSA_SIG_free(sig) }
        var out = [UInt8](repeating: 0, count: 2 * size)
        let ok = unsafe out.withUnsafeMutableBufferPointer { buffer in
            unsafe BN_bn2binpad(ECDSA_SIG_get0_r(sig), buffer.baseAddress, Int32(size)) == Int32(size)
                && BN_bn2binpad(ECDSA_SIG_get0_s(sig), buffer.baseAddress! + size, Int32(size)) == Int32(size)
        }
        guard ok else { throw CryptoError.openSSL("BN_bn2binpad") }
        return out
    }

    private static func bnParam(_ pkey: PKey, _ name: String) throws(CryptoError) -> [UInt8] {
        var bn: OpaquePointer?
        guard unsafe EVP_PKEY_get_bn_param(pkey.pointer, name, &bn) == 1, let bn = unsafe bn else { throw CryptoError.openSSL("get \(name)") }
        defer { unsafe BN_free(bn) }
        let count = Int((unsafe BN_num_bits(bn) + 7) / 8)
        var out = [UInt8](repeating: 0, count: count)
        _ = unsafe BN_bn2bin(bn, &out)
        return out
    }

    private static func octetParam(_ pkey: PKey, _ name: String) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 256)
        var length = 0
        guard unsafe EVP_PKEY_get_octet_string_param(pkey.pointer, name, &out, out.count, &length) == 1 else {
            throw CryptoError.openSSL("get \(name)")
        }
        return Array(out.prefix(length))
    }
}

/// Builds compact JWS tokens: for `edgeauth dev-token`, benchmark data and tests.
public enum TokenSigner {
    /// Signs a header and claims (serialized as given, in canonical key order) into a compact JWS.
    public static func sign(header: JSONValue, claims: JSONValue, key: SigningKey, algorithm: Algorithm) throws(CryptoError) -> String {
        try sign(rawHeader: Array(header.jsonText.utf8), rawPayload: Array(claims.jsonText.utf8), key: key, algorithm: algorithm)
    }

    /// Signs `payload` under a header already in base64url; the compact JWS as bytes.
    public static func sign(encodedHeader: [UInt8], payload: [UInt8], key: SigningKey, algorithm: Algorithm) throws(CryptoError) -> [UInt8] {
        var token = encodedHeader
        token.reserveCapacity(encodedHeader.count + (payload.count + 2) / 3 * 4 + 180)
        token.append(UInt8(ascii: "."))
        Base64URL.append(payload, to: &token)
        let signature = try key.sign(algorithm, token)
        token.append(UInt8(ascii: "."))
        Base64URL.append(signature, to: &token)
        return token
    }

    /// Signs raw header and payload bytes (which need not be JSON): for adversarial tests.
    public static func sign(rawHeader: [UInt8], rawPayload: [UInt8], key: SigningKey, algorithm: Algorithm) throws(CryptoError) -> String {
        let signingInput = Base64URL.encode(rawHeader) + "." + Base64URL.encode(rawPayload)
        let signature = try key.sign(algorithm, Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }
}
