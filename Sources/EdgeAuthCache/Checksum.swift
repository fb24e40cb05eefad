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
