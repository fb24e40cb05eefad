/// How remote key sets (JWKS URLs, OIDC discovery) are fetched and kept fresh.
/// Every duration is in seconds unless it is a `Duration`.
public struct KeyRefreshSettings: Sendable, Hashable {
    /// Lifetime of a key set when the response has no `Cache-Control: max-age`.
    public var defaultLifetime: Int64 = 600
    /// A shorter `max-age` (or `no-cache`) is raised to this: providers are not polled faster.
    public var minimumLifetime: Int64 = 60
    /// A longer `max-age` is lowered to this, so removed keys stop verifying within it.
    public var maximumLifetime: Int64 = 86_400
    /// At most one fetch per source per cool-down, across every process of the host
    /// (coordinated through the shared cache): bounds what tokens with unknown `kid`s can cause.
    public var coolDown: Int64 = 30
    /// How long the last good keys keep verifying when the provider cannot be reached.
    public var maxStaleness: Int64 = 86_400
    /// Time allowed to open the connection.
    public var connectTimeout: Duration = .seconds(3)
    /// Time allowed for the whole download.
    public var fetchTimeout: Duration = .seconds(10)
    /// Largest JWKS or discovery document accepted.
    public var maxDocumentBytes: Int = 1 << 20

    public init() {}

    /// The lifetime of a document whose `Cache-Control` gave `maxAge` (nil: no header).
    func lifetime(maxAge: Int64?) -> Int64 {
        min(max(maxAge ?? defaultLifetime, minimumLifetime), maximumLifetime)
    }

    /// When a fresh set is refreshed: at four fifths of its lifetime, before it expires — or
    /// of `maxStaleness`, when that is shorter, so that keys are not dropped for staleness
    /// while the provider answers.
    func refreshTime(fetchedAt: Int64, freshUntil: Int64) -> Int64 {
        fetchedAt + max(1, min(freshUntil - fetchedAt, maxStaleness) * 4 / 5)
    }

    /// Checks that the settings make sense together.
    /// - Throws: `ConfigurationError` naming the setting.
    public func validate() throws(ConfigurationError) {
        func positive(_ value: Int64, _ name: String) throws(ConfigurationError) {
            guard value > 0 else { throw ConfigurationError("keyRefresh.\(name) must be a positive number of seconds (got \(value))") }
        }
        try positive(defaultLifetime, "defaultLifetime")
        try positive(minimumLifetime, "minimumLifetime")
        try positive(maximumLifetime, "maximumLifetime")
        try positive(coolDown, "coolDown")
        try positive(maxStaleness, "maxStaleness")
        guard coolDown < maxStaleness else {
            throw ConfigurationError("keyRefresh.maxStaleness (\(maxStaleness)) must be longer than keyRefresh.coolDown (\(coolDown)): keys would be dropped before a refresh is allowed")
        }
        guard minimumLifetime <= maximumLifetime else {
            throw ConfigurationError("keyRefresh.minimumLifetime (\(minimumLifetime)) must not exceed keyRefresh.maximumLifetime (\(maximumLifetime))")
        }
        guard connectTimeout > .zero, fetchTimeout > .zero else {
            throw ConfigurationError("keyRefresh.connectTimeout and keyRefresh.fetchTimeout must be positive")
        }
        guard maxDocumentBytes >= 1024 else {
            throw ConfigurationError("keyRefresh.maxDocumentBytes must be at least 1024 (got \(maxDocumentBytes))")
        }
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (seconds < 0 ? .min : .max) : product &+ attoseconds / 1_000_000_000
    }

    /// The duration in whole seconds, rounded up.
    var wholeSeconds: Int64 {
        let (seconds, attoseconds) = components
        return attoseconds > 0 ? seconds + 1 : seconds
    }
}
