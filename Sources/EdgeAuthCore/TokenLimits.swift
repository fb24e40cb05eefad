/// Size limits for untrusted tokens.
public struct TokenLimits: Sendable, Hashable {
    /// Longest accepted token in bytes (default 16 KiB).
    public var maxTokenBytes: Int
    /// Limits for the header and payload JSON.
    public var json: JSONLimits

    public init(maxTokenBytes: Int = 16 * 1024, json: JSONLimits = JSONLimits()) {
        self.maxTokenBytes = maxTokenBytes
        self.json = json
    }
}
