/// `keyRefresh`: how remote key sets are fetched and kept fresh (seconds; timeouts may be
/// fractional). Each member has an `EDGEAUTH_KEY_REFRESH_*` variable.
extension KeyRefreshSettings: ConfigurationSection {
    public static var member: String { "keyRefresh" }

    public mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
        let day: Int64 = 86_400
        defaultLifetime = try section.integer("defaultLifetime", default: defaultLifetime, in: 1...(7 * day), unit: .seconds,
                                              environment: "EDGEAUTH_KEY_REFRESH_DEFAULT_LIFETIME")
        minimumLifetime = try section.integer("minimumLifetime", default: minimumLifetime, in: 1...(7 * day), unit: .seconds,
                                              environment: "EDGEAUTH_KEY_REFRESH_MINIMUM_LIFETIME")
        maximumLifetime = try section.integer("maximumLifetime", default: maximumLifetime, in: 1...(7 * day), unit: .seconds,
                                              environment: "EDGEAUTH_KEY_REFRESH_MAXIMUM_LIFETIME")
        coolDown = try section.integer("coolDown", default: coolDown, in: 1...day, unit: .seconds, environment: "EDGEAUTH_KEY_REFRESH_COOL_DOWN")
        maxStaleness = try section.integer("maxStaleness", default: maxStaleness, in: 1...(30 * day), unit: .seconds,
                                           environment: "EDGEAUTH_KEY_REFRESH_MAX_STALENESS")
        connectTimeout = try Self.timeout(&section, "connectTimeout", connectTimeout, environment: "EDGEAUTH_KEY_REFRESH_CONNECT_TIMEOUT")
        fetchTimeout = try Self.timeout(&section, "fetchTimeout", fetchTimeout, environment: "EDGEAUTH_KEY_REFRESH_FETCH_TIMEOUT")
        maxDocumentBytes = try section.integer("maxDocumentBytes", default: maxDocumentBytes, in: 1024...(16 << 20), unit: .bytes,
                                               environment: "EDGEAUTH_KEY_REFRESH_MAX_DOCUMENT_BYTES")
        try section.finish()
        try validate()
    }

    private static func timeout(_ section: inout ConfigurationReader, _ name: String, _ current: Duration, environment: String) throws(ConfigurationError) -> Duration {
        let seconds = try section.number(name, default: Double(current.nanoseconds) / 1e9, in: 0.001...300, unit: .seconds, environment: environment)
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
