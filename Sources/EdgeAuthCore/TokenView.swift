/// Size limits for untrusted tokens.
public struct TokenLimits: Sendable, Hashable {
    /// Longest accepted token in bytes (default 16 KiB).
    public var maxTokenBytes: Int
    /// Limits for the header and payload JSON.
    public var json: JSONLimits

    public init(maxTokenBytes: Int = 16 * 1024, json: JSONLimits = JSONLimits()) {
        self.maxTokenBytes = maxTokenBytes
        self.json = json
    }
}

/// The registered claims of a payload, as offsets into the decoded payload.
public struct RegisteredClaims: Sendable {
    public var iss: JSONSlice?
    public var sub: JSONSlice?
    /// A string or an array of strings.
    public var aud: JSONSlice?
    public var jti: JSONSlice?
    public var scope: JSONSlice?
    public var azp: JSONSlice?
    public var clientID: JSONSlice?
    public var exp: Int64?
    public var nbf: Int64?
    public var iat: Int64?

    /// The profile claims the standard identity mapping reads (OIDC and common
    /// access-token claims), found in the same pass: `email`, `name`,
    /// `preferred_username`, `picture`, `roles`, `permissions`, `scp`, `org_id`.
    public var email: JSONSlice?
    public var name: JSONSlice?
    public var preferredUsername: JSONSlice?
    public var picture: JSONSlice?
    public var roles: JSONSlice?
    public var permissions: JSONSlice?
    public var scp: JSONSlice?
    public var orgID: JSONSlice?

    public init() {}
}

/// A parsed compact JWS/JWT over borrowed bytes.
///
/// `header`, `payload`, `signature` and the claims point into scratch memory that
/// lives only for the `TokenView.parse` call; `signingInput` points into the caller's token.
/// Never let a view or its buffers escape the closure.
@unsafe public struct TokenView {
    /// The caller's token bytes.
    public let token: UnsafeRawBufferPointer
    /// `base64url(header) "." base64url(payload)`: the bytes the signature covers.
    public let signingInput: UnsafeRawBufferPointer
    /// Decoded header JSON.
    public let header: UnsafeRawBufferPointer
    /// Decoded payload JSON.
    public let payload: UnsafeRawBufferPointer
    /// Decoded signature bytes.
    public let signature: UnsafeRawBufferPointer
    public let algorithm: Algorithm
    /// `kid` in `header`, if present.
    public let kid: JSONSlice?
    /// `typ` in `header`, if present.
    public let typ: JSONSlice?
    /// Registered claims in `payload`.
    @inlinable public var claims: RegisteredClaims { unsafe claimStorage.pointee }
    /// The claims live next to the scratch buffers for the `parse` call, so that the
    /// view, which is handed around by value, stays small.
    @usableFromInline let claimStorage: UnsafePointer<RegisteredClaims>

    /// Parses and strictly checks `token`, then calls `body` with the view or the rejection.
    /// Does not allocate for tokens that fit the stack scratch space.
    @inlinable
    public static func parse<R, E: Error>(
        _ token: UnsafeRawBufferPointer,
        limits: TokenLimits = TokenLimits(),
        _ body: (Result<TokenView, Reason>) throws(E) -> R
    ) throws(E) -> R {
        // Offsets into a token are 32-bit (`JSONSlice`): no limit goes beyond that.
        let limit = min(limits.maxTokenBytes, Int(UInt32.max))
        guard token.count <= limit else {
            return try unsafe body(.failure(.tokenTooLarge(limit: limit)))
        }
        // Every segment decodes to at most 3/4 of its length; the spare bytes let the
        // base64url decoder finish a segment with wide stores.
        let scratchBytes = token.count / 4 * 3 + 16
        let memberLimit = max(limits.json.maxMembers, 1)
        return try unsafe withUnsafeTemporaryAllocation(byteCount: scratchBytes, alignment: 8) { (scratch) throws(E) -> R in
            let segments: Segments
            switch unsafe Segments.decode(token, into: scratch) {
            case .success(let decoded): unsafe segments = unsafe decoded
            case .failure(let reason): return try unsafe body(.failure(reason))
            }
            return try unsafe withUnsafeTemporaryAllocation(of: RegisteredClaims.self, capacity: 1) { (claimBuffer) throws(E) -> R in
                let claims = claimBuffer.baseAddress!
                unsafe claims.initialize(to: RegisteredClaims())
                // The name table only holds the names of the objects open at one time; a small
                // table stays on the stack. If it runs out before the member limit, scan again with
                // a table as large as the limit.
                let result = unsafe withUnsafeTemporaryAllocation(of: MemberName.self, capacity: min(memberLimit, stackNameCapacity)) { names in
                    unsafe scan(token: token, segments, claims: claims, names: names, limits: limits.json)
                }
                // Each case passes on a new value: the view is trivial to destroy, and the
                // result, once taken apart, is not destroyed through its generic witness.
                switch unsafe result {
                case .success(let view):
                    return try unsafe body(.success(view))
                case .failure(.malformed(.tooManyMembers)) where unsafe memberLimit > stackNameCapacity:
                    unsafe claims.pointee = RegisteredClaims()
                    return try unsafe withUnsafeTemporaryAllocation(of: MemberName.self, capacity: memberLimit) { (names) throws(E) -> R in
                        try unsafe body(scan(token: token, segments, claims: claims, names: names, limits: limits.json))
                    }
                case .failure(let reason):
                    return try unsafe body(.failure(reason))
                }
            }
        }
    }

    /// Name-table entries that fit the stack budget of `withUnsafeTemporaryAllocation`
    /// (1 KiB on Linux; 64 × 12 bytes).
    @usableFromInline
    static var stackNameCapacity: Int { 1024 / MemoryLayout<MemberName>.stride }

    /// The three segments of a compact JWS, decoded into scratch memory.
    @usableFromInline
    @unsafe struct Segments {
        @usableFromInline var header: UnsafeRawBufferPointer
        @usableFromInline var payload: UnsafeRawBufferPointer
        @usableFromInline var signature: UnsafeRawBufferPointer
        /// Where the signing input (`header "." payload`) ends in the token.
        @usableFromInline var signingInputEnd: Int

        /// Splits and decodes `token` in one pass over it; any irregularity is classified
        /// by `strictDecode`, which reports the most telling problem.
        @usableFromInline
        static func decode(_ token: UnsafeRawBufferPointer, into scratch: UnsafeMutableRawBufferPointer) -> Result<Segments, Reason> {
            let dot = UInt8(ascii: ".")
            let base = scratch.baseAddress!
            guard let header = unsafe Base64URL.decodeRun(token, from: 0, into: base),
                  header.stop > 0, header.stop < token.count, unsafe token[header.stop] == dot,
                  let payload = unsafe Base64URL.decodeRun(token, from: header.stop + 1, into: base + header.count),
                  payload.stop > header.stop + 1, payload.stop < token.count, unsafe token[payload.stop] == dot,
                  let signature = unsafe Base64URL.decodeRun(token, from: payload.stop + 1, into: base + header.count + payload.count),
                  signature.stop == token.count
            else {
                return unsafe strictDecode(token, into: scratch)
            }
            let scratchView = UnsafeRawBufferPointer(scratch)
            let payloadEnd = header.count + payload.count
            return unsafe .success(Segments(
                header: UnsafeRawBufferPointer(rebasing: scratchView[0..<header.count]),
                payload: UnsafeRawBufferPointer(rebasing: scratchView[header.count..<payloadEnd]),
                signature: UnsafeRawBufferPointer(rebasing: scratchView[payloadEnd..<(payloadEnd + signature.count)]),
                signingInputEnd: payload.stop
            ))
        }

        /// Segment by segment, in the order the rules are checked: the number of segments
        /// (and JSON serialization), empty segments, lengths, then each segment's encoding.
        @usableFromInline
        static func strictDecode(_ token: UnsafeRawBufferPointer, into scratch: UnsafeMutableRawBufferPointer) -> Result<Segments, Reason> {
            let dot = UInt8(ascii: ".")
            let firstDot = unsafe SWAR.firstIndex(of: dot, in: token, from: 0) ?? -1
            let secondDot = unsafe firstDot < 0 ? -1 : SWAR.firstIndex(of: dot, in: token, from: firstDot + 1) ?? -1
            guard secondDot >= 0, unsafe SWAR.firstIndex(of: dot, in: token, from: secondDot + 1) == nil else {
                if let first = unsafe token.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
                    return unsafe .failure(.malformed(.jsonSerialization))
                }
                return unsafe .failure(.malformed(.segmentCount))
            }
            let headerText = unsafe UnsafeRawBufferPointer(rebasing: token[0..<firstDot])
            let payloadText = unsafe UnsafeRawBufferPointer(rebasing: token[(firstDot + 1)..<secondDot])
            let signatureText = unsafe UnsafeRawBufferPointer(rebasing: token[(secondDot + 1)...])
            if let first = unsafe token.first, first == UInt8(ascii: "{") {
                return unsafe .failure(.malformed(.jsonSerialization))
            }
            // An empty signature is reported after the header is read, so `alg: none` gets its own code.
            guard unsafe !headerText.isEmpty, unsafe !payloadText.isEmpty else {
                return unsafe .failure(.malformed(.emptySegment))
            }
            guard Base64URL.decodedLength(headerText.count) != nil,
                  Base64URL.decodedLength(payloadText.count) != nil,
                  Base64URL.decodedLength(signatureText.count) != nil
            else {
                return unsafe .failure(.malformed(classifyLength(headerText, payloadText, signatureText)))
            }
            do {
                let scratchView = UnsafeRawBufferPointer(scratch)
                let headerCount = try unsafe Base64URL.decode(headerText, into: scratch)
                let payloadCount = try unsafe Base64URL.decode(payloadText, into: UnsafeMutableRawBufferPointer(rebasing: scratch[headerCount...]))
                let payloadEnd = headerCount + payloadCount
                let signatureCount = try unsafe Base64URL.decode(signatureText, into: UnsafeMutableRawBufferPointer(rebasing: scratch[payloadEnd...]))
                return unsafe .success(Segments(
                    header: UnsafeRawBufferPointer(rebasing: scratchView[0..<headerCount]),
                    payload: UnsafeRawBufferPointer(rebasing: scratchView[headerCount..<payloadEnd]),
                    signature: UnsafeRawBufferPointer(rebasing: scratchView[payloadEnd..<(payloadEnd + signatureCount)]),
                    signingInputEnd: secondDot
                ))
            } catch {
                return unsafe .failure(.malformed(error))
            }
        }

        /// Malformation for a segment whose length no base64url text can have — or
        /// an earlier, more telling problem in its bytes.
        static func classifyLength(_ segments: UnsafeRawBufferPointer...) -> Malformation {
            for unsafe segment in unsafe segments {
                for unsafe byte in unsafe segment where Base64URL.decodeTable[Int(byte)] == 0xFF {
                    return unsafe Base64URL.invalidByte(segment[...])
                }
            }
            return .base64Length
        }
    }

    /// Scans the decoded header and payload and builds the view.
    @usableFromInline
    static func scan(
        token: UnsafeRawBufferPointer,
        _ segments: Segments,
        claims: UnsafeMutablePointer<RegisteredClaims>,
        names: UnsafeMutableBufferPointer<MemberName>,
        limits: JSONLimits
    ) -> Result<TokenView, Reason> {
        do {
            let header = unsafe segments.header, payload = unsafe segments.payload, signature = unsafe segments.signature
            let parsedHeader = try unsafe HeaderFields.scan(header, limits: limits, names: names)
            let algorithm: Algorithm
            switch unsafe parsedHeader.algorithm(in: header) {
            case .success(let alg): algorithm = alg
            case .failure(let reason): return unsafe .failure(reason)
            }
            if unsafe signature.isEmpty { return unsafe .failure(.malformed(.emptySegment)) }
            if let expected = algorithm.fixedSignatureLength, signature.count != expected {
                return unsafe .failure(.malformed(.signatureLength))
            }
            if let reason = try unsafe ClaimScanner.scan(payload, into: &claims.pointee, limits: limits, names: names) { return unsafe .failure(reason) }
            return unsafe .success(TokenView(
                token: token,
                signingInput: UnsafeRawBufferPointer(rebasing: token[0..<segments.signingInputEnd]),
                header: header, payload: payload, signature: signature,
                algorithm: algorithm, kid: parsedHeader.kid, typ: parsedHeader.typ, claims: UnsafePointer(claims)
            ))
        } catch {
            return unsafe .failure(.malformed(error))
        }
    }

    @usableFromInline
    init(
        token: UnsafeRawBufferPointer, signingInput: UnsafeRawBufferPointer,
        header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, signature: UnsafeRawBufferPointer,
        algorithm: Algorithm, kid: JSONSlice?, typ: JSONSlice?, claims: UnsafePointer<RegisteredClaims>
    ) {
        unsafe self.token = unsafe token
        unsafe self.signingInput = unsafe signingInput
        unsafe self.header = unsafe header
        unsafe self.payload = unsafe payload
        unsafe self.signature = unsafe signature
        unsafe self.algorithm = algorithm
        unsafe self.kid = kid
        unsafe self.typ = typ
        unsafe self.claimStorage = unsafe claims
    }

    /// The whole payload as a top-level object slice.
    public var payloadObject: JSONSlice {
        var reader = unsafe ValidatedReader(doc: payload, pos: 0)
        return unsafe reader.value()
    }

    /// The whole header as a top-level object slice.
    public var headerObject: JSONSlice {
        var reader = unsafe ValidatedReader(doc: header, pos: 0)
        return unsafe reader.value()
    }

    /// The `kid` as a String (allocates; for messages and slow paths).
    public var kidString: String? { unsafe kid.map { unsafe JSONText.string(header, $0) } }
}

/// The `NameKey`s of the member names the parser reads (each name's bytes,
/// little-endian; `MemberKeyTests` checks every one against its name).
@usableFromInline
enum MemberKey {
    @usableFromInline static let alg: NameKey = 0x67_6c_61
    @usableFromInline static let kid: NameKey = 0x64_69_6b
    @usableFromInline static let typ: NameKey = 0x70_79_74
    @usableFromInline static let crit: NameKey = 0x74_69_72_63
    @usableFromInline static let b64: NameKey = 0x34_36_62
    @usableFromInline static let iss: NameKey = 0x73_73_69
    @usableFromInline static let sub: NameKey = 0x62_75_73
    @usableFromInline static let aud: NameKey = 0x64_75_61
    @usableFromInline static let exp: NameKey = 0x70_78_65
    @usableFromInline static let iat: NameKey = 0x74_61_69
    @usableFromInline static let nbf: NameKey = 0x66_62_6e
    @usableFromInline static let jti: NameKey = 0x69_74_6a
    @usableFromInline static let scope: NameKey = 0x65_70_6f_63_73
    @usableFromInline static let azp: NameKey = 0x70_7a_61
    @usableFromInline static let scp: NameKey = 0x70_63_73
    @usableFromInline static let email: NameKey = 0x6c_69_61_6d_65
    @usableFromInline static let name: NameKey = 0x65_6d_61_6e
    @usableFromInline static let picture: NameKey = 0x65_72_75_74_63_69_70
    @usableFromInline static let roles: NameKey = 0x73_65_6c_6f_72
    @usableFromInline static let orgID: NameKey = 0x64_69_5f_67_72_6f
}

/// Compares a member name with a literal spelled in ASCII.
@inlinable @inline(__always)
func nameIs(_ doc: UnsafeRawBufferPointer, _ name: JSONSlice, _ literal: StaticString) -> Bool {
    unsafe JSONText.equal(doc, name, UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
}

/// The header parameters EdgeAuth reads. Everything else (`jku`, `x5u`, `jwk`,
/// `x5c`…) is deliberately ignored: keys are never taken from the token.
@usableFromInline
struct HeaderFields {
    @usableFromInline var alg: JSONSlice?
    @usableFromInline var kid: JSONSlice?
    @usableFromInline var typ: JSONSlice?
    @usableFromInline var crit: JSONSlice?
    @usableFromInline var b64: JSONSlice?

    @usableFromInline init() {}

    @usableFromInline
    static func scan(
        _ header: UnsafeRawBufferPointer, limits: JSONLimits, names: UnsafeMutableBufferPointer<MemberName>
    ) throws(Malformation) -> HeaderFields {
        var fields = HeaderFields()
        var scanner = unsafe JSONScanner(doc: header, limits: limits, names: names)
        try unsafe scanner.scanTopLevelObject(notObject: .headerNotObject) { (name, key, value) throws(Malformation) in
            switch key {
            case MemberKey.alg: fields.alg = value
            case MemberKey.kid: fields.kid = value
            case MemberKey.typ: fields.typ = value
            case MemberKey.crit: fields.crit = value
            case MemberKey.b64: fields.b64 = value
            case 0:
                // No key: a name spelled with escapes ("\u0061lg") still names a
                // parameter, and a name near the end of the header is read byte by byte.
                if unsafe nameIs(header, name, "alg") { fields.alg = value }
                else if unsafe nameIs(header, name, "kid") { fields.kid = value }
                else if unsafe nameIs(header, name, "typ") { fields.typ = value }
                else if unsafe nameIs(header, name, "crit") { fields.crit = value }
                else if unsafe nameIs(header, name, "b64") { fields.b64 = value }
            default: return
            }
        }
        // Once, after the scan (each parameter appears at most once: duplicates were refused).
        if let kid = fields.kid, kid.kind != .string { throw .headerParameterType }
        if let typ = fields.typ, typ.kind != .string { throw .headerParameterType }
        if let b64 = fields.b64, b64.kind != .bool { throw .headerParameterType }
        return fields
    }

    /// The algorithm, after the checks that make a header unacceptable whatever the policy.
    @usableFromInline
    func algorithm(in header: UnsafeRawBufferPointer) -> Result<Algorithm, Reason> {
        guard let alg, alg.kind == .string else { return .failure(.malformed(.missingAlgorithm)) }
        // Up to 8 bytes of the unescaped name, packed: every implemented name is 5 bytes.
        var packed: UInt64 = 0
        var length = 0
        if alg.hasEscapes {
            var bytes = unsafe JSONText.UnescapedBytes(doc: header, slice: alg)
            while let byte = unsafe bytes.next() {
                if length < 8 { packed |= UInt64(byte) << (8 * UInt64(length)) }
                length += 1
            }
        } else {
            length = alg.count
            for i in 0..<min(length, 8) { unsafe packed |= UInt64(header[alg.start + i]) << (8 * UInt64(i)) }
        }
        // "none" in any case: its four letters with the case bit set (only a letter's other
        // case shares a letter's value with that bit set).
        if length == 4, packed | 0x2020_2020 == 0x65_6e_6f_6e { return .failure(.unsecured) }
        if let b64, unsafe header[b64.start] == UInt8(ascii: "f") { return .failure(.malformed(.unencodedPayload)) }
        if let crit {
            // RFC 7515 §4.1.11: a non-empty array of names. None is implemented here.
            guard crit.kind == .array else { return .failure(.malformed(.headerParameterType)) }
            var first: JSONSlice?
            var allStrings = true
            unsafe JSONText.forEachElement(header, crit) { element in
                if element.kind != .string { allStrings = false }
                if first == nil { first = element }
                return true
            }
            guard allStrings, let first else { return .failure(.malformed(.headerParameterType)) }
            return unsafe .failure(.unsupportedCritical(JSONText.string(header, first)))
        }
        // Every implemented name is exactly 5 bytes; the length check also stops "HS256\u0000"
        // (a NUL adds nothing to the packed value) from passing as "HS256".
        if length == Algorithm.nameLength, let index = Algorithm.packedNames.firstIndex(of: packed) {
            return .success(Algorithm(rawValue: UInt8(index))!)
        }
        return unsafe .failure(.unsupportedAlgorithm(JSONText.string(header, alg)))
    }
}

/// Reads the registered claims of a payload in one validating pass.
@usableFromInline
enum ClaimScanner {
    /// Fills `claims`; returns the reason when a registered claim has the wrong type.
    @usableFromInline
    static func scan(
        _ payload: UnsafeRawBufferPointer, into claims: inout RegisteredClaims,
        limits: JSONLimits, names: UnsafeMutableBufferPointer<MemberName>
    ) throws(Malformation) -> Reason? {
        var exp: JSONSlice?
        var nbf: JSONSlice?
        var iat: JSONSlice?
        var scanner = unsafe JSONScanner(doc: payload, limits: limits, names: names)
        try unsafe scanner.scanTopLevelObject(notObject: .payloadNotObject) { (name, key, value) throws(Malformation) in
            switch key {
            case MemberKey.iss: claims.iss = value
            case MemberKey.sub: claims.sub = value
            case MemberKey.aud: claims.aud = value
            case MemberKey.exp: exp = value
            case MemberKey.iat: iat = value
            case MemberKey.nbf: nbf = value
            case MemberKey.jti: claims.jti = value
            case MemberKey.scope: claims.scope = value
            case MemberKey.azp: claims.azp = value
            case MemberKey.scp: claims.scp = value
            case MemberKey.email: claims.email = value
            case MemberKey.name: claims.name = value
            case MemberKey.picture: claims.picture = value
            case MemberKey.roles: claims.roles = value
            case MemberKey.orgID: claims.orgID = value
            case 0:
                // No key (a longer name, one spelled with escapes such as "\u0065xp",
                // or one near the end of the payload): compare the bytes.
                try unsafe rescanName(payload, name, value, &claims, &exp, &nbf, &iat)
            default: return
            }
        }
        return unsafe checkTypes(payload, &claims, exp: exp, nbf: nbf, iat: iat)
    }

    @usableFromInline
    static func rescanName(
        _ payload: UnsafeRawBufferPointer, _ name: JSONSlice, _ value: JSONSlice,
        _ claims: inout RegisteredClaims, _ exp: inout JSONSlice?, _ nbf: inout JSONSlice?, _ iat: inout JSONSlice?
    ) throws(Malformation) {
        // A plain name of eight bytes or more can only be one of the three long ones (the
        // shorter names have keys): most unknown names are long, so they stop here.
        if !name.hasEscapes, name.count >= 8 {
            switch name.count {
            case 9: if unsafe nameIs(payload, name, "client_id") { claims.clientID = value }
            case 11: if unsafe nameIs(payload, name, "permissions") { claims.permissions = value }
            case 18: if unsafe nameIs(payload, name, "preferred_username") { claims.preferredUsername = value }
            default: break
            }
            return
        }
        if unsafe nameIs(payload, name, "iss") { claims.iss = value }
        else if unsafe nameIs(payload, name, "iat") { iat = value }
        else if unsafe nameIs(payload, name, "sub") { claims.sub = value }
        else if unsafe nameIs(payload, name, "scope") { claims.scope = value }
        else if unsafe nameIs(payload, name, "aud") { claims.aud = value }
        else if unsafe nameIs(payload, name, "azp") { claims.azp = value }
        else if unsafe nameIs(payload, name, "exp") { exp = value }
        else if unsafe nameIs(payload, name, "nbf") { nbf = value }
        else if unsafe nameIs(payload, name, "jti") { claims.jti = value }
        else if unsafe nameIs(payload, name, "client_id") { claims.clientID = value }
        else if unsafe nameIs(payload, name, "scp") { claims.scp = value }
        else if unsafe nameIs(payload, name, "email") { claims.email = value }
        else if unsafe nameIs(payload, name, "name") { claims.name = value }
        else if unsafe nameIs(payload, name, "permissions") { claims.permissions = value }
        else if unsafe nameIs(payload, name, "picture") { claims.picture = value }
        else if unsafe nameIs(payload, name, "preferred_username") { claims.preferredUsername = value }
        else if unsafe nameIs(payload, name, "roles") { claims.roles = value }
        else if unsafe nameIs(payload, name, "org_id") { claims.orgID = value }
    }

    @usableFromInline
    static func checkTypes(
        _ payload: UnsafeRawBufferPointer, _ claims: inout RegisteredClaims,
        exp: JSONSlice?, nbf: JSONSlice?, iat: JSONSlice?
    ) -> Reason? {
        if let s = claims.iss, s.kind != .string { return .invalidClaim("iss") }
        if let s = claims.sub, s.kind != .string { return .invalidClaim("sub") }
        if let s = claims.jti, s.kind != .string { return .invalidClaim("jti") }
        if let s = claims.scope, s.kind != .string { return .invalidClaim("scope") }
        if let s = claims.azp, s.kind != .string { return .invalidClaim("azp") }
        if let s = claims.clientID, s.kind != .string { return .invalidClaim("client_id") }
        if let aud = claims.aud {
            switch aud.kind {
            case .string: break
            case .array:
                if !aud.stringsOnly { return .invalidClaim("aud") }
            default: return .invalidClaim("aud")
            }
        }
        if let exp {
            guard let value = unsafe JSONText.numericDate(payload, exp) else { return .invalidClaim("exp") }
            claims.exp = value
        }
        if let nbf {
            guard let value = unsafe JSONText.numericDate(payload, nbf, roundingUp: true) else { return .invalidClaim("nbf") }
            claims.nbf = value
        }
        if let iat {
            guard let value = unsafe JSONText.numericDate(payload, iat, roundingUp: true) else { return .invalidClaim("iat") }
            claims.iat = value
        }
        return nil
    }
}
