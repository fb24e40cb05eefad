import EdgeAuth
import EdgeAuthTestThreads
import EdgeAuthTesting
import Foundation
import Testing

/// Several `edgeauth verify` processes sharing one cache directory. A class, so that `deinit`
/// removes each test's directory however the test ended.
@Suite("Cache shared across processes")
final class MultiProcessTests {
    let factory = TokenFactory(key: try! SigningKey.generate(.ec(.p256), kid: "mp"), algorithm: .es256)
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-mp-\(UUID().uuidString)").path
    var cacheDirectory: String { root + "/cache" }
    var jwksPath: String { root + "/jwks.json" }

    init() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let jwks: JSONValue = ["keys": [try factory.key.publicJWK(alg: .es256)]]
        try Data(jwks.jsonText.utf8).write(to: URL(fileURLWithPath: jwksPath))
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("edgeauth")
    }

    func process(token: String) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["verify", token, "--jwks", jwksPath, "--issuer", factory.issuer, "--audience", factory.audience,
                             "--now", String(factory.now), "--cache-dir", cacheDirectory, "--cache-stats"]
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, stderr)
    }

    /// Runs verifications in parallel processes; returns each one's cache statistics.
    func run(_ tokens: [String]) throws -> [JSONValue] {
        let started = try tokens.map { try process(token: $0) }
        return try started.map { process, stderr in
            let output = stderr.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let line = String(decoding: output, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("{\"hits\"") } ?? ""
            return try JSONValue.parse(String(line))
        }
    }

    @Test("after the first verification in one process, every other process hits", .ownThread)
    func othersHit() throws {
        let token = try factory.token()
        let first = try run([token])
        #expect(first[0]["misses"] == 1 && first[0]["stores"] == 1)
        let others = try run(Array(repeating: token, count: 6))
        for stats in others {
            #expect(stats["hits"] == 1 && stats["misses"] == 0, "\(stats.jsonText)")
        }
    }

    @Test("concurrent writers in different processes all store, and every verdict is then shared", .ownThread)
    func concurrentWriters() throws {
        let tokens = try (0..<8).map { try factory.token(claims: ["jti": .string("w\($0)")]) }
        for stats in try run(tokens) { #expect(stats["stores"] == 1, "\(stats.jsonText)") }
        for stats in try run(tokens) { #expect(stats["hits"] == 1, "\(stats.jsonText)") }
    }

    @Test("kill -9 in the middle of writes leaves a usable cache", .ownThread)
    func killedWriters() throws {
        for round in 0..<10 {
            let started = try (0..<4).map { try process(token: try factory.token(claims: ["jti": .string("k\(round)-\($0)")])) }
            // The behaviour under test: the kills land at a different moment of the writes each
            // round (2 ms to 29 ms after start), not after some event.
            usleep(UInt32(2_000 + round * 3_000))
            for (process, _) in started where process.isRunning { kill(process.processIdentifier, SIGKILL) }
            for (process, _) in started { process.waitUntilExit() }
        }
        let token = try factory.token(claims: ["jti": "after-kills"])
        _ = try run([token])
        let again = try run([token])
        #expect(again[0]["hits"] == 1 && again[0]["errors"] == 0, "\(again[0].jsonText)")
    }

    @Test("a deleted cache directory is recreated by the next process", .ownThread)
    func deletedDirectory() throws {
        let token = try factory.token()
        _ = try run([token])
        try FileManager.default.removeItem(atPath: cacheDirectory)
        let after = try run([token, token])
        #expect(after.allSatisfy { $0["errors"] == 0 })
        #expect(try run([token])[0]["hits"] == 1)
    }

    @Test("a running process whose cache directory is deleted reopens it and shares it with the other processes again", .ownThread)
    func runningProcessRecovers() throws {
        let cache = try SharedCache.open(CacheConfiguration(directory: cacheDirectory))
        let policy = ValidationPolicy(issuers: .exactly([factory.issuer]), audiences: .anyOf([factory.audience]))
        let verifier = Verifier(policy: policy, keys: KeySet(keys: [try factory.key.verificationKey()]), cache: cache, l1Entries: 0)
        let token = try factory.token()
        #expect(verifier.verify(token, now: factory.now).identity != nil)
        try FileManager.default.removeItem(atPath: cacheDirectory)
        // The files are checked at most once a second; the next use after that reopens them. The
        // behaviour under test: that second is measured with the real clock, so it has to pass.
        usleep(1_100_000)
        #expect(verifier.verify(token, now: factory.now).identity != nil)
        #expect(FileManager.default.fileExists(atPath: cacheDirectory + "/data.mdb"))
        #expect(verifier.verify(token, now: factory.now).identity != nil)
        #expect(cache.statistics.hits == 1 && cache.statistics.errors == 0)
        // A revocation written by this process now reaches a new process through the new files.
        try cache.revoke(tokenID: "revoked-after-delete", until: factory.now + 3600)
        let (process, _) = try process(token: try factory.token(claims: ["jti": "revoked-after-delete"]))
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
    }
}
