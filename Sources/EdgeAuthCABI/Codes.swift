internal import CEdgeAuth
import EdgeAuth

// Status and verdict codes come from include/edgeauth.h (imported from its
// macros), so the header stays the single place that numbers them.

extension Reason {
    /// The ABI's verdict code for this reason (never renumbered; a new case
    /// fails to compile here until it is given a new number in the header).
    var verdictCode: Int32 {
        switch self {
        case .tokenTooLarge: EDGEAUTH_VERDICT_TOKEN_TOO_LARGE
        case .malformed(let malformation): malformation.verdictCode
        case .unsecured: EDGEAUTH_VERDICT_UNSECURED
        case .unsupportedAlgorithm: EDGEAUTH_VERDICT_UNSUPPORTED_ALGORITHM
        case .algorithmNotAllowed: EDGEAUTH_VERDICT_ALGORITHM_NOT_ALLOWED
        case .unsupportedCritical: EDGEAUTH_VERDICT_UNSUPPORTED_CRITICAL
        case .wrongType: EDGEAUTH_VERDICT_WRONG_TYPE
        case .unknownKey: EDGEAUTH_VERDICT_UNKNOWN_KEY
        case .keyAlgorithmMismatch: EDGEAUTH_VERDICT_KEY_ALGORITHM_MISMATCH
        case .badSignature: EDGEAUTH_VERDICT_BAD_SIGNATURE
        case .expired: EDGEAUTH_VERDICT_EXPIRED
        case .notYetValid: EDGEAUTH_VERDICT_NOT_YET_VALID
        case .issuedInFuture: EDGEAUTH_VERDICT_ISSUED_IN_FUTURE
        case .tooOld: EDGEAUTH_VERDICT_TOO_OLD
        case .missingClaim: EDGEAUTH_VERDICT_MISSING_CLAIM
        case .invalidClaim: EDGEAUTH_VERDICT_INVALID_CLAIM
        case .wrongIssuer: EDGEAUTH_VERDICT_WRONG_ISSUER
        case .wrongAudience: EDGEAUTH_VERDICT_WRONG_AUDIENCE
        case .revoked: EDGEAUTH_VERDICT_REVOKED
        case .claimValueNotAllowed: EDGEAUTH_VERDICT_CLAIM_VALUE_NOT_ALLOWED
        case .keysUnavailable: EDGEAUTH_VERDICT_KEYS_UNAVAILABLE
        }
    }

    /// What the code means in general, for `edgeauth_verdict_description`
    /// (`explanation` describes one rejection with its values).
    var generalDescription: String {
        switch self {
        case .tokenTooLarge: "the token is longer than limits.maxTokenBytes"
        case .malformed(let malformation): "the token is not a well-formed compact JWT: \(malformation.explanation)"
        case .unsecured: "alg \"none\" (unsecured JWS) is never accepted"
        case .unsupportedAlgorithm: "the token's alg is not one EdgeAuth implements"
        case .algorithmNotAllowed: "the token's alg is not in the configured algorithms"
        case .unsupportedCritical: "the crit header names an extension that is not implemented"
        case .wrongType: "the typ header is not the required type"
        case .unknownKey: "no configured key matches the token's kid (or, without kid, its algorithm)"
        case .keyAlgorithmMismatch: "the key selected by kid cannot verify the token's alg"
        case .badSignature: "the signature does not verify with the configured key"
        case .expired: "the token has expired (exp, leeway included)"
        case .notYetValid: "the token is not valid yet (nbf, leeway included)"
        case .issuedInFuture: "the token was issued in the future (iat, leeway included)"
        case .tooOld: "the token was issued longer ago than maxAge"
        case .missingClaim: "a required claim is missing"
        case .invalidClaim: "a registered claim has the wrong type or an out-of-range value"
        case .wrongIssuer: "iss is not one of the configured issuers"
        case .wrongAudience: "aud contains none of the configured audiences"
        case .revoked: "the token or its jti has been revoked"
        case .claimValueNotAllowed: "a claim has a value the configuration refuses (e.g. Supabase role anon)"
        case .keysUnavailable: "the provider's keys could not be refreshed for longer than keyRefresh.maxStaleness"
        }
    }

    /// One value of every case, to build the text tables from.
    static let representatives: [Reason] = [
        .tokenTooLarge(limit: 0), .unsecured, .unsupportedAlgorithm(""), .algorithmNotAllowed(""),
        .unsupportedCritical(""), .wrongType(expected: "", got: nil), .unknownKey(kid: nil),
        .keyAlgorithmMismatch(kid: nil, algorithm: ""), .badSignature, .expired(expiredAt: 0, now: 0),
        .notYetValid(notBefore: 0, now: 0), .issuedInFuture(issuedAt: 0, now: 0), .tooOld(issuedAt: 0, maxAge: 0),
        .missingClaim(""), .invalidClaim(""), .wrongIssuer(expected: [], got: nil), .wrongAudience(expected: [], got: []),
        .revoked, .claimValueNotAllowed(claim: "", value: ""), .keysUnavailable,
    ] + Malformation.allCases.map { .malformed($0) }
}

extension Malformation {
    var verdictCode: Int32 {
        switch self {
        case .segmentCount: EDGEAUTH_VERDICT_MALFORMED_SEGMENT_COUNT
        case .jsonSerialization: EDGEAUTH_VERDICT_MALFORMED_JSON_SERIALIZATION
        case .whitespace: EDGEAUTH_VERDICT_MALFORMED_WHITESPACE
        case .base64Alphabet: EDGEAUTH_VERDICT_MALFORMED_BASE64_ALPHABET
        case .base64Padding: EDGEAUTH_VERDICT_MALFORMED_BASE64_PADDING
        case .base64Length: EDGEAUTH_VERDICT_MALFORMED_BASE64_LENGTH
        case .base64NonCanonical: EDGEAUTH_VERDICT_MALFORMED_BASE64_NON_CANONICAL
        case .emptySegment: EDGEAUTH_VERDICT_MALFORMED_EMPTY_SEGMENT
        case .headerNotObject: EDGEAUTH_VERDICT_MALFORMED_HEADER_NOT_OBJECT
        case .payloadNotObject: EDGEAUTH_VERDICT_MALFORMED_PAYLOAD_NOT_OBJECT
        case .invalidJSON: EDGEAUTH_VERDICT_MALFORMED_INVALID_JSON
        case .invalidUTF8: EDGEAUTH_VERDICT_MALFORMED_INVALID_UTF8
        case .duplicateMember: EDGEAUTH_VERDICT_MALFORMED_DUPLICATE_MEMBER
        case .nestingTooDeep: EDGEAUTH_VERDICT_MALFORMED_NESTING_TOO_DEEP
        case .tooManyMembers: EDGEAUTH_VERDICT_MALFORMED_TOO_MANY_MEMBERS
        case .missingAlgorithm: EDGEAUTH_VERDICT_MALFORMED_MISSING_ALGORITHM
        case .headerParameterType: EDGEAUTH_VERDICT_MALFORMED_HEADER_PARAMETER_TYPE
        case .unencodedPayload: EDGEAUTH_VERDICT_MALFORMED_UNENCODED_PAYLOAD
        case .signatureLength: EDGEAUTH_VERDICT_MALFORMED_SIGNATURE_LENGTH
        }
    }
}

/// NUL-terminated copies of text that live as long as the process: the
/// "static text" the header promises for status and verdict strings.
/// Built once, on first use (global initialisation is thread-safe), and
/// never written again, so sharing the pointers between threads is safe.
@safe struct StaticText: @unchecked Sendable {
    private let table: [Int32: UnsafePointer<CChar>]
    private let fallback: UnsafePointer<CChar>

    init(_ entries: [(Int32, String)], fallback: String) {
        var table = unsafe [Int32: UnsafePointer<CChar>]()
        for (code, text) in entries { unsafe table[code] = Self.immortal(text) }
        unsafe self.table = table
        unsafe self.fallback = Self.immortal(fallback)
    }

    subscript(code: Int32) -> UnsafePointer<CChar> {
        unsafe table[code] ?? fallback
    }

    /// A copy of `text` that is never freed.
    private static func immortal(_ text: String) -> UnsafePointer<CChar> {
        let utf8 = Array(text.utf8)
        let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: utf8.count + 1)
        for (index, byte) in utf8.enumerated() { unsafe buffer[index] = CChar(bitPattern: byte) }
        unsafe buffer[utf8.count] = 0
        return unsafe UnsafePointer(buffer.baseAddress!)
    }

    static let status = StaticText([
        (EDGEAUTH_OK, "ok"),
        (EDGEAUTH_ERR_INVALID_ARGUMENT, "invalid argument"),
        (EDGEAUTH_ERR_CONFIG, "invalid configuration"),
        (EDGEAUTH_ERR_KEYS, "keys could not be loaded"),
        (EDGEAUTH_ERR_NOT_FOUND, "not found"),
        (EDGEAUTH_ERR_NO_MEMORY, "out of memory"),
        (EDGEAUTH_ERR_INTERNAL, "internal error"),
        (EDGEAUTH_ERR_CACHE, "cache could not be opened"),
    ], fallback: "unknown status")

    static let verdictCode = StaticText(
        [(EDGEAUTH_VERDICT_VALID, "valid")] + Reason.representatives.map { ($0.verdictCode, $0.code) },
        fallback: "unknown"
    )

    /// The rejection codes the header defines.
    static let rejections = Set(Reason.representatives.map(\.verdictCode))

    static let verdictDescription = StaticText(
        [(EDGEAUTH_VERDICT_VALID, "the token is valid")]
            + Reason.representatives.map { ($0.verdictCode, $0.generalDescription) },
        fallback: "unknown verdict code (a newer library may know it; treat it as a rejection)"
    )

    static let version = StaticText(
        [(0, "\(EDGEAUTH_VERSION_MAJOR).\(EDGEAUTH_VERSION_MINOR).\(EDGEAUTH_VERSION_PATCH)")],
        fallback: ""
    )
}
