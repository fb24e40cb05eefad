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
        set { update { $0.issuers = newValue; $0.issuerTable = PackedStrings(Self.values(newValue)) } }
    }
    public var audiences: AudienceRule {
        get { storage.audiences }
        set { update { $0.audiences = newValue; $0.audienceTable = PackedStrings(Self.values(newValue)) } }
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
    final class Storage: @unchecked Sendable {
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
            didSet { oldValue?.deallocate() }
        }
        var audienceTable: PackedStrings? {
            didSet { oldValue?.deallocate() }
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
            self.issuerTable = PackedStrings(ValidationPolicy.values(issuers))
            self.audienceTable = PackedStrings(ValidationPolicy.values(audiences))
            self.requiredTypeBytes = requiredType.map { Array($0.lowercased().utf8) }
        }

        deinit {
            issuerTable?.deallocate()
            audienceTable?.deallocate()
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
        guard algorithms.contains(view.algorithm) else { return .algorithmNotAllowed(view.algorithm.name) }
        if let expected = storage.requiredTypeBytes {
            guard let typ = view.typ, Self.typeMatches(view.header, typ, expected) else {
                return .wrongType(expected: requiredType ?? "", got: view.typ.map { JSONText.string(view.header, $0) })
            }
        }
        return nil
    }

    /// `typ` equals `expected` ignoring ASCII case, with or without `application/`.
    @usableFromInline
    static func typeMatches(_ header: UnsafeRawBufferPointer, _ typ: JSONSlice, _ expected: [UInt8]) -> Bool {
        var bytes = JSONText.UnescapedBytes(doc: header, slice: typ)
        var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // first 32 bytes, lowercased
        var length = 0
        while let byte = bytes.next() {
            guard length < 32 else { return false }
            withUnsafeMutableBytes(of: &buffer) { $0[length] = JSONText.lowercased(byte) }
            length += 1
        }
        return withUnsafeBytes(of: &buffer) { raw in
            let prefix: StaticString = "application/"
            var start = 0
            if length == expected.count + prefix.utf8CodeUnitCount,
               JSONText.memoryEqual(raw, 0, UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount), 0, prefix.utf8CodeUnitCount) {
                start = prefix.utf8CodeUnitCount
            }
            guard length - start == expected.count else { return false }
            return expected.withUnsafeBytes { JSONText.memoryEqual(raw, start, $0, 0, expected.count) }
        }
    }

    /// Time, issuer, audience and required-claim checks. Does not allocate unless it rejects.
    /// - Parameter now: seconds since the epoch.
    public func checkClaims(_ view: TokenView, now: Int64) -> Reason? {
        if let exp = view.claims.exp {
            if now - leeway >= exp { return .expired(expiredAt: exp, now: now) }
        } else if requireExpiration {
            return .missingClaim("exp")
        }
        if let nbf = view.claims.nbf, now + leeway < nbf { return .notYetValid(notBefore: nbf, now: now) }
        if let iat = view.claims.iat {
            if now + leeway < iat { return .issuedInFuture(issuedAt: iat, now: now) }
            if let maxAge, now - leeway - iat > maxAge { return .tooOld(issuedAt: iat, maxAge: maxAge) }
        } else if maxAge != nil {
            return .missingClaim("iat")
        }
        if let issuers = storage.issuerTable {
            guard let iss = view.claims.iss, issuers.contains(view.payload, iss) else {
                return .wrongIssuer(expected: issuerStrings, got: view.claims.iss.map { JSONText.string(view.payload, $0) })
            }
        }
        if storage.audienceTable != nil {
            guard let aud = view.claims.aud, audienceMatches(view.payload, aud) else {
                return .wrongAudience(expected: audienceStrings, got: Self.audienceValues(view.payload, view.claims.aud))
            }
        }
        if storage.hasRequiredClaims {
            for name in requiredClaims where !Self.hasClaim(view, name) {
                return .missingClaim(name)
            }
        }
        if storage.hasRefusedClaims, let reason = Self.refusedValue(view, storage.refusedClaimBytes) { return reason }
        return nil
    }

    @usableFromInline
    static func refusedValue(_ view: TokenView, _ rules: [RefusedClaim]) -> Reason? {
        let object = view.payloadObject
        for rule in rules {
            let value = rule.nameBytes.withUnsafeBytes { JSONText.member(view.payload, object, $0) }
            guard let value, value.kind == .string else { continue }
            for candidate in rule.values where candidate.bytes.withUnsafeBytes({ JSONText.equal(view.payload, value, $0) }) {
                return .claimValueNotAllowed(claim: rule.name, value: candidate.text)
            }
        }
        return nil
    }

    /// The time checks for an identity verified earlier (a cache hit): `exp` with
    /// leeway and the maximum age.
    public func checkTimes(of identity: Identity, now: Int64) -> Reason? {
        if let exp = identity.expiresAt {
            if now - leeway >= exp { return .expired(expiredAt: exp, now: now) }
        } else if requireExpiration {
            return .missingClaim("exp")
        }
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
        guard let audiences = storage.audienceTable else { return true }
        if aud.kind == .string { return audiences.contains(doc, aud) }
        var found = false
        JSONText.forEachElement(doc, aud) { element in
            found = audiences.contains(doc, element)
            return !found
        }
        return found
    }

    @usableFromInline
    static func audienceValues(_ doc: UnsafeRawBufferPointer, _ aud: JSONSlice?) -> [String] {
        guard let aud else { return [] }
        if aud.kind == .string { return [JSONText.string(doc, aud)] }
        var values = [String]()
        JSONText.forEachElement(doc, aud) { element in
            values.append(JSONText.string(doc, element))
            return true
        }
        return values
    }

    @usableFromInline
    static func hasClaim(_ view: TokenView, _ name: String) -> Bool {
        var name = name
        return name.withUTF8 { utf8 in
            JSONText.member(view.payload, view.payloadObject, UnsafeRawBufferPointer(utf8)) != nil
        }
    }
}

/// UTF-8 strings packed into one allocation that its owner frees: a plain value, so
/// comparing against it retains nothing.
@usableFromInline
struct PackedStrings: @unchecked Sendable {
    /// The strings' bytes, one after the other.
    @usableFromInline let bytes: UnsafeMutableRawPointer
    /// Where each string ends in `bytes`.
    @usableFromInline let ends: UnsafeMutablePointer<Int>
    @usableFromInline let count: Int

    /// Nil for nil (no rule): the caller accepts anything.
    init?(_ strings: [String]?) {
        guard let strings else { return nil }
        let utf8 = strings.map { Array($0.utf8) }
        count = utf8.count
        bytes = .allocate(byteCount: max(utf8.reduce(0) { $0 + $1.count }, 1), alignment: 1)
        ends = .allocate(capacity: max(count, 1))
        var offset = 0
        for (index, string) in utf8.enumerated() {
            string.withUnsafeBytes { (bytes + offset).copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(bytes), byteCount: $0.count) }
            offset += string.count
            ends[index] = offset
        }
    }

    func deallocate() {
        bytes.deallocate()
        ends.deallocate()
    }

    /// Whether the validated JSON string `value` denotes one of the strings.
    @usableFromInline
    func contains(_ doc: UnsafeRawBufferPointer, _ value: JSONSlice) -> Bool {
        var start = 0
        for index in 0..<count {
            let end = ends[index]
            if JSONText.equal(doc, value, UnsafeRawBufferPointer(start: bytes + start, count: end - start)) { return true }
            start = end
        }
        return false
    }
}
