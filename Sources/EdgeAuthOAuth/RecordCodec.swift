import EdgeAuth

/// The records on the token endpoint's path, written and read with EdgeAuth's own JSON
/// (`JSONObjectWriter`, and the verifier's scanner) instead of Foundation's coders, which
/// cost a large share of a code exchange. The members are those `Codable` writes, so
/// either reads what the other wrote.
protocol StateRecord {
    init(document: JSONValue) throws(RecordError)
    func write(to writer: inout JSONObjectWriter)
}

extension StateRecord {
    /// The record's JSON.
    var encoded: [UInt8] {
        var writer = JSONObjectWriter()
        write(to: &writer)
        return writer.finished()
    }
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

extension AuthenticatedUser: StateRecord {
    init(document: JSONValue) throws(RecordError) {
        let reader = try RecordReader(document)
        self.init(subject: try reader.string("subject"), roles: try reader.strings("roles"), permissions: try reader.strings("permissions"),
                  scopes: try reader.strings("scopes"), email: reader.optionalString("email"), name: reader.optionalString("name"))
    }

    func write(to writer: inout JSONObjectWriter) {
        writer.string("subject", subject)
        writer.strings("roles", roles)
        writer.strings("permissions", permissions)
        writer.strings("scopes", scopes)
        writer.string("email", email)
        writer.string("name", name)
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

    func write(to writer: inout JSONObjectWriter) {
        writer.string("clientID", clientID)
        writer.string("redirectURI", redirectURI)
        writer.bool("redirectURIGiven", redirectURIGiven)
        writer.string("codeChallenge", codeChallenge)
        writer.object("user", user.write(to:))
        writer.strings("scopes", scopes)
        writer.string("resource", resource)
        writer.string("nonce", nonce)
        writer.integer("expiresAt", expiresAt)
        writer.string("grantID", grantID)
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

    func write(to writer: inout JSONObjectWriter) {
        writer.string("id", id)
        writer.string("clientID", clientID)
        writer.object("user", user.write(to:))
        writer.strings("scopes", scopes)
        writer.string("resource", resource)
        writer.integer("createdAt", createdAt)
        writer.integer("expiresAt", expiresAt)
        writer.strings("current", current)
        writer.string("previous", previous)
        writer.objects("accessTokens", accessTokens) { token, issued in
            token.string("jti", issued.jti)
            token.integer("expiresAt", issued.expiresAt)
        }
        writer.integer("revokedAt", revokedAt)
    }
}

extension RefreshTokenRecord: StateRecord {
    init(document: JSONValue) throws(RecordError) {
        let reader = try RecordReader(document)
        self.init(grantID: try reader.string("grantID"), expiresAt: try reader.integer("expiresAt"))
    }

    func write(to writer: inout JSONObjectWriter) {
        writer.string("grantID", grantID)
        writer.integer("expiresAt", expiresAt)
    }
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

    func write(to writer: inout JSONObjectWriter) {
        writer.string("clientID", clientID)
        writer.string("secretDigest", secretDigest)
        writer.string("name", name)
        writer.strings("redirectURIs", redirectURIs)
        writer.strings("grantTypes", grantTypes)
        writer.string("tokenEndpointAuthMethod", tokenEndpointAuthMethod)
        writer.string("applicationType", applicationType)
        writer.string("scope", scope)
        writer.integer("createdAt", createdAt)
        writer.string("registeredFrom", registeredFrom)
        writer.string("documentHost", documentHost)
    }
}
