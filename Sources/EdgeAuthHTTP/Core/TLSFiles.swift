import EdgeAuth
import NIOSSL

typealias TLSFiles = ServerConfiguration.TLSFiles

extension ServerConfiguration.TLSFiles {
    /// The server's TLS context from the PEM files (TLS 1.2 and later), read now: a worker
    /// reads them when it starts, so a reload (SIGHUP) picks up renewed certificates.
    static func context(_ files: TLSFiles) throws -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificate).map { NIOSSLCertificateSource.certificate($0) }
            guard !chain.isEmpty else { throw ConfigurationError("server.tls.certificate \(files.certificate) holds no certificate") }
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: files.key, format: .pem)))
            configuration.minimumTLSVersion = .tlsv12
            configuration.applicationProtocols = ["http/1.1"]
            return try NIOSSLContext(configuration: configuration)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("server.tls: cannot load \(files.certificate) and \(files.key): \(error)")
        }
    }
}
