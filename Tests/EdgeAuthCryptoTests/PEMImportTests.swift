import EdgeAuth
import EdgeAuthTestThreads
import EdgeAuthTesting
import Foundation
import Testing

/// PEM import through the `openssl` command-line tool's output formats.
@Suite("PEM key import")
struct PEMImportTests {
    static func openssl(_ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let out = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardInput = inPipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try inPipe.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "openssl \(arguments.joined(separator: " "))")
        return String(decoding: data, as: UTF8.self)
    }

    func verifies(_ key: VerificationKey, _ signer: SigningKey, _ algorithm: Algorithm) throws -> Bool {
        let factory = TokenFactory(key: signer, algorithm: algorithm)
        let verifier = Verifier(policy: ValidationPolicy(issuers: .any, audiences: .any), keys: KeySet(keys: [key]))
        return verifier.verify(try factory.token(), now: factory.now).identity != nil
    }

    @Test("SPKI, PKCS#1 and X.509 certificate public keys import and verify; private keys are refused")
    func formats() throws {
        let signer = try SigningKey.generate(.rsa(bits: 2048))
        let privatePEM = try signer.privateKeyPEM()
        let spki = try Self.openssl(["pkey", "-pubout"], input: privatePEM)
        let pkcs1 = try Self.openssl(["rsa", "-RSAPublicKey_out"], input: privatePEM)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-pem-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("key.pem").path
        try Data(privatePEM.utf8).write(to: URL(fileURLWithPath: keyPath))
        let certificate = try Self.openssl(["req", "-x509", "-key", keyPath, "-subj", "/CN=edgeauth-test", "-days", "1"])

        #expect(spki.contains("BEGIN PUBLIC KEY") && pkcs1.contains("BEGIN RSA PUBLIC KEY") && certificate.contains("BEGIN CERTIFICATE"))
        for pem in [spki, pkcs1, certificate] {
            let key = try VerificationKey(pem: pem)
            #expect(key.kind == .rsa(bits: 2048))
            #expect(try verifies(key, signer, .rs256))
            #expect(try verifies(key, signer, .ps384))
        }
        #expect(throws: CryptoError.self) { try VerificationKey(pem: privatePEM) }
        #expect(throws: CryptoError.self) { try VerificationKey(pem: "no pem here") }
        #expect(throws: CryptoError.self) { try VerificationKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n") }
    }

    @Test("EC and Ed25519 SPKI keys bind to their own algorithm; restrictTo narrows an RSA key", .ownThread)
    func bindings() throws {
        let ec = try SigningKey.generate(.ec(.p384))
        let ecKey = try VerificationKey(pem: try Self.openssl(["pkey", "-pubout"], input: try ec.privateKeyPEM()))
        #expect(ecKey.algorithms == AlgorithmSet([.es384]))
        #expect(try verifies(ecKey, ec, .es384))

        let ed = try SigningKey.generate(.ed25519)
        let edKey = try VerificationKey(pem: try Self.openssl(["pkey", "-pubout"], input: try ed.privateKeyPEM()))
        #expect(edKey.algorithms == AlgorithmSet([.edDSA]))
        #expect(try verifies(edKey, ed, .edDSA))

        let rsa = try SigningKey.generate(.rsa(bits: 2048))
        let spki = try Self.openssl(["pkey", "-pubout"], input: try rsa.privateKeyPEM())
        let narrowed = try VerificationKey(pem: spki, restrictTo: .ps256)
        #expect(narrowed.algorithms == AlgorithmSet([.ps256]))
        #expect(try !verifies(narrowed, rsa, .rs256))
        #expect(throws: CryptoError.self) { try VerificationKey(pem: spki, restrictTo: .hs256) }
    }

    @Test("RSA keys below 2048 bits are refused")
    func weakRSA() throws {
        let small = try Self.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"])
        let spki = try Self.openssl(["pkey", "-pubout"], input: small)
        #expect { try VerificationKey(pem: spki) } throws: { ($0 as? CryptoError)?.code == .weakKey }
    }

    @Test("private keys of every type survive a PKCS#8 PEM round trip (encoder inputs outlive the context)", .ownThread)
    func signingKeyPEMRoundTrip() throws {
        for (spec, algorithm) in [(SigningKey.Spec.ec(.p256), Algorithm.es256), (.ec(.p521), .es512), (.ed25519, .edDSA), (.rsa(bits: 2048), .ps256)] {
            let original = try SigningKey.generate(spec)
            let pem = try original.privateKeyPEM()
            #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
            let reloaded = try SigningKey.load(pem: pem)
            #expect(try verifies(try original.verificationKey(), reloaded, algorithm))
        }
    }
}
