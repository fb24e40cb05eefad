internal import COpenSSL

/// Random bytes from OpenSSL's CSPRNG (seeded by the operating system, drawn in user
/// space, no system call per value): codes, refresh tokens, client secrets and ids.
public enum SecureRandom {
    /// `count` random bytes; should OpenSSL's generator fail, the system's (getrandom) gives them.
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = unsafe out.withUnsafeMutableBufferPointer { unsafe RAND_bytes($0.baseAddress, Int32($0.count)) } == 1
        guard !ok else { return out }
        OpenSSLErrors.clear()
        var system = SystemRandomNumberGenerator()
        for index in out.indices { out[index] = UInt8.random(in: .min ... .max, using: &system) }
        return out
    }
}
