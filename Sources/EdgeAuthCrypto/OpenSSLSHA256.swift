internal import COpenSSL
import EdgeAuthCore

/// SHA-256, for cache keys and key fingerprints.
public enum OpenSSLSHA256 {
    /// The digest of `prefix` followed by `data`; nil when libcrypto fails (only an
    /// allocation failure inside OpenSSL or a provider without SHA-256 can cause that).
    package static func hash(prefix: [UInt8] = [], _ data: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let sha256 = unsafe Digests.shared?.sha256 else { return nil }
        var digest = [UInt8](repeating: 0, count: 32)
        let ok = unsafe DigestContexts.shared.mdContexts.with { context -> Bool in
            let ctx = OpaquePointer(context)
            var length: UInt32 = 0
            return unsafe EVP_DigestInit_ex2(ctx, sha256, nil) == 1
                && prefix.withUnsafeBytes { unsafe EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) } == 1
                && EVP_DigestUpdate(ctx, data.baseAddress, data.count) == 1
                && digest.withUnsafeMutableBufferPointer { unsafe EVP_DigestFinal_ex(ctx, $0.baseAddress, &length) } == 1
        } ?? false
        if !ok {
            OpenSSLErrors.clear()
            // An all-zero digest would collide: the caller gets nothing instead.
            return nil
        }
        return digest
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8]? {
        unsafe bytes.withUnsafeBytes { unsafe hash($0) }
    }

    /// The digest of `prefix` followed by `data`, without allocating (the cache path):
    /// the low-level SHA-256 with its context on the stack (`edgeauth_sha256` in the shim).
    /// Nil when libcrypto reports a failure (none is known for this interface).
    package static func digest(prefix: UnsafeRawBufferPointer, _ data: UnsafeRawBufferPointer) -> TokenDigest? {
        var digest = TokenDigest()
        let ok = unsafe digest.withUnsafeMutableBytes { out in
            unsafe edgeauth_sha256(prefix.baseAddress, prefix.count, data.baseAddress, data.count, out.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
        // Only a broken libcrypto gets here; an all-zero digest would collide, so there is none.
        guard ok != 0 else { return nil }
        return digest
    }
}
