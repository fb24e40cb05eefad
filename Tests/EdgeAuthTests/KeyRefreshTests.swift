import EdgeAuth
import EdgeAuthTesting
import Foundation
import MetricsTestKit
import NIOCore
import Synchronization
import Testing

/// A clock the test moves by hand (seconds since the epoch).
final class ManualClock: Sendable {
    private let seconds: Atomic<Int64>
    init(_ start: Int64 = 1_800_000_000) { seconds = Atomic(start) }
    var now: Int64 { seconds.load(ordering: .relaxed) }
    func advance(_ by: Int64) { seconds.add(by, ordering: .relaxed) }
    var closure: @Sendable () -> Int64 { { self.now } }
}

/// Waits (up to 30 s) until `condition` holds; background refreshes finish on their own time.
func eventually(_ condition: () -> Bool) async -> Bool {
    await waitUntil(timeout: .seconds(30)) { condition() }
}

@Suite("Remote key sets: refresh, rotation and outages")
struct KeyRefreshTests {
    static let keyA = try! SigningKey.generate(.ec(.p256), kid: "key-a")
    static let keyB = try! SigningKey.generate(.ec(.p256), kid: "key-b")
    static let factoryA = TokenFactory(key: keyA, algorithm: .es256)
    static let factoryB = TokenFactory(key: keyB, algorithm: .es256)
    static let path = "/.well-known/jwks.json"

    static func jwks(_ keys: [SigningKey], cacheControl: String? = nil) -> StaticHTTPServer.Route {
        let document: JSONValue = ["keys": .array(keys.map { try! $0.publicJWK(alg: .es256) })]
        return .init(body: Array(document.jsonText.utf8), headers: cacheControl.map { [("Cache-Control", $0)] } ?? [])
    }

    static var policy: ValidationPolicy {
        ValidationPolicy(issuers: .exactly([factoryA.issuer]), audiences: .anyOf([factoryA.audience]))
    }

    static func settings(_ configure: (inout KeyRefreshSettings) -> Void = { _ in }) -> KeyRefreshSettings {
        var settings = KeyRefreshSettings()
        configure(&settings)
        return settings
    }

    static func temporaryCache() throws -> SharedCache {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-keys-\(UUID().uuidString)").path
        return try SharedCache.open(CacheConfiguration(directory: directory))
    }

    @Test("Cache-Control max-age sets the lifetime, within the configured minimum and maximum")
    func cacheControlLifetime() async throws {
        let cases: [(String?, Int64)] = [
            ("public, max-age=120", 120), ("max-age=5", 60), ("max-age=999999", 3600), (nil, 600), ("no-store", 60), ("no-cache, max-age=300", 60),
        ]
        for (header, expected) in cases {
            let server = try await StaticHTTPServer(routes: [Self.path: Self.jwks([Self.keyA], cacheControl: header)])
            defer { Task { try? await server.stop() } }
            let clock = ManualClock()
            let settings = Self.settings { $0.minimumLifetime = 60; $0.maximumLifetime = 3600; $0.defaultLifetime = 600 }
            let ring = try await KeyRing.load([.jwksURL(server.baseURL + Self.path)], settings: settings, clock: clock.closure)
            let status = try #require(ring.status().first)
            #expect(status.fetchedAt == clock.now)
            #expect(status.freshUntil == clock.now + expected, "Cache-Control: \(header ?? "absent")")
            #expect(status.state == .fresh && status.keyCount == 1)
        }
    }

    @Test("maxStaleness must be longer than the cool-down: keys would be dropped before a refresh were allowed")
    func stalenessAgainstCoolDown() async throws {
        let settings = Self.settings { $0.coolDown = 30; $0.maxStaleness = 30 }
        await #expect {
            _ = try await KeyRing.load([.jwksURL("http://127.0.0.1:1/jwks.json")], settings: settings)
        } throws: { error in
            (error as? ConfigurationError)?.message.hasPrefix("keyRefresh.maxStaleness (30) must be longer than keyRefresh.coolDown (30)") == true
        }
    }

    @Test("a set is refreshed in the background before its lifetime ends")
    func backgroundRefresh() async throws {
        let server = try await StaticHTTPServer(routes: [Self.path: Self.jwks([Self.keyA], cacheControl: "max-age=100")])
        defer { Task { try? await server.stop() } }
        let clock = ManualClock()
        let ring = try await KeyRing.load([.jwksURL(server.baseURL + Self.path)], settings: Self.settings(), clock: clock.closure)
        let verifier = Verifier(policy: Self.policy, keyRing: ring)
        let token = try Self.factoryA.token()
        #expect(verifier.verify(token, now: Self.factoryA.now).isValid)
        clock.advance(70)
        #expect(verifier.verify(token, now: Self.factoryA.now).isValid)
        // Checks that nothing happens, so there is no event to wait for: time in which an early
        // background refresh would have been sent.
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.requests(Self.path) == 1, "not due before four fifths of the lifetime")
        clock.advance(11)
        #expect(verifier.verify(token, now: Self.factoryA.now).isValid)
        #expect(await eventually { ring.status().first?.fetchedAt == clock.now })
        #expect(server.requests(Self.path) == 2)
        #expect(ring.status().first?.freshUntil == clock.now + 100)
    }

    @Test("maintain() refreshes an idle verifier's keys before their lifetime ends")
    func maintainWithoutTraffic() async throws {
        let server = try await StaticHTTPServer(routes: [Self.path: Self.jwks([Self.keyA], cacheControl: "max-age=100")])
        defer { Task { try? await server.stop() } }
        let clock = ManualClock()
        let ring = try await KeyRing.load([.jwksURL(server.baseURL + Self.path)], settings: Self.settings(), clock: clock.closure)
        let maintenance = Task { await ring.maintain(checkInterval: .milliseconds(20)) }
        defer { maintenance.cancel() }
        // Checks that nothing happens: several maintenance rounds (every 20 ms) before the
        // refresh is due must not fetch.
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.requests(Self.path) == 1)
        clock.advance(81)
        // The server counts the request before the ring has the answer: wait for the keys.
        #expect(await eventually { ring.status().first?.fetchedAt == clock.now })
        #expect(server.requests(Self.path) == 2)
    }

    @Test("maintain() wakes when the next refresh is due, not a whole check interval later (regression: keys with maxStaleness 3 s expired on an idle server)")
    func maintenancePause() {
        let now: Int64 = 1_800_000_000
        let interval = Duration.seconds(5)
        #expect(KeyRing.pause(untilDue: now + 100, now: now, checkInterval: interval) == interval)
        #expect(KeyRing.pause(untilDue: .max, now: now, checkInterval: interval) == interval)
        #expect(KeyRing.pause(untilDue: now + 3, now: now, checkInterval: interval) == .seconds(2))
        #expect(KeyRing.pause(untilDue: now + 1, now: now, checkInterval: interval) == .milliseconds(250))
        #expect(KeyRing.pause(untilDue: now - 10, now: now, checkInterval: interval) == .milliseconds(250))
        #expect(KeyRing.pause(untilDue: now + 3, now: now, checkInterval: .milliseconds(20)) == .milliseconds(20))
    }

    @Test("rotation: a new kid is picked up by one refresh; a removed kid stops verifying, cached verdicts included")
    func rotation() async throws {
        let server = try await StaticHTTPServer(routes: [Self.path: Self.jwks([Self.keyA])])
        defer { Task { try? await server.stop() } }
        let clock = ManualClock()
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.configuration.directory) }
        let ring = try await KeyRing.load([.jwksURL(server.baseURL + Self.path)], settings: Self.settings(), cache: cache,
                                          issuers: [Self.factoryA.issuer], clock: clock.closure)
        let verifier = Verifier(policy: Self.policy, keyRing: ring, cache: cache)
        let tokenA = try Self.factoryA.token(), tokenB = try Self.factoryB.token()
        #expect(verifier.verify(tokenA, now: Self.factoryA.now).isValid)

        // The provider publishes key B; the first token signed with it is accepted.
        server.set(Self.path, Self.jwks([Self.keyA, Self.keyB]))
        clock.advance(31)
        #expect(await verifier.verifyRefreshingKeys(tokenB, now: Self.factoryA.now).isValid)
        #expect(server.requests(Self.path) == 2)
        #expect(verifier.verify(tokenA, now: Self.factoryA.now).isValid, "served from the cache")

        // Key A is withdrawn: after the next refresh, token A is refused although its verdict was cached.
        server.set(Self.path, Self.jwks([Self.keyB]))
        clock.advance(31)
        #expect(await ring.refreshNow())
        #expect(server.requests(Self.path) == 3)
        #expect(verifier.verify(tokenA, now: Self.factoryA.now) == .rejected(.unknownKey(kid: "key-a")))
        #expect(verifier.verify(tokenB, now: Self.factoryA.now).isValid)
    }

    @Test("tokens with unknown kids cause at most one fetch per cool-down")
    func unknownKidCoolDown() async throws {
        let server = try await StaticHTTPServer(routes: [Self.path: Self.jwks([Self.keyA])])
        defer { Task { try? await server.stop() } }
        let clock = ManualClock()
        let ring = try await KeyRing.load([.jwksURL(server.baseURL + Self.path)], settings: Self.settings { $0.coolDown = 30 }, clock: clock.closure)
        let verifier = Verifier(policy: Self.policy, keyRing: ring)
        clock.advance(31)
        for index in 0..<50 {
            let token = try Self.factoryA.token(header: ["kid": .string("attacker-\(index)")])
            #expect(await verifier.verifyRefreshingKeys(token, now: Self.factoryA.now) == .rejected(.unknownKey(kid: "attacker-\(index)")))
        }
        #expect(server.requests(Self.path) == 2, "one start-up fetch and one refresh")
        clock.advance(31)
        _ = await verifier.verifyRefreshingKeys(try Self.factoryA.token(header: ["kid": "attacker-again"]), now: Self.factoryA.now)
        #expect(server.requests(Self.path) == 3, "the cool-down is over")
    }

    @Test("provider down: the last good keys verify until maxStaleness, then keysUnavailable; keys return with the provider")
    func outage() async throws {
        let server = try await StaticHTTPServer(routes: [Self.path: Self.jwks([Self.keyA], cacheControl: "max-age=100")])
        defer { Task { try? await server.stop() } }
        let clock = ManualClock()
        let metrics = TestMetrics()
        let ring = try await KeyRing.load([.jwksURL(server.baseURL + Self.path)], settings: Self.settings { $0.maxStaleness = 1000 },
                                          metrics: metrics, clock: clock.closure)
        let verifier = Verifier(policy: Self.policy, keyRing: ring)
        let token = try Self.factoryA.token()
        let source = ("source", "JWKS URL \(server.baseURL + Self.path)")
        #expect(try metrics.expectGauge("edgeauth_key_set_fetched_timestamp_seconds", [source]).lastValue == Double(clock.now))
        #expect(try metrics.expectGauge("edgeauth_key_set_keys", [source]).lastValue == 1)

        server.set(Self.path, .init(status: .serviceUnavailable, body: []))
        clock.advance(150)
        #expect(await ring.refreshNow() == false)
        #expect(verifier.verify(token, now: Self.factoryA.now).isValid, "last good keys")
        var status = try #require(ring.status().first)
        #expect(status.state == .stale && status.ageSeconds == 150 && status.failures == 1)
        #expect(status.lastError?.contains("HTTP 503") == true)
        #expect(try metrics.expectCounter("edgeauth_key_fetches_total", [source, ("result", "failure")]).totalValue == 1)
        #expect(try metrics.expectCounter("edgeauth_key_fetches_total", [source, ("result", "success")]).totalValue == 1)

        clock.advance(851)
        #expect(verifier.verify(token, now: Self.factoryA.now) == .rejected(.keysUnavailable))
        status = try #require(ring.status().first)
        #expect(status.state == .unavailable)

        // The verification above started a (failing) refresh: the next waits for the cool-down.
        #expect(await eventually { ring.status().first?.failures == 2 })
        _ = await ring.refreshNow()  // joins that refresh until it has ended (within the cool-down: no fetch)
        server.set(Self.path, Self.jwks([Self.keyA]))
        clock.advance(31)
        #expect(await ring.refreshNow() == false, "the same keys as before")
        #expect(verifier.verify(token, now: Self.factoryA.now).isValid)
        #expect(ring.status().first?.state == .fresh && ring.status().first?.lastError == nil)
    }

    @Test("a slow provider is cut off at the fetch timeout, and the last good keys stay")
    func slowProvider() async throws {
        let server = try await StaticHTTPServer(routes: [Self.path: Self.jwks([Self.keyA])])
        defer { Task { try? await server.stop() } }
        let clock = ManualClock()
        // 2 s: enough for the first, prompt fetch on a loaded machine (300 ms was not, once),
        // and still far below the slow answer's 8 s.
        let ring = try await KeyRing.load([.jwksURL(server.baseURL + Self.path)], settings: Self.settings { $0.fetchTimeout = .seconds(2) }, clock: clock.closure)
        var slow = Self.jwks([Self.keyB])
        slow.delay = .seconds(8)
        server.set(Self.path, slow)
        clock.advance(31)
        let started = ContinuousClock.now
        #expect(await ring.refreshNow() == false)
        #expect(ContinuousClock.now - started < .seconds(7), "the fetch did not wait for the slow answer")
        let status = try #require(ring.status().first)
        #expect(status.lastError?.contains("could not be fetched") == true)
        #expect(ring.current.keys.map(\.kid) == ["key-a"])
    }

    @Test("oversized, malformed, non-JWKS and keyless documents fail the refresh; the last good keys stay")
    func badDocuments() async throws {
        let server = try await StaticHTTPServer(routes: [Self.path: Self.jwks([Self.keyA])])
        defer { Task { try? await server.stop() } }
        let clock = ManualClock()
        let ring = try await KeyRing.load([.jwksURL(server.baseURL + Self.path)], settings: Self.settings { $0.maxDocumentBytes = 4096 }, clock: clock.closure)
        let unusable: JSONValue = ["keys": [["kty": "RSA", "kid": "short", "n": "AQAB", "e": "AQAB"]]]
        let documents: [(StaticHTTPServer.Route, String)] = [
            (.init(body: Array(repeating: UInt8(ascii: " "), count: 5000)), "larger than 4096 bytes"),
            (.init(body: Array("{\"keys\": [".utf8)), "not valid JSON"),
            (.init(body: Array("{\"kty\": \"EC\"}".utf8)), "\"keys\" array"),
            (.init(body: Array(unusable.jsonText.utf8)), "no usable key"),
            (.init(body: Array("{\"keys\": []}".utf8)), "no usable key"),
        ]
        for (route, message) in documents {
            server.set(Self.path, route)
            clock.advance(31)
            #expect(await ring.refreshNow() == false)
            let status = try #require(ring.status().first)
            #expect(status.lastError?.contains(message) == true, "\(status.lastError ?? "no error"), expected \(message)")
            #expect(ring.current.keys.map(\.kid) == ["key-a"])
        }
    }

    @Test("with a shared cache, a process that finds a fresh stored set does not fetch")
    func sharedStoredSet() async throws {
        let server = try await StaticHTTPServer(routes: [Self.path: Self.jwks([Self.keyA])])
        defer { Task { try? await server.stop() } }
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.configuration.directory) }
        let url = server.baseURL + Self.path
        _ = try await KeyRing.load([.jwksURL(url)], cache: cache)
        let second = try await KeyRing.load([.jwksURL(url)], cache: cache)
        #expect(server.requests(Self.path) == 1)
        #expect(second.current.keys.map(\.kid) == ["key-a"])
    }

    // Regression: `edgeauth verify` processes meeting a new kid at once sometimes refused it.
    // The verification starts a refresh in the background; when that refresh had already
    // taken the new keys (from another process's fetch) before the caller asked for one,
    // the caller's refresh changed nothing, and the token was not verified again.
    @Test("keys taken by the verification's own background refresh count as changed for the caller")
    func backgroundRefreshFinishedFirst() async throws {
        let server = try await StaticHTTPServer(routes: [Self.path: Self.jwks([Self.keyA])])
        defer { Task { try? await server.stop() } }
        let clock = ManualClock()
        let settings = Self.settings()
        let ring = try await KeyRing.load([.jwksURL(server.baseURL + Self.path)], settings: settings, clock: clock.closure)
        let verifier = Verifier(policy: Self.policy, keyRing: ring)
        let tokenB = try Self.factoryB.token()

        server.set(Self.path, Self.jwks([Self.keyA, Self.keyB]))
        clock.advance(settings.coolDown)
        let generation = ring.keysGeneration
        #expect(verifier.verify(tokenB, now: Self.factoryB.now) == .rejected(.unknownKey(kid: "key-b")))
        #expect(await eventually { ring.keysGeneration != generation }, "the background refresh took key B")
        #expect(server.requests(Self.path) == 2)
        // Within the cool-down this call fetches nothing, yet the keys changed since the verification.
        #expect(await ring.refreshAfterUnknownKey(since: generation))
        #expect(!(await ring.refreshAfterUnknownKey(since: ring.keysGeneration)))
        #expect(server.requests(Self.path) == 2)
        #expect(verifier.verify(tokenB, now: Self.factoryB.now).isValid)
    }
}

extension Verdict {
    var isValid: Bool {
        if case .valid = self { return true }
        return false
    }
}

/// Several `edgeauth verify` processes sharing one cache directory and one JWKS URL.
@Suite("Remote key sets shared across processes")
struct KeyRefreshMultiProcessTests {
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("edgeauth")
    }

    func verify(_ token: String, url: String, cacheDirectory: String) throws -> Process {
        let factory = KeyRefreshTests.factoryA
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["verify", token, "--jwks", url, "--issuer", factory.issuer, "--audience", factory.audience,
                             "--now", String(factory.now), "--cache-dir", cacheDirectory, "--key-cool-down", "2"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test("N processes meeting the same unknown kid at once cause one fetch, and all accept the token")
    func oneFetchForAllProcesses() async throws {
        let path = KeyRefreshTests.path
        let server = try await StaticHTTPServer(routes: [path: KeyRefreshTests.jwks([KeyRefreshTests.keyA])])
        defer { Task { try? await server.stop() } }
        let cacheDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-mpkeys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: cacheDirectory) }
        let url = server.baseURL + path

        let first = try verify(try KeyRefreshTests.factoryA.token(), url: url, cacheDirectory: cacheDirectory)
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        #expect(server.requests(path) == 1)

        // Key B is published; every process still holds the stored set without it.
        server.set(path, KeyRefreshTests.jwks([KeyRefreshTests.keyA, KeyRefreshTests.keyB]))
        // The behaviour under test: the processes measure the 2 s cool-down after the first fetch
        // with the real clock, so the test has to let it pass.
        try await Task.sleep(for: .milliseconds(2100))
        let tokenB = try KeyRefreshTests.factoryB.token()
        let processes = try (0..<6).map { _ in try verify(tokenB, url: url, cacheDirectory: cacheDirectory) }
        for process in processes { process.waitUntilExit() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 }, "every process accepted the token signed with the new key")
        #expect(server.requests(path) == 2, "one fetch for all six processes")
    }
}
