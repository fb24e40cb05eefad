import EdgeAuth
import EdgeAuthTesting
import Foundation
import Testing

/// A key removed while other threads and processes verify tokens signed with it: once
/// every process has the new key set, no verdict of the removed key may be served
/// (docs/keys.md). Two rings on one cache stand for two worker processes.
@Suite("Key removal during concurrent verification")
struct KeyRemovalRaceTests {
    // Regression (soak: "dropped key still accepted"): a verification that had started
    // with the old keys stored its valid verdict after the removal bumped the issuer's
    // key generation, under the new generation; both workers then served it for minutes.
    @Test("after a removal reaches every ring, the removed key's token is refused, by every verifier, in every round")
    func removalWhileVerifying() async throws {
        let path = KeyRefreshTests.path
        let server = try await StaticHTTPServer(routes: [path: KeyRefreshTests.jwks([KeyRefreshTests.keyA, KeyRefreshTests.keyB])])
        defer { Task { try? await server.stop() } }
        let clock = ManualClock()
        let settings = KeyRefreshTests.settings()
        let cache = try KeyRefreshTests.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.configuration.directory) }
        let issuers = [KeyRefreshTests.factoryA.issuer]
        let source = KeySource.jwksURL(server.baseURL + path)
        let fetching = try await KeyRing.load([source], settings: settings, cache: cache, issuers: issuers, clock: clock.closure)
        let adopting = try await KeyRing.load([source], settings: settings, cache: cache, issuers: issuers, clock: clock.closure)
        let verifiers = [fetching, adopting].map { Verifier(policy: KeyRefreshTests.policy, keyRing: $0, cache: cache) }
        let now = KeyRefreshTests.factoryA.now

        for round in 0..<8 {
            // Tokens seen for the first time: each one is verified, not served from the cache.
            let tokens = try (0..<600).map { try KeyRefreshTests.factoryA.token(claims: ["jti": .string("round-\(round)-\($0)")]) }
            // Key A published again (from round 1 on): every ring takes it.
            server.set(path, KeyRefreshTests.jwks([KeyRefreshTests.keyA, KeyRefreshTests.keyB]))
            clock.advance(settings.coolDown)
            await fetching.refreshNow()
            // A ring takes another's document when it verifies a token.
            let probe = try KeyRefreshTests.factoryA.token(claims: ["jti": .string("probe-\(round)")])
            #expect(await eventually { verifiers.allSatisfy { $0.verify(probe, now: now).isValid } }, "round \(round): key A taken")

            // One thread per verifier goes through the tokens (in opposite orders) while key A is withdrawn.
            let hammers = [(verifiers[0], tokens), (verifiers[1], tokens.reversed())].map { verifier, tokens in
                Task { try await offPool { for token in tokens { _ = verifier.verify(token, now: now) } } }
            }
            server.set(path, KeyRefreshTests.jwks([KeyRefreshTests.keyB]))
            clock.advance(settings.coolDown)
            await fetching.refreshNow()
            for hammer in hammers { try await hammer.value }
            #expect(await eventually { verifiers.allSatisfy { $0.verify(probe, now: now) == .rejected(.unknownKey(kid: "key-a")) } },
                    "round \(round): the removal reached both rings")
            for (index, verifier) in verifiers.enumerated() {
                let accepted = tokens.indices.filter { verifier.verify(tokens[$0], now: now) != .rejected(.unknownKey(kid: "key-a")) }
                #expect(accepted.isEmpty, "round \(round), verifier \(index): tokens \(accepted) not refused")
            }
        }
    }
}
