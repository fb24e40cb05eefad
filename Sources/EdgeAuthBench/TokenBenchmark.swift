import EdgeAuth
import EdgeAuthCore
import EdgeAuthCrypto
import Foundation

/// The measurements of `edgeauth bench` for one token, or a file of them cycled through as
/// a stream: each with the verifier the user configured, as production would verify.
public struct TokenBenchmark: Sendable {
    /// The verifiers behind the measurements, each made from the user's configuration:
    /// without any cache, with both caches (a hit is served by the in-process L1, which sits
    /// in front of the shared cache), with the LMDB cache only.
    public struct Verifiers: Sendable {
        public let uncached: Verifier
        public let l1: Verifier
        public let lmdb: Verifier

        /// - Parameter cacheDirectory: the LMDB cache (the configuration's own when it has one).
        public static func make(_ configuration: VerifierConfiguration, cacheDirectory: String) async throws(ConfigurationError) -> Verifiers {
            var uncached = configuration
            uncached.cache = nil
            uncached.l1Entries = 0
            var lmdb = configuration
            lmdb.l1Entries = 0
            if lmdb.cache == nil { lmdb.cache = CacheConfiguration(directory: cacheDirectory) }
            var l1 = lmdb
            l1.l1Entries = configuration.l1Entries == 0 ? Verifier.defaultL1Entries : configuration.l1Entries
            return Verifiers(uncached: try await uncached.makeVerifier(listeningOn: ["localhost"]),
                             l1: try await l1.makeVerifier(listeningOn: ["localhost"]),
                             lmdb: try await lmdb.makeVerifier(listeningOn: ["localhost"]))
        }
    }

    public let verifiers: Verifiers
    public let recorder: LatencyRecorder
    /// The time tokens are verified at.
    public let now: Int64

    public init(verifiers: Verifiers, recorder: LatencyRecorder, now: Int64) {
        self.verifiers = verifiers
        self.recorder = recorder
        self.now = now
    }

    /// The operations measured, in the order they run.
    public static let measurements: [(name: String, description: String)] = [
        ("parse", "parse and claims checks alone"),
        ("uncached", "full verification, no cache"),
        ("l1", "in-process cache hit (L1)"),
        ("lmdb", "shared LMDB cache hit"),
        ("signature", "signature check alone (OpenSSL, the token's key)"),
    ]

    /// The verdict of each token, before anything is measured.
    public func verdicts(_ tokens: [[UInt8]]) -> [Verdict] {
        tokens.map { verifiers.uncached.verify($0, now: now) }
    }

    /// Measures every operation on `tokens` (one, or many cycled through); `progress` is told
    /// which one runs.
    public func measure(label: String, tokens: [[UInt8]], verdict: String, progress: (String) -> Void = { _ in }) -> TokenResult {
        let policy = verifiers.uncached.policy
        let now = now
        let signatures = tokens.map { signatureCheck(of: $0) }
        var results = [Measurement]()
        for (name, description) in Self.measurements {
            progress(name)
            var index = 0
            let next = { () -> Int in
                index = index + 1 == tokens.count ? 0 : index + 1
                return index
            }
            let samples: Samples
            switch name {
            case "parse":
                samples = recorder.record {
                    tokens[next()].withUnsafeBytes { bytes in
                        unsafe TokenView.parse(bytes) { result in
                            guard case .success(let view) = unsafe result else { return }
                            _ = unsafe policy.checkHeader(view)
                            _ = unsafe policy.checkClaims(view, now: now)
                        }
                    }
                }
            case "uncached":
                samples = recorder.record { _ = verifiers.uncached.verify(tokens[next()], now: now) }
            case "l1":
                for token in tokens { _ = verifiers.l1.verify(token, now: now) }
                samples = recorder.record { _ = verifiers.l1.verify(tokens[next()], now: now) }
            case "lmdb":
                for token in tokens { _ = verifiers.lmdb.verify(token, now: now) }
                samples = recorder.record { _ = verifiers.lmdb.verify(tokens[next()], now: now) }
            default:
                guard signatures.allSatisfy({ $0 != nil }) else { continue }
                samples = recorder.record {
                    let check = signatures[next()]!
                    _ = check.input.withUnsafeBytes { input in
                        check.signature.withUnsafeBytes { signature in
                            unsafe check.key.verify(check.algorithm, signingInput: input, signature: signature)
                        }
                    }
                }
            }
            results.append(Measurement(name: name, description: description, samples: samples))
        }
        // Medians: a mean follows the few samples a busy machine delays by milliseconds.
        if let floor = results.first(where: { $0.name == "signature" })?.percentiles.p50, floor > 0 {
            for index in results.indices where results[index].name != "signature" {
                results[index].ratioToSignature = results[index].percentiles.p50 / floor
            }
        }
        let headers = tokens.map(Self.header)
        var algorithms = [String]()
        for header in headers {
            let algorithm = header?["alg"]?.stringValue ?? "unknown"
            if !algorithms.contains(algorithm) { algorithms.append(algorithm) }
        }
        let keyIDs = Set(headers.map { $0?["kid"]?.stringValue })
        return TokenResult(label: label, algorithm: algorithms.joined(separator: ", "), keyID: keyIDs.count == 1 ? keyIDs.first! : nil,
                           bytes: tokens.map(\.count).max() ?? 0, verdict: verdict, measurements: results)
    }

    /// What the signature primitive needs for a token: its key, algorithm, signed bytes and signature.
    struct SignatureCheck: Sendable {
        let key: VerificationKey
        let algorithm: Algorithm
        let input: [UInt8]
        let signature: [UInt8]
    }

    /// The key that verifies `token`'s signature (the first of its `kid` and algorithm), or nil.
    func signatureCheck(of token: [UInt8]) -> SignatureCheck? {
        let keys = verifiers.uncached.keys.keys
        let kid = Self.header(token)?["kid"]?.stringValue
        return token.withUnsafeBytes { bytes -> SignatureCheck? in
            unsafe TokenView.parse(bytes) { result -> SignatureCheck? in
                guard case .success(let view) = unsafe result else { return nil }
                let algorithm = unsafe view.algorithm
                let input = unsafe Array(view.signingInput)
                let signature = unsafe Array(view.signature)
                for key in keys where key.algorithms.contains(algorithm) && (kid == nil || key.kid == kid) {
                    let verified = input.withUnsafeBytes { i in signature.withUnsafeBytes { s in unsafe key.verify(algorithm, signingInput: i, signature: s) } }
                    if verified { return SignatureCheck(key: key, algorithm: algorithm, input: input, signature: signature) }
                }
                return nil
            }
        }
    }

    static func header(_ token: [UInt8]) -> JSONValue? {
        guard let dot = token.firstIndex(of: UInt8(ascii: ".")),
              let decoded = try? Base64URL.decode(String(decoding: token[..<dot], as: UTF8.self)) else { return nil }
        return try? JSONValue.parse(decoded)
    }
}
