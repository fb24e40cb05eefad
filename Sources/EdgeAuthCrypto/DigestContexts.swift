internal import COpenSSL

/// Shared digest contexts for hashing signing inputs (one per concurrent thread, reused).
final class DigestContexts: Sendable {
    static let shared = DigestContexts()

    /// Plain digest contexts for hashing signing inputs.
    let mdContexts = DigestContexts.makePool()
    /// Contexts for one-shot DigestVerify (Ed25519). Kept apart from `mdContexts`:
    /// a context that went through DigestVerifyInit keeps its EVP_PKEY_CTX and would
    /// route later plain digest updates into the signature operation.
    let signatureContexts = DigestContexts.makePool()

    private static func makePool() -> ContextPool {
        unsafe ContextPool(
            make: { unsafe EVP_MD_CTX_new().map { unsafe UnsafeMutableRawPointer($0) } },
            destroy: { unsafe EVP_MD_CTX_free(OpaquePointer($0)) }
        )
    }

    /// Hashes `input` with the SHA-2 of `hashBytes` into `output`; returns the digest length.
    func hash(_ hashBytes: Int, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard let md = unsafe Digests.shared?.md(forHashBytes: hashBytes) else { return nil }
        return unsafe mdContexts.with { context -> Int? in
            let ctx = OpaquePointer(context)
            var length: UInt32 = 0
            guard unsafe EVP_DigestInit_ex2(ctx, md, nil) == 1,
                  unsafe EVP_DigestUpdate(ctx, input.baseAddress, input.count) == 1,
                  unsafe EVP_DigestFinal_ex(ctx, output.baseAddress?.assumingMemoryBound(to: UInt8.self), &length) == 1
            else {
                OpenSSLErrors.clear()
                return nil
            }
            return Int(length)
        } ?? nil
    }
}
