/// The verified user every provider maps to (docs/providers/README.md).
///
/// Built once per verified token in a single allocation (`IdentityStorage`):
/// the payload exactly as signed, for `claims`, and every mapped field already
/// unescaped. Reading a field decodes no JSON; the list properties build their
/// arrays when read, and `hasRole`/`hasPermission`/`hasScope` compare bytes
/// without allocating.
public struct Identity: @unchecked Sendable, Hashable {
    /// Immutable after it is built (ManagedBuffer cannot declare Sendable itself).
    package let storage: IdentityStorage

    package init(storage: IdentityStorage) { self.storage = storage }

    /// The subject (`sub`); empty when the token has none.
    public var id: String { storage.string(.subject) ?? "" }
    public var email: String? { storage.string(.email) }
    public var name: String? { storage.string(.name) }
    public var username: String? { storage.string(.username) }
    public var picture: String? { storage.string(.picture) }
    public var roles: [String] { storage.strings(.roles) }
    public var permissions: [String] { storage.strings(.permissions) }
    /// OAuth scopes (`scope` split on spaces, or an `scp` array).
    public var scopes: [String] { storage.strings(.scopes) }
    /// The issuer (`iss`); empty when the token has none.
    public var issuer: String { storage.string(.issuer) ?? "" }
    public var audience: [String] { storage.strings(.audience) }
    /// `exp`, seconds since the epoch.
    public var expiresAt: Int64? { storage.fixedHeader.expiresAt }
    /// `iat`, seconds since the epoch.
    public var issuedAt: Int64? { storage.fixedHeader.issuedAt }
    /// `nbf`, seconds since the epoch.
    public var notBefore: Int64? { storage.fixedHeader.notBefore }
    /// The OAuth client the token was issued to (`client_id` or `azp`).
    public var clientId: String? { storage.string(.clientId) }
    public var organization: String? { storage.string(.organization) }
    /// `jti`, the token's unique id.
    public var tokenId: String? { storage.string(.tokenId) }
    /// False only when a development option skipped the signature check.
    public var signatureVerified: Bool { storage.fixedHeader.signatureVerified }
    /// Every claim, decoded on demand.
    public var claims: TokenClaims { unsafe TokenClaims(json: storage.withPayload { unsafe Array($0) }) }

    /// Whether `roles` contains `role` exactly (no allocation).
    public func hasRole(_ role: some StringProtocol) -> Bool { storage.contains(.roles, role) }
    /// Whether `permissions` contains `permission` exactly (no allocation).
    public func hasPermission(_ permission: some StringProtocol) -> Bool { storage.contains(.permissions, permission) }
    /// Whether `scopes` contains `scope` exactly (no allocation).
    public func hasScope(_ scope: some StringProtocol) -> Bool { storage.contains(.scopes, scope) }
    /// Whether `audience` contains `audience` exactly (no allocation).
    public func hasAudience(_ audience: some StringProtocol) -> Bool { storage.contains(.audience, audience) }

    /// An identity from values rather than a token (tests, tools, development mode):
    /// the values are written as a claims document and mapped like a token's payload.
    public init(
        id: String, email: String? = nil, name: String? = nil, username: String? = nil, picture: String? = nil,
        roles: [String] = [], permissions: [String] = [], scopes: [String] = [],
        issuer: String, audience: [String] = [], expiresAt: Int64? = nil, issuedAt: Int64? = nil,
        clientId: String? = nil, organization: String? = nil, tokenId: String? = nil,
        signatureVerified: Bool = true
    ) {
        var claims: [String: JSONValue] = ["sub": .string(id), "iss": .string(issuer)]
        let optionals: [(String, String?)] = [
            ("email", email), ("name", name), ("preferred_username", username), ("picture", picture),
            ("client_id", clientId), ("org_id", organization), ("jti", tokenId),
        ]
        for case let (claim, value?) in optionals { claims[claim] = .string(value) }
        if !roles.isEmpty { claims["roles"] = .array(roles.map(JSONValue.string)) }
        if !permissions.isEmpty { claims["permissions"] = .array(permissions.map(JSONValue.string)) }
        // An array keeps scopes that contain spaces intact.
        if !scopes.isEmpty { claims["scp"] = .array(scopes.map(JSONValue.string)) }
        if !audience.isEmpty { claims["aud"] = .array(audience.map(JSONValue.string)) }
        if let expiresAt { claims["exp"] = .number(String(expiresAt)) }
        if let issuedAt { claims["iat"] = .number(String(issuedAt)) }
        let payload = Array(JSONValue.object(claims).jsonText.utf8)
        // The document was just written from valid values: it always scans.
        self = try! Identity(standardClaimsOfPayload: payload, signatureVerified: signatureVerified)
    }

    /// The standard mapping of a claims document that has not been through `TokenView`
    /// (it is scanned with the token rules first).
    public init(standardClaimsOfPayload payload: [UInt8], signatureVerified: Bool = true) throws(Reason) {
        let result: Result<Identity, Reason> = unsafe payload.withUnsafeBytes { doc in
            let limits = JSONLimits()
            return unsafe withUnsafeTemporaryAllocation(of: MemberName.self, capacity: limits.maxMembers) { names in
                do throws(Malformation) {
                    var claims = RegisteredClaims()
                    if let reason = try unsafe ClaimScanner.scan(doc, into: &claims, limits: limits, names: names) { return .failure(reason) }
                    return unsafe .success(Identity(standardClaimsOf: doc, claims: claims, signatureVerified: signatureVerified))
                } catch {
                    return .failure(.malformed(error))
                }
            }
        }
        self = try result.get()
    }

    /// The standard-claims mapping (provider mappings refine it): `sub`, `email`,
    /// `name`, `preferred_username`, `picture`, `roles`, `permissions`, `scope`/`scp`,
    /// `client_id`/`azp`, `org_id`.
    public init(standardClaimsOf view: TokenView, signatureVerified: Bool = true) {
        unsafe self.init(standardClaimsOf: view.payload, claims: view.claims, signatureVerified: signatureVerified)
    }

    init(standardClaimsOf doc: UnsafeRawBufferPointer, claims c: RegisteredClaims, signatureVerified: Bool) {
        var sources = IdentitySources(registered: c, signatureVerified: signatureVerified)
        sources.subject = c.sub
        sources.email = c.email
        sources.name = c.name
        sources.username = c.preferredUsername
        sources.picture = c.picture
        sources.roles = c.roles
        sources.permissions = c.permissions
        sources.organization = c.orgID
        // `scope` (space-separated) wins; an `scp` array (Okta, Azure) otherwise.
        sources.scopes = c.scope.flatMap { unsafe Self.hasWord(doc, $0) ? $0 : nil } ?? c.scp
        unsafe self.init(storage: IdentityStorage.make(payload: doc, sources: sources))
    }

    /// Whether a space-separated string holds at least one word.
    static func hasWord(_ doc: UnsafeRawBufferPointer, _ slice: JSONSlice) -> Bool {
        var bytes = unsafe JSONText.UnescapedBytes(doc: doc, slice: slice)
        while let byte = unsafe bytes.next() {
            if byte != UInt8(ascii: " ") { return true }
        }
        return false
    }

    /// The identity as a JSON object (for CLIs, logs of non-secret data, and handlers).
    public var jsonValue: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id),
            "roles": .array(roles.map(JSONValue.string)),
            "permissions": .array(permissions.map(JSONValue.string)),
            "scopes": .array(scopes.map(JSONValue.string)),
            "issuer": .string(issuer),
            "audience": .array(audience.map(JSONValue.string)),
            "signatureVerified": .bool(signatureVerified),
        ]
        if let email { object["email"] = .string(email) }
        if let name { object["name"] = .string(name) }
        if let username { object["username"] = .string(username) }
        if let picture { object["picture"] = .string(picture) }
        if let expiresAt { object["expiresAt"] = .number(String(expiresAt)) }
        if let issuedAt { object["issuedAt"] = .number(String(issuedAt)) }
        if let clientId { object["clientId"] = .string(clientId) }
        if let organization { object["organization"] = .string(organization) }
        if let tokenId { object["tokenId"] = .string(tokenId) }
        return .object(object)
    }

    /// `jsonValue` as compact JSON text, written directly (members in the same, sorted,
    /// order): what a server answers per request, without building a dictionary.
    public var jsonText: String {
        var bytes = [UInt8]()
        writeJSON(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `jsonText`'s bytes to `out`, straight from the identity's stored strings.
    public func writeJSON(to out: inout [UInt8]) {
        let bound = jsonByteBound
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bound))
        let written = unsafe out.withUnsafeMutableBytes { unsafe writeJSON(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        out.removeLast(bound - written)
    }

    /// The most bytes `jsonText` can take: every string byte escaped as `\u00XX`.
    package var jsonByteBound: Int {
        let header = storage.fixedHeader
        // Keys, punctuation and numbers take under 400 bytes; each entry at most 6 bytes per byte plus quotes and a comma.
        return 400 + header.entryCount * 3 + (header.byteCount - header.payloadCount) * 6
    }

    /// Writes `jsonText`'s bytes at the start of `room` (at least `jsonByteBound` bytes)
    /// through a pointer, straight from the identity's stored strings; returns their count.
    package func writeJSON(into room: UnsafeMutableRawBufferPointer) -> Int {
        let storage = storage
        let header = storage.fixedHeader
        precondition(room.count >= jsonByteBound, "writeJSON(into:) needs jsonByteBound bytes")
        let written = unsafe room.withMemoryRebound(to: UInt8.self) { buffer in
            var out = unsafe IdentityJSONWriter(storage: storage, writer: JSONWriter(cursor: buffer.baseAddress!))
            unsafe out.writer.byte(UInt8(ascii: "{"))
            unsafe out.list("audience", .audience)
            unsafe out.field("clientId", .clientId)
            unsafe out.field("email", .email)
            unsafe out.number("expiresAt", header.expiresAt)
            unsafe out.field("id", .subject, orEmpty: true)
            unsafe out.number("issuedAt", header.issuedAt)
            unsafe out.field("issuer", .issuer, orEmpty: true)
            unsafe out.field("name", .name)
            unsafe out.field("organization", .organization)
            unsafe out.list("permissions", .permissions)
            unsafe out.field("picture", .picture)
            unsafe out.list("roles", .roles)
            unsafe out.list("scopes", .scopes)
            unsafe out.key("signatureVerified")
            let flag: StaticString = header.signatureVerified ? "true" : "false"
            unsafe out.writer.bytes(UnsafeRawBufferPointer(start: flag.utf8Start, count: flag.utf8CodeUnitCount))
            unsafe out.field("tokenId", .tokenId)
            unsafe out.field("username", .username)
            unsafe out.writer.byte(UInt8(ascii: "}"))
            return unsafe out.writer.cursor - buffer.baseAddress!
        }
        return written
    }

    public static func == (a: Identity, b: Identity) -> Bool { a.storage.isEqual(to: b.storage) }
    public func hash(into hasher: inout Hasher) { storage.hash(into: &hasher) }
}

/// `Identity.writeJSON(into:)`'s members, one after the other. A struct with mutating
/// methods rather than nested functions: those would capture the writer and the comma flag
/// in boxes whose every use is an exclusivity check at run time.
@unsafe private struct IdentityJSONWriter {
    let storage: IdentityStorage
    var writer: JSONWriter
    var first = true

    mutating func key(_ name: StaticString) {
        if unsafe !first { unsafe writer.byte(UInt8(ascii: ",")) }
        unsafe first = false
        unsafe writer.byte(UInt8(ascii: "\""))
        unsafe writer.bytes(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        unsafe writer.byte(UInt8(ascii: "\""))
        unsafe writer.byte(UInt8(ascii: ":"))
    }

    mutating func field(_ name: StaticString, _ field: IdentityField, orEmpty: Bool = false) {
        if let bytes = unsafe storage.entry(field) {
            unsafe key(name)
            unsafe writer.string(bytes)
        } else if orEmpty {
            unsafe key(name)
            unsafe writer.string(UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    mutating func list(_ name: StaticString, _ list: IdentityList) {
        unsafe key(name)
        unsafe writer.byte(UInt8(ascii: "["))
        let range = unsafe storage.range(list)
        for index in range {
            if index != range.lowerBound { unsafe writer.byte(UInt8(ascii: ",")) }
            unsafe writer.string(storage.entry(index)!)
        }
        unsafe writer.byte(UInt8(ascii: "]"))
    }

    mutating func number(_ name: StaticString, _ value: Int64?) {
        guard let value else { return }
        unsafe key(name)
        unsafe writer.decimal(value)
    }
}
