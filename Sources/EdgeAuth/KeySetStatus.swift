/// A remote key set as an operator sees it.
public struct KeySetStatus: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Within its lifetime.
        case fresh
        /// Past its lifetime (refresh failing or pending), still used: within `maxStaleness`.
        case stale
        /// Never fetched, or older than `maxStaleness`: its keys are not used.
        case unavailable
    }

    /// The source (`JWKS URL …` or `OIDC discovery for …`).
    public let source: String
    public let state: State
    public let keyCount: Int
    /// When the keys in use were fetched (by this process or another); nil if never.
    public let fetchedAt: Int64?
    /// Seconds since `fetchedAt`.
    public let ageSeconds: Int64?
    public let freshUntil: Int64?
    /// The last failure of a fetch, until a fetch succeeds.
    public let lastError: String?
    /// Fetches this process made, and how many failed.
    public let fetches: Int
    public let failures: Int
}
