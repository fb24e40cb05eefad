/// The single-valued fields of an identity, in the order of the entry table.
package enum IdentityField: Int, CaseIterable, Sendable {
    case subject, issuer, email, name, username, picture, clientId, organization, tokenId
}

/// The list fields of an identity, stored after the single-valued ones.
public enum IdentityList: Int, CaseIterable, Sendable {
    case roles, permissions, scopes, audience
}

package struct IdentityHeader: Equatable, Sendable {
    /// Bytes of the tail in use: payload, entry table, strings.
    var byteCount: Int
    /// The payload JSON is `tail[0..<payloadCount]`; the entry table follows it.
    var payloadCount: Int
    var entryCount: Int
    /// Entry index where each `IdentityList` ends; the first starts after the single fields.
    var listEnds: SIMD4<Int32>
    var expiresAt: Int64?
    var issuedAt: Int64?
    var notBefore: Int64?
    var signatureVerified: Bool
}

/// One allocation per identity: the header, then in the tail the payload JSON,
/// an entry table of `(offset u32, length u32)` (offset `UInt32.max`: absent) and
/// the unescaped, NUL-terminated strings the entries point to. Immutable once
/// built, so it is shared between threads freely; the C library hands out its
/// strings as `const char *` that live as long as the object.
package final class IdentityStorage: ManagedBuffer<IdentityHeader, UInt8> {
    static let absent = UInt32.max

    // MARK: Reading

    /// The header, read through its pointer. It never changes after `create`, and a read of
    /// `header` (a stored `var` of a class) is an exclusivity check at run time.
    package var fixedHeader: IdentityHeader { unsafe withUnsafeMutablePointerToHeader { unsafe $0.pointee } }

    package func withTail<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let count = fixedHeader.byteCount
        return try unsafe withUnsafeMutablePointerToElements { try unsafe body(UnsafeRawBufferPointer(start: $0, count: count)) }
    }

    package func withPayload<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let count = fixedHeader.payloadCount
        return try unsafe withUnsafeMutablePointerToElements { try unsafe body(UnsafeRawBufferPointer(start: $0, count: count)) }
    }

    /// The bytes of entry `index` (without the NUL), or nil when absent. The pointer
    /// stays valid as long as this object lives.
    package func entry(_ index: Int) -> UnsafeRawBufferPointer? {
        let table = fixedHeader.payloadCount
        return unsafe withUnsafeMutablePointerToElements { base -> UnsafeRawBufferPointer? in
            let raw = UnsafeRawPointer(base)
            let offset = unsafe raw.loadUnaligned(fromByteOffset: table + index * 8, as: UInt32.self)
            guard offset != Self.absent else { return nil }
            let length = unsafe raw.loadUnaligned(fromByteOffset: table + index * 8 + 4, as: UInt32.self)
            return unsafe UnsafeRawBufferPointer(start: raw + Int(offset), count: Int(length))
        }
    }

    package func entry(_ field: IdentityField) -> UnsafeRawBufferPointer? { unsafe entry(field.rawValue) }

    /// Entry indices of a list.
    package func range(_ list: IdentityList) -> Range<Int> {
        let ends = fixedHeader.listEnds
        let start = list.rawValue == 0 ? IdentityField.allCases.count : Int(ends[list.rawValue - 1])
        return start..<Int(ends[list.rawValue])
    }

    func string(_ field: IdentityField) -> String? {
        unsafe entry(field).map { unsafe String(decoding: $0, as: UTF8.self) }
    }

    func strings(_ list: IdentityList) -> [String] {
        range(list).map { unsafe String(decoding: entry($0)!, as: UTF8.self) }
    }

    /// Whether a list holds exactly `candidate`.
    package func contains(_ list: IdentityList, _ candidate: UnsafeRawBufferPointer) -> Bool {
        range(list).contains { index in
            let element = unsafe entry(index)!
            return unsafe element.count == candidate.count && element.elementsEqual(candidate)
        }
    }

    func contains(_ list: IdentityList, _ candidate: some StringProtocol) -> Bool {
        if let found = candidate.utf8.withContiguousStorageIfAvailable({ unsafe contains(list, UnsafeRawBufferPointer($0)) }) {
            return found
        }
        return unsafe Array(candidate.utf8).withUnsafeBytes { unsafe contains(list, $0) }
    }

    func isEqual(to other: IdentityStorage) -> Bool {
        unsafe fixedHeader == other.fixedHeader && withTail { a in unsafe other.withTail { b in unsafe a.elementsEqual(b) } }
    }

    func hash(into hasher: inout Hasher) {
        unsafe withTail { unsafe hasher.combine(bytes: $0) }
    }
}
