/// A 32-byte digest held inline (no allocation): the cache key of a token.
public struct TokenDigest: Sendable, Hashable {
    public var words: (UInt64, UInt64, UInt64, UInt64)

    public init() { words = (0, 0, 0, 0) }

    /// From exactly 32 bytes; nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        self.init()
        unsafe withUnsafeMutableBytes { unsafe $0.copyBytes(from: bytes) }
    }

    public var bytes: [UInt8] { unsafe withUnsafeBytes { unsafe Array($0) } }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try unsafe Swift.withUnsafeBytes(of: words, body)
    }

    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try unsafe Swift.withUnsafeMutableBytes(of: &words, body)
    }

    public static func == (a: TokenDigest, b: TokenDigest) -> Bool { a.words == b.words }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}
