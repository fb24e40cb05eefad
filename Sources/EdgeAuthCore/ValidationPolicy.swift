/// Which issuers a verifier accepts. There is no default: an operator chooses.
public enum IssuerRule: Sendable, Hashable {
    /// `iss` must equal one of these exactly (byte for byte, trailing slash included).
    case exactly([String])
    /// Any issuer, including none. Only for tools such as `edgeauth verify` with an explicit flag.
    case any
}

/// Which audiences a verifier accepts (docs/requirements.md R5). There is no
/// default: skipping the audience check must be an explicit choice.
public enum AudienceRule: Sendable, Hashable {
    /// `aud` (a string or an array) must contain at least one of these.
    case anyOf([String])
    /// The audience is not checked.
    case any
}

/// The claims policy applied after the signature verified.
///
/// A value type whose settings live in one shared, copy-on-write object: a policy
/// is copied into closures and handlers on every request, and a copy costs one
/// reference count instead of one per array and string setting.
public struct ValidationPolicy: Sendable {
    public var issuers: IssuerRule {
        get { storage.issuers }
        set { update { $0.issuers = newValue; unsafe $0.issuerTable = unsafe PackedStrings(Self.values(newValue)) } }
    }
    public var audiences: AudienceRule {
        get { storage.audiences }
        set { update { $0.audiences = newValue; unsafe $0.audienceTable = unsafe PackedStrings(Self.values(newValue)) } }
    }
    /// Algorithms accepted at all; keys narrow this further.
    public var algorithms: AlgorithmSet {
        get { storage.algorithms }
        set { update { $0.algorithms = newValue } }
    }
    /// Claims that must be present (registered or not).
    public var requiredClaims: [String] {
        get { storage.requiredClaims }
        set { update { $0.requiredClaims = newValue } }
    }
    /// Allowed clock skew in seconds for `exp`, `nbf` and `iat` (default 30).
    public var leeway: Int64 {
        get { storage.leeway }
        set { update { $0.leeway = newValue } }
    }
    /// `exp` must be present (default true).
    public var requireExpiration: Bool {
        get { storage.requireExpiration }
        set { update { $0.requireExpiration = newValue } }
    }
    /// Reject tokens whose `iat` is older than this many seconds (requires `iat`).
    public var maxAge: Int64? {
        get { storage.maxAge }
        set { update { $0.maxAge = newValue } }
    }
    /// Required `typ` header, compared case-insensitively, `application/` prefix allowed (e.g. `at+jwt`, RFC 9068).
    public var requiredType: String? {
        get { storage.requiredType }
        set { update { $0.requiredType = newValue; $0.requiredTypeBytes = newValue.map { Array($0.lowercased().utf8) } } }
    }
    /// Size limits for tokens.
    public var limits: TokenLimits {
        get { storage.limits }
        set { update { $0.limits = newValue } }
    }
    /// Top-level string claims whose listed values are refused (`claimValueNotAllowed`),
    /// e.g. Supabase's `role`: `anon`, `service_role`.
    public var refusedClaimValues: [String: [String]] {
        get { storage.refusedClaimValues }
        set { update { $0.refusedClaimValues = newValue; $0.refusedClaimBytes = Self.bytes(newValue) } }
    }

    @usableFromInline var storage: Storage

    /// The settings, and their UTF-8 forms pre-encoded for comparisons that do not allocate.
    @usableFromInline
    @safe final class Storage: @unchecked Sendable {
        var issuers: IssuerRule
        var audiences: AudienceRule
        var algorithms: AlgorithmSet
        var requiredClaims: [String] {
            didSet { hasRequiredClaims = !requiredClaims.isEmpty }
        }
        /// Plain flags, read per token without touching the arrays' reference counts.
        var hasRequiredClaims: Bool
        var hasRefusedClaims = false
        var leeway: Int64
        var requireExpiration: Bool
        var maxAge: Int64?
        var requiredType: String?
        var limits: TokenLimits
        var refusedClaimValues: [String: [String]] = [:]
        /// The accepted issuers and audiences in memory this object owns, so that the
        /// per-token comparison touches no reference count; nil when any is accepted.
        var issuerTable: PackedStrings? {
            didSet { unsafe oldValue?.deallocate() }
        }
        var audienceTable: PackedStrings? {
            didSet { unsafe oldValue?.deallocate() }
        }
        var requiredTypeBytes: [UInt8]?
        /// `refusedClaimValues` in name order, as UTF-8, so a check neither sorts nor encodes.
        var refusedClaimBytes: [RefusedClaim] = [] {
            didSet { hasRefusedClaims = !refusedClaimBytes.isEmpty }
        }

        init(
            issuers: IssuerRule, audiences: AudienceRule, algorithms: AlgorithmSet, requiredClaims: [String],
            leeway: Int64, requireExpiration: Bool, maxAge: Int64?, requiredType: String?, limits: TokenLimits
        ) {
            self.issuers = issuers
            self.audiences = audiences
            self.algorithms = algorithms
            self.requiredClaims = requiredClaims
            self.hasRequiredClaims = !requiredClaims.isEmpty
            self.leeway = leeway
            self.requireExpiration = requireExpiration
            self.maxAge = maxAge
            self.requiredType = requiredType
            self.limits = limits
            unsafe self.issuerTable = unsafe PackedStrings(ValidationPolicy.values(issuers))
            unsafe self.audienceTable = unsafe PackedStrings(ValidationPolicy.values(audiences))
            self.requiredTypeBytes = requiredType.map { Array($0.lowercased().utf8) }
        }

        deinit {
            unsafe issuerTable?.deallocate()
            unsafe audienceTable?.deallocate()
        }

        func copy() -> Storage {
            let copy = Storage(
                issuers: issuers, audiences: audiences, algorithms: algorithms, requiredClaims: requiredClaims,
                leeway: leeway, requireExpiration: requireExpiration, maxAge: maxAge, requiredType: requiredType, limits: limits
            )
            copy.refusedClaimValues = refusedClaimValues
            copy.refusedClaimBytes = refusedClaimBytes
            return copy
        }
    }

    /// Changes the settings, copying them first when another policy value shares them.
    private mutating func update(_ change: (Storage) -> Void) {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        change(storage)
    }

    @usableFromInline
    struct RefusedClaim: Sendable {
        @usableFromInline let name: String
        @usableFromInline let nameBytes: [UInt8]
        @usableFromInline let values: [(text: String, bytes: [UInt8])]
    }

    private static func bytes(_ rules: [String: [String]]) -> [RefusedClaim] {
        rules.sorted { $0.key < $1.key }.map { name, values in
            RefusedClaim(name: name, nameBytes: Array(name.utf8), values: values.map { ($0, Array($0.utf8)) })
        }
    }

    public init(
        issuers: IssuerRule,
        audiences: AudienceRule,
        algorithms: AlgorithmSet = .all,
        requiredClaims: [String] = [],
        leeway: Int64 = 30,
        requireExpiration: Bool = true,
        maxAge: Int64? = nil,
        requiredType: String? = nil,
        limits: TokenLimits = TokenLimits()
    ) {
        storage = Storage(
            issuers: issuers, audiences: audiences, algorithms: algorithms, requiredClaims: requiredClaims,
            leeway: leeway, requireExpiration: requireExpiration, maxAge: maxAge, requiredType: requiredType, limits: limits
        )
    }

    fileprivate static func values(_ rule: IssuerRule) -> [String]? {
        if case .exactly(let values) = rule { return values }
        return nil
    }

    fileprivate static func values(_ rule: AudienceRule) -> [String]? {
        if case .anyOf(let values) = rule { return values }
        return nil
    }

    /// Header checks that need no key: allowed algorithm and `typ`.
    public func checkHeader(_ view: TokenView) -> Reason? {
        guard unsafe algorithms.contains(view.algorithm) else { return unsafe .algorithmNotAllowed(view.algorithm.name) }
        if let expected = storage.requiredTypeBytes {
            guard let typ = unsafe view.typ, unsafe Self.typeMatches(view.header, typ, expected) else {
                return unsafe .wrongType(expected: requiredType ?? "", got: view.typ.map { unsafe JSONText.string(view.header, $0) })
            }
        }
        return nil
    }

    /// `typ` equals `expected` ignoring ASCII case, with or without `application/`.
    @usableFromInline
    static func typeMatches(_ header: UnsafeRawBufferPointer, _ typ: JSONSlice, _ expected: [UInt8]) -> Bool {
        var bytes = unsafe JSONText.UnescapedBytes(doc: header, slice: typ)
        var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // first 32 bytes, lowercased
        var length = 0
        while let byte = unsafe bytes.next() {
            guard length < 32 else { return false }
            unsafe withUnsafeMutableBytes(of: &buffer) { unsafe $0[length] = JSONText.lowercased(byte) }
            length += 1
        }
        return unsafe withUnsafeBytes(of: &buffer) { raw in
            let prefix: StaticString = "application/"
            var start = 0
            if length == expected.count + prefix.utf8CodeUnitCount,
               unsafe JSONText.memoryEqual(raw, 0, UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount), 0, prefix.utf8CodeUnitCount) {
                start = prefix.utf8CodeUnitCount
            }
            guard length - start == expected.count else { return false }
            return unsafe expected.withUnsafeBytes { unsafe JSONText.memoryEqual(raw, start, $0, 0, expected.count) }
        }
    }

    /// Time, issuer, audience and required-claim checks. Does not allocate unless it rejects.
    /// - Parameter now: seconds since the epoch.
    public func checkClaims(_ view: TokenView, now: Int64) -> Reason? {
        if let exp = unsafe view.claims.exp {
            if now - leeway >= exp { return .expired(expiredAt: exp, now: now) }
        } else if requireExpiration {
            return .missingClaim("exp")
        }
        if let nbf = unsafe view.claims.nbf, now + leeway < nbf { return .notYetValid(notBefore: nbf, now: now) }
        if let iat = unsafe view.claims.iat {
            if now + leeway < iat { return .issuedInFuture(issuedAt: iat, now: now) }
            if let maxAge, now - leeway - iat > maxAge { return .tooOld(issuedAt: iat, maxAge: maxAge) }
        } else if maxAge != nil {
            return .missingClaim("iat")
        }
        if let issuers = unsafe storage.issuerTable {
            guard let iss = unsafe view.claims.iss, unsafe issuers.contains(view.payload, iss) else {
                return unsafe .wrongIssuer(expected: issuerStrings, got: view.claims.iss.map { unsafe JSONText.string(view.payload, $0) })
            }
        }
        if unsafe storage.audienceTable != nil {
            guard let aud = unsafe view.claims.aud, unsafe audienceMatches(view.payload, aud) else {
                return unsafe .wrongAudience(expected: audienceStrings, got: Self.audienceValues(view.payload, view.claims.aud))
            }
        }
        if storage.hasRequiredClaims {
            for name in requiredClaims where unsafe !Self.hasClaim(view, name) {
                return .missingClaim(name)
            }
        }
        if storage.hasRefusedClaims, let reason = unsafe Self.refusedValue(view, storage.refusedClaimBytes) { return reason }
        return nil
    }

    @usableFromInline
    static func refusedValue(_ view: TokenView, _ rules: [RefusedClaim]) -> Reason? {
        let object = unsafe view.payloadObject
        for rule in rules {
            let value = unsafe rule.nameBytes.withUnsafeBytes { unsafe JSONText.member(view.payload, object, $0) }
            guard let value, value.kind == .string else { continue }
            for candidate in rule.values where unsafe candidate.bytes.withUnsafeBytes({ unsafe JSONText.equal(view.payload, value, $0) }) {
                return .claimValueNotAllowed(claim: rule.name, value: candidate.text)
            }
        }
        return nil
    }

    /// The time checks for an identity verified earlier (a cache hit): `exp`, `nbf` and `iat`
    /// with leeway (the clock may have stepped back since), and the maximum age.
    public func checkTimes(of identity: Identity, now: Int64) -> Reason? {
        if let exp = identity.expiresAt {
            if now - leeway >= exp { return .expired(expiredAt: exp, now: now) }
        } else if requireExpiration {
            return .missingClaim("exp")
        }
        // A verdict made while the clock was ahead stays valid only once the token is again.
        if let nbf = identity.notBefore, now + leeway < nbf { return .notYetValid(notBefore: nbf, now: now) }
        if let iat = identity.issuedAt, now + leeway < iat { return .issuedInFuture(issuedAt: iat, now: now) }
        if let maxAge {
            guard let iat = identity.issuedAt else { return .missingClaim("iat") }
            if now - leeway - iat > maxAge { return .tooOld(issuedAt: iat, maxAge: maxAge) }
        }
        return nil
    }

    @usableFromInline var issuerStrings: [String] {
        if case .exactly(let values) = issuers { return values }
        return []
    }

    @usableFromInline var audienceStrings: [String] {
        if case .anyOf(let values) = audiences { return values }
        return []
    }

    @usableFromInline
    func audienceMatches(_ doc: UnsafeRawBufferPointer, _ aud: JSONSlice) -> Bool {
        guard let audiences = unsafe storage.audienceTable else { return true }
        if aud.kind == .string { return unsafe audiences.contains(doc, aud) }
        var found = false
        unsafe JSONText.forEachElement(doc, aud) { element in
            found = unsafe audiences.contains(doc, element)
            return !found
        }
        return found
    }

    @usableFromInline
    static func audienceValues(_ doc: UnsafeRawBufferPointer, _ aud: JSONSlice?) -> [String] {
        guard let aud else { return [] }
        if aud.kind == .string { return unsafe [JSONText.string(doc, aud)] }
        var values = [String]()
        unsafe JSONText.forEachElement(doc, aud) { element in
            unsafe values.append(JSONText.string(doc, element))
            return true
        }
        return values
    }

    @usableFromInline
    static func hasClaim(_ view: TokenView, _ name: String) -> Bool {
        var name = name
        return name.withUTF8 { utf8 in
            unsafe JSONText.member(view.payload, view.payloadObject, UnsafeRawBufferPointer(utf8)) != nil
        }
    }
}

/// UTF-8 strings packed into one allocation that its owner frees: a plain value, so
/// comparing against it retains nothing.
@usableFromInline
@unsafe struct PackedStrings: @unchecked Sendable {
    /// The strings' bytes, one after the other.
    @usableFromInline let bytes: UnsafeMutableRawPointer
    /// Where each string ends in `bytes`.
    @usableFromInline let ends: UnsafeMutablePointer<Int>
    @usableFromInline let count: Int

    /// Nil for nil (no rule): the caller accepts anything.
    init?(_ strings: [String]?) {
        guard let strings else { return nil }
        let utf8 = strings.map { Array($0.utf8) }
        unsafe count = utf8.count
        unsafe bytes = .allocate(byteCount: max(utf8.reduce(0) { $0 + $1.count }, 1), alignment: 1)
        unsafe ends = unsafe .allocate(capacity: max(count, 1))
        var offset = 0
        for (index, string) in utf8.enumerated() {
            unsafe string.withUnsafeBytes { unsafe (bytes + offset).copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(bytes), byteCount: $0.count) }
            offset += string.count
            unsafe ends[index] = offset
        }
    }

    func deallocate() {
        unsafe bytes.deallocate()
        unsafe ends.deallocate()
    }

    /// Whether the validated JSON string `value` denotes one of the strings.
    @usableFromInline
    func contains(_ doc: UnsafeRawBufferPointer, _ value: JSONSlice) -> Bool {
        var start = 0
        for index in unsafe 0..<count {
            let end = unsafe ends[index]
            if unsafe JSONText.equal(doc, value, UnsafeRawBufferPointer(start: bytes + start, count: end - start)) { return true }
            start = end
        }
        return false
    }
}
