@testable import EdgeAuthCache
import CLMDB
import EdgeAuth
import EdgeAuthTesting
import Foundation
import Testing

/// A cache file of another format version: what a process finds after an upgrade.
@Suite("Cache format")
struct CacheFormatTests {
    @Test("a cache written by another format version is rebuilt when opened, not closed twice (a regression: the process aborted)")
    func otherFormatIsRebuilt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-format-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A file of this format, then its marker changed to an older one; the environment is
        // closed before the cache opens the file (two in one process would break LMDB's locks).
        do {
            let environment = try LMDBEnvironment(directory: directory, mapSize: 1 << 20, maxReaders: 8)
            try environment.write { txn in LMDBEnvironment.put(txn, environment.meta, Array("format".utf8), Array("edgeauth-cache-1".utf8)) }
        }
        #expect(throws: CacheError.self) { try LMDBEnvironment(directory: directory, mapSize: 1 << 20, maxReaders: 8) }
        let cache = try SharedCache.open(CacheConfiguration(directory: directory))
        let factory = TokenFactory(key: try SigningKey.generate(.ec(.p256), kid: "format"), algorithm: .es256)
        let verifier = Verifier(policy: ValidationPolicy(issuers: .exactly([factory.issuer]), audiences: .anyOf([factory.audience])),
                                keys: KeySet(keys: [try factory.key.verificationKey()]), cache: cache)
        let token = try factory.token()
        _ = verifier.verify(token, now: factory.now)
        #expect(verifier.verify(token, now: factory.now).identity != nil)
        #expect(cache.statistics.stores >= 1, "the rebuilt cache stores verdicts")
    }
}
