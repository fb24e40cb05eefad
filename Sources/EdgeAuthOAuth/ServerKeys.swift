import EdgeAuth
import EdgeAuthCache
import Foundation

/// The keys the authorization server holds, kept in the state store so that every worker
/// (and later every node sharing the store) uses the same ones: the access-token signing
/// keys (the newest signs, the retired ones stay published in `/jwks` until their last
/// token expired) and the secret that signs consent tokens. Generated on first start.
public struct ServerKeys: Sendable {
    /// The key that signs new tokens.
    public let signing: SigningKey
    public let algorithm: Algorithm
    /// The public JWKs of every key still published (`/jwks`, and what the verifier trusts).
    public let published: [JSONValue]
    /// Signs and checks consent tokens.
    let consent: SigningKey
    /// The signing key's JOSE headers, encoded.
    let headers: AccessTokenMinter.Headers

    /// A key as `edgeauth keys list` shows it.
    public struct Summary: Sendable {
        public let kid: String
        public let use: String
        public let algorithm: String
        public let createdAt: Int64
        public let retiredAt: Int64?
        public let current: Bool
    }

    /// The keys in `store`, created when missing (a signing key of `algorithm` and the consent secret).
    /// - Parameter publishFor: how long a retired key stays published (the longest token lifetime).
    /// - Parameter signingKeyID: the key to sign with when it is still in the store (every
    ///   worker of a generation signs with the same key, even when a rotation happened since
    ///   it started); nil or gone: the current key.
    public static func load(_ store: any StateStore, algorithm: OAuthSettings.SigningAlgorithm, publishFor: Int64, signingKeyID: String? = nil,
                            now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> ServerKeys {
        let keys = try store.write { writer -> [KeyRecord] in
            var records = try writer.records(KeyRecord.self, .keys).map(\.value)
            if !records.contains(where: { $0.use == .signing && $0.retiredAt == nil && $0.algorithm == algorithm.rawValue }) {
                // A changed algorithm retires the old key like a rotation.
                for index in records.indices where records[index].use == .signing && records[index].retiredAt == nil {
                    records[index].retiredAt = now
                    try writer.save(records[index], .keys, records[index].kid)
                }
                let created = try newSigningKey(algorithm, now: now)
                try writer.save(created, .keys, created.kid)
                records.append(created)
            }
            if !records.contains(where: { $0.use == .consent }) {
                let secret = KeyRecord(kid: "consent-" + Secrets.random(bytes: 9), use: .consent, algorithm: "HS256",
                                       sealed: try KeySealing.seal(Secrets.randomBytes(32)), createdAt: now)
                try writer.save(secret, .keys, secret.kid)
                records.append(secret)
            }
            return records
        }
        return try ServerKeys(records: keys, algorithm: algorithm, publishFor: publishFor, signingKeyID: signingKeyID, now: now)
    }

    private init(records: [KeyRecord], algorithm chosen: OAuthSettings.SigningAlgorithm, publishFor: Int64, signingKeyID: String?, now: Int64) throws {
        let pinned = records.first { $0.kid == signingKeyID && $0.use == .signing }
        guard let current = pinned ?? Self.current(records, chosen),
              let consentRecord = records.first(where: { $0.use == .consent })
        else { throw OAuthError(.serverError, "the state store has no current signing key") }
        signing = try SigningKey.load(pem: String(decoding: try KeySealing.open(current.sealed), as: UTF8.self), kid: current.kid)
        algorithm = current.algorithm == "EdDSA" ? .edDSA : .es256
        headers = AccessTokenMinter.Headers(algorithm: algorithm, kid: current.kid)
        consent = SigningKey.hmac(secret: try KeySealing.open(consentRecord.sealed), kid: consentRecord.kid)
        var published: [JSONValue] = []
        for record in records where record.use == .signing && (record.retiredAt.map { $0 + publishFor > now } ?? true) {
            let key = try SigningKey.load(pem: String(decoding: try KeySealing.open(record.sealed), as: UTF8.self), kid: record.kid)
            published.append(try key.publicJWK(alg: record.algorithm == "EdDSA" ? .edDSA : .es256))
        }
        self.published = published
    }

    private static func current(_ records: [KeyRecord], _ algorithm: OAuthSettings.SigningAlgorithm) -> KeyRecord? {
        records.filter { $0.use == .signing && $0.retiredAt == nil && $0.algorithm == algorithm.rawValue }.max { $0.createdAt < $1.createdAt }
    }

    /// The id of the key new tokens are signed with now.
    public static func currentSigningKeyID(_ store: any StateStore, algorithm: OAuthSettings.SigningAlgorithm) throws -> String? {
        try store.read { reader in current(try reader.records(KeyRecord.self, .keys).map(\.value), algorithm)?.kid }
    }

    /// The JWKS document of the published keys.
    public var jwks: JSONValue { ["keys": .array(published)] }

    private static func newSigningKey(_ algorithm: OAuthSettings.SigningAlgorithm, now: Int64) throws -> KeyRecord {
        let kid = "edgeauth-" + Secrets.random(bytes: 9)
        let key = try SigningKey.generate(algorithm == .es256 ? .ec(.p256) : .ed25519, kid: kid)
        return KeyRecord(kid: kid, use: .signing, algorithm: algorithm.rawValue, sealed: try KeySealing.seal(Array(try key.privateKeyPEM().utf8)), createdAt: now)
    }

    /// Adds a new current signing key; the previous one is retired but stays published (`edgeauth keys rotate`).
    @discardableResult
    public static func rotate(_ store: any StateStore, algorithm: OAuthSettings.SigningAlgorithm, now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> String {
        try store.write { writer in
            for (kid, var record) in try writer.records(KeyRecord.self, .keys) where record.use == .signing && record.retiredAt == nil {
                record.retiredAt = now
                try writer.save(record, .keys, kid)
            }
            let created = try newSigningKey(algorithm, now: now)
            try writer.save(created, .keys, created.kid)
            return created.kid
        }
    }

    /// Every key, newest first (`edgeauth keys list`).
    public static func list(_ store: any StateStore) throws -> [Summary] {
        try store.read { reader in
            try reader.records(KeyRecord.self, .keys).map(\.value).sorted { $0.createdAt > $1.createdAt }.map {
                Summary(kid: $0.kid, use: $0.use.rawValue, algorithm: $0.algorithm, createdAt: $0.createdAt, retiredAt: $0.retiredAt,
                        current: $0.retiredAt == nil)
            }
        }
    }

    /// Removes retired keys whose last token expired.
    static func sweep(_ writer: any StateWriting, publishFor: Int64, now: Int64) throws -> Int {
        var removed = 0
        for (kid, record) in try writer.records(KeyRecord.self, .keys) where record.use == .signing {
            if let retired = record.retiredAt, retired + publishFor <= now, try writer.delete(.keys, kid) { removed += 1 }
        }
        return removed
    }
}

/// How key material is kept in the state store. The LMDB store lives in one host's data
/// directory (mode 0700, files 0600) and its keys are kept as they are; a store shared
/// between hosts seals them with a key of its own (docs/oauth-modes.md).
enum KeySealing {
    static func seal(_ material: [UInt8]) throws -> String {
        "local:" + Base64URL.encode(material)
    }

    static func open(_ sealed: String) throws -> [UInt8] {
        guard sealed.hasPrefix("local:"), let bytes = try? Base64URL.decode(sealed.dropFirst(6)) else {
            throw OAuthError(.serverError, "a key in the state store is sealed in a form this EdgeAuth cannot open")
        }
        return bytes
    }
}
