/// The raw claims of a verified token, decoded only when asked for.
public struct Claims: Sendable, Hashable {
    /// The payload JSON exactly as signed.
    public let json: [UInt8]

    public init(json: [UInt8]) { self.json = json }

    /// All claims, decoded now.
    public var all: [String: JSONValue] {
        (try? JSONValue.parse(json))?.objectValue ?? [:]
    }

    /// One top-level claim, decoded now; nil when absent.
    public subscript(name: String) -> JSONValue? {
        json.withUnsafeBytes { doc -> JSONValue? in
            var reader = ValidatedReader(doc: doc, pos: 0)
            let object = reader.value()
            var name = name
            return name.withUTF8 { utf8 in
                JSONText.member(doc, object, UnsafeRawBufferPointer(utf8)).map { JSONValue.build(doc, $0) }
            }
        }
    }

    /// The value at an RFC 6901 JSON pointer (`/realm_access/roles`), decoded now.
    public func value(at pointer: String) -> JSONValue? {
        guard pointer.hasPrefix("/") else { return pointer.isEmpty ? try? JSONValue.parse(json) : nil }
        var current = try? JSONValue.parse(json)
        for rawToken in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard let token = unescapePointerToken(rawToken) else { return nil }
            switch current {
            case .object(let members)?: current = members[token]
            case .array(let items)?:
                guard let index = Int(token), items.indices.contains(index) else { return nil }
                current = items[index]
            default: return nil
            }
        }
        return current
    }
}

/// Unescapes one RFC 6901 reference token (`~1` is `/`, `~0` is `~`); nil for any other `~`.
func unescapePointerToken(_ token: Substring) -> String? {
    var out = ""
    var characters = token.makeIterator()
    while let character = characters.next() {
        guard character == "~" else {
            out.append(character)
            continue
        }
        switch characters.next() {
        case "0": out.append("~")
        case "1": out.append("/")
        default: return nil
        }
    }
    return out
}

/// The verified user every provider maps to (PROVIDERS.md "User context").
public struct Identity: Sendable, Hashable {
    /// The subject (`sub`).
    public var id: String
    public var email: String?
    public var name: String?
    public var username: String?
    public var picture: String?
    public var roles: [String]
    public var permissions: [String]
    /// OAuth scopes (`scope` split on spaces, or an `scp` array).
    public var scopes: [String]
    public var issuer: String
    public var audience: [String]
    /// `exp`, seconds since the epoch.
    public var expiresAt: Int64?
    /// `iat`, seconds since the epoch.
    public var issuedAt: Int64?
    /// The OAuth client the token was issued to (`client_id` or `azp`).
    public var clientId: String?
    public var organization: String?
    /// `jti`, the token's unique id.
    public var tokenId: String?
    /// False only when a development option skipped the signature check.
    public var signatureVerified: Bool
    /// Every claim, decoded on demand.
    public var claims: Claims

    public init(
        id: String, email: String? = nil, name: String? = nil, username: String? = nil, picture: String? = nil,
        roles: [String] = [], permissions: [String] = [], scopes: [String] = [],
        issuer: String, audience: [String] = [], expiresAt: Int64? = nil, issuedAt: Int64? = nil,
        clientId: String? = nil, organization: String? = nil, tokenId: String? = nil,
        signatureVerified: Bool = true, claims: Claims = Claims(json: Array("{}".utf8))
    ) {
        self.id = id
        self.email = email
        self.name = name
        self.username = username
        self.picture = picture
        self.roles = roles
        self.permissions = permissions
        self.scopes = scopes
        self.issuer = issuer
        self.audience = audience
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
        self.clientId = clientId
        self.organization = organization
        self.tokenId = tokenId
        self.signatureVerified = signatureVerified
        self.claims = claims
    }

    /// The standard-claims mapping (provider mappings refine it): `sub`, `email`,
    /// `name`, `preferred_username`, `picture`, `roles`, `permissions`, `scope`/`scp`,
    /// `client_id`/`azp`, `org_id`.
    public init(standardClaimsOf view: TokenView, signatureVerified: Bool = true) {
        let doc = view.payload
        let c = view.claims
        func string(_ slice: JSONSlice?) -> String? {
            guard let slice, slice.kind == .string else { return nil }
            return JSONText.string(doc, slice)
        }
        func strings(_ slice: JSONSlice?) -> [String] {
            guard let slice else { return [] }
            if slice.kind == .string { return [JSONText.string(doc, slice)] }
            var out = [String]()
            JSONText.forEachElement(doc, slice) { element in
                if element.kind == .string { out.append(JSONText.string(doc, element)) }
                return true
            }
            return out
        }
        // One pass over the payload for the non-registered claims the mapping reads.
        var email, name, username, picture, roles, permissions, scp, organization: JSONSlice?
        JSONText.forEachMember(doc, view.payloadObject) { key, value in
            if nameIs(doc, key, "email") { email = value }
            else if nameIs(doc, key, "name") { name = value }
            else if nameIs(doc, key, "preferred_username") { username = value }
            else if nameIs(doc, key, "picture") { picture = value }
            else if nameIs(doc, key, "roles") { roles = value }
            else if nameIs(doc, key, "permissions") { permissions = value }
            else if nameIs(doc, key, "scp") { scp = value }
            else if nameIs(doc, key, "org_id") { organization = value }
            return true
        }
        var scopes = c.scope.map { Self.spaceSeparated(doc, $0) } ?? []
        if scopes.isEmpty { scopes = strings(scp) }
        self.init(
            id: string(c.sub) ?? "",
            email: string(email),
            name: string(name),
            username: string(username),
            picture: string(picture),
            roles: strings(roles),
            permissions: strings(permissions),
            scopes: scopes,
            issuer: string(c.iss) ?? "",
            audience: strings(c.aud),
            expiresAt: c.exp,
            issuedAt: c.iat,
            clientId: string(c.clientID) ?? string(c.azp),
            organization: string(organization),
            tokenId: string(c.jti),
            signatureVerified: signatureVerified,
            claims: Claims(json: Array(doc))
        )
    }

    /// The words of a space-separated JSON string (OAuth `scope`), split on bytes.
    static func spaceSeparated(_ doc: UnsafeRawBufferPointer, _ slice: JSONSlice) -> [String] {
        guard slice.kind == .string else { return [] }
        if slice.hasEscapes {
            return JSONText.string(doc, slice).split(separator: " ").map(String.init)
        }
        var words = [String]()
        var start = slice.start
        for i in slice.start...slice.end where i == slice.end || doc[i] == UInt8(ascii: " ") {
            if i > start { words.append(String(decoding: UnsafeRawBufferPointer(rebasing: doc[start..<i]), as: UTF8.self)) }
            start = i + 1
        }
        return words
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
}

/// The outcome of verifying a token: a value, never a thrown error.
public enum Verdict: Sendable, Hashable {
    case valid(Identity)
    case rejected(Reason)

    public var identity: Identity? {
        if case .valid(let identity) = self { return identity }
        return nil
    }

    public var reason: Reason? {
        if case .rejected(let reason) = self { return reason }
        return nil
    }
}
