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
