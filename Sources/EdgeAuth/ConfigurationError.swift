/// A failure to load keys or configuration: misuse or environment, never a token rejection.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// What failed: the configuration itself, loading its keys, or opening its cache.
    public let kind: Kind
    public enum Kind: Sendable { case configuration, keys, cache }
    public init(_ message: String, kind: Kind = .configuration) {
        self.message = message
        self.kind = kind
    }
    public var description: String { message }
}
