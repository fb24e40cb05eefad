import Dispatch
import EdgeAuth
@testable import EdgeAuthCrypto
import EdgeAuthTestThreads
import EdgeAuthTesting
import Synchronization
import Testing

@Suite("Sign and verify every algorithm")
struct RoundTripTests {
    static let cases: [(Algorithm, SigningKey.Spec?)] = [
        (.hs256, nil), (.hs384, nil), (.hs512, nil),
        (.rs256, .rsa(bits: 2048)), (.rs384, .rsa(bits: 2048)), (.rs512, .rsa(bits: 2048)),
        (.ps256, .rsa(bits: 2048)), (.ps384, .rsa(bits: 2048)), (.ps512, .rsa(bits: 2048)),
        (.es256, .ec(.p256)), (.es384, .ec(.p384)), (.es512, .ec(.p521)),
        (.edDSA, .ed25519),
    ]

    @Test("a freshly signed token verifies and a tampered one does not", .ownThread, arguments: cases.indices)
    func roundTrip(index: Int) throws {
        let (algorithm, spec) = Self.cases[index]
        let key = try spec.map { try SigningKey.generate($0, kid: "k1") } ?? SigningKey.hmac(secret: Array(repeating: 7, count: 64), kid: "k1")
        let factory = TokenFactory(key: key, algorithm: algorithm)
        let verifier = try factory.verifier()
        let token = try factory.token(claims: ["email": "a@example.com"])
        // Verify twice: pooled OpenSSL contexts must be reusable.
        for _ in 0..<2 {
            let verdict = verifier.verify(token, now: factory.now + 10)
            #expect(verdict.identity?.id == "user-123", "\(algorithm.name): \(String(describing: verdict.reason))")
            #expect(verdict.identity?.email == "a@example.com")
        }
        var tampered = Array(token.utf8)
        let last = tampered.count - 2
        tampered[last] = tampered[last] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(verifier.verify(tampered, now: factory.now + 10).reason == .badSignature)
        // Signing again: pooled signing contexts must be reusable too.
        let again = try factory.token(claims: ["email": "b@example.com"])
        #expect(again != token)
        #expect(verifier.verify(again, now: factory.now + 10).identity?.email == "b@example.com")
    }

    @Test("one key signs from many threads at once, every signature valid", .ownThread, arguments: [Algorithm.es256, .ps256, .rs256])
    func concurrentSigning(algorithm: Algorithm) throws {
        let spec: SigningKey.Spec = algorithm.family == .ecdsa ? .ec(.p256) : .rsa(bits: 2048)
        let factory = TokenFactory(key: try SigningKey.generate(spec, kid: "k1"), algorithm: algorithm)
        let verifier = try factory.verifier()
        let tokens = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for index in 0..<25 {
                guard let token = try? factory.token(claims: ["email": .string("\(thread)-\(index)@example.com")]) else { continue }
                tokens.withLock { $0.append(token) }
            }
        }
        let signed = tokens.withLock { $0 }
        #expect(signed.count == 200)
        #expect(signed.allSatisfy { verifier.verify($0, now: factory.now + 10).identity != nil })
    }
}

@Suite("Regressions in OpenSSL context reuse")
struct ContextReuseRegressionTests {
    @Test("ES256 and RS256 still verify after an EdDSA verification on the same thread", .ownThread)
    func digestContextsAreNotSharedWithEd25519() throws {
        let ed = TokenFactory(key: try SigningKey.generate(.ed25519, kid: "ed"), algorithm: .edDSA)
        let ec = TokenFactory(key: try SigningKey.generate(.ec(.p256), kid: "ec"), algorithm: .es256)
        let rsa = TokenFactory(key: try SigningKey.generate(.rsa(bits: 2048), kid: "rsa"), algorithm: .rs256)
        let edVerifier = try ed.verifier(), ecVerifier = try ec.verifier(), rsaVerifier = try rsa.verifier()
        let edToken = try ed.token(), ecToken = try ec.token(), rsaToken = try rsa.token()
        for _ in 0..<3 {
            #expect(edVerifier.verify(edToken, now: ed.now).identity != nil)
            #expect(ecVerifier.verify(ecToken, now: ec.now).identity != nil)
            #expect(rsaVerifier.verify(rsaToken, now: rsa.now).identity != nil)
        }
    }
}

@Suite("SHA-256 for cache keys")
struct CacheDigestTests {
    @Test("the allocation-free digest matches FIPS 180-2's example and the EVP digest over prefix + data")
    func matchesEVP() throws {
        let abc = Array("abc".utf8)
        let digest = try #require(abc.withUnsafeBytes { data in [UInt8]().withUnsafeBytes { OpenSSLSHA256.digest(prefix: $0, data) } })
        #expect(digest.bytes == hexBytes("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        let prefix = Array(repeating: UInt8(7), count: 32), data = Array(repeating: UInt8(9), count: 1000)
        let split = try #require(prefix.withUnsafeBytes { p in data.withUnsafeBytes { OpenSSLSHA256.digest(prefix: p, $0) } })
        #expect(split.bytes == OpenSSLSHA256.hash(prefix + data))
    }
}

@Suite("OpenSSL state across verifications")
struct OpenSSLStateTests {
    static func factory(_ index: Int) throws -> TokenFactory {
        let (algorithm, spec) = RoundTripTests.cases[index]
        let key = try spec.map { try SigningKey.generate($0, kid: "k1") } ?? SigningKey.hmac(secret: Array(repeating: 7, count: 64), kid: "k1")
        return TokenFactory(key: key, algorithm: algorithm)
    }

    @Test("a rejected signature and a refused key leave the thread's OpenSSL error queue empty", .ownThread, arguments: RoundTripTests.cases.indices)
    func errorQueueLeftEmpty(index: Int) throws {
        let factory = try Self.factory(index)
        let verifier = try factory.verifier()
        var tampered = Array(try factory.token().utf8)
        tampered[tampered.count - 2] = tampered[tampered.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        _ = OpenSSLErrors.drain()  // this thread may have run other tests: start from an empty queue
        #expect(verifier.verify(tampered, now: factory.now + 10).reason == .badSignature)
        // Entries left behind would be reported with the next, unrelated OpenSSL failure.
        #expect(OpenSSLErrors.drain() == nil, "\(factory.algorithm.name)")
        #expect(throws: CryptoError.self) {
            try VerificationKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
        }
        #expect(OpenSSLErrors.drain() == nil)
    }

    @Test("threads verifying at once with one verifier share its pooled contexts correctly", .ownThread, arguments: [0, 3, 6, 9, 12])
    func concurrentVerification(index: Int) throws {
        let factory = try Self.factory(index)
        let verifier = try factory.verifier()
        let token = Array(try factory.token().utf8)
        var tampered = token
        tampered[tampered.count - 2] = tampered[tampered.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let forged = tampered
        let failures = Atomic<Int>(0)
        // Four threads, valid and forged tokens interleaved: a context that kept state from
        // another thread's call, or went to two threads at once, gives a wrong verdict.
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for call in 0..<(factory.algorithm.family == .hmac ? 2000 : 100) {
                let forgedCall = (call + thread) % 3 == 0
                let valid = verifier.verify(forgedCall ? forged : token, now: factory.now + 10).identity != nil
                if valid == forgedCall { failures.add(1, ordering: .relaxed) }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0, "\(factory.algorithm.name)")
    }
}
