internal import COpenSSL
import Synchronization
import EdgeAuthCore

enum OpenSSLErrors {
    /// Reads and clears the thread's OpenSSL error queue.
    static func drain() -> String? {
        var messages = [String]()
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            unsafe buffer.withUnsafeMutableBufferPointer { unsafe ERR_error_string_n(code, $0.baseAddress, $0.count) }
            messages.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? nil : messages.joined(separator: "; ")
    }

    /// Clears the queue after an expected failure (a bad signature leaves entries behind).
    @inline(__always)
    static func clear() { ERR_clear_error() }
}

/// An owned `EVP_PKEY`, freed on deinit. Immutable after creation, so it is
/// safe to share across threads (OpenSSL 3 keys are read-only during verify).
@safe final class PKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { unsafe self.pointer = pointer }
    deinit { unsafe EVP_PKEY_free(pointer) }

    var baseID: Int32 { unsafe EVP_PKEY_get_base_id(pointer) }
    var bits: Int32 { unsafe EVP_PKEY_get_bits(pointer) }
    /// Maximum signature size in bytes (the modulus size for RSA).
    var size: Int32 { unsafe EVP_PKEY_get_size(pointer) }

    /// The EC group name (`prime256v1`, `secp384r1`, `secp521r1`), if this is an EC key.
    var groupName: String? {
        var buffer = [CChar](repeating: 0, count: 64)
        var length = 0
        let ok = unsafe buffer.withUnsafeMutableBufferPointer {
            unsafe EVP_PKEY_get_utf8_string_param(pointer, "group", $0.baseAddress, $0.count, &length)
        }
        guard ok == 1 else {
            OpenSSLErrors.clear()
            return nil
        }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Message digests fetched once from the default provider (fetching per call
/// costs a provider lookup and a lock in OpenSSL 3).
@safe final class Digests: @unchecked Sendable {
    /// The digests, or why they could not be fetched (a libcrypto whose default
    /// provider lacks SHA-2 or HMAC): keys are then refused when they are imported.
    static let loaded: Result<Digests, CryptoError> = Digests.fetch()
    /// The digests, or nil when they could not be fetched.
    static var shared: Digests? { try? loaded.get() }
    let sha256: OpaquePointer
    let sha384: OpaquePointer
    let sha512: OpaquePointer
    let hmac: OpaquePointer

    private init(sha256: OpaquePointer, sha384: OpaquePointer, sha512: OpaquePointer, hmac: OpaquePointer) {
        unsafe self.sha256 = sha256
        unsafe self.sha384 = sha384
        unsafe self.sha512 = sha512
        unsafe self.hmac = hmac
    }

    private static func fetch() -> Result<Digests, CryptoError> {
        let sha256 = unsafe EVP_MD_fetch(nil, "SHA2-256", nil)
        let sha384 = unsafe EVP_MD_fetch(nil, "SHA2-384", nil)
        let sha512 = unsafe EVP_MD_fetch(nil, "SHA2-512", nil)
        let hmac = unsafe EVP_MAC_fetch(nil, "HMAC", nil)
        guard let sha256 = unsafe sha256, let sha384 = unsafe sha384, let sha512 = unsafe sha512, let hmac = unsafe hmac else {
            let error = CryptoError.openSSL("OpenSSL's default provider lacks SHA-2 or HMAC; no key can be used")
            unsafe EVP_MD_free(sha256)
            unsafe EVP_MD_free(sha384)
            unsafe EVP_MD_free(sha512)
            unsafe EVP_MAC_free(hmac)
            return .failure(error)
        }
        return .success(unsafe Digests(sha256: sha256, sha384: sha384, sha512: sha512, hmac: hmac))
    }

    /// The digests, or the error that refuses a key when they are missing.
    static func required() throws(CryptoError) -> Digests {
        try loaded.get()
    }

    func md(forHashBytes bytes: Int) -> OpaquePointer {
        switch bytes {
        case 32: unsafe sha256
        case 48: unsafe sha384
        default: unsafe sha512
        }
    }

    static func name(forHashBytes bytes: Int) -> String {
        switch bytes {
        case 32: "SHA2-256"
        case 48: "SHA2-384"
        default: "SHA2-512"
        }
    }
}

/// A small lock-protected stack of reusable OpenSSL contexts: contexts are not
/// thread-safe, creating one per call costs allocations, and a pool keeps one
/// per concurrently verifying thread. One context waits in a slot outside the
/// lock: taking it and giving it back is one atomic exchange each, where the
/// stack costs a lock and an unlock each (an HMAC verification is short enough
/// for that difference to show).
@safe final class ContextPool: Sendable {
    /// An OpenSSL context owned by the pool; used by one thread at a time.
    @safe private struct Handle: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    /// The slot's context as an address (0: empty); an atomic pointer would not be `Sendable`.
    private let slot = Atomic<UInt>(0)
    private let free: Mutex<[Handle]>
    private let make: @Sendable () -> UnsafeMutableRawPointer?
    private let destroy: @Sendable (UnsafeMutableRawPointer) -> Void
    private static let limit = 64

    init(make: @escaping @Sendable () -> UnsafeMutableRawPointer?, destroy: @escaping @Sendable (UnsafeMutableRawPointer) -> Void) {
        var storage = [Handle]()
        storage.reserveCapacity(Self.limit)
        self.free = Mutex(storage)
        unsafe self.make = unsafe make
        unsafe self.destroy = unsafe destroy
    }

    deinit {
        let destroy = unsafe self.destroy
        if let context = unsafe UnsafeMutableRawPointer(bitPattern: slot.exchange(0, ordering: .acquiring)) { unsafe destroy(context) }
        free.withLock { handles in
            for handle in handles { unsafe destroy(handle.pointer) }
        }
    }

    /// Runs `body` with a context from the pool (or a new one), then returns it.
    /// Returns nil when no context could be created.
    func with<R>(_ body: (UnsafeMutableRawPointer) -> R) -> R? {
        let context: UnsafeMutableRawPointer
        if let fromSlot = unsafe UnsafeMutableRawPointer(bitPattern: slot.exchange(0, ordering: .acquiring)) {
            unsafe context = unsafe fromSlot
        } else {
            let pooled = free.withLock { $0.popLast() }
            guard let made = unsafe pooled?.pointer ?? make() else { return nil }
            unsafe context = unsafe made
        }
        let result = unsafe body(context)
        // Back into the slot when it is empty (acquiring/releasing: the next taker sees
        // everything this thread did with the context), else onto the stack.
        if slot.compareExchange(expected: 0, desired: UInt(bitPattern: context), ordering: .acquiringAndReleasing).exchanged {
            return result
        }
        let handle = unsafe Handle(pointer: context)
        let kept = free.withLock { handles -> Bool in
            guard handles.count < Self.limit else { return false }
            handles.append(handle)
            return true
        }
        if !kept { unsafe destroy(context) }
        return result
    }
}

/// Pools of `EVP_PKEY_CTX` prepared once for one algorithm's signing or verification of a
/// digest: the hash and, for RSA, the padding of RFC 7518 §3.3 and §3.5 (PSS: MGF1 with the
/// same hash, salt as long as the hash). A key whose type cannot do the algorithm (an EC key
/// asked for RS256) gets no context: `ContextPool.with` then answers nil.
enum PreparedSignatureContexts {
    enum Operation { case sign, verify }

    static func pool(_ pkey: PKey, _ algorithm: Algorithm, for operation: Operation) -> ContextPool {
        unsafe ContextPool(
            make: {
                guard let md = unsafe Digests.shared?.md(forHashBytes: algorithm.hashBytes),
                      let ctx = unsafe EVP_PKEY_CTX_new_from_pkey(nil, pkey.pointer, nil)
                else { return nil }
                let initialized = switch operation {
                case .sign: unsafe EVP_PKEY_sign_init(ctx) == 1
                case .verify: unsafe EVP_PKEY_verify_init(ctx) == 1
                }
                var ok = unsafe initialized && EVP_PKEY_CTX_set_signature_md(ctx, md) == 1
                let isRSA = pkey.baseID == edgeauth_evp_pkey_rsa || pkey.baseID == edgeauth_evp_pkey_rsa_pss
                switch algorithm.family {
                case .rsaPKCS1:
                    ok = unsafe ok && isRSA && EVP_PKEY_CTX_set_rsa_padding(ctx, edgeauth_rsa_pkcs1_padding) == 1
                case .rsaPSS:
                    ok = unsafe ok && isRSA && EVP_PKEY_CTX_set_rsa_padding(ctx, edgeauth_rsa_pkcs1_pss_padding) == 1
                        && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, edgeauth_rsa_pss_saltlen_digest) == 1
                        && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1
                case .ecdsa:
                    ok = ok && pkey.baseID == edgeauth_evp_pkey_ec
                case .hmac, .eddsa:
                    ok = false
                }
                guard ok else {
                    unsafe EVP_PKEY_CTX_free(ctx)
                    OpenSSLErrors.clear()
                    return nil
                }
                return unsafe UnsafeMutableRawPointer(ctx)
            },
            destroy: { unsafe EVP_PKEY_CTX_free(OpaquePointer($0)) }
        )
    }
}

/// Constant-time equality of two byte ranges of equal length.
@inline(__always)
func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    return unsafe CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
}

/// The OpenSSL library verification runs on, as reports name it.
public enum OpenSSLLibrary {
    /// Like "OpenSSL 3.0.17 1 Jul 2025".
    public static var version: String { unsafe String(cString: OpenSSL_version(OPENSSL_VERSION)) }
}
