import EdgeAuthCore

/// One cached verdict as stored in LMDB, little-endian:
/// `kind u8 | expiry i64 | generation u64 | reason code (negative entries only) | checksum u64`.
///
/// A valid verdict stores no identity: a hit always has the token in hand, and the
/// verifier rebuilds the identity from its claims without checking the signature
/// again, which is what the entry attests. That keeps an entry at 25 bytes (the
/// figures are in docs/cache.md). The checksum makes a damaged entry a miss rather
/// than a wrong answer: a flipped kind byte must never turn a rejection into a pass.
struct VerdictEntry: Equatable {
    enum Content: Equatable {
        case valid
        case negative(Reason)
    }

    var expiry: Int64
    var generation: UInt64
    var content: Content

    static let validKind: UInt8 = 1
    static let negativeKind: UInt8 = 2
    static let fixedSize = 17
    static let checksumSize = 8

    var encoded: [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.fixedSize + Self.checksumSize + 32)
        switch content {
        case .valid: bytes.append(Self.validKind)
        case .negative: bytes.append(Self.negativeKind)
        }
        append(expiry, to: &bytes)
        append(generation, to: &bytes)
        if case .negative(let reason) = content { bytes.append(contentsOf: reason.code.utf8) }
        let checksum = unsafe bytes.withUnsafeBytes { unsafe Checksum.of($0) }
        append(checksum, to: &bytes)
        return bytes
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        unsafe withUnsafeBytes(of: value.littleEndian) { unsafe bytes.append(contentsOf: $0) }
    }

    /// The expiry alone (for eviction, which compares it with the expiry index).
    static func expiry(of raw: UnsafeRawBufferPointer) -> Int64? {
        guard raw.count >= fixedSize + checksumSize else { return nil }
        return unsafe Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 1, as: Int64.self))
    }

    static func decode(_ raw: UnsafeRawBufferPointer) -> VerdictEntry? {
        guard raw.count >= fixedSize + checksumSize else { return nil }
        let checked = raw.count - checksumSize
        let stored = unsafe UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: checked, as: UInt64.self))
        guard unsafe stored == Checksum.of(UnsafeRawBufferPointer(rebasing: raw[..<checked])) else { return nil }
        let expiry = unsafe Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 1, as: Int64.self))
        let generation = unsafe UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 9, as: UInt64.self))
        switch unsafe raw[0] {
        case validKind where checked == fixedSize:
            return VerdictEntry(expiry: expiry, generation: generation, content: .valid)
        case negativeKind:
            guard let reason = unsafe negativeReason(UnsafeRawBufferPointer(rebasing: raw[fixedSize..<checked])) else { return nil }
            return VerdictEntry(expiry: expiry, generation: generation, content: .negative(reason))
        default:
            return nil
        }
    }

    static func negativeReason(_ code: UnsafeRawBufferPointer) -> Reason? {
        let code = unsafe String(decoding: code, as: UTF8.self)
        switch code {
        case "badSignature": return .badSignature
        case "unsecured": return .unsecured
        default:
            guard code.hasPrefix("malformed."), let malformation = Malformation(rawValue: String(code.dropFirst(10))) else { return nil }
            return .malformed(malformation)
        }
    }
}

/// The expiry index: one key per stored verdict, `expiry (u64, big-endian, biased so that
/// byte order is time order) | token hash`, with an empty value. Walking it from the first
/// key visits verdicts soonest-expiring first, which is the order eviction removes them in.
enum ExpiryIndexKey {
    static let size = 8 + 32

    static func make(expiry: Int64, tokenHash: TokenDigest) -> [UInt8] {
        var key = [UInt8]()
        key.reserveCapacity(size)
        unsafe withUnsafeBytes(of: (UInt64(bitPattern: expiry) ^ (1 << 63)).bigEndian) { unsafe key.append(contentsOf: $0) }
        unsafe tokenHash.withUnsafeBytes { unsafe key.append(contentsOf: $0) }
        return key
    }

    /// The expiry and the token hash's bytes of an index key; nil for a key of another size.
    static func parse(_ key: UnsafeRawBufferPointer) -> (expiry: Int64, tokenHash: UnsafeRawBufferPointer)? {
        guard key.count == size else { return nil }
        let biased = unsafe UInt64(bigEndian: key.loadUnaligned(as: UInt64.self))
        return unsafe (Int64(bitPattern: biased ^ (1 << 63)), UnsafeRawBufferPointer(rebasing: key[8...]))
    }
}
