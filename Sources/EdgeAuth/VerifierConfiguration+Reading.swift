/// The verifier's members of a configuration document, each declared once where it is read
/// (type, default, range, variable): docs/configuration.md lists them.
extension VerifierConfiguration {
    /// Reads the verifier's members of `root` and refuses the members nobody declared (read
    /// the other sections first).
    /// - Parameter preset: the provider when it comes from elsewhere (the environment) and
    ///   the document names none.
    static func read(from root: inout ConfigurationReader, provider preset: ProviderSetup? = nil) throws(ConfigurationError) -> VerifierConfiguration {
        // A provider sets the issuer, audiences, algorithms, keys and claim mapping itself.
        let provider = try ProviderSetup.read(in: &root) ?? preset
        let issuers = try root.strings("issuers", example: "[\"https://login.example.com/\"]", allowEmpty: false)
        let anyIssuer = try root.bool("anyIssuer", default: false)
        let audiences = try root.strings("audiences", example: "[\"https://api.example.com\"]", allowEmpty: false)
        let anyAudience = try root.bool("anyAudience", default: false)
        let algorithms = try readAlgorithms(&root)
        let leeway = try root.integer("leeway", default: 30, in: 0...maxLeeway, unit: .seconds, environment: "EDGEAUTH_LEEWAY")
        let maxAge = try root.integer("maxAge", in: 0...JSONText.maxNumericDate, unit: .seconds)
        let requiredType = try root.string("requiredType", example: "\"at+jwt\"")
        let requiredClaims = try root.strings("requiredClaims", example: "[\"email\"]") ?? []
        let requireExpiration = try root.bool("requireExpiration", default: true)
        var limits = TokenLimits()
        try root.section(into: &limits)
        let keys = try root.objects("keys", expected: KeySource.expected) { (entry, _) throws(ConfigurationError) in try KeySource.read(from: &entry) }
        let (cache, l1Entries) = try readCache(&root)
        var keyRefresh = KeyRefreshSettings()
        try root.section(into: &keyRefresh)
        let verifySignatures = try root.bool("verifySignatures", default: true, environment: "EDGEAUTH_VERIFY_SIGNATURES")
        try root.finish()

        // The checks that combine members.
        if provider != nil, let given = ["issuers", "anyIssuer", "audiences", "anyAudience"].first(where: { root.contains($0) }) {
            throw ConfigurationError("\(given) cannot be combined with provider, which sets the issuer and audiences: remove \(given)")
        }
        let selfIssued = root.issuerSuppliedBySection && provider == nil && issuers == nil && !anyIssuer && keys == nil
        let issuerRule = provider == nil && !selfIssued ? try rule(issuers, list: "issuers", any: anyIssuer, anyName: "anyIssuer") : nil
        let audienceRule = provider == nil && !selfIssued ? try rule(audiences, list: "audiences", any: anyAudience, anyName: "anyAudience") : nil
        let allKeys = (provider?.keySources ?? []) + (keys ?? [])
        guard !allKeys.isEmpty || selfIssued else {
            throw ConfigurationError("keys must be a non-empty array of key sources, each an object with \(KeySource.expected) (or give a provider)")
        }

        var policy = provider.map { $0.provider.policy(leeway: leeway, allowedRoles: $0.allowedRoles) }
            ?? ValidationPolicy(issuers: selfIssued ? .exactly([]) : issuerRule.map(IssuerRule.exactly) ?? .any,
                                audiences: selfIssued ? .anyOf([]) : audienceRule.map(AudienceRule.anyOf) ?? .any)
        // Explicit algorithms narrow a provider's, never widen them.
        policy.algorithms = provider == nil ? algorithms : AlgorithmSet(rawValue: policy.algorithms.rawValue & algorithms.rawValue)
        policy.requiredClaims = requiredClaims
        policy.leeway = leeway
        policy.requireExpiration = requireExpiration
        policy.maxAge = maxAge
        policy.requiredType = requiredType
        policy.limits = limits
        var configuration = VerifierConfiguration(policy: policy, keys: allKeys, cache: cache, l1Entries: l1Entries,
                                                  mapping: provider?.provider.mapping ?? .standard, keyRefresh: keyRefresh)
        configuration.verifySignatures = verifySignatures
        if !root.environment.isEmpty { configuration.environment = root.environment }
        return configuration
    }

    /// `algorithms`: names of `Algorithm`; all of them when absent.
    private static func readAlgorithms(_ root: inout ConfigurationReader) throws(ConfigurationError) -> AlgorithmSet {
        let known = Algorithm.allCases.map(\.name).joined(separator: ", ")
        guard let names = try root.strings("algorithms", example: "[\"RS256\", \"ES256\"]") else { return .all }
        var chosen = [Algorithm]()
        for (index, name) in names.enumerated() {
            guard let algorithm = Algorithm(name: name) else {
                throw ConfigurationError("\(root.path(of: "algorithms"))[\(index)]: \"\(name)\" is not one of \(known)")
            }
            chosen.append(algorithm)
        }
        return AlgorithmSet(chosen)
    }

    /// `issuers` / `anyIssuer` (or the audience pair): a list, or nil for "any".
    /// Exactly one must be given: there is no default.
    private static func rule(_ list: [String]?, list name: String, any: Bool, anyName: String) throws(ConfigurationError) -> [String]? {
        switch (list, any) {
        case (nil, false):
            throw ConfigurationError("give \(name) (a string or an array of strings) or \(anyName): true; there is no default")
        case (.some, true):
            throw ConfigurationError("give either \(name) or \(anyName): true, not both")
        case (nil, true):
            return nil
        case (.some(let values), false):
            return values
        }
    }

    /// `cache`: the shared LMDB cache (none without a directory) and the entries of the
    /// process-local cache in front of it.
    private static func readCache(_ root: inout ConfigurationReader) throws(ConfigurationError) -> (CacheConfiguration?, Int) {
        try root.section("cache", expected: "cache settings with a \"directory\"") { (cache) throws(ConfigurationError) in
            let directory = try cache.string("directory", example: "/var/cache/edgeauth", environment: "EDGEAUTH_CACHE_DIR")
            var settings = CacheConfiguration(directory: directory ?? "")
            settings.mapSizeBytes = try cache.integer("mapSizeBytes", default: settings.mapSizeBytes, in: (1 << 20)...(1 << 40), unit: .bytes)
            settings.maxReaders = try cache.integer("maxReaders", default: settings.maxReaders, in: 1...65_536)
            settings.maxTTL = try cache.integer("maxTTL", default: settings.maxTTL, in: 1...86_400, unit: .seconds)
            settings.negativeTTL = try cache.integer("negativeTTL", default: settings.negativeTTL, in: 0...3_600, unit: .seconds)
            let l1Entries = try cache.integer("l1Entries", default: Verifier.defaultL1Entries, in: 0...1_000_000)
            try cache.finish()
            guard directory != nil else {
                if cache.isPresent {
                    throw cache.error("directory", "must be a non-empty string: the LMDB directory shared by the processes, like /var/cache/edgeauth")
                }
                return (nil, Verifier.defaultL1Entries)
            }
            return (settings, l1Entries)
        }
    }
}

/// `limits`: bounds on the tokens themselves.
extension TokenLimits: ConfigurationSection {
    public static var member: String { "limits" }

    public mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
        maxTokenBytes = try section.integer("maxTokenBytes", default: maxTokenBytes, in: 1...VerifierConfiguration.maxTokenBytes, unit: .bytes)
        json.maxDepth = try section.integer("maxJSONDepth", default: json.maxDepth, in: 1...VerifierConfiguration.maxJSONDepth)
        json.maxMembers = try section.integer("maxJSONMembers", default: json.maxMembers, in: 1...VerifierConfiguration.maxJSONMembers)
    }
}
