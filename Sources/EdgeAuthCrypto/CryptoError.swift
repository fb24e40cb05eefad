/// A failure to import a key or use OpenSSL: misuse or environment, never a
/// token rejection (those are `Reason` values).
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case invalidKey, weakKey, unsupportedKey, keyUse, openSSL }
        private let value: Value
        public static let invalidKey = Code(value: .invalidKey)
        public static let weakKey = Code(value: .weakKey)
        public static let unsupportedKey = Code(value: .unsupportedKey)
        /// The key's `use`/`key_ops`/`alg` forbid signature verification.
        public static let keyUse = Code(value: .keyUse)
        public static let openSSL = Code(value: .openSSL)
        public var description: String { value.rawValue }
    }

    public let code: Code
    /// What is wrong, for the operator.
    public let reason: String
    /// The OpenSSL error queue at the time of failure, if any.
    public let underlying: String?

    public init(_ code: Code, _ reason: String, underlying: String? = nil) {
        self.code = code
        self.reason = reason
        self.underlying = underlying
    }

    public var description: String {
        "\(code): \(reason)" + (underlying.map { " (\($0))" } ?? "")
    }

    /// A failure of an OpenSSL call: captures and clears the thread's error queue.
    static func openSSL(_ what: String) -> CryptoError {
        CryptoError(.openSSL, what, underlying: OpenSSLErrors.drain())
    }
}
