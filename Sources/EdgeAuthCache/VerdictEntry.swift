import EdgeAuthCore

/// One cached verdict as stored in LMDB:
/// `kind u8 | expiry i64 | generation u64 | checksum u64 | body`, little-endian;
/// the body is an `Identity` in its binary form (kind 1) or a reason code (kind 2).
/// The checksum makes a damaged entry a miss rather than a wrong answer.
struct VerdictEntry {
    enum Content {
        case identity(Identity)
        case negative(Reason)
    }

    var expiry: Int64
    var generation: UInt64
    var content: Content

    static let headerSize = 25

    var encoded: [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.headerSize + 1024)
        switch content {
        case .identity: bytes.append(1)
        case .negative: bytes.append(2)
        }
        append(expiry, to: &bytes)
        append(generation, to: &bytes)
        append(UInt64(0), to: &bytes)
        switch content {
        case .identity(let identity): identity.storage.encode(into: &bytes)
        case .negative(let reason): bytes.append(contentsOf: reason.code.utf8)
        }
        let checksum = unsafe bytes.withUnsafeBytes { unsafe Checksum.of(UnsafeRawBufferPointer(rebasing: $0[Self.headerSize...])) }
        unsafe withUnsafeBytes(of: checksum.littleEndian) { unsafe bytes.replaceSubrange(17..<25, with: $0) }
        return bytes
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        unsafe withUnsafeBytes(of: value.littleEndian) { unsafe bytes.append(contentsOf: $0) }
    }

    /// The expiry alone, for sweeps.
    static func expiry(of raw: UnsafeRawBufferPointer) -> Int64? {
        guard raw.count >= headerSize else { return nil }
        return unsafe Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 1, as: Int64.self))
    }

    /// The expiry and generation, read before the body is decoded.
    static func validity(of raw: UnsafeRawBufferPointer) -> (expiry: Int64, generation: UInt64)? {
        guard raw.count >= headerSize else { return nil }
        return unsafe (Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 1, as: Int64.self)),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 9, as: UInt64.self)))
    }

    static func decode(_ raw: UnsafeRawBufferPointer) -> VerdictEntry? {
        guard let (expiry, generation) = unsafe validity(of: raw) else { return nil }
        let body = unsafe UnsafeRawBufferPointer(rebasing: raw[headerSize...])
        guard unsafe UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 17, as: UInt64.self)) == Checksum.of(body) else { return nil }
        let content: Content
        switch unsafe raw[0] {
        case 1:
            guard let storage = unsafe IdentityStorage.decode(body) else { return nil }
            content = .identity(Identity(storage: storage))
        case 2:
            guard let reason = unsafe negativeReason(body) else { return nil }
            content = .negative(reason)
        default:
            return nil
        }
        return VerdictEntry(expiry: expiry, generation: generation, content: content)
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

/// A fast 64-bit hash (multiply–xor over four independent 64-bit lanes, so the
/// multiplications overlap): the checksum of cache entries against accidental
/// damage (not a defence against someone who can write the cache file), and the
/// seeded slot hash of `VerdictL1`.
enum Checksum {
    private static let prime: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always)
    private static func mix(_ hash: UInt64, _ word: UInt64) -> UInt64 {
        let h = (hash ^ word) &* prime
        return h ^ (h >> 29)
    }

    static func of(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let n = bytes.count
        var a = (UInt64(n) ^ seed) &* prime, b = a ^ 1, c = a ^ 2, d = a ^ 3
        var i = 0
        while i + 32 <= n {
            a = unsafe mix(a, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            b = unsafe mix(b, bytes.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
            c = unsafe mix(c, bytes.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self))
            d = unsafe mix(d, bytes.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self))
            i += 32
        }
        while i + 8 <= n {
            a = unsafe mix(a, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        var last: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            unsafe last |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        var hash = mix(a, last)
        hash = mix(hash, b)
        hash = mix(hash, c)
        hash = mix(hash, d)
        return hash ^ (hash >> 32)
    }
}
