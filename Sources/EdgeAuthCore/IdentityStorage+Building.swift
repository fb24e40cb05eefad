extension IdentityStorage {
    /// Maps `payload` (a validated JSON document) through `sources`.
    package static func make(payload: UnsafeRawBufferPointer, sources: IdentitySources) -> IdentityStorage {
        // One walk plans the entries; when each is a plain run of the payload (no escapes,
        // no prefixes, a bounded number of entries: the usual token) the plan is copied out
        // directly. Otherwise a second walk writes the entries it counted.
        unsafe withUnsafeTemporaryAllocation(of: PlanningSink.Run.self, capacity: PlanningSink.capacity) { runs in
            var planner = unsafe PlanningSink(doc: payload, runs: runs)
            let listEnds = unsafe walk(payload, sources, &planner)
            let tableOffset = payload.count
            let stringsOffset = unsafe tableOffset + planner.entries * 8
            let header = unsafe IdentityHeader(
                byteCount: stringsOffset + planner.bytes, payloadCount: payload.count, entryCount: planner.entries,
                listEnds: listEnds, expiresAt: sources.expiresAt, issuedAt: sources.issuedAt, notBefore: sources.notBefore,
                signatureVerified: sources.signatureVerified
            )
            let storage = unsafe unsafeDowncast(create(minimumCapacity: header.byteCount) { _ in header }, to: IdentityStorage.self)
            unsafe storage.withUnsafeMutablePointerToElements { base in
                if let source = payload.baseAddress { unsafe base.update(from: source.assumingMemoryBound(to: UInt8.self), count: payload.count) }
                var writer = unsafe WritingSink(base: base, table: tableOffset, cursor: stringsOffset)
                if unsafe planner.isPlain {
                    for unsafe run in unsafe runs.prefix(planner.entries) {
                        if run.offset == absent {
                            unsafe writer.absent()
                        } else {
                            unsafe writer.copy(from: payload, run)
                        }
                    }
                } else {
                    _ = unsafe walk(payload, sources, &writer)
                }
            }
            return storage
        }
    }

    // MARK: Building

    /// Feeds every entry, in table order, to `sink`; returns the list ends.
    private static func walk<S: EntrySink>(_ doc: UnsafeRawBufferPointer, _ s: IdentitySources, _ sink: inout S) -> SIMD4<Int32> {
        func single(_ slice: JSONSlice?) {
            guard let slice, slice.kind == .string else { return sink.absent() }
            sink.begin()
            unsafe copy(doc, slice, &sink)
            sink.end()
        }
        // The order of `IdentityField`.
        single(s.subject)
        single(s.issuer)
        single(s.email)
        single(s.name)
        single(s.username)
        single(s.picture)
        single(s.clientId)
        single(s.organization)
        single(s.tokenId)
        // The list ends become the vector at the end: a store into one lane of a vector in
        // memory, read back whole, stalls the read.
        func entries(of kind: IdentityList, _ main: JSONSlice?) -> Int32 {
            unsafe list(doc, main, splittingWords: kind == .scopes, prefix: "", &sink)
            for addition in s.additions where addition.list == kind {
                unsafe list(doc, addition.source, splittingWords: false, prefix: addition.prefix, &sink)
            }
            return Int32(sink.entries)
        }
        let roles = entries(of: .roles, s.roles)
        let permissions = entries(of: .permissions, s.permissions)
        let scopes = entries(of: .scopes, s.scopes)
        let audience = entries(of: .audience, s.audience)
        return SIMD4(roles, permissions, scopes, audience)
    }

    private static func list<S: EntrySink>(
        _ doc: UnsafeRawBufferPointer, _ slice: JSONSlice?, splittingWords: Bool, prefix: String, _ sink: inout S
    ) {
        guard let slice else { return }
        guard prefix.isEmpty else {
            // Prefixed elements: strings, or the string elements of an array; never split.
            var prefix = prefix
            prefix.withUTF8 { prefixBytes in
                func element(_ value: JSONSlice) {
                    guard value.kind == .string else { return }
                    sink.begin()
                    unsafe sink.append(UnsafeRawBufferPointer(prefixBytes))
                    unsafe copy(doc, value, &sink)
                    sink.end()
                }
                if slice.kind == .array {
                    unsafe JSONText.forEachElement(doc, slice) { value in
                        element(value)
                        return true
                    }
                } else {
                    element(slice)
                }
            }
            return
        }
        switch slice.kind {
        case .string where splittingWords && !slice.hasEscapes:
            var start = slice.start
            while start < slice.end {
                let space = unsafe SWAR.firstIndex(of: UInt8(ascii: " "), in: UnsafeRawBufferPointer(rebasing: doc[..<slice.end]), from: start) ?? slice.end
                if space > start {
                    sink.begin()
                    unsafe sink.append(UnsafeRawBufferPointer(rebasing: doc[start..<space]))
                    sink.end()
                }
                start = space + 1
            }
        case .string where splittingWords:
            var bytes = unsafe JSONText.UnescapedBytes(doc: doc, slice: slice)
            var inWord = false
            while let byte = unsafe bytes.next() {
                if byte == UInt8(ascii: " ") {
                    if inWord { sink.end() }
                    inWord = false
                } else {
                    if !inWord { sink.begin() }
                    inWord = true
                    sink.append(byte)
                }
            }
            if inWord { sink.end() }
        case .string:
            sink.begin()
            unsafe copy(doc, slice, &sink)
            sink.end()
        case .array:
            unsafe JSONText.forEachElement(doc, slice) { element in
                if element.kind == .string {
                    sink.begin()
                    unsafe copy(doc, element, &sink)
                    sink.end()
                }
                return true
            }
        default:
            return
        }
    }

    private static func copy<S: EntrySink>(_ doc: UnsafeRawBufferPointer, _ slice: JSONSlice, _ sink: inout S) {
        guard slice.hasEscapes else { return unsafe sink.append(UnsafeRawBufferPointer(rebasing: doc[slice.start..<slice.end])) }
        var bytes = unsafe JSONText.UnescapedBytes(doc: doc, slice: slice)
        while let byte = unsafe bytes.next() { sink.append(byte) }
    }
}

/// Receives the entries of an identity while it is built: first counted, then written.
private protocol EntrySink {
    var entries: Int { get }
    mutating func absent()
    mutating func begin()
    mutating func append(_ byte: UInt8)
    mutating func append(_ bytes: UnsafeRawBufferPointer)
    mutating func end()
}

/// Counts the entries and their bytes, and records each entry that is one run of the
/// payload's bytes; `isPlain` stays true while every entry so far is such a run.
@unsafe private struct PlanningSink: EntrySink {
    /// A run of the payload: offset and length packed into one word, so that it is written
    /// and read with one store and one load (two 4-byte stores read back as one 8-byte
    /// load cannot be forwarded, and stall).
    struct Run {
        var bits: UInt64

        init(offset: UInt32, length: UInt32) { bits = UInt64(offset) | UInt64(length) << 32 }

        /// Offset in the payload, or `IdentityStorage.absent`.
        var offset: UInt32 { UInt32(truncatingIfNeeded: bits) }
        var length: UInt32 { UInt32(truncatingIfNeeded: bits >> 32) }
    }

    static let capacity = 64

    let doc: UnsafeRawBufferPointer
    let runs: UnsafeMutableBufferPointer<Run>
    var entries = 0
    /// String bytes including one NUL per entry.
    var bytes = 0
    var isPlain = true
    private var pieces = 0

    init(doc: UnsafeRawBufferPointer, runs: UnsafeMutableBufferPointer<Run>) {
        unsafe self.doc = unsafe doc
        unsafe self.runs = unsafe runs
    }

    @inline(__always) mutating func absent() {
        unsafe record(Run(offset: IdentityStorage.absent, length: 0))
        unsafe entries += 1
    }

    @inline(__always) mutating func begin() {
        unsafe pieces = 0
        unsafe record(Run(offset: 0, length: 0))  // an empty entry, unless a piece replaces it
    }

    mutating func append(_ byte: UInt8) {
        unsafe bytes += 1
        unsafe isPlain = false
    }

    @inline(__always) mutating func append(_ bytes: UnsafeRawBufferPointer) {
        unsafe self.bytes += bytes.count
        unsafe pieces += 1
        // A run of the payload itself (not a prefix from the mapping), and the entry's only piece.
        guard unsafe pieces == 1, let start = bytes.baseAddress, let docStart = unsafe doc.baseAddress,
              unsafe start >= docStart, unsafe start + bytes.count <= docStart + doc.count
        else {
            unsafe isPlain = false
            return
        }
        unsafe record(Run(offset: UInt32(start - docStart), length: UInt32(bytes.count)))
    }

    @inline(__always) mutating func end() {
        unsafe entries += 1
        unsafe bytes += 1
    }

    /// Records the current entry's run; past the capacity the plan is not used.
    @inline(__always) private mutating func record(_ run: Run) {
        if unsafe entries < runs.count { unsafe runs[entries] = run } else { unsafe isPlain = false }
    }
}

@unsafe private struct WritingSink: EntrySink {
    let base: UnsafeMutablePointer<UInt8>
    let table: Int
    var cursor: Int
    var entries = 0
    var start = 0

    init(base: UnsafeMutablePointer<UInt8>, table: Int, cursor: Int) {
        unsafe self.base = unsafe base
        unsafe self.table = table
        unsafe self.cursor = cursor
    }

    private mutating func record(offset: UInt32, length: UInt32) {
        unsafe UnsafeMutableRawPointer(base).storeBytes(of: offset, toByteOffset: table + entries * 8, as: UInt32.self)
        unsafe UnsafeMutableRawPointer(base).storeBytes(of: length, toByteOffset: table + entries * 8 + 4, as: UInt32.self)
        unsafe entries += 1
    }

    mutating func absent() { unsafe record(offset: IdentityStorage.absent, length: 0) }
    mutating func begin() { unsafe start = unsafe cursor }

    mutating func append(_ byte: UInt8) {
        unsafe base[cursor] = byte
        unsafe cursor += 1
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        unsafe (base + cursor).update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        unsafe cursor += bytes.count
    }

    mutating func end() {
        unsafe base[cursor] = 0
        unsafe record(offset: UInt32(start), length: UInt32(cursor - start))
        unsafe cursor += 1
    }

    /// One planned entry, a run of `payload`, in one step: `begin`, `append` and `end`
    /// together. The plan already has the run's offset and length, and a run lies inside
    /// the payload, so no slice is made and no empty buffer is checked for.
    @inline(__always) mutating func copy(from payload: UnsafeRawBufferPointer, _ run: PlanningSink.Run) {
        let length = Int(run.length)
        unsafe (base + cursor).update(from: payload.baseAddress!.assumingMemoryBound(to: UInt8.self) + Int(run.offset), count: length)
        unsafe base[cursor + length] = 0
        unsafe record(offset: UInt32(cursor), length: run.length)
        unsafe cursor += length + 1
    }
}
