/// Limits applied while scanning untrusted JSON.
public struct JSONLimits: Sendable, Hashable {
    /// Deepest allowed nesting of objects and arrays (the top-level object is depth 1).
    public var maxDepth: Int
    /// Most object members in the whole document.
    public var maxMembers: Int

    public init(maxDepth: Int = 16, maxMembers: Int = 256) {
        self.maxDepth = maxDepth
        self.maxMembers = maxMembers
    }
}
