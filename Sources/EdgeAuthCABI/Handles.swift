import EdgeAuth

/// Strings packed back to back, NUL-terminated, in one allocation, so a
/// handle can give out `const char *` that stay valid as long as it lives
/// without allocating per access. Immutable after `init`, hence safe to read
/// from any number of threads.
@safe struct PackedStrings: ~Copyable, @unchecked Sendable {
    /// Where string `i` starts in `bytes` and how long it is; offset -1 when absent.
    private let offsets: [Int]
    private let lengths: [Int]
    private let bytes: UnsafeMutableBufferPointer<CChar>

    init(_ strings: [String?]) {
        var offsets = [Int]()
        var lengths = [Int]()
        offsets.reserveCapacity(strings.count)
        lengths.reserveCapacity(strings.count)
        var total = 0
        for string in strings {
            let count = string?.utf8.count ?? 0
            offsets.append(string == nil ? -1 : total)
            lengths.append(count)
            if string != nil { total += count + 1 }
        }
        let bytes = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(total, 1))
        for (index, string) in strings.enumerated() {
            guard var string else { continue }
            let start = offsets[index]
            string.withUTF8 { utf8 in
                for unsafe (i, byte) in unsafe utf8.enumerated() { unsafe bytes[start + i] = CChar(bitPattern: byte) }
            }
            unsafe bytes[start + lengths[index]] = 0
        }
        self.offsets = offsets
        self.lengths = lengths
        unsafe self.bytes = bytes
    }

    deinit { unsafe bytes.deallocate() }

    var count: Int { offsets.count }

    /// String `index`, or nil when absent or out of range; stores its length in `length`.
    func string(_ index: Int, length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
        guard index >= 0, index < offsets.count, offsets[index] >= 0 else { return nil }
        if let length = unsafe length { unsafe length.pointee = lengths[index] }
        return unsafe UnsafePointer(bytes.baseAddress! + offsets[index])
    }
}

/// What `edgeauth_verifier *` points to: a retained instance of this class.
final class VerifierHandle: Sendable {
    let verifier: Verifier
    /// The messages of keys skipped while loading.
    let warnings: PackedStrings

    init(verifier: Verifier) {
        self.verifier = verifier
        self.warnings = PackedStrings(verifier.skippedKeys)
    }
}

/// What `edgeauth_identity *` points to: a retained `IdentityStorage`, the single
/// allocation an `Identity` lives in. Its strings are stored unescaped and
/// NUL-terminated, so every accessor returns a pointer into it without allocating.
extension IdentityStorage {
    /// Entry `index` as a C string, with its length in `length`.
    func cString(_ index: Int, length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
        guard let bytes = unsafe entry(index), let base = bytes.baseAddress else { return nil }
        if let length = unsafe length { unsafe length.pointee = bytes.count }
        return unsafe base.assumingMemoryBound(to: CChar.self)
    }

    /// Element `index` of a list as a C string; nil when out of range.
    func element(of list: IdentityList, _ index: Int, length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
        let range = range(list)
        // index is a size_t seen as Int: negative means beyond Int.max, so out of range as well.
        guard index >= 0, index < range.count else { return nil }
        return unsafe cString(range.lowerBound + index, length: length)
    }
}

// Handles cross the boundary as retained, opaque pointers to the classes above.
// Each use checks the object's class: an identity passed where a verifier is
// expected (or the other way round) is treated like NULL, not reinterpreted.
enum Handle {
    static func make(_ object: AnyObject) -> OpaquePointer {
        unsafe OpaquePointer(Unmanaged.passRetained(object).toOpaque())
    }

    static func verifier(_ pointer: OpaquePointer?) -> VerifierHandle? {
        guard let pointer = unsafe pointer else { return nil }
        return unsafe Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue() as? VerifierHandle
    }

    static func identity(_ pointer: OpaquePointer?) -> IdentityStorage? {
        guard let pointer = unsafe pointer else { return nil }
        return unsafe Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue() as? IdentityStorage
    }

    /// Releases a handle of class `type`; a handle of another class is left alone.
    static func release(_ pointer: OpaquePointer?, as type: AnyClass) {
        guard let pointer = unsafe pointer else { return }
        let object = unsafe Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(pointer))
        guard unsafe ObjectIdentifier(Swift.type(of: object.takeUnretainedValue())) == ObjectIdentifier(type) else { return }
        unsafe object.release()
    }
}
