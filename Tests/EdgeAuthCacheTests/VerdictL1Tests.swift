import EdgeAuth
import EdgeAuthTesting
import Foundation
import Testing

/// The per-process L1 in front of the shared cache: the same validity rules.
@Suite("In-memory L1 in front of the shared cache")
final class VerdictL1Tests {
    static let signer = try! SigningKey.generate(.ec(.p256), kid: "l1-ec")
    let factory = TokenFactory(key: VerdictL1Tests.signer, algorithm: .es256)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-l1-\(UUID().uuidString)").path
    deinit { try? FileManager.default.removeItem(atPath: directory) }  // each test has its own directory

    func verifier(entries: Int = 64, maxTTL: Int64 = 600) throws -> Verifier {
        let cache = try SharedCache.open(CacheConfiguration(directory: directory, maxTTL: maxTTL))
        let policy = ValidationPolicy(issuers: .exactly([factory.issuer]), audiences: .anyOf([factory.audience]))
        return Verifier(policy: policy, keys: KeySet(keys: [try Self.signer.verificationKey()]), cache: cache, l1Entries: entries)
    }

    @Test("a repeated token is served from memory with the same identity, without reading LMDB")
    func hit() throws {
        let verifier = try verifier()
        let token = try factory.token(claims: ["roles": ["admin"]])
        let first = verifier.verify(token, now: factory.now)
        let second = verifier.verify(token, now: factory.now + 1)
        #expect(first.identity != nil && first == second)
        #expect(verifier.l1?.hits == 1)
        #expect(verifier.cache?.statistics.hits == 0 && verifier.cache?.statistics.misses == 1)
    }

    @Test("an L1 hit re-checks the token's times: it never outlives exp")
    func expiry() throws {
        let verifier = try verifier(maxTTL: 100_000)
        let token = try factory.token()
        _ = verifier.verify(token, now: factory.now)
        #expect(verifier.verify(token, now: factory.now + 3600 + 30).reason == .expired(expiredAt: factory.now + 3600, now: factory.now + 3630))
    }

    @Test("an entry is not served past the shared entry's expiry (maxTTL)")
    func maxTTL() throws {
        let verifier = try verifier(maxTTL: 60)
        let token = try factory.token()
        _ = verifier.verify(token, now: factory.now)
        _ = verifier.verify(token, now: factory.now + 60)
        #expect(verifier.l1?.hits == 0)
        #expect(verifier.cache?.statistics.misses == 2)
    }

    @Test("a revocation by jti or by token, or a key generation bump, stops the in-memory copies at once")
    func invalidation() throws {
        let verifier = try verifier()
        let cache = try #require(verifier.cache)
        let byID = try factory.token(claims: ["jti": "l1-one"])
        let byHash = try factory.token(claims: ["jti": "l1-two"])
        let byGeneration = try factory.token(claims: ["jti": "l1-three"])
        for token in [byID, byHash, byGeneration] {
            _ = verifier.verify(token, now: factory.now)
            #expect(verifier.verify(token, now: factory.now).identity != nil)
        }
        #expect(verifier.l1?.hits == 3)
        try cache.revoke(tokenID: "l1-one", until: factory.now + 7200)
        #expect(verifier.verify(byID, now: factory.now).reason == .revoked)
        try cache.revoke(tokenHash: #require(verifier.cacheKey(for: Array(byHash.utf8))), until: factory.now + 7200)
        #expect(verifier.verify(byHash, now: factory.now).reason == .revoked)
        try cache.bumpGeneration(issuer: factory.issuer)
        let hits = cache.statistics.hits
        #expect(verifier.verify(byGeneration, now: factory.now).identity != nil)
        // Verified again in full (a miss in both layers), not served from memory.
        #expect(verifier.l1?.hits == 3 && cache.statistics.hits == hits)
    }

    @Test("negative verdicts are kept too; a different token with the same prefix is never served another's verdict")
    func negativesAndDistinctTokens() throws {
        let verifier = try verifier(entries: 1)
        let token = try factory.token()
        var forged = Array(token.utf8)
        forged[forged.count - 5] = forged[forged.count - 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(verifier.verify(forged, now: factory.now).reason == .badSignature)
        #expect(verifier.verify(forged, now: factory.now).reason == .badSignature)
        #expect(verifier.l1?.hits == 1)
        // One slot per stripe: the valid token replaces or sits beside the forged one; both keep their verdicts.
        #expect(verifier.verify(token, now: factory.now).identity != nil)
        #expect(verifier.verify(forged, now: factory.now).reason == .badSignature)
        #expect(verifier.verify(token, now: factory.now).identity != nil)
    }

    @Test("the epoch is shared through the file: another mapping sees each increment")
    func epochIsShared() throws {
        let verifier = try verifier()
        let cache = try #require(verifier.cache)
        let before = cache.epoch
        try cache.revoke(tokenID: "epoch-test", until: factory.now + 10)
        #expect(cache.epoch != before)
        // What another process maps: the same 8 bytes of the epoch file.
        let raw = try Data(contentsOf: URL(fileURLWithPath: directory + "/epoch"))
        #expect(raw.count == 8 && raw.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } == 1)
    }
}
