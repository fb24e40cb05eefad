import Dispatch
import EdgeAuth
import Foundation
import Synchronization

/// Why `edgeauth_verifier_new` failed: which status, and a message naming the
/// member and the problem.
struct CABIError: Error {
    enum Kind { case configuration, keys, cache }
    let kind: Kind
    let message: String

    static func config(_ message: String) -> CABIError { CABIError(kind: .configuration, message: message) }
    static func keys(_ message: String) -> CABIError { CABIError(kind: .keys, message: message) }
    static func cache(_ message: String) -> CABIError { CABIError(kind: .cache, message: message) }
}

/// The JSON configuration of `edgeauth_verifier_new` (documented in docs/c-api.md).
struct VerifierConfiguration {
    var policy: ValidationPolicy
    var keys: [KeySource]
    var cache: CacheConfiguration?
    var l1Entries = Verifier.defaultL1Entries
    var mapping = ClaimMapping.standard
    var keyRefresh = KeyRefreshSettings()

    /// Largest configuration accepted (inline JWKS documents included).
    static let maxBytes = 4 << 20
    /// Bounds that keep arithmetic and per-token work sane.
    static let maxLeeway: Int64 = 600
    static let maxTokenBytes = 16 << 20
    static let maxJSONDepth = 64
    static let maxJSONMembers = 10_000

    static let members: Set<String> = [
        "issuers", "anyIssuer", "audiences", "anyAudience", "algorithms", "leeway", "maxAge", "requiredType",
        "requiredClaims", "requireExpiration", "limits", "keys", "keyRefresh", "cache", "provider",
    ]
    static let keyRefreshMembers: Set<String> = [
        "defaultLifetime", "minimumLifetime", "maximumLifetime", "coolDown", "maxStaleness", "connectTimeout", "fetchTimeout", "maxDocumentBytes",
    ]
    static let limitMembers: Set<String> = ["maxTokenBytes", "maxJSONDepth", "maxJSONMembers"]
    static let cacheMembers: Set<String> = ["directory", "mapSizeBytes", "maxReaders", "maxTTL", "negativeTTL", "l1Entries"]
    static let sourceMembers = ["jwks", "jwksFile", "jwksURL", "pemFile", "hmacSecretFile", "hmacSecretEnv"]

    /// Parses and checks a configuration document.
    /// - Throws: `CABIError` (configuration) naming the member and the problem.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(CABIError) -> VerifierConfiguration {
        guard bytes.count <= maxBytes else {
            throw .config("configuration is larger than \(maxBytes) bytes")
        }
        let document: JSONValue
        do {
            document = try unsafe JSONValue.parse(bytes)
        } catch {
            throw .config("configuration is not valid JSON: \(error.explanation)")
        }
        guard case .object(let object) = document else {
            throw .config("configuration must be a JSON object")
        }
        try checkMembers(object, allowed: members, in: "configuration")

        // A provider sets the issuer, audiences, algorithms, keys and claim mapping itself.
        let provider = try object["provider"].map { value throws(CABIError) in try providerSetup(value) }
        if provider != nil, let given = ["issuers", "anyIssuer", "audiences", "anyAudience"].first(where: { object[$0] != nil }) {
            throw .config("\(given) cannot be combined with provider, which sets the issuer and audiences")
        }
        let issuers = provider == nil ? try rule(object, list: "issuers", any: "anyIssuer") : nil
        let audiences = provider == nil ? try rule(object, list: "audiences", any: "anyAudience") : nil

        var algorithms = AlgorithmSet.all
        if let value = object["algorithms"] {
            let names = try strings(value, "algorithms")
            var chosen = [Algorithm]()
            for name in names {
                guard let algorithm = Algorithm(name: name) else {
                    throw .config("algorithms: \"\(name)\" is not one of \(Algorithm.allCases.map(\.name).joined(separator: ", "))")
                }
                chosen.append(algorithm)
            }
            algorithms = AlgorithmSet(chosen)
        }

        let leeway = try integer(object["leeway"], "leeway", in: 0...maxLeeway) ?? 30
        let maxAge = try integer(object["maxAge"], "maxAge", in: 0...JSONText.maxNumericDate)
        var requiredType: String?
        if let value = object["requiredType"] {
            guard case .string(let text) = value, !text.isEmpty else { throw .config("requiredType must be a non-empty string such as \"at+jwt\"") }
            requiredType = text
        }
        let requiredClaims = try object["requiredClaims"].map { value throws(CABIError) in try strings(value, "requiredClaims", allowEmpty: true) } ?? []
        var requireExpiration = true
        if let value = object["requireExpiration"] {
            guard case .bool(let flag) = value else { throw .config("requireExpiration must be true or false") }
            requireExpiration = flag
        }

        var limits = TokenLimits()
        if let value = object["limits"] {
            guard case .object(let members) = value else { throw .config("limits must be an object") }
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
            throw .config("keys must be a non-empty array of key sources, each an object with one of: \(sourceMembers.joined(separator: ", "))")
        }
        for (index, entry) in entries.enumerated() {
            keys.append(try keySpec(entry, index: index))
        }

        var cache: CacheConfiguration?
        var l1Entries = Verifier.defaultL1Entries
        if let value = object["cache"] {
            guard case .object(let members) = value else { throw .config("cache must be an object with a \"directory\"") }
            try checkMembers(members, allowed: cacheMembers, in: "cache")
            guard case .string(let directory)? = members["directory"], !directory.isEmpty else {
                throw .config("cache.directory must be a non-empty string (the LMDB directory shared by the processes)")
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
        return VerifierConfiguration(policy: policy, keys: keys, cache: cache, l1Entries: l1Entries,
                                     mapping: provider?.provider.mapping ?? .standard, keyRefresh: keyRefresh)
    }

    /// `keyRefresh`: how remote key sets are fetched and kept fresh (seconds; timeouts may be fractional).
    private static func keyRefreshSettings(_ value: JSONValue?) throws(CABIError) -> KeyRefreshSettings {
        var settings = KeyRefreshSettings()
        guard let value else { return settings }
        guard case .object(let members) = value else { throw .config("keyRefresh must be an object") }
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
                throw .config("keyRefresh.\(name) must be a number of seconds between 0.001 and 300")
            }
            settings[keyPath: path] = .milliseconds(Int64((seconds * 1000).rounded()))
        }
        do {
            try settings.validate()
        } catch {
            throw .config(error.message)
        }
        return settings
    }

    /// `provider`: `{"name": "auth0", "domain": …, …}` (docs/c-api.md).
    private static func providerSetup(_ value: JSONValue) throws(CABIError) -> ProviderSetup {
        let names = ProviderSetup.settings.keys.sorted()
        guard case .object(let members) = value, case .string(let name)? = members["name"], let settings = ProviderSetup.settings[name] else {
            throw .config("provider must be an object with \"name\": one of \(names.joined(separator: ", "))")
        }
        try checkMembers(members, allowed: Set(settings + ["name"]), in: "provider")
        let source = ProviderSetup.SettingSource(
            value: { (key) throws(ConfigurationError) -> String? in
                switch members[key] {
                case nil: return nil
                case .string(let text)?: return text
                // A list (allowedRoles) is passed the way the environment spells it.
                case .array(let items)? where items.allSatisfy({ $0.stringValue != nil }):
                    return items.compactMap(\.stringValue).joined(separator: ",")
                default: throw ConfigurationError("provider.\(key) must be a string")
                }
            },
            describe: { "provider.\($0)" }
        )
        do {
            return try ProviderSetup.fromSettings(provider: name, source)
        } catch {
            throw .config(error.message)
        }
    }

    private static func checkMembers(_ object: [String: JSONValue], allowed: Set<String>, in place: String) throws(CABIError) {
        for name in object.keys.sorted() where !allowed.contains(name) {
            throw .config("\(place): unknown member \"\(name)\" (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    /// `issuers` / `anyIssuer` (or the audience pair): a list, or nil for "any".
    /// Exactly one must be given: there is no default.
    private static func rule(_ object: [String: JSONValue], list: String, any: String) throws(CABIError) -> [String]? {
        var anyFlag = false
        if let value = object[any] {
            guard case .bool(let flag) = value else { throw .config("\(any) must be true or false") }
            anyFlag = flag
        }
        switch (object[list], anyFlag) {
        case (nil, false):
            throw .config("give \(list) (a string or an array of strings) or \(any): true; there is no default")
        case (.some, true):
            throw .config("give either \(list) or \(any): true, not both")
        case (nil, true):
            return nil
        case (.some(let value), false):
            return try strings(value, list)
        }
    }

    /// A string or an array of non-empty strings.
    private static func strings(_ value: JSONValue, _ name: String, allowEmpty: Bool = false) throws(CABIError) -> [String] {
        let list: [JSONValue]
        switch value {
        case .string: list = [value]
        case .array(let items): list = items
        default: throw .config("\(name) must be a string or an array of strings")
        }
        guard allowEmpty || !list.isEmpty else { throw .config("\(name) must not be empty") }
        var out = [String]()
        for item in list {
            guard case .string(let text) = item, !text.isEmpty else {
                throw .config("\(name) must contain only non-empty strings")
            }
            out.append(text)
        }
        return out
    }

    /// An integer member within `range`; nil when absent.
    private static func integer(_ value: JSONValue?, _ name: String, in range: ClosedRange<Int64>) throws(CABIError) -> Int64? {
        guard let value else { return nil }
        guard case .number(let text) = value, let number = Int64(text) else {
            throw .config("\(name) must be an integer")
        }
        guard range.contains(number) else {
            throw .config("\(name) must be between \(range.lowerBound) and \(range.upperBound) (got \(number))")
        }
        return number
    }

    private static func keySpec(_ entry: JSONValue, index: Int) throws(CABIError) -> KeySource {
        let place = "keys[\(index)]"
        guard case .object(let members) = entry else {
            throw .config("\(place) must be an object with one of: \(sourceMembers.joined(separator: ", "))")
        }
        let sources = sourceMembers.filter { members[$0] != nil }
        guard sources.count == 1, let source = sources.first else {
            throw .config("\(place) must have exactly one of: \(sourceMembers.joined(separator: ", "))")
        }
        let takesKid = ["pemFile", "hmacSecretFile", "hmacSecretEnv"].contains(source)
        try checkMembers(members, allowed: takesKid ? [source, "kid"] : [source], in: place)
        var kid: String?
        if let value = members["kid"] {
            guard case .string(let text) = value, !text.isEmpty else { throw .config("\(place).kid must be a non-empty string") }
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
                    throw .config("\(place).jwks is not valid JSON: \(error.explanation)")
                }
            default: throw .config("\(place).jwks must be a JWKS object ({\"keys\": [...]}) or its JSON text")
            }
        }
        guard case .string(let text) = value, !text.isEmpty else {
            throw .config("\(place).\(source) must be a non-empty string")
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

/// Loads the keys of a configuration.
///
/// Local sources (inline, files, environment) are read on the calling thread.
/// Remote sets go through `KeyRing.load`, which is async: the calling (C) thread
/// waits for it (`AsyncWait`).
enum CABIKeyLoader {
    static func load(_ configuration: VerifierConfiguration, cache: SharedCache?) throws(CABIError) -> KeyRing {
        guard configuration.keys.contains(where: \.isRemote) else {
            var keys = [VerificationKey]()
            var skipped = [String]()
            for source in configuration.keys {
                do {
                    let set = try KeyLoader.loadLocal(source)
                    keys += set.keys
                    skipped += set.skipped.map { "\(source.label): \($0)" }
                } catch {
                    throw .keys(error.message)
                }
            }
            guard !keys.isEmpty else {
                throw .keys("no usable verification key" + (skipped.isEmpty ? "" : ": " + skipped.joined(separator: "; ")))
            }
            return KeyRing(KeySet(keys: keys, skipped: skipped))
        }
        let issuers: [String] = if case .exactly(let list) = configuration.policy.issuers { list } else { [] }
        let sources = configuration.keys
        let settings = configuration.keyRefresh
        let result = AsyncWait.run { () async -> Result<KeyRing, ConfigurationError> in
            do throws(ConfigurationError) {
                return .success(try await KeyRing.load(sources, settings: settings, cache: cache, issuers: issuers))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case nil:
            throw .keys("edgeauth_verifier_new was called from inside a Swift task, where waiting for the key download could deadlock; call it from an ordinary thread, or use EdgeAuth's Swift API")
        case .failure(let error)?:
            throw .keys(error.message)
        case .success(let ring)?:
            return ring
        }
    }
}

/// Runs async work to its end while the calling C thread waits.
enum AsyncWait {
    /// The result, or nil when called from inside a Swift task: the wait would then
    /// block a thread of the cooperative pool, which the work itself may need.
    static func run<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T? {
        let insideTask = unsafe withUnsafeCurrentTask { task in unsafe task != nil }
        guard !insideTask else { return nil }
        let outcome = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            outcome.value = await body()
            done.signal()
        }
        done.wait()
        return outcome.value
    }

    /// The result handed from the task to the waiting thread. Written once before
    /// `signal()` and read after `wait()`, which orders the two.
    private final class Outcome<T>: @unchecked Sendable {
        var value: T?
    }
}

/// The shared cache of a configuration (one open instance per directory and process).
enum CacheRegistry {
    static func cache(for configuration: CacheConfiguration) throws(CABIError) -> SharedCache {
        do {
            return try SharedCache.open(configuration)
        } catch {
            throw .cache("cache: \(error)")
        }
    }
}
