// The verdict cache's cost as it grows (docs/benchmarks.md, "The verdict cache at gateway scale"):
// for 10³, 10⁵ and 10⁶ live verdicts, the time of an LMDB lookup, of a verifier's hit and of its
// miss (verification and store), of a store, and of evicting a batch; the lookup, the miss and the
// store again while a second process misses into the same cache; then uncached and LMDB-hit
// verification with key sets of 1, 10 and 100 keys and one or five issuers.
//
// Usage: CacheScale [SIZES]   (default "1000 100000 1000000"; build with -c release)
//        CacheScale writer DIRECTORY   (the second writing process, started by the first)
import EdgeAuth
import EdgeAuthCache
import EdgeAuthCore
import EdgeAuthCrypto
import EdgeAuthTesting
import Foundation
import Synchronization

let now: Int64 = 1_800_000_000
let mapSize = 4 << 30

func key(_ number: Int, salt: UInt64 = 0) -> TokenDigest {
    var digest = TokenDigest()
    let mixed = UInt64(truncatingIfNeeded: number) &* 0x9E37_79B9_7F4A_7C15
    digest.words = (mixed ^ salt, UInt64(truncatingIfNeeded: number), mixed >> 7, salt)
    return digest
}

let identity = Identity(id: "user", scopes: ["notes:read"], issuer: "https://issuer.example/", audience: ["https://api.example"],
                        expiresAt: now + 3600, tokenId: "jti")

func openCache(_ directory: String) -> SharedCache {
    do { return try SharedCache.open(CacheConfiguration(directory: directory, mapSizeBytes: mapSize, maxTTL: 3600)) } catch {
        fatalError("\(error)")
    }
}

/// Median of `rounds` rounds, each the mean time of `calls` calls to `body`, in microseconds.
func measure(rounds: Int = 7, calls: Int, _ body: (Int) -> Void) -> Double {
    var times = [Double]()
    var call = 0
    for _ in 0..<rounds {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<calls {
            body(call)
            call += 1
        }
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(calls) / 1000)
    }
    return times.sorted()[rounds / 2]
}

func format(_ microseconds: Double) -> String { String(format: "%.2f µs", microseconds) }

// The second writing process, a worker whose every request is a miss: it signs a new token,
// verifies it and stores the verdict, until its parent closes standard input.
if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "writer" {
    let cache = openCache(CommandLine.arguments[2])
    let signer = try SigningKey.generate(.ec(.p256), kid: "writer")
    let factory = TokenFactory(key: signer, algorithm: .es256, now: now)
    let verifier = Verifier(policy: ValidationPolicy(issuers: .exactly([factory.issuer]), audiences: .anyOf([factory.audience])),
                            keys: KeySet(keys: [try signer.verificationKey()]), cache: cache, l1Entries: 0)
    let done = Atomic<Bool>(false)
    Thread.detachNewThread {
        _ = FileHandle.standardInput.readDataToEndOfFile()
        done.store(true, ordering: .relaxed)
    }
    var number = 0
    while !done.load(ordering: .relaxed) {
        let token = try factory.token(claims: ["jti": .string("writer-\(number)")])
        precondition(verifier.verify(token, now: now).identity != nil)
        number += 1
    }
    exit(0)
}

let sizes = (CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "1000 100000 1000000").split(separator: " ").compactMap { Int($0) }
let root = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-cache-scale-\(getpid())").path
defer { try? FileManager.default.removeItem(atPath: root) }

// Real tokens for the verifier's miss (verify + store) and hit (lookup + identity read from the token).
let signer = try SigningKey.generate(.ec(.p256), kid: "scale")
let factory = TokenFactory(key: signer, algorithm: .es256, now: now)
let policy = ValidationPolicy(issuers: .exactly([factory.issuer]), audiences: .anyOf([factory.audience]))
let signerKeys = KeySet(keys: [try signer.verificationKey()])

print("live verdicts | LMDB lookup (random key) | verifier: LMDB hit | verifier: miss and store | store | evict a batch of 256 (per verdict) | bytes per verdict")
var withSecondWriter = [String]()
for size in sizes {
    let directory = root + "/\(size)"
    let cache = openCache(directory)
    for number in 0..<size { cache.store(tokenHash: key(number), identity: identity, now: now, epoch: cache.epoch) }
    cache.waitForMaintenance()
    let verifier = Verifier(policy: policy, keys: signerKeys, cache: cache, l1Entries: 0)
    let fresh = try (0..<1_024).map { Array(try factory.token(claims: ["jti": .string("s\(size)-\($0)")]).utf8) }
    let freshWhileWriting = try (0..<1_024).map { Array(try factory.token(claims: ["jti": .string("w\(size)-\($0)")]).utf8) }
    // Each call verifies a token never seen: full verification, then its verdict stored.
    let missAndStore = measure(rounds: 4, calls: 256) { call in
        precondition(verifier.verify(fresh[call], now: now).identity != nil)
    }
    let verifierHit = measure(calls: 10_000) { call in
        precondition(verifier.verify(fresh[call % fresh.count], now: now).identity != nil)
    }
    var random = SystemRandomNumberGenerator()
    let probes = (0..<4096).map { _ in key(Int.random(in: 0..<size, using: &random)) }
    let lookup = measure(calls: 20_000) { call in
        precondition(cache.lookup(tokenHash: probes[call % probes.count], now: now, identity: { identity }) != nil)
    }
    var next = size
    let store = measure(calls: 5_000) { _ in
        cache.store(tokenHash: key(next), identity: identity, now: now, epoch: cache.epoch)
        next += 1
    }
    // The same while a second process misses too.
    let writer = Process()
    writer.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    writer.arguments = ["writer", directory]
    let input = Pipe()
    writer.standardInput = input
    try writer.run()
    Thread.sleep(forTimeInterval: 0.3)
    let contended = measure(calls: 5_000) { _ in
        cache.store(tokenHash: key(next), identity: identity, now: now, epoch: cache.epoch)
        next += 1
    }
    let contendedLookup = measure(calls: 20_000) { call in
        precondition(cache.lookup(tokenHash: probes[call % probes.count], now: now, identity: { identity }) != nil)
    }
    let contendedMiss = measure(rounds: 4, calls: 256) { call in
        precondition(verifier.verify(freshWhileWriting[call], now: now).identity != nil)
    }
    try input.fileHandleForWriting.close()
    writer.waitUntilExit()
    // Eviction: batches of 256 from the soonest-expiring end, timed per verdict removed.
    let evict = measure(rounds: 5, calls: 4) { _ in
        guard case .success(let batch) = cache.evictBatch(limit: 256, now: now, expiredOnly: false), batch.removed > 0 else { fatalError("nothing evicted") }
    } / 256
    let occupancy = cache.occupancy!
    print("\(size) | \(format(lookup)) | \(format(verifierHit)) | \(format(missAndStore)) | \(format(store)) | \(format(evict)) | \(occupancy.usedBytes / max(occupancy.entries, 1))")
    withSecondWriter.append("\(size) | \(format(contendedLookup)) | \(format(contendedMiss)) | \(format(contended))")
}
// The same while a second process verifies and stores new tokens (LMDB has one writer at a time).
print("\nlive verdicts | while a 2nd process misses: LMDB lookup | verifier: miss and store | store")
for line in withSecondWriter { print(line) }

// Verification with larger key sets and more issuers: the key is found by `kid`, the issuer by value.
print("\nkeys | issuers | uncached ES256 verify | LMDB hit through the verifier (identity rebuilt from the token)")
for keyCount in [1, 10, 100] {
    for issuerCount in [1, 5] {
        let signers = try (0..<keyCount).map { try SigningKey.generate(.ec(.p256), kid: "k\($0)") }
        let issuers = (0..<issuerCount).map { "https://issuer\($0).example/" }
        let factories = signers.enumerated().map { index, signer in
            TokenFactory(key: signer, algorithm: .es256, issuer: issuers[index % issuerCount], now: now)
        }
        let tokens = try (0..<512).map { try factories[$0 % factories.count].token(claims: ["jti": .string("t\($0)")]) }.map { Array($0.utf8) }
        let policy = ValidationPolicy(issuers: .exactly(issuers), audiences: .anyOf([factories[0].audience]))
        let keys = KeySet(keys: try signers.map { try $0.verificationKey() })
        let uncached = Verifier(policy: policy, keys: keys)
        let full = measure(rounds: 5, calls: 512) { call in
            precondition(uncached.verify(tokens[call % tokens.count], now: now).identity != nil)
        }
        let cache = openCache(root + "/keys-\(keyCount)-\(issuerCount)")
        let cached = Verifier(policy: policy, keys: keys, cache: cache, l1Entries: 0)
        for token in tokens { _ = cached.verify(token, now: now) }
        let hit = measure(calls: 10_000) { call in
            precondition(cached.verify(tokens[call % tokens.count], now: now).identity != nil)
        }
        print("\(keyCount) | \(issuerCount) | \(format(full)) | \(format(hit))")
    }
}
