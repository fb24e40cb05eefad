internal import COpenSSL
public import EdgeAuthCore

extension VerificationKey {
    /// Imports one JWK (RFC 7517/7518/8037): RSA (`n`, `e`), EC (`crv`, `x`, `y`,
    /// point validated), OKP Ed25519 (`x`) or oct (`k`).
    ///
    /// `use` other than `sig`, `key_ops` without `verify`, private key material in
    /// an asymmetric key, weak keys and unknown types are refused.
    /// - Throws: `CryptoError` naming the problem.
    public convenience init(jwk: JSONValue) throws(CryptoError) {
        guard case .object(let members) = jwk else { throw CryptoError(.invalidKey, "a JWK must be a JSON object") }
        func string(_ name: String) throws(CryptoError) -> String? {
            guard let value = members[name] else { return nil }
            guard case .string(let s) = value else { throw CryptoError(.invalidKey, "JWK member \"\(name)\" must be a string") }
            return s
        }
        func bytes(_ name: String) throws(CryptoError) -> [UInt8] {
            guard let text = try string(name) else { throw CryptoError(.invalidKey, "JWK member \"\(name)\" is missing") }
            do {
                return try Base64URL.decode(text)
            } catch {
                throw CryptoError(.invalidKey, "JWK member \"\(name)\" is not base64url: \(error.explanation)")
            }
        }
        let kid = try string("kid")
        if let use = try string("use"), use != "sig" {
            throw CryptoError(.keyUse, "JWK use is \"\(use)\", not \"sig\"")
        }
        if let ops = members["key_ops"] {
            guard let list = ops.arrayValue?.compactMap(\.stringValue), list.count == ops.arrayValue?.count else {
                throw CryptoError(.invalidKey, "JWK key_ops must be an array of strings")
            }
            guard list.contains("verify") else { throw CryptoError(.keyUse, "JWK key_ops \(list) does not include \"verify\"") }
        }
        var restriction: Algorithm?
        if let alg = try string("alg") {
            guard let algorithm = Algorithm(name: alg) else {
                throw CryptoError(.unsupportedKey, "JWK alg \"\(alg)\" is not a supported signature algorithm")
            }
            restriction = algorithm
        }
        guard let kty = try string("kty") else { throw CryptoError(.invalidKey, "JWK member \"kty\" is missing") }
        if kty != "oct", members["d"] != nil {
            throw CryptoError(.invalidKey, "JWK contains private key material (\"d\"); configure only the public key")
        }
        switch kty {
        case "RSA":
            let n = try bytes("n"), e = try bytes("e")
            try self.init(pkey: try KeyBuilder.rsa(n: n, e: e), kid: kid, restrictTo: restriction)
        case "EC":
            guard let crvName = try string("crv"), let curve = Curve(rawValue: crvName) else {
                throw CryptoError(.unsupportedKey, "EC crv \(members["crv"]?.stringValue ?? "missing") is not P-256, P-384 or P-521")
            }
            let x = try bytes("x"), y = try bytes("y")
            try self.init(pkey: try KeyBuilder.ec(curve: curve, x: x, y: y), kid: kid, restrictTo: restriction)
        case "OKP":
            guard let crv = try string("crv") else { throw CryptoError(.invalidKey, "OKP JWK has no crv") }
            guard crv == "Ed25519" else { throw CryptoError(.unsupportedKey, "OKP crv \"\(crv)\" is not supported (Ed25519 is)") }
            let x = try bytes("x")
            try self.init(pkey: try KeyBuilder.ed25519(x: x), kid: kid, restrictTo: restriction)
        case "oct":
            try self.init(hmacSecret: try bytes("k"), kid: kid, restrictTo: restriction)
        default:
            throw CryptoError(.unsupportedKey, "JWK kty \"\(kty)\" is not supported (RSA, EC, OKP, oct are)")
        }
    }

    /// Imports a PEM public key: SPKI (`PUBLIC KEY`), PKCS#1 (`RSA PUBLIC KEY`) or an
    /// X.509 certificate's subject key (`CERTIFICATE`). Private keys are refused.
    /// - Parameter restrictTo: an algorithm to bind the key to, narrowing what its type allows.
    public convenience init(pem: String, kid: String? = nil, restrictTo restriction: Algorithm? = nil) throws(CryptoError) {
        guard let label = PEMText.firstLabel(pem) else { throw CryptoError(.invalidKey, "no PEM block found") }
        let pkey: PKey
        switch label {
        case "CERTIFICATE":
            pkey = try KeyBuilder.certificatePublicKey(pem: pem)
        case "PUBLIC KEY", "RSA PUBLIC KEY":
            pkey = try KeyBuilder.decode(pem: pem, selection: edgeauth_evp_pkey_public_key)
        default:
            if label.contains("PRIVATE") {
                throw CryptoError(.invalidKey, "PEM block is a private key (\(label)); configure only the public key")
            }
            throw CryptoError(.unsupportedKey, "PEM block \"\(label)\" is not a public key or certificate")
        }
        try self.init(pkey: pkey, kid: kid, restrictTo: restriction)
    }
}

/// Builds `EVP_PKEY`s from public key material.
enum KeyBuilder {
    static func rsa(n: [UInt8], e: [UInt8]) throws(CryptoError) -> PKey {
        guard !n.isEmpty, let last = e.last, last & 1 == 1, e.count <= 8, e.contains(where: { $0 != 0 }), !(e.drop(while: { $0 == 0 }) == [1]) else {
            throw CryptoError(.invalidKey, "RSA exponent must be odd, greater than 1 and at most 64 bits")
        }
        let bnN = unsafe n.withUnsafeBufferPointer { unsafe BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let bnE = unsafe e.withUnsafeBufferPointer { unsafe BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        // The builder keeps references to the BIGNUMs until to_param: free them after fromData.
        defer {
            unsafe BN_free(bnN)
            unsafe BN_free(bnE)
        }
        guard let bnN = unsafe bnN, let bnE = unsafe bnE else { throw CryptoError.openSSL("BN_bin2bn") }
        return unsafe try fromData(type: "RSA") { builder in
            unsafe OSSL_PARAM_BLD_push_BN(builder, Self.paramN.utf8Start, bnN) == 1
                && OSSL_PARAM_BLD_push_BN(builder, Self.paramE.utf8Start, bnE) == 1
        }
    }

    // Parameter names and values the builder stores by reference: static storage only.
    private static let paramN: StaticString = "n"
    private static let paramE: StaticString = "e"
    private static let paramGroup: StaticString = "group"
    private static let paramPub: StaticString = "pub"

    static func ec(curve: Curve, x: [UInt8], y: [UInt8]) throws(CryptoError) -> PKey {
        let size = curve.coordinateBytes
        guard x.count == size, y.count == size else {
            throw CryptoError(.invalidKey, "\(curve.rawValue) coordinates must be \(size) bytes each (got \(x.count) and \(y.count))")
        }
        let point = [0x04] + x + y  // uncompressed SEC1 point
        let pkey = unsafe try point.withUnsafeBufferPointer { (pointBuffer) throws(CryptoError) -> PKey in
            unsafe try fromData(type: "EC") { builder in
                unsafe OSSL_PARAM_BLD_push_utf8_string(builder, Self.paramGroup.utf8Start, curve.staticGroupName.utf8Start, 0) == 1
                    && OSSL_PARAM_BLD_push_octet_string(builder, Self.paramPub.utf8Start, pointBuffer.baseAddress, pointBuffer.count) == 1
            }
        }
        // The point must be on the curve and not the identity (invalid-curve attacks).
        guard let ctx = unsafe EVP_PKEY_CTX_new_from_pkey(nil, pkey.pointer, nil) else {
            throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_pkey")
        }
        defer { unsafe EVP_PKEY_CTX_free(ctx) }
        guard unsafe EVP_PKEY_public_check(ctx) == 1 else {
            OpenSSLErrors.clear()
            throw CryptoError(.invalidKey, "EC public key is not a valid point on \(curve.rawValue)")
        }
        return pkey
    }

    static func ed25519(x: [UInt8]) throws(CryptoError) -> PKey {
        guard x.count == 32 else { throw CryptoError(.invalidKey, "Ed25519 public key must be 32 bytes (got \(x.count))") }
        guard let pkey = unsafe x.withUnsafeBufferPointer({ unsafe EVP_PKEY_new_raw_public_key(edgeauth_evp_pkey_ed25519, nil, $0.baseAddress, 32) }) else {
            throw CryptoError.openSSL("Ed25519 public key rejected")
        }
        return unsafe PKey(taking: pkey)
    }

    /// `EVP_PKEY_fromdata` with parameters pushed by `push`; whatever `push` references
    /// must stay alive until this returns (OSSL_PARAM_BLD stores pointers, not copies).
    private static func fromData(type: StaticString, _ push: (OpaquePointer) -> Bool) throws(CryptoError) -> PKey {
        guard let builder = unsafe OSSL_PARAM_BLD_new() else { throw CryptoError.openSSL("OSSL_PARAM_BLD_new") }
        defer { unsafe OSSL_PARAM_BLD_free(builder) }
        guard unsafe push(builder), let params = unsafe OSSL_PARAM_BLD_to_param(builder) else {
            throw CryptoError(.invalidKey, "\(type) key parameters rejected", underlying: OpenSSLErrors.drain())
        }
        defer { unsafe OSSL_PARAM_free(params) }
        // The context keeps the key-type pointer: static storage only.
        guard let ctx = unsafe EVP_PKEY_CTX_new_from_name(nil, UnsafeRawPointer(type.utf8Start).assumingMemoryBound(to: CChar.self), nil) else {
            throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_name")
        }
        defer { unsafe EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer?
        guard unsafe EVP_PKEY_fromdata_init(ctx) == 1,
              unsafe EVP_PKEY_fromdata(ctx, &pkey, edgeauth_evp_pkey_public_key, params) == 1,
              let pkey = unsafe pkey
        else {
            throw CryptoError(.invalidKey, "\(type) public key rejected by OpenSSL", underlying: OpenSSLErrors.drain())
        }
        return unsafe PKey(taking: pkey)
    }

    /// Decodes a PEM key with OpenSSL's decoder (SPKI, PKCS#1 and PKCS#8 structures).
    static func decode(pem: String, selection: Int32) throws(CryptoError) -> PKey {
        var pkey: OpaquePointer?
        // The decoder context keeps the input-type pointer: static storage only.
        let format: StaticString = "PEM"
        guard let ctx = unsafe OSSL_DECODER_CTX_new_for_pkey(
            &pkey, UnsafeRawPointer(format.utf8Start).assumingMemoryBound(to: CChar.self), nil, nil, selection, nil, nil)
        else {
            throw CryptoError.openSSL("OSSL_DECODER_CTX_new_for_pkey")
        }
        defer { unsafe OSSL_DECODER_CTX_free(ctx) }
        let ok = unsafe Array(pem.utf8).withUnsafeBufferPointer { buffer -> Bool in
            var data = buffer.baseAddress
            var length = buffer.count
            return unsafe OSSL_DECODER_from_data(ctx, &data, &length) == 1
        }
        guard ok, let pkey = unsafe pkey else {
            throw CryptoError(.invalidKey, "PEM key could not be decoded", underlying: OpenSSLErrors.drain())
        }
        return unsafe PKey(taking: pkey)
    }

    static func certificatePublicKey(pem: String) throws(CryptoError) -> PKey {
        let bytes = Array(pem.utf8)
        let bio = unsafe bytes.withUnsafeBufferPointer { unsafe BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        guard let bio = unsafe bio else { throw CryptoError.openSSL("BIO_new_mem_buf") }
        defer { unsafe BIO_free(bio) }
        guard let certificate = unsafe PEM_read_bio_X509(bio, nil, nil, nil) else {
            throw CryptoError(.invalidKey, "certificate could not be decoded", underlying: OpenSSLErrors.drain())
        }
        defer { unsafe X509_free(certificate) }
        // get_pubkey returns a new reference (up_ref), owned by the PKey.
        guard let pkey = unsafe X509_get_pubkey(certificate) else {
            throw CryptoError(.invalidKey, "certificate has no usable public key", underlying: OpenSSLErrors.drain())
        }
        return unsafe PKey(taking: pkey)
    }
}

enum PEMText {
    /// The label of the first `-----BEGIN <label>-----` line.
    static func firstLabel(_ pem: String) -> String? {
        for line in pem.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: " \t\r")
            if trimmed.hasPrefix("-----BEGIN "), trimmed.hasSuffix("-----") {
                return String(trimmed.dropFirst(11).dropLast(5))
            }
        }
        return nil
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> Substring {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return slice
    }
}
