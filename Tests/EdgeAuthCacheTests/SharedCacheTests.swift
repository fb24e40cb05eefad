import EdgeAuth
import EdgeAuthTestThreads
import EdgeAuthTesting
import Foundation
import Testing

@Suite("Shared LMDB verdict cache")
final class SharedCacheTests {
    static let signer = try! SigningKey.generate(.ec(.p256), kid: "cache-ec")
    let factory = TokenFactory(key: SharedCacheTests.signer, algorithm: .es256)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-cache-\(UUID().uuidString)").path
    deinit { try? FileManager.default.removeItem(atPath: directory) }  // each test has its own directory

    func cache(_ configure: (inout CacheConfiguration) -> Void = { _ in }) throws -> SharedCache {
        var configuration = CacheConfiguration(directory: directory)
        configure(&configuration)
        return try SharedCache.open(configuration)
    }

    func verifier(_ cache: SharedCache, audience: String? = nil) throws -> Verifier {
        let policy = ValidationPolicy(issuers: .exactly([factory.issuer]), audiences: .anyOf([audience ?? factory.audience]))
        // These tests look at the shared layer; the in-memory L1 has its own suite.
        return Verifier(policy: policy, keys: KeySet(keys: [try Self.signer.verificationKey()]), cache: cache, l1Entries: 0)
    }

    @Test("the second verification of a token is a hit and returns the same identity")
    func hitAfterFirstVerification() throws {
        let cache = try cache()
        let verifier = try verifier(cache)
        let token = try factory.token(claims: ["email": "a@example.com", "roles": ["admin"]])
        let first = verifier.verify(token, now: factory.now)
        let second = verifier.verify(token, now: factory.now + 1)
        #expect(first.identity != nil && first == second)
        #expect(cache.statistics.hits == 1 && cache.statistics.misses == 1 && cache.statistics.stores == 1)
    }

    @Test("a cached verdict never outlives exp: the hit re-checks expiry with leeway")
    func hitRechecksExpiry() throws {
        let cache = try cache { $0.maxTTL = 100_000 }
        let verifier = try verifier(cache)
        let token = try factory.token()
        #expect(verifier.verify(token, now: factory.now).identity != nil)
        #expect(verifier.verify(token, now: factory.now + 3600 + 29).identity != nil)
        #expect(verifier.verify(token, now: factory.now + 3600 + 30).reason == .expired(expiredAt: factory.now + 3600, now: factory.now + 3630))
    }

    @Test("bad signatures get short negative entries; expired tokens are never cached negatively")
    func negativeEntries() throws {
        let cache = try cache { $0.negativeTTL = 5 }
        let verifier = try verifier(cache)
        var forged = Array(try factory.token().utf8)
        forged[forged.count - 5] = forged[forged.count - 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(verifier.verify(forged, now: factory.now).reason == .badSignature)
        #expect(verifier.verify(forged, now: factory.now + 4).reason == .badSignature)
        #expect(cache.statistics.negativeHits == 1)
        #expect(verifier.verify(forged, now: factory.now + 5).reason == .badSignature)
        #expect(cache.statistics.negativeHits == 1)

        let expired = try factory.token(claims: ["exp": .number(String(factory.now - 100))])
        _ = verifier.verify(expired, now: factory.now)
        _ = verifier.verify(expired, now: factory.now)
        #expect(cache.statistics.negativeHits == 1)
    }

    @Test("revocation by token hash and by jti applies to cached and uncached tokens")
    func revocation() throws {
        let cache = try cache()
        let verifier = try verifier(cache)
        let byHash = try factory.token(claims: ["jti": "one"])
        #expect(verifier.verify(byHash, now: factory.now).identity != nil)
        try cache.revoke(tokenHash: #require(verifier.cacheKey(for: Array(byHash.utf8))), until: factory.now + 7200)
        #expect(verifier.verify(byHash, now: factory.now).reason == .revoked)

        let byID = try factory.token(claims: ["jti": "two"])
        try cache.revoke(tokenID: "two", until: factory.now + 7200)
        #expect(verifier.verify(byID, now: factory.now).reason == .revoked)
        #expect(verifier.verify(byID, now: factory.now + 1).reason == .revoked)
        #expect(cache.isRevoked(tokenHash: TokenDigest(), tokenID: "two", now: factory.now + 7200) == false)
    }

    @Test("bumping the issuer's key generation stops cached verdicts from being served")
    func generationBump() throws {
        let cache = try cache()
        let verifier = try verifier(cache)
        let token = try factory.token()
        _ = verifier.verify(token, now: factory.now)
        _ = verifier.verify(token, now: factory.now)
        #expect(cache.statistics.hits == 1)
        try cache.bumpGeneration(issuer: factory.issuer)
        #expect(cache.generation(issuer: factory.issuer) == 1)
        _ = verifier.verify(token, now: factory.now)
        #expect(cache.statistics.hits == 1 && cache.statistics.misses == 2)
    }

    // Regression: a verification that used a key while another process removed it could
    // store its verdict after the generation bump, under the new generation, and every
    // process then served the removed key's token from the cache (soak: "dropped key still accepted").
    @Test("a verdict made before the epoch moved is not stored: it could come from keys replaced since")
    func storeAfterEpochMoved() throws {
        let cache = try cache()
        var digest = TokenDigest()
        digest.words = (1, 2, 3, 4)
        let identity = Identity(id: "user", issuer: factory.issuer, audience: [factory.audience], expiresAt: factory.now + 600)
        func stored() -> Bool { cache.lookup(tokenHash: digest, now: factory.now, identity: { identity }) != nil }

        let before = cache.epoch
        try cache.bumpGeneration(issuer: factory.issuer)
        cache.store(tokenHash: digest, identity: identity, now: factory.now, epoch: before)
        cache.storeNegative(tokenHash: digest, reason: .badSignature, now: factory.now, epoch: before)
        #expect(!stored())
        #expect(cache.statistics.stores == 0)

        cache.store(tokenHash: digest, identity: identity, now: factory.now, epoch: cache.epoch)
        #expect(stored())
    }

    @Test("verifiers with different policies never share verdicts")
    func namespaces() throws {
        let cache = try cache()
        let token = try factory.token()
        #expect(try verifier(cache).verify(token, now: factory.now).identity != nil)
        #expect(try verifier(cache, audience: "https://other.example").verify(token, now: factory.now).reason?.code == "wrongAudience")
        #expect(cache.statistics.hits == 0)
    }

    @Test("no token bytes are written to disk, and the files are private")
    func nothingInPlainOnDisk() throws {
        let cache = try cache()
        let verifier = try verifier(cache)
        let token = try factory.token(claims: ["marker": "do-not-leak"])
        _ = verifier.verify(token, now: factory.now)
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/data.mdb"))
        let signature = token.split(separator: ".")[2]
        #expect(data.range(of: Data(signature.utf8)) == nil)
        #expect(data.range(of: Data(token.utf8.prefix(40))) == nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        let file = try FileManager.default.attributesOfItem(atPath: directory + "/data.mdb")
        #expect(((file[.posixPermissions] as? Int) ?? 0) & 0o077 == 0)
    }

    @Test("a corrupt cache file is detected and rebuilt")
    func corruptFileIsRebuilt() throws {
        // What a process finds when it opens a damaged cache (an open cache stays open in its process).
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(repeating: 0xA5, count: 64 * 1024).write(to: URL(fileURLWithPath: directory + "/data.mdb"))
        let rebuilt = try cache()
        let token = try factory.token()
        let verifier = try verifier(rebuilt)
        _ = verifier.verify(token, now: factory.now)
        #expect(verifier.verify(token, now: factory.now).identity != nil)
        #expect(rebuilt.statistics.hits == 1)
    }

    @Test("verification never fails because the map is full: the stores are skipped", .ownThread)
    func fullMap() throws {
        let cache = try cache { $0.mapSizeBytes = 64 * 1024 }
        let verifier = try verifier(cache)
        for i in 0..<600 {
            let token = try factory.token(claims: ["jti": .string("t\(i)")])
            #expect(verifier.verify(token, now: factory.now).identity != nil)
        }
        #expect(cache.statistics.stores > 0 && cache.statistics.skippedStores > 0 && cache.statistics.errors == 0)
    }

    @Test("HMAC-only verifiers use the cache too: a hit is cheaper than HS256 verification with its identity")
    func hmacUsesCache() throws {
        let cache = try cache()
        let hmac = TokenFactory(key: SigningKey.hmac(secret: Array(repeating: 3, count: 32)), algorithm: .hs256)
        let verifier = Verifier(policy: ValidationPolicy(issuers: .any, audiences: .any), keys: KeySet(keys: [try hmac.key.verificationKey()]), cache: cache, l1Entries: 0)
        let token = try hmac.token()
        _ = verifier.verify(token, now: hmac.now)
        #expect(verifier.verify(token, now: hmac.now).identity != nil)
        #expect(cache.statistics.hits == 1)
    }

    @Test("one open cache per directory and process: opening it again shares it; other settings are refused")
    func onePerProcess() throws {
        let first = try cache()
        let second = try SharedCache.open(CacheConfiguration(directory: directory + "/."))
        #expect(first === second)
        #expect(throws: CacheError.self) { try SharedCache.open(CacheConfiguration(directory: directory, maxTTL: 5)) }
    }
}
