/// Why a token's bytes are not a well-formed compact JWS/JWT. Stable codes:
/// they appear in logs, metrics and the C ABI as `malformed.<rawValue>`.
public enum Malformation: String, Error, Sendable, Hashable, CaseIterable {
    /// Not exactly three dot-separated segments.
    case segmentCount
    /// JWS JSON serialization (`{"payload":…}`) — only compact tokens are accepted.
    case jsonSerialization
    /// Whitespace or control characters inside the token.
    case whitespace
    /// A byte outside the base64url alphabet.
    case base64Alphabet
    /// `=` padding, which JWS forbids.
    case base64Padding
    /// A segment length no base64url encoding can have.
    case base64Length
    /// Non-zero unused bits in the last character (a second encoding of the same bytes).
    case base64NonCanonical
    /// An empty header, payload (detached content) or signature segment.
    case emptySegment
    /// The header is not a JSON object.
    case headerNotObject
    /// The payload is not a JSON object (a JWS that is not a JWT).
    case payloadNotObject
    /// Bytes that are not JSON.
    case invalidJSON
    /// A JSON string that is not valid UTF-8, or an unpaired surrogate escape.
    case invalidUTF8
    /// The same member name twice in one object.
    case duplicateMember
    /// Objects or arrays nested deeper than the configured limit.
    case nestingTooDeep
    /// More object members than the configured limit.
    case tooManyMembers
    /// The header has no `alg`, or `alg` is not a string.
    case missingAlgorithm
    /// A registered header parameter (`kid`, `typ`, `crit`, `b64`) has the wrong JSON type.
    case headerParameterType
    /// `b64: false` (RFC 7797): never valid for a JWT.
    case unencodedPayload
    /// A signature whose length does not fit the algorithm.
    case signatureLength
}

/// Why a token was rejected. The set of codes is stable and documented in
/// `docs/reason-codes.md`: each drives the HTTP error, the log line, the
/// metric label and the C verdict, and says what an operator should fix.
public enum Reason: Error, Sendable, Hashable {
    /// The token is longer than the configured limit.
    case tokenTooLarge(limit: Int)
    /// The bytes are not a well-formed compact JWT.
    case malformed(Malformation)
    /// `alg: none` (any capitalisation): unsecured tokens are never accepted.
    case unsecured
    /// The `alg` value is not one EdgeAuth implements.
    case unsupportedAlgorithm(String)
    /// The algorithm is implemented but not in the policy's allowed list.
    case algorithmNotAllowed(String)
    /// A `crit` header names an extension EdgeAuth does not implement.
    case unsupportedCritical(String)
    /// `typ` differs from the required type (e.g. `at+jwt`).
    case wrongType(expected: String, got: String?)
    /// No configured key matches the token's `kid` (or, without `kid`, its algorithm).
    case unknownKey(kid: String?)
    /// The key selected by `kid` cannot verify the token's `alg` (e.g. an RSA key
    /// and `HS256`: the algorithm-confusion attack, or a JWK `alg` that differs).
    case keyAlgorithmMismatch(kid: String?, algorithm: String)
    /// The signature does not verify with the selected key.
    case badSignature
    /// `exp` is in the past (beyond leeway).
    case expired(expiredAt: Int64, now: Int64)
    /// `nbf` is in the future (beyond leeway).
    case notYetValid(notBefore: Int64, now: Int64)
    /// `iat` is in the future (beyond leeway).
    case issuedInFuture(issuedAt: Int64, now: Int64)
    /// The token is older than the policy's maximum age.
    case tooOld(issuedAt: Int64, maxAge: Int64)
    /// A claim the policy requires is absent.
    case missingClaim(String)
    /// A registered claim has the wrong JSON type or an out-of-range value.
    case invalidClaim(String)
    /// `iss` is not one of the configured issuers.
    case wrongIssuer(expected: [String], got: String?)
    /// `aud` contains none of the configured audiences.
    case wrongAudience(expected: [String], got: [String])
    /// The token (by hash) or its `jti` has been revoked.
    case revoked
    /// A claim has a value the configuration refuses (Supabase's `role: anon`).
    case claimValueNotAllowed(claim: String, value: String)
    /// The token names no key the verifier holds, and a remote key set could not be
    /// refreshed for longer than its maximum staleness (its keys are no longer used):
    /// the provider's fault or the network's, not the token's.
    case keysUnavailable

    /// The stable machine-readable code.
    public var code: String {
        switch self {
        case .tokenTooLarge: "tokenTooLarge"
        case .malformed(let m): "malformed.\(m.rawValue)"
        case .unsecured: "unsecured"
        case .unsupportedAlgorithm: "unsupportedAlgorithm"
        case .algorithmNotAllowed: "algorithmNotAllowed"
        case .unsupportedCritical: "unsupportedCritical"
        case .wrongType: "wrongType"
        case .unknownKey: "unknownKey"
        case .keyAlgorithmMismatch: "keyAlgorithmMismatch"
        case .badSignature: "badSignature"
        case .expired: "expired"
        case .notYetValid: "notYetValid"
        case .issuedInFuture: "issuedInFuture"
        case .tooOld: "tooOld"
        case .missingClaim: "missingClaim"
        case .invalidClaim: "invalidClaim"
        case .wrongIssuer: "wrongIssuer"
        case .wrongAudience: "wrongAudience"
        case .revoked: "revoked"
        case .claimValueNotAllowed: "claimValueNotAllowed"
        case .keysUnavailable: "keysUnavailable"
        }
    }

    /// One line for an operator: what is wrong and what to change.
    public var explanation: String {
        switch self {
        case .tokenTooLarge(let limit):
            return "token is longer than \(limit) bytes (raise limits.maxTokenBytes if your provider issues larger tokens)"
        case .malformed(let m):
            return "token is not a well-formed compact JWT: \(m.explanation)"
        case .unsecured:
            return "alg \"none\" (unsecured JWS) is never accepted"
        case .unsupportedAlgorithm(let alg):
            return "alg \(quoted(alg)) is not supported (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA are)"
        case .algorithmNotAllowed(let alg):
            return "alg \(quoted(alg)) is not in the configured algorithms list"
        case .unsupportedCritical(let name):
            return "crit header names \(quoted(name)), an extension that is not implemented"
        case .wrongType(let expected, let got):
            return "typ is \(got.map(quoted) ?? "absent"), expected \(quoted(expected))"
        case .unknownKey(let kid):
            if let kid { return "no configured key has kid \(quoted(kid)) (is the JWKS current, and is this the right issuer?)" }
            return "the token has no kid and no configured key fits its algorithm"
        case .keyAlgorithmMismatch(let kid, let alg):
            return "the key with kid \(kid.map(quoted) ?? "none") cannot verify alg \(quoted(alg)) (its type or JWK alg forbids it)"
        case .badSignature:
            return "signature does not verify with the configured key"
        case .expired(let exp, let now):
            return "token expired at \(exp) (now \(now), \(now - exp) s ago; leeway included)"
        case .notYetValid(let nbf, let now):
            return "token is not valid before \(nbf) (now \(now)); check clock synchronisation"
        case .issuedInFuture(let iat, let now):
            return "token was issued at \(iat), in the future (now \(now)); check clock synchronisation"
        case .tooOld(let iat, let maxAge):
            return "token was issued at \(iat), more than the allowed \(maxAge) s ago"
        case .missingClaim(let name):
            return "required claim \(quoted(name)) is missing"
        case .invalidClaim(let name):
            return "claim \(quoted(name)) has the wrong type or an out-of-range value"
        case .wrongIssuer(let expected, let got):
            return "iss is \(got.map(quoted) ?? "absent"), expected one of \(list(expected)) (exact match, trailing slash included)"
        case .wrongAudience(let expected, let got):
            return "aud is \(got.isEmpty ? "absent" : list(got)), expected one of \(list(expected))"
        case .revoked:
            return "the token or its jti has been revoked"
        case .claimValueNotAllowed(let claim, let value):
            return "claim \(quoted(claim)) is \(quoted(value)), a value this server does not accept (allow it in the configuration if intended)"
        case .keysUnavailable:
            return "the provider's keys could not be refreshed for longer than keyRefresh.maxStaleness; check the key status (last error) and the network path to the JWKS URL"
        }
    }

    private func quoted(_ s: String) -> String {
        let limited = s.count > 80 ? String(s.prefix(80)) + "…" : s
        var out = "\""
        for scalar in limited.unicodeScalars {
            if scalar.value < 0x20 || scalar == "\"" || scalar == "\\" {
                out += scalar.escaped(asASCII: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private func list(_ values: [String]) -> String {
        "[" + values.prefix(8).map(quoted).joined(separator: ", ") + (values.count > 8 ? ", …]" : "]")
    }
}

extension Malformation {
    /// A short human explanation of the malformation.
    public var explanation: String {
        switch self {
        case .segmentCount: "expected exactly three dot-separated segments"
        case .jsonSerialization: "JWS JSON serialization is not accepted, only compact tokens"
        case .whitespace: "whitespace or control characters inside the token"
        case .base64Alphabet: "a character outside the base64url alphabet"
        case .base64Padding: "base64 padding '=' is not allowed in JWS"
        case .base64Length: "a segment has an impossible base64url length"
        case .base64NonCanonical: "non-canonical base64url (non-zero trailing bits)"
        case .emptySegment: "an empty segment (detached payload or missing signature)"
        case .headerNotObject: "the header is not a JSON object"
        case .payloadNotObject: "the payload is not a JSON object"
        case .invalidJSON: "invalid JSON"
        case .invalidUTF8: "invalid UTF-8 in a JSON string"
        case .duplicateMember: "a JSON object has the same member twice"
        case .nestingTooDeep: "JSON nested deeper than the limit"
        case .tooManyMembers: "more JSON members than the limit"
        case .missingAlgorithm: "the header has no string alg"
        case .headerParameterType: "a header parameter has the wrong JSON type"
        case .unencodedPayload: "b64:false (unencoded payload) is not allowed for JWTs"
        case .signatureLength: "the signature length does not fit the algorithm"
        }
    }
}
