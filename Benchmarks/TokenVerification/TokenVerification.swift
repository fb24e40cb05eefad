import Benchmark
import CPerfProbe
import EdgeAuth
import EdgeAuthCore
import Foundation
import JWTKit

// Token verification, per JWS algorithm, on the tokens and keys in bench-data/:
//
//   parse+claims/<shape>/<ALG>  EdgeAuthCore only: TokenView.parse, policy.checkHeader,
//                               policy.checkClaims. No signature, no key.
//   parse+claims+identity/<shape>/HS256
//                               the same, then Identity(standardClaimsOf:).
//   EdgeAuth/<ALG>              Verifier.verify(RawSpan, now:): parse, key
//                               selection by kid, signature, claims, Identity. No cache.
//   OpenSSL/<ALG>               the raw OpenSSL 3 EVP verification of the same signing
//                               input and signature (see RawOpenSSLVerifier).
//   jwt-kit/<ALG>               vapor/jwt-kit 5: JWTKeyCollection.verify(_:as:) with a
//                               payload that checks exp, aud and iss (swift-crypto, BoringSSL).
//   sign/<ALG>                  TokenSigner.sign of a 400-byte payload, as the authorization
//                               server signs an access token (ES256, RS256, EdDSA).
//
// The verify, OpenSSL and jwt-kit benchmarks use the Auth0-shaped tokens; parse+claims
// runs on both shapes. Every operation is checked to succeed before it is measured.
//
// Metrics: wall clock and heap allocations (malloc interposer) always; instructions only
// where a hardware instruction counter can be opened. On a machine without one (a virtual
// machine without a PMU) requesting the metric measured nothing and added mallocs to
// every iteration's count, inside the measured region, so it is left out there.
//
// Profiling one operation outside the harness (perf record, gdb):
//   EDGEAUTH_BENCH_PROFILE='EdgeAuth/RS256,100000' .build/release/TokenVerification
// runs the named operation once, then that many more times, and exits.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: Operations.metrics,
        timeUnits: .nanoseconds,
        warmupIterations: 20,
        maxDuration: .milliseconds(1200),
        maxIterations: 200_000
    )

    let operations = Operations.make()
    if let spec = ProcessInfo.processInfo.environment["EDGEAUTH_BENCH_PROFILE"] {
        Operations.profile(operations, spec: spec)  // does not return
    }
    if let spec = ProcessInfo.processInfo.environment["EDGEAUTH_BENCH_COMPARE"] {
        Operations.compare(operations, spec: spec)  // does not return
    }

    for (name, operation) in operations.sync {
        Benchmark(name) { benchmark in
            for _ in benchmark.scaledIterations {
                operation()
            }
        }
    }
    for (name, operation) in operations.async {
        let fixture = operation.fixture
        Benchmark(
            name,
            closure: { benchmark in
                guard let keys = fixture.keys else { return }
                for _ in benchmark.scaledIterations {
                    blackHole(try await keys.verify(operation.token, as: BenchPayload.self))
                }
            },
            setup: { try await operation.prepare() }
        )
    }
}

/// The measured operations, by benchmark name, each checked once before it is returned.
struct Operations {
    struct JWTKitOperation: Sendable {
        let algorithm: Algorithm
        let token: [UInt8]
        let fixture = JWTKitFixture()

        /// Builds the key collection and verifies once (fails loudly if jwt-kit rejects the token).
        func prepare() async throws {
            let keys = try await JWTKitKeys.collection(for: algorithm, kid: BenchData.kid(of: token))
            _ = try await keys.verify(token, as: BenchPayload.self)
            fixture.keys = keys
        }
    }

    static let metrics: [BenchmarkMetric] = edgeauth_bench_instruction_counter_available() == 1
        ? [.wallClock, .instructions, .mallocCountTotal]
        : [.wallClock, .mallocCountTotal]

    var sync: [(String, @Sendable () -> Void)] = []
    var async: [(String, JWTKitOperation)] = []

    static func make() -> Operations {
        var operations = Operations()
        let policy = ValidationPolicy(
            issuers: .exactly([BenchData.auth0Issuer, BenchData.keycloakIssuer]),
            audiences: .anyOf([BenchData.audience])
        )
        let verifier = Verifier(policy: policy, keys: BenchData.keySet)

        // (a) Parse + header + claims policy, no signature.
        for shape in ["auth0", "keycloak"] {
            for algorithm in Algorithm.allCases {
                let token = BenchData.token(shape, algorithm)
                precondition(parseAndCheck(token, policy), "parse+claims rejected \(shape)-\(algorithm.name)")
                operations.sync.append(("parse+claims/\(shape)/\(algorithm.name)", {
                    blackHole(parseAndCheck(token, policy))
                }))
            }
        }

        // (a') The same, then the standard identity mapping: with (a), (b) and (c) this shows
        //      what an HS256 verification spends where.
        for shape in ["auth0", "keycloak"] {
            let token = BenchData.token(shape, .hs256)
            precondition(parseCheckAndMap(token, policy) != nil, "parse+claims+identity rejected \(shape)-HS256")
            operations.sync.append(("parse+claims+identity/\(shape)/HS256", {
                blackHole(parseCheckAndMap(token, policy))
            }))
        }

        for algorithm in Algorithm.allCases {
            let token = BenchData.token("auth0", algorithm)

            // (b) Full uncached EdgeAuth verification.
            let verdict = verifier.verify(token.span.bytes, now: BenchData.now)
            precondition(verdict.identity != nil, "EdgeAuth rejected auth0-\(algorithm.name): \(String(describing: verdict.reason))")
            operations.sync.append(("EdgeAuth/\(algorithm.name)", {
                blackHole(verifier.verify(token.span.bytes, now: BenchData.now))
            }))

            // (c) The raw OpenSSL primitive on the same signing input and signature.
            let raw = RawOpenSSLVerifier(algorithm: algorithm, token: token, keyFile: BenchData.bytes(BenchData.keyFile(algorithm)))
            precondition(raw.verify(), "raw OpenSSL rejected auth0-\(algorithm.name): \(RawOpenSSLVerifier.errors())")
            operations.sync.append(("OpenSSL/\(algorithm.name)", {
                blackHole(raw.verify())
            }))

            // (d) vapor/jwt-kit 5, same token, same key (prepared in the benchmark's setup).
            operations.async.append(("jwt-kit/\(algorithm.name)", JWTKitOperation(algorithm: algorithm, token: token)))
        }
        // (d') Signing, as the authorization server signs an access token: a 400-byte payload
        //      under a header encoded once, with the bench-data private keys.
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 400)
        for algorithm in [Algorithm.es256, .rs256, .edDSA] {
            let key = try! SigningKey.load(pem: String(decoding: BenchData.bytes(BenchData.keyFile(algorithm)), as: UTF8.self), kid: "bench")
            let header = Base64URL.encode(Array(#"{"alg":"\#(algorithm.name)","kid":"bench","typ":"at+jwt"}"#.utf8))
            precondition((try? TokenSigner.sign(encodedHeader: Array(header.utf8), payload: payload, key: key, algorithm: algorithm)) != nil, "signing with \(algorithm.name) failed")
            operations.sync.append(("sign/\(algorithm.name)", {
                blackHole(try? TokenSigner.sign(encodedHeader: Array(header.utf8), payload: payload, key: key, algorithm: algorithm))
            }))
        }

        // (e) The cache, from Swift: an LMDB hit through the verifier (SHA-256, read
        //     transaction, identity decode, expiry re-check) with no L1; an L1 hit (seeded hash,
        //     byte comparison, epoch check, expiry re-check); the bare LMDB lookup; and the cost
        //     of writing a verdict (one write transaction; 4096 keys reused, so the map stays small).
        let cacheDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-bench-cache-\(getpid())").path
        let cache = try! SharedCache.open(CacheConfiguration(directory: cacheDirectory))
        let lmdbVerifier = Verifier(policy: policy, keys: BenchData.keySet, cache: cache, l1Entries: 0)
        let l1Verifier = Verifier(policy: policy, keys: BenchData.keySet, cache: cache)
        for algorithm in [Algorithm.es256, .rs256, .edDSA, .hs256] {
            let token = BenchData.token("auth0", algorithm)
            _ = lmdbVerifier.verify(token.span.bytes, now: BenchData.now)
            let hitsBefore = cache.statistics.hits
            precondition(lmdbVerifier.verify(token.span.bytes, now: BenchData.now).identity != nil && cache.statistics.hits == hitsBefore + 1)
            operations.sync.append(("EdgeAuth-LMDB-hit/\(algorithm.name)", {
                blackHole(lmdbVerifier.verify(token.span.bytes, now: BenchData.now))
            }))
            _ = l1Verifier.verify(token.span.bytes, now: BenchData.now)
            let l1Before = l1Verifier.l1!.hits
            precondition(l1Verifier.verify(token.span.bytes, now: BenchData.now).identity != nil && l1Verifier.l1!.hits == l1Before + 1)
            operations.sync.append(("EdgeAuth-L1-hit/\(algorithm.name)", {
                blackHole(l1Verifier.verify(token.span.bytes, now: BenchData.now))
            }))
        }
        let hsToken = BenchData.token("auth0", .hs256)
        let hsKey = lmdbVerifier.cacheKey(for: hsToken)!
        let hsIdentity = verifier.verify(hsToken, now: BenchData.now).identity!
        cache.store(tokenHash: hsKey, identity: hsIdentity, now: BenchData.now)
        // The lookup alone: the identity handed over as built, not rebuilt from the token.
        precondition(cache.lookup(tokenHash: lmdbVerifier.cacheKey(for: hsToken)!, now: BenchData.now, identity: { hsIdentity }) != nil)
        operations.sync.append(("cache/hash+lookup-hit/HS256-token", {
            blackHole(cache.lookup(tokenHash: lmdbVerifier.cacheKey(for: hsToken)!, now: BenchData.now, identity: { hsIdentity }))
        }))
        let writeKeys = (0..<4096).map { (i: Int) -> TokenDigest in
            withUnsafeBytes(of: UInt64(i)) { lmdbVerifier.cacheKey(for: Array($0))! }
        }
        let nextWrite = Counter()
        operations.sync.append(("cache/store/HS256-identity", {
            cache.store(tokenHash: writeKeys[nextWrite.next() % writeKeys.count], identity: hsIdentity, now: BenchData.now)
        }))
        return operations
    }

    /// Compares two operations under the same conditions and exits: batches of each
    /// alternate (A, B, A, B, …) so that a machine whose speed drifts slows both alike;
    /// prints the median batch time per call of each and their ratio.
    /// Spec: `<A>,<B>,<batches>,<calls per batch>`.
    static func compare(_ operations: Operations, spec: String) -> Never {
        let parts = spec.split(separator: ",").map(String.init)
        guard parts.count == 4, let batches = Int(parts[2]), let calls = Int(parts[3]), batches > 0, calls > 0,
              let a = operations.sync.first(where: { $0.0 == parts[0] })?.1,
              let b = operations.sync.first(where: { $0.0 == parts[1] })?.1
        else { fatalError("EDGEAUTH_BENCH_COMPARE: expected <A>,<B>,<batches>,<calls per batch> naming sync operations") }
        func batch(_ operation: @Sendable () -> Void) -> Double {
            let start = ContinuousClock.now
            for _ in 0..<calls { operation() }
            let elapsed = ContinuousClock.now - start
            return (Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9) / Double(calls)
        }
        for _ in 0..<3 { _ = batch(a); _ = batch(b) }  // warm up
        var timesA = [Double](), timesB = [Double]()
        for _ in 0..<batches {
            timesA.append(batch(a))
            timesB.append(batch(b))
        }
        let medianA = timesA.sorted()[batches / 2], medianB = timesB.sorted()[batches / 2]
        print(String(format: "%@ %.1f ns, %@ %.1f ns, ratio %.3f", parts[0], medianA, parts[1], medianB, medianA / medianB))
        // The fastest batch of each is the one least disturbed by other work on the machine.
        let minA = timesA.min()!, minB = timesB.min()!
        print(String(format: "fastest batches: %.1f ns, %.1f ns, ratio %.3f", minA, minB, minA / minB))
        exit(0)
    }

    /// Runs one operation `1 + iterations` times and exits (see the note at the top of this file).
    static func profile(_ operations: Operations, spec: String) -> Never {
        let parts = spec.split(separator: ",")
        let name = String(parts[0])
        let iterations = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        if let operation = operations.sync.first(where: { $0.0 == name })?.1 {
            for _ in 0...iterations { operation() }
            exit(0)
        }
        if let operation = operations.async.first(where: { $0.0 == name })?.1 {
            let done = DispatchSemaphore(value: 0)
            Task {
                do {
                    try await operation.prepare()
                    let keys = operation.fixture.keys!
                    for _ in 0..<iterations {
                        blackHole(try await keys.verify(operation.token, as: BenchPayload.self))
                    }
                } catch {
                    fatalError("\(name): \(error)")
                }
                done.signal()
            }
            done.wait()
            exit(0)
        }
        fatalError("EDGEAUTH_BENCH_PROFILE: no operation named \(name)")
    }
}

/// `TokenView.parse`, then the header and claims checks; true when the token passes them.
@inline(never)
func parseAndCheck(_ token: [UInt8], _ policy: ValidationPolicy) -> Bool {
    token.withUnsafeBytes { bytes in
        TokenView.parse(bytes, limits: policy.limits) { result -> Bool in
            guard case .success(let view) = result else { return false }
            return policy.checkHeader(view) == nil && policy.checkClaims(view, now: BenchData.now) == nil
        }
    }
}

func parseCheckAndMap(_ token: [UInt8], _ policy: ValidationPolicy) -> Identity? {
    token.withUnsafeBytes { bytes in
        TokenView.parse(bytes, limits: policy.limits) { result -> Identity? in
            guard case .success(let view) = result, policy.checkHeader(view) == nil,
                  policy.checkClaims(view, now: BenchData.now) == nil
            else { return nil }
            return Identity(standardClaimsOf: view)
        }
    }
}

/// A counter the measured closures can advance (they are `@Sendable`).
final class Counter: @unchecked Sendable {
    private var value = 0
    func next() -> Int {
        value &+= 1
        return value
    }
}
