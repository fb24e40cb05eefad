extension IdentityStorage {
    // MARK: Binary form (the shared cache)

    /// Fixed part of the binary form: byteCount, payloadCount, entryCount (u32 each),
    /// list ends (4 × i32), flags (u8), exp and iat (i64 each), little-endian.
    static let encodedHeaderSize = 12 + 16 + 1 + 16

    /// Appends the binary form: the fixed part, then the tail bytes.
    package func encode(into bytes: inout [UInt8]) {
        let h = header
        func append<T: FixedWidthInteger>(_ value: T) { unsafe withUnsafeBytes(of: value.littleEndian) { unsafe bytes.append(contentsOf: $0) } }
        append(UInt32(h.byteCount))
        append(UInt32(h.payloadCount))
        append(UInt32(h.entryCount))
        for i in 0..<4 { append(h.listEnds[i]) }
        append(UInt8((h.signatureVerified ? 1 : 0) | (h.expiresAt != nil ? 2 : 0) | (h.issuedAt != nil ? 4 : 0)))
        append(h.expiresAt ?? 0)
        append(h.issuedAt ?? 0)
        unsafe withTail { unsafe bytes.append(contentsOf: $0) }
    }

    /// Rebuilds an identity from its binary form with one allocation; nil when
    /// anything is out of bounds (a damaged cache entry is a miss, never a crash).
    package static func decode(_ raw: UnsafeRawBufferPointer) -> IdentityStorage? {
        guard raw.count >= encodedHeaderSize else { return nil }
        func u32(_ at: Int) -> Int { unsafe Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        func i32(_ at: Int) -> Int32 { unsafe Int32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int32.self)) }
        func i64(_ at: Int) -> Int64 { unsafe Int64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int64.self)) }
        let byteCount = u32(0), payloadCount = u32(4), entryCount = u32(8)
        let listEnds = SIMD4(i32(12), i32(16), i32(20), i32(24))
        let flags = unsafe raw[28]
        let tail = unsafe UnsafeRawBufferPointer(rebasing: raw[encodedHeaderSize...])
        let fields = IdentityField.allCases.count
        let tableEnd = payloadCount + entryCount * 8
        guard byteCount == tail.count, entryCount >= fields, tableEnd <= byteCount, flags < 8,
              Int(listEnds[0]) >= fields, listEnds[0] <= listEnds[1], listEnds[1] <= listEnds[2], listEnds[2] <= listEnds[3],
              Int(listEnds[3]) == entryCount
        else { return nil }
        for index in 0..<entryCount {
            let offset = unsafe tail.loadUnaligned(fromByteOffset: payloadCount + index * 8, as: UInt32.self)
            let length = unsafe Int(tail.loadUnaligned(fromByteOffset: payloadCount + index * 8 + 4, as: UInt32.self))
            if offset == absent, index < fields { continue }
            let start = Int(offset)
            guard start >= tableEnd, start + length < byteCount, unsafe tail[start + length] == 0 else { return nil }
        }
        let header = IdentityHeader(
            byteCount: byteCount, payloadCount: payloadCount, entryCount: entryCount, listEnds: listEnds,
            expiresAt: flags & 2 != 0 ? i64(29) : nil, issuedAt: flags & 4 != 0 ? i64(37) : nil,
            signatureVerified: flags & 1 != 0
        )
        let storage = unsafe unsafeDowncast(create(minimumCapacity: byteCount) { _ in header }, to: IdentityStorage.self)
        unsafe storage.withUnsafeMutablePointerToElements { base in
            if let source = tail.baseAddress { unsafe base.update(from: source.assumingMemoryBound(to: UInt8.self), count: byteCount) }
        }
        return storage
    }
}
