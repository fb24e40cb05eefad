import Foundation

/// A verifier's whole configuration, as one JSON (or YAML) document: the configuration
/// file, and the C library's `edgeauth_verifier_new` argument. Every member is listed in
/// docs/configuration.md.
public struct VerifierConfiguration: Sendable {
    public var policy: ValidationPolicy
    public var keys: [KeySource]
    public var cache: CacheConfiguration?
    public var l1Entries = Verifier.defaultL1Entries
    public var mapping = ClaimMapping.standard
    public var keyRefresh = KeyRefreshSettings()
    /// False only in development mode (`verifySignatures: false`, the `verifyJwt: false` of
    /// other frameworks): see `Verifier.skippingSignaturesForDevelopment`.
    public var verifySignatures = true
    /// Where `hmacSecretEnv` secrets are read when the keys are loaded: the environment
    /// the configuration was read with (the process's own by default).
    public var environment: [String: String] = ProcessInfo.processInfo.environment

    public init(policy: ValidationPolicy, keys: [KeySource], cache: CacheConfiguration? = nil, l1Entries: Int = Verifier.defaultL1Entries,
                mapping: ClaimMapping = .standard, keyRefresh: KeyRefreshSettings = KeyRefreshSettings()) {
        self.policy = policy
        self.keys = keys
        self.cache = cache
        self.l1Entries = l1Entries
        self.mapping = mapping
        self.keyRefresh = keyRefresh
    }

    /// Largest configuration accepted (inline JWKS documents included).
    public static let maxBytes = 4 << 20
    /// Bounds that keep arithmetic and per-token work sane.
    static let maxLeeway: Int64 = 600
    static let maxTokenBytes = 16 << 20
    static let maxJSONDepth = 64
    static let maxJSONMembers = 10_000

    static let members: Set<String> = [
        "issuers", "anyIssuer", "audiences", "anyAudience", "algorithms", "leeway", "maxAge", "requiredType",
        "requiredClaims", "requireExpiration", "limits", "keys", "keyRefresh", "cache", "provider", "verifySignatures",
    ]
    static let keyRefreshMembers: Set<String> = [
        "defaultLifetime", "minimumLifetime", "maximumLifetime", "coolDown", "maxStaleness", "connectTimeout", "fetchTimeout", "maxDocumentBytes",
    ]
    static let limitMembers: Set<String> = ["maxTokenBytes", "maxJSONDepth", "maxJSONMembers"]
    static let cacheMembers: Set<String> = ["directory", "mapSizeBytes", "maxReaders", "maxTTL", "negativeTTL", "l1Entries"]
    static let sourceMembers = ["jwks", "jwksFile", "jwksURL", "pemFile", "hmacSecretFile", "hmacSecretEnv"]

    /// Parses and checks a JSON configuration document.
    /// - Parameter environment: overrides (`EDGEAUTH_*`, see `applyingEnvironment`); none by default.
    /// - Throws: `ConfigurationError` naming the member (or variable) and the problem.
    public static func parse(_ bytes: some Collection<UInt8>, environment: [String: String] = [:]) throws(ConfigurationError) -> VerifierConfiguration {
        guard bytes.count <= maxBytes else {
            throw ConfigurationError("configuration is larger than \(maxBytes) bytes")
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw ConfigurationError("configuration is not valid JSON: \(error.explanation)")
        }
        return try from(document, environment: environment)
    }

    /// Reads a configuration file: YAML when its name ends in `.yaml` or `.yml`, JSON otherwise.
    /// Environment variables override what the file says (`applyingEnvironment`).
    /// - Throws: `ConfigurationError` naming the file, the member or the variable.
    /// - Parameter removing: takes the members another component reads (`edgeauth serve`'s
    ///   `server`) out of the document before it is checked.
    public static func load(
        file path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        removing: (JSONValue) -> JSONValue = { $0 }
    ) throws(ConfigurationError) -> VerifierConfiguration {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ConfigurationError("cannot read configuration file \(path)") }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: maxBytes + 1)) ?? nil ?? Data()
        guard data.count <= maxBytes else { throw ConfigurationError("configuration file \(path) is larger than \(maxBytes) bytes") }
        do throws(ConfigurationError) {
            let document: JSONValue
            if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
                document = try YAMLDocument.json(String(decoding: data, as: UTF8.self))
            } else {
                do {
                    document = try JSONValue.parse(data)
                } catch {
                    throw ConfigurationError("configuration is not valid JSON: \(error.explanation)")
                }
            }
            return try from(removing(document), environment: environment)
        } catch {
            throw ConfigurationError("\(path): \(error.message)")
        }
    }

    /// A configuration from the environment alone: the provider (`ProviderSetup.fromEnvironment`)
    /// and the overrides of `applyingEnvironment`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> VerifierConfiguration {
        let setup = try ProviderSetup.fromEnvironment(environment)
        var configuration = VerifierConfiguration(
            policy: setup.provider.policy(allowedRoles: setup.allowedRoles), keys: setup.keySources, mapping: setup.provider.mapping
        )
        try configuration.apply(environment: environment)
        return configuration
    }

    /// A configuration from a parsed document (JSON, or YAML converted to it).
    public static func from(_ document: JSONValue, environment: [String: String] = [:]) throws(ConfigurationError) -> VerifierConfiguration {
        guard case .object(let object) = document else {
            throw ConfigurationError("configuration must be a JSON object")
        }
        try checkMembers(object, allowed: members, in: "configuration")

        // A provider sets the issuer, audiences, algorithms, keys and claim mapping itself.
        let provider = try object["provider"].map { value throws(ConfigurationError) in try providerSetup(value, environment: environment) }
        if provider != nil, let given = ["issuers", "anyIssuer", "audiences", "anyAudience"].first(where: { object[$0] != nil }) {
            throw ConfigurationError("\(given) cannot be combined with provider, which sets the issuer and audiences")
        }
        let issuers = provider == nil ? try rule(object, list: "issuers", any: "anyIssuer") : nil
        let audiences = provider == nil ? try rule(object, list: "audiences", any: "anyAudience") : nil

        var algorithms = AlgorithmSet.all
        if let value = object["algorithms"] {
            let names = try strings(value, "algorithms")
            var chosen = [Algorithm]()
            for name in names {
                guard let algorithm = Algorithm(name: name) else {
                    throw ConfigurationError("algorithms: \"\(name)\" is not one of \(Algorithm.allCases.map(\.name).joined(separator: ", "))")
                }
                chosen.append(algorithm)
            }
            algorithms = AlgorithmSet(chosen)
        }

        let leeway = try integer(object["leeway"], "leeway", in: 0...maxLeeway) ?? 30
        let maxAge = try integer(object["maxAge"], "maxAge", in: 0...JSONText.maxNumericDate)
        var requiredType: String?
        if let value = object["requiredType"] {
            guard case .string(let text) = value, !text.isEmpty else { throw ConfigurationError("requiredType must be a non-empty string such as \"at+jwt\"") }
            requiredType = text
        }
        let requiredClaims = try object["requiredClaims"].map { value throws(ConfigurationError) in try strings(value, "requiredClaims", allowEmpty: true) } ?? []
        var requireExpiration = true
        if let value = object["requireExpiration"] {
            guard case .bool(let flag) = value else { throw ConfigurationError("requireExpiration must be true or false") }
            requireExpiration = flag
        }

        var limits = TokenLimits()
        if let value = object["limits"] {
            guard case .object(let members) = value else { throw ConfigurationError("limits must be an object") }
            try checkMembers(members, allowed: limitMembers, in: "limits")
            if let bytes = try integer(members["maxTokenBytes"], "limits.maxTokenBytes", in: 1...Int64(maxTokenBytes)) {
                limits.maxTokenBytes = Int(bytes)
            }
            if let depth = try integer(members["maxJSONDepth"], "limits.maxJSONDepth", in: 1...Int64(maxJSONDepth)) {
                limits.json.maxDepth = Int(depth)
            }
            if let count = try integer(members["maxJSONMembers"], "limits.maxJSONMembers", in: 1...Int64(maxJSONMembers)) {
                limits.json.maxMembers = Int(count)
            }
        }

        var keys = provider?.keySources ?? []
        let entries: [JSONValue]
        switch object["keys"] {
        case .array(let list)? where !list.isEmpty || !keys.isEmpty: entries = list
        case nil where !keys.isEmpty: entries = []
        default:
            throw ConfigurationError("keys must be a non-empty array of key sources, each an object with one of: \(sourceMembers.joined(separator: ", "))")
        }
        for (index, entry) in entries.enumerated() {
            keys.append(try keySpec(entry, index: index))
        }

        var cache: CacheConfiguration?
        var l1Entries = Verifier.defaultL1Entries
        if let value = object["cache"] {
            guard case .object(let members) = value else { throw ConfigurationError("cache must be an object with a \"directory\"") }
            try checkMembers(members, allowed: cacheMembers, in: "cache")
            guard case .string(let directory)? = members["directory"], !directory.isEmpty else {
                throw ConfigurationError("cache.directory must be a non-empty string (the LMDB directory shared by the processes)")
            }
            var configuration = CacheConfiguration(directory: directory)
            if let size = try integer(members["mapSizeBytes"], "cache.mapSizeBytes", in: (1 << 20)...(1 << 40)) {
                configuration.mapSizeBytes = Int(size)
            }
            if let readers = try integer(members["maxReaders"], "cache.maxReaders", in: 1...65_536) {
                configuration.maxReaders = UInt32(readers)
            }
            if let ttl = try integer(members["maxTTL"], "cache.maxTTL", in: 1...86_400) {
                configuration.maxTTL = ttl
            }
            if let ttl = try integer(members["negativeTTL"], "cache.negativeTTL", in: 0...3_600) {
                configuration.negativeTTL = ttl
            }
            if let entries = try integer(members["l1Entries"], "cache.l1Entries", in: 0...1_000_000) {
                l1Entries = Int(entries)
            }
            cache = configuration
        }

        let keyRefresh = try keyRefreshSettings(object["keyRefresh"])

        var policy = provider.map { $0.provider.policy(leeway: leeway, allowedRoles: $0.allowedRoles) }
            ?? ValidationPolicy(issuers: issuers.map(IssuerRule.exactly) ?? .any, audiences: audiences.map(AudienceRule.anyOf) ?? .any)
        // Explicit algorithms narrow a provider's, never widen them.
        policy.algorithms = provider == nil ? algorithms : AlgorithmSet(rawValue: policy.algorithms.rawValue & algorithms.rawValue)
        policy.requiredClaims = requiredClaims
        policy.leeway = leeway
        policy.requireExpiration = requireExpiration
        policy.maxAge = maxAge
        policy.requiredType = requiredType
        policy.limits = limits
        var configuration = VerifierConfiguration(policy: policy, keys: keys, cache: cache, l1Entries: l1Entries,
                                                  mapping: provider?.provider.mapping ?? .standard, keyRefresh: keyRefresh)
        if let value = object["verifySignatures"] {
            guard case .bool(let flag) = value else { throw ConfigurationError("verifySignatures must be true or false") }
            configuration.verifySignatures = flag
        }
        try configuration.apply(environment: environment)
        return configuration
    }

    /// Variables that override members, for deployments that keep one file and vary a few values.
    /// (Provider settings are overridden by the provider's own variables, `ProviderSetup`.)
    public static let environmentOverrides: [(variable: String, member: String)] = [
        ("EDGEAUTH_LEEWAY", "leeway"),
        ("EDGEAUTH_VERIFY_SIGNATURES", "verifySignatures"),
        ("EDGEAUTH_CACHE_DIR", "cache.directory"),
        ("EDGEAUTH_KEY_REFRESH_DEFAULT_LIFETIME", "keyRefresh.defaultLifetime"),
        ("EDGEAUTH_KEY_REFRESH_MINIMUM_LIFETIME", "keyRefresh.minimumLifetime"),
        ("EDGEAUTH_KEY_REFRESH_MAXIMUM_LIFETIME", "keyRefresh.maximumLifetime"),
        ("EDGEAUTH_KEY_REFRESH_COOL_DOWN", "keyRefresh.coolDown"),
        ("EDGEAUTH_KEY_REFRESH_MAX_STALENESS", "keyRefresh.maxStaleness"),
        ("EDGEAUTH_KEY_REFRESH_CONNECT_TIMEOUT", "keyRefresh.connectTimeout"),
        ("EDGEAUTH_KEY_REFRESH_FETCH_TIMEOUT", "keyRefresh.fetchTimeout"),
        ("EDGEAUTH_KEY_REFRESH_MAX_DOCUMENT_BYTES", "keyRefresh.maxDocumentBytes"),
    ]

    /// Applies `environmentOverrides`, each checked like the member it replaces.
    mutating func apply(environment: [String: String]) throws(ConfigurationError) {
        if !environment.isEmpty { self.environment = environment }
        var refresh: [String: JSONValue] = [:]
        for (variable, member) in Self.environmentOverrides {
            guard let raw = environment[variable] else { continue }
            let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            switch member {
            case "cache.directory":
                guard !value.isEmpty else { throw ConfigurationError("\(variable) is set but empty (expected the cache directory, like /var/lib/edgeauth)") }
                if cache == nil { cache = CacheConfiguration(directory: value) } else { cache?.directory = value }
            case "verifySignatures":
                guard let flag = ["true": true, "false": false][value.lowercased()] else {
                    throw ConfigurationError("\(variable) must be true or false (got \"\(raw)\")")
                }
                verifySignatures = flag
            case "leeway":
                guard let seconds = Int64(value), (0...Self.maxLeeway).contains(seconds) else {
                    throw ConfigurationError("\(variable) must be a whole number of seconds from 0 to \(Self.maxLeeway) (got \"\(raw)\")")
                }
                policy.leeway = seconds
            default:
                guard Double(value)?.isFinite == true else {
                    throw ConfigurationError("\(variable) must be a number of seconds (or bytes), like 300 (got \"\(raw)\")")
                }
                refresh[String(member.dropFirst("keyRefresh.".count))] = .number(value)
            }
        }
        guard !refresh.isEmpty else { return }
        // Through the member parser, so the same bounds apply; unset members keep their value.
        keyRefresh = try Self.keyRefreshSettings(.object(refresh), base: keyRefresh)
    }

    /// Opens the cache, loads the keys (fetching remote sets) and builds the verifier.
    /// - Parameter listeningOn: every address the server listens on: development mode is
    ///   refused unless all are loopback (and when none is given).
    /// - Throws: `ConfigurationError` for a cache that cannot be opened (kind `.cache`) or keys
    ///   that cannot be loaded (kind `.keys`).
    public func makeVerifier(listeningOn hosts: [String] = []) async throws(ConfigurationError) -> Verifier {
        if !verifySignatures {
            return try Verifier.skippingSignaturesForDevelopment(policy: policy, mapping: mapping, bindHosts: hosts)
        }
        let sharedCache = try openCache()
        let ring: KeyRing
        do {
            ring = try await KeyRing.load(keys, settings: keyRefresh, cache: sharedCache, issuers: exactIssuers, environment: environment)
        } catch {
            throw ConfigurationError(error.message, kind: .keys)
        }
        return Verifier(policy: policy, keyRing: ring, cache: sharedCache, l1Entries: l1Entries, mapping: mapping)
    }

    /// Whether building the verifier downloads key sets (and so must be awaited).
    public var downloadsKeys: Bool { keys.contains(where: \.isRemote) }

    /// The same as `makeVerifier`, on the calling thread, for a configuration that downloads
    /// nothing (`downloadsKeys == false`) and checks signatures.
    package func makeVerifierWithoutDownloads() throws(ConfigurationError) -> Verifier {
        let sharedCache = try openCache()
        let ring: KeyRing
        do {
            ring = try KeyRing.loadLocal(keys, settings: keyRefresh, cache: sharedCache, issuers: exactIssuers, environment: environment)
        } catch {
            throw ConfigurationError(error.message, kind: .keys)
        }
        return Verifier(policy: policy, keyRing: ring, cache: sharedCache, l1Entries: l1Entries, mapping: mapping)
    }

    private func openCache() throws(ConfigurationError) -> SharedCache? {
        guard let cache else { return nil }
        do {
            return try SharedCache.open(cache)
        } catch {
            throw ConfigurationError("cache: \(error)", kind: .cache)
        }
    }

    /// The issuers whose key generation a removed key bumps (none when any issuer is accepted).
    public var exactIssuers: [String] {
        if case .exactly(let list) = policy.issuers { list } else { [] }
    }

    /// `keyRefresh`: how remote key sets are fetched and kept fresh (seconds; timeouts may be fractional).
    private static func keyRefreshSettings(_ value: JSONValue?, base: KeyRefreshSettings = KeyRefreshSettings()) throws(ConfigurationError) -> KeyRefreshSettings {
        var settings = base
        guard let value else { return settings }
        guard case .object(let members) = value else { throw ConfigurationError("keyRefresh must be an object") }
        try checkMembers(members, allowed: keyRefreshMembers, in: "keyRefresh")
        let day: Int64 = 86_400
        if let seconds = try integer(members["defaultLifetime"], "keyRefresh.defaultLifetime", in: 1...(7 * day)) { settings.defaultLifetime = seconds }
        if let seconds = try integer(members["minimumLifetime"], "keyRefresh.minimumLifetime", in: 1...(7 * day)) { settings.minimumLifetime = seconds }
        if let seconds = try integer(members["maximumLifetime"], "keyRefresh.maximumLifetime", in: 1...(7 * day)) { settings.maximumLifetime = seconds }
        if let seconds = try integer(members["coolDown"], "keyRefresh.coolDown", in: 1...day) { settings.coolDown = seconds }
        if let seconds = try integer(members["maxStaleness"], "keyRefresh.maxStaleness", in: 1...(30 * day)) { settings.maxStaleness = seconds }
        if let size = try integer(members["maxDocumentBytes"], "keyRefresh.maxDocumentBytes", in: 1024...(16 << 20)) { settings.maxDocumentBytes = Int(size) }
        for (name, path) in [("connectTimeout", \KeyRefreshSettings.connectTimeout), ("fetchTimeout", \KeyRefreshSettings.fetchTimeout)] {
            guard let member = members[name] else { continue }
            guard let seconds = member.doubleValue, seconds >= 0.001, seconds <= 300 else {
                throw ConfigurationError("keyRefresh.\(name) must be a number of seconds between 0.001 and 300")
            }
            settings[keyPath: path] = .milliseconds(Int64((seconds * 1000).rounded()))
        }
        do {
            try settings.validate()
        } catch {
            throw ConfigurationError(error.message)
        }
        return settings
    }

    /// `provider`: `{"name": "auth0", "domain": …, …}` (docs/c-api.md).
    private static func providerSetup(_ value: JSONValue, environment: [String: String]) throws(ConfigurationError) -> ProviderSetup {
        let names = ProviderSetup.settings.keys.sorted()
        guard case .object(let members) = value, case .string(let name)? = members["name"], let settings = ProviderSetup.settings[name] else {
            throw ConfigurationError("provider must be an object with \"name\": one of \(names.joined(separator: ", "))")
        }
        try checkMembers(members, allowed: Set(settings + ["name"]), in: "provider")
        let source = ProviderSetup.SettingSource(
            value: { (key) throws(ConfigurationError) -> String? in
                // The provider's variable (`EDGEAUTH_AUTH0_AUDIENCE`, …) overrides the member.
                let variables = ProviderSetup.variables(provider: name, setting: key)
                if let variable = variables.first(where: { environment[$0] != nil }) {
                    if key == "jwtSecretEnv" { return variable }  // the variable's name, never its value
                    let value = environment[variable]!.trimmingCharacters(in: .whitespacesAndNewlines)
                    guard !value.isEmpty else { throw ConfigurationError("\(variable) is set but empty") }
                    return value
                }
                switch members[key] {
                case nil: return nil
                case .string(let text)?: return text
                // A list (allowedRoles) is passed the way the environment spells it.
                case .array(let items)? where items.allSatisfy({ $0.stringValue != nil }):
                    return items.compactMap(\.stringValue).joined(separator: ",")
                default: throw ConfigurationError("provider.\(key) must be a string")
                }
            },
            describe: { key in
                ProviderSetup.variables(provider: name, setting: key).first { environment[$0] != nil } ?? "provider.\(key)"
            }
        )
        do {
            return try ProviderSetup.fromSettings(provider: name, source)
        } catch {
            throw ConfigurationError(error.message)
        }
    }

    private static func checkMembers(_ object: [String: JSONValue], allowed: Set<String>, in place: String) throws(ConfigurationError) {
        for name in object.keys.sorted() where !allowed.contains(name) {
            throw ConfigurationError("\(place): unknown member \"\(name)\" (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    /// `issuers` / `anyIssuer` (or the audience pair): a list, or nil for "any".
    /// Exactly one must be given: there is no default.
    private static func rule(_ object: [String: JSONValue], list: String, any: String) throws(ConfigurationError) -> [String]? {
        var anyFlag = false
        if let value = object[any] {
            guard case .bool(let flag) = value else { throw ConfigurationError("\(any) must be true or false") }
            anyFlag = flag
        }
        switch (object[list], anyFlag) {
        case (nil, false):
            throw ConfigurationError("give \(list) (a string or an array of strings) or \(any): true; there is no default")
        case (.some, true):
            throw ConfigurationError("give either \(list) or \(any): true, not both")
        case (nil, true):
            return nil
        case (.some(let value), false):
            return try strings(value, list)
        }
    }

    /// A string or an array of non-empty strings.
    private static func strings(_ value: JSONValue, _ name: String, allowEmpty: Bool = false) throws(ConfigurationError) -> [String] {
        let list: [JSONValue]
        switch value {
        case .string: list = [value]
        case .array(let items): list = items
        default: throw ConfigurationError("\(name) must be a string or an array of strings")
        }
        guard allowEmpty || !list.isEmpty else { throw ConfigurationError("\(name) must not be empty") }
        var out = [String]()
        for item in list {
            guard case .string(let text) = item, !text.isEmpty else {
                throw ConfigurationError("\(name) must contain only non-empty strings")
            }
            out.append(text)
        }
        return out
    }

    /// An integer member within `range`; nil when absent.
    private static func integer(_ value: JSONValue?, _ name: String, in range: ClosedRange<Int64>) throws(ConfigurationError) -> Int64? {
        guard let value else { return nil }
        guard case .number(let text) = value, let number = Int64(text) else {
            throw ConfigurationError("\(name) must be an integer")
        }
        guard range.contains(number) else {
            throw ConfigurationError("\(name) must be between \(range.lowerBound) and \(range.upperBound) (got \(number))")
        }
        return number
    }

    private static func keySpec(_ entry: JSONValue, index: Int) throws(ConfigurationError) -> KeySource {
        let place = "keys[\(index)]"
        guard case .object(let members) = entry else {
            throw ConfigurationError("\(place) must be an object with one of: \(sourceMembers.joined(separator: ", "))")
        }
        let sources = sourceMembers.filter { members[$0] != nil }
        guard sources.count == 1, let source = sources.first else {
            throw ConfigurationError("\(place) must have exactly one of: \(sourceMembers.joined(separator: ", "))")
        }
        let takesKid = ["pemFile", "hmacSecretFile", "hmacSecretEnv"].contains(source)
        try checkMembers(members, allowed: takesKid ? [source, "kid"] : [source], in: place)
        var kid: String?
        if let value = members["kid"] {
            guard case .string(let text) = value, !text.isEmpty else { throw ConfigurationError("\(place).kid must be a non-empty string") }
            kid = text
        }
        let value = members[source]!
        if source == "jwks" {
            switch value {
            case .object: return .jwks(value.jsonText)
            case .string(let text):
                do {
                    _ = try JSONValue.parse(text)
                    return .jwks(text)
                } catch {
                    throw ConfigurationError("\(place).jwks is not valid JSON: \(error.explanation)")
                }
            default: throw ConfigurationError("\(place).jwks must be a JWKS object ({\"keys\": [...]}) or its JSON text")
            }
        }
        guard case .string(let text) = value, !text.isEmpty else {
            throw ConfigurationError("\(place).\(source) must be a non-empty string")
        }
        switch source {
        case "jwksFile": return .jwksFile(text)
        case "jwksURL": return .jwksURL(text)
        case "pemFile": return .pemFile(text, kid: kid)
        case "hmacSecretFile": return .hmacSecretFile(text, kid: kid)
        default: return .hmacSecretEnvironment(text, kid: kid)
        }
    }
}

