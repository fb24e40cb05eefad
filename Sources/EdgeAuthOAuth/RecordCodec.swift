import EdgeAuth

/// The records on the token endpoint's path, written and read with EdgeAuth's own JSON
/// (the scanner of the verifier and `JSONValue.jsonText`) instead of Foundation's coders,
/// which cost a large share of a code exchange. The members are those `Codable` writes, so
/// either reads what the other wrote.
protocol StateRecord {
    init(document: JSONValue) throws(RecordError)
    var document: JSONValue { get }
}

struct RecordError: Error, CustomStringConvertible {
    let description: String
}

/// Reading members of a record's object.
struct RecordReader {
    let members: [String: JSONValue]

    init(_ document: JSONValue) throws(RecordError) {
        guard case .object(let members) = document else { throw RecordError(description: "a record must be an object") }
        self.members = members
    }

    func string(_ name: String) throws(RecordError) -> String {
        guard let value = members[name]?.stringValue else { throw RecordError(description: "\(name) must be a string") }
        return value
    }

    func optionalString(_ name: String) -> String? { members[name]?.stringValue }

    func integer(_ name: String) throws(RecordError) -> Int64 {
        guard case .number(let text)? = members[name], let value = Int64(text) else { throw RecordError(description: "\(name) must be an integer") }
        return value
    }

    func optionalInteger(_ name: String) -> Int64? {
        guard case .number(let text)? = members[name] else { return nil }
        return Int64(text)
    }

    func bool(_ name: String) throws(RecordError) -> Bool {
        guard let value = members[name]?.boolValue else { throw RecordError(description: "\(name) must be a boolean") }
        return value
    }

    func strings(_ name: String) throws(RecordError) -> [String] {
        guard case .array(let items)? = members[name] else { throw RecordError(description: "\(name) must be an array") }
        return items.compactMap(\.stringValue)
    }

    func object(_ name: String) throws(RecordError) -> JSONValue {
        guard let value = members[name], case .object = value else { throw RecordError(description: "\(name) must be an object") }
        return value
    }

    func array(_ name: String) throws(RecordError) -> [JSONValue] {
        guard case .array(let items)? = members[name] else { throw RecordError(description: "\(name) must be an array") }
        return items
    }
}

/// Building a record's object; optional members left out when nil, as `Codable` does.
struct RecordWriter {
    var members: [String: JSONValue] = [:]

    mutating func set(_ name: String, _ value: String?) { if let value { members[name] = .string(value) } }
    mutating func set(_ name: String, _ value: Int64?) { if let value { members[name] = .number(String(value)) } }
    mutating func set(_ name: String, _ value: Bool) { members[name] = .bool(value) }
    mutating func set(_ name: String, _ value: [String]) { members[name] = .array(value.map(JSONValue.string)) }
    mutating func set(_ name: String, _ value: JSONValue) { members[name] = value }

    var document: JSONValue { .object(members) }
}

extension AuthenticatedUser: StateRecord {
    init(document: JSONValue) throws(RecordError) {
        let reader = try RecordReader(document)
        self.init(subject: try reader.string("subject"), roles: try reader.strings("roles"), permissions: try reader.strings("permissions"),
                  scopes: try reader.strings("scopes"), email: reader.optionalString("email"), name: reader.optionalString("name"))
    }

    var document: JSONValue {
        var writer = RecordWriter()
        writer.set("subject", subject)
        writer.set("roles", roles)
        writer.set("permissions", permissions)
        writer.set("scopes", scopes)
        writer.set("email", email)
        writer.set("name", name)
        return writer.document
    }
}

extension CodeRecord: StateRecord {
    init(document: JSONValue) throws(RecordError) {
        let reader = try RecordReader(document)
        self.init(clientID: try reader.string("clientID"), redirectURI: try reader.string("redirectURI"), redirectURIGiven: try reader.bool("redirectURIGiven"),
                  codeChallenge: try reader.string("codeChallenge"), user: try AuthenticatedUser(document: try reader.object("user")),
                  scopes: try reader.strings("scopes"), resource: try reader.string("resource"), nonce: reader.optionalString("nonce"),
                  expiresAt: try reader.integer("expiresAt"), grantID: reader.optionalString("grantID"))
    }

    var document: JSONValue {
        var writer = RecordWriter()
        writer.set("clientID", clientID)
        writer.set("redirectURI", redirectURI)
        writer.set("redirectURIGiven", redirectURIGiven)
        writer.set("codeChallenge", codeChallenge)
        writer.set("user", user.document)
        writer.set("scopes", scopes)
        writer.set("resource", resource)
        writer.set("nonce", nonce)
        writer.set("expiresAt", expiresAt)
        writer.set("grantID", grantID)
        return writer.document
    }
}

extension GrantRecord: StateRecord {
    init(document: JSONValue) throws(RecordError) {
        let reader = try RecordReader(document)
        var issued: [IssuedAccessToken] = []
        for item in try reader.array("accessTokens") {
            let token = try RecordReader(item)
            issued.append(IssuedAccessToken(jti: try token.string("jti"), expiresAt: try token.integer("expiresAt")))
        }
        self.init(id: try reader.string("id"), clientID: try reader.string("clientID"), user: try AuthenticatedUser(document: try reader.object("user")),
                  scopes: try reader.strings("scopes"), resource: try reader.string("resource"), createdAt: try reader.integer("createdAt"),
                  expiresAt: try reader.integer("expiresAt"), current: try reader.strings("current"), previous: reader.optionalString("previous"),
                  accessTokens: issued, revokedAt: reader.optionalInteger("revokedAt"))
    }

    var document: JSONValue {
        var writer = RecordWriter()
        writer.set("id", id)
        writer.set("clientID", clientID)
        writer.set("user", user.document)
        writer.set("scopes", scopes)
        writer.set("resource", resource)
        writer.set("createdAt", createdAt)
        writer.set("expiresAt", expiresAt)
        writer.set("current", current)
        writer.set("previous", previous)
        writer.set("accessTokens", .array(accessTokens.map { ["jti": .string($0.jti), "expiresAt": .number(String($0.expiresAt))] }))
        writer.set("revokedAt", revokedAt)
        return writer.document
    }
}

extension RefreshTokenRecord: StateRecord {
    init(document: JSONValue) throws(RecordError) {
        let reader = try RecordReader(document)
        self.init(grantID: try reader.string("grantID"), expiresAt: try reader.integer("expiresAt"))
    }

    var document: JSONValue { ["grantID": .string(grantID), "expiresAt": .number(String(expiresAt))] }
}

extension ClientRecord: StateRecord {
    init(document: JSONValue) throws(RecordError) {
        let reader = try RecordReader(document)
        self.init(clientID: try reader.string("clientID"), secretDigest: reader.optionalString("secretDigest"), name: reader.optionalString("name"),
                  redirectURIs: try reader.strings("redirectURIs"), grantTypes: try reader.strings("grantTypes"),
                  tokenEndpointAuthMethod: try reader.string("tokenEndpointAuthMethod"), applicationType: try reader.string("applicationType"),
                  scope: reader.optionalString("scope"), createdAt: try reader.integer("createdAt"), registeredFrom: reader.optionalString("registeredFrom"),
                  documentHost: reader.optionalString("documentHost"))
    }

    var document: JSONValue {
        var writer = RecordWriter()
        writer.set("clientID", clientID)
        writer.set("secretDigest", secretDigest)
        writer.set("name", name)
        writer.set("redirectURIs", redirectURIs)
        writer.set("grantTypes", grantTypes)
        writer.set("tokenEndpointAuthMethod", tokenEndpointAuthMethod)
        writer.set("applicationType", applicationType)
        writer.set("scope", scope)
        writer.set("createdAt", createdAt)
        writer.set("registeredFrom", registeredFrom)
        writer.set("documentHost", documentHost)
        return writer.document
    }
}
