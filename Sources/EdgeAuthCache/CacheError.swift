internal import CLMDB

/// A failure to open or use the cache. Verification never fails because of
/// one: callers fall back to full verification.
public struct CacheError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// The LMDB return code, if the failure came from LMDB.
    public let lmdbCode: Int32?

    package init(_ message: String, code: Int32? = nil) {
        self.message = message
        self.lmdbCode = code
    }

    public var description: String {
        guard let lmdbCode else { return message }
        return unsafe "\(message): \(String(cString: mdb_strerror(lmdbCode))) (\(lmdbCode))"
    }
}
