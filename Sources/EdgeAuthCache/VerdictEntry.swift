import EdgeAuthCore

/// One cached verdict as stored in LMDB:
/// `kind u8 | expiry i64 | generation u64 | body`, little-endian; the body is a
/// compact `Identity` (kind 1) or a reason code (kind 2).
struct VerdictEntry {
    enum Content {
        case identity(Identity)
        case negative(Reason)
    }

    var expiry: Int64
    var generation: UInt64
    var content: Content

    var encoded: [UInt8] {
        var writer = BinaryWriter()
        switch content {
        case .identity: writer.byte(1)
        case .negative: writer.byte(2)
        }
        writer.int64(expiry)
        writer.int64(Int64(bitPattern: generation))
        switch content {
        case .identity(let identity): IdentityCoding.write(identity, to: &writer)
        case .negative(let reason): writer.string(reason.code)
        }
        return writer.bytes
    }

    /// The expiry alone, for sweeps.
    static func expiry(of raw: UnsafeRawBufferPointer) -> Int64? {
        var reader = BinaryReader(raw)
        _ = reader.byte()
        return reader.int64()
    }

    static func decode(_ raw: UnsafeRawBufferPointer) -> VerdictEntry? {
        var reader = BinaryReader(raw)
        guard let kind = reader.byte(), let expiry = reader.int64(), let generation = reader.int64() else { return nil }
        let content: Content
        switch kind {
        case 1:
            guard let identity = IdentityCoding.read(&reader) else { return nil }
            content = .identity(identity)
        case 2:
            guard let code = reader.string(), let reason = negativeReason(code) else { return nil }
            content = .negative(reason)
        default:
            return nil
        }
        guard reader.isAtEnd else { return nil }
        return VerdictEntry(expiry: expiry, generation: UInt64(bitPattern: generation), content: content)
    }

    static func negativeReason(_ code: String) -> Reason? {
        switch code {
        case "badSignature": return .badSignature
        case "unsecured": return .unsecured
        default:
            guard code.hasPrefix("malformed."), let malformation = Malformation(rawValue: String(code.dropFirst(10))) else { return nil }
            return .malformed(malformation)
        }
    }
}

/// The compact binary form of an `Identity`.
enum IdentityCoding {
    static func write(_ identity: Identity, to writer: inout BinaryWriter) {
        writer.string(identity.id)
        for optional in [identity.email, identity.name, identity.username, identity.picture, identity.clientId, identity.organization, identity.tokenId] {
            writer.optionalString(optional)
        }
        for list in [identity.roles, identity.permissions, identity.scopes, identity.audience] {
            writer.int64(Int64(list.count))
            for item in list { writer.string(item) }
        }
        writer.string(identity.issuer)
        writer.optionalInt64(identity.expiresAt)
        writer.optionalInt64(identity.issuedAt)
        writer.byte(identity.signatureVerified ? 1 : 0)
        writer.bytes(identity.claims.json)
    }

    static func read(_ reader: inout BinaryReader) -> Identity? {
        guard let id = reader.string(),
              let email = reader.optionalString(), let name = reader.optionalString(), let username = reader.optionalString(),
              let picture = reader.optionalString(), let clientId = reader.optionalString(),
              let organization = reader.optionalString(), let tokenId = reader.optionalString(),
              let roles = reader.strings(), let permissions = reader.strings(), let scopes = reader.strings(),
              let audience = reader.strings(),
              let issuer = reader.string(), let expiresAt = reader.optionalInt64(), let issuedAt = reader.optionalInt64(),
              let verified = reader.byte(), let claims = reader.bytes()
        else { return nil }
        return Identity(
            id: id, email: email, name: name, username: username, picture: picture,
            roles: roles, permissions: permissions, scopes: scopes, issuer: issuer, audience: audience,
            expiresAt: expiresAt, issuedAt: issuedAt, clientId: clientId, organization: organization, tokenId: tokenId,
            signatureVerified: verified == 1, claims: Claims(json: claims)
        )
    }
}

struct BinaryWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func int64(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func bytes(_ value: [UInt8]) {
        int64(Int64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ value: String) { bytes(Array(value.utf8)) }

    /// A presence flag, then the value when present.
    mutating func optional<T>(_ value: T?, _ write: (inout BinaryWriter, T) -> Void) {
        guard let value else { return byte(0) }
        byte(1)
        write(&self, value)
    }

    mutating func optionalString(_ value: String?) { optional(value) { $0.string($1) } }
    mutating func optionalInt64(_ value: Int64?) { optional(value) { $0.int64($1) } }
}

/// Reads what `BinaryWriter` wrote; every read is bounds-checked (a cache file may be damaged).
struct BinaryReader {
    let raw: UnsafeRawBufferPointer
    var offset = 0

    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

    var remaining: Int { raw.count - offset }
    var isAtEnd: Bool { offset == raw.count }

    mutating func byte() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return raw[offset]
    }

    mutating func int64() -> Int64? {
        guard remaining >= 8 else { return nil }
        defer { offset += 8 }
        return Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    mutating func bytes() -> [UInt8]? {
        guard let count = int64(), count >= 0, count <= Int64(remaining) else { return nil }
        defer { offset += Int(count) }
        return Array(raw[offset..<(offset + Int(count))])
    }

    /// A length-prefixed string, decoded straight from the borrowed bytes.
    mutating func string() -> String? {
        guard let count = int64(), count >= 0, count <= Int64(remaining) else { return nil }
        defer { offset += Int(count) }
        return String(decoding: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + Int(count))]), as: UTF8.self)
    }

    /// A count-prefixed list of strings.
    mutating func strings() -> [String]? {
        guard let count = int64(), count >= 0, count <= Int64(remaining) else { return nil }
        var list = [String]()
        list.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let item = string() else { return nil }
            list.append(item)
        }
        return list
    }

    /// `.some(nil)` for an absent value, `nil` for a damaged entry.
    mutating func optional<T>(_ read: (inout BinaryReader) -> T?) -> T?? {
        guard let flag = byte() else { return nil }
        if flag == 0 { return .some(nil) }
        guard flag == 1, let value = read(&self) else { return nil }
        return .some(value)
    }

    mutating func optionalString() -> String?? { optional { $0.string() } }
    mutating func optionalInt64() -> Int64?? { optional { $0.int64() } }
}
