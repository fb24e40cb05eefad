import Foundation

/// A verifier's whole configuration, as one JSON (or YAML) document: the configuration
/// file, and the C library's `edgeauth_verifier_new` argument. Every member is listed in
/// docs/configuration.md; the document is read by `ConfigurationReader`
/// (VerifierConfiguration+Reading.swift), loaded by VerifierConfiguration+Loading.swift.
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

    /// Opens the cache, loads the keys (fetching remote sets) and builds the verifier.
    /// - Parameter listeningOn: every address the server listens on: development mode is
    ///   refused unless all are loopback (and when none is given).
    /// - Throws: `ConfigurationError` for a cache that cannot be opened (kind `.cache`) or keys
    ///   that cannot be loaded (kind `.keys`).
    /// - Parameter startingUnavailable: see `KeyRing.load`.
    public func makeVerifier(listeningOn hosts: [String] = [], startingUnavailable: Bool = false) async throws(ConfigurationError) -> Verifier {
        if !verifySignatures {
            return try Verifier.skippingSignaturesForDevelopment(policy: policy, mapping: mapping, bindHosts: hosts)
        }
        let sharedCache = try openCache()
        let ring: KeyRing
        do {
            ring = try await KeyRing.load(keys, settings: keyRefresh, cache: sharedCache, issuers: exactIssuers, environment: environment,
                                          startingUnavailable: startingUnavailable)
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
}
