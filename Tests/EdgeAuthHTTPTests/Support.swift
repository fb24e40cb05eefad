import EdgeAuth
import EdgeAuthHTTP
import EdgeAuthTesting
import Foundation
import NIOPosix
import Testing

/// An in-process server on a loopback port, trusting one test key.
struct TestServer {
    static let factory = TokenFactory(key: try! SigningKey.generate(.ec(.p256), kid: "http-test"), algorithm: .es256,
                                      issuer: "https://issuer.example/", audience: "http://127.0.0.1/mcp", now: Int64(Date().timeIntervalSince1970))
    let server: HTTPServer
    var port: Int { server.port }
    var base: String { "http://127.0.0.1:\(port)" }

    /// - Parameter group: the event loops (default: the shared ones of every in-process test server).
    static func start(limiter: SharedRateLimiter? = nil, handler: any ProtectedHandler = IdentityEchoHandler(), gateway: GatewaySettings? = nil,
                      group: MultiThreadedEventLoopGroup = .singleton,
                      _ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> TestServer {
        var configuration = ServerConfiguration()
        configuration.resource = "http://127.0.0.1/mcp"
        configuration.requiredScopes = ["notes:read", "notes:write"]
        configure(&configuration)
        let policy = ValidationPolicy(issuers: .exactly([factory.issuer]), audiences: .anyOf([factory.audience]))
        let verifier = Verifier(policy: policy, keys: KeySet(keys: [try factory.key.verificationKey()]))
        let context = ServerContext(verifier: verifier, resource: ProtectedResource(server: configuration, issuers: [factory.issuer]),
                                    server: configuration, handler: handler, limiter: limiter, gateway: gateway)
        return TestServer(server: try await HTTPServer.start(context, listener: .address(host: "127.0.0.1", port: 0), group: group))
    }

    /// Drains the server without waiting for it: `defer { server.stop() }` (a `defer` cannot
    /// await) stops a test's server however the test ends.
    func stop() { Task { [server] in try? await server.drain() } }

    static func token(scopes: String = "notes:read notes:write", _ extra: [String: JSONValue] = [:]) throws -> String {
        var claims = extra
        claims["scope"] = .string(scopes)
        claims["exp"] = .number(String(factory.now + 3600))
        return try factory.token(claims: claims)
    }
}

/// An HTTP exchange over a plain socket: exactly the bytes given, the answer as received.
struct RawResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var json: JSONValue? { try? JSONValue.parse(body) }
}

/// One client connection over a plain socket: exactly the bytes given, the answers as received.
final class RawConnection: @unchecked Sendable {  // used by one thread at a time
    let descriptor: CInt
    private var pending = [UInt8]()

    init(_ port: Int, timeout: Int = 30) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        var time = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }

    /// Reads one response (by Content-Length); nil when the connection closed first.
    func read() -> RawResponse? {
        var data = pending
        pending = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = Self.headerEnd(data) {
                let head = String(decoding: data[..<end], as: UTF8.self)
                let lines = head.components(separatedBy: "\r\n")
                let status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
                let headers = lines.dropFirst().compactMap { line -> (String, String)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
                if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased() == "chunked" }) {
                    return readChunked(status: status, headers: headers, data: Array(data[(end + 4)...]))
                }
                let length = Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
                while data.count < end + 4 + length {
                    let count = recv(descriptor, &buffer, buffer.count, 0)
                    if count <= 0 { return nil }
                    data += buffer[..<count]
                }
                let body = String(decoding: data[(end + 4)..<(end + 4 + length)], as: UTF8.self)
                pending = Array(data[(end + 4 + length)...])
                return RawResponse(status: status, headers: headers, body: body)
            }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { return nil }
            data += buffer[..<count]
        }
    }

    /// A chunked body, whole (a streamed answer).
    private func readChunked(status: Int, headers: [(String, String)], data: [UInt8]) -> RawResponse? {
        var data = data
        var body = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        func more() -> Bool {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 { data += buffer[..<count] }
            return count > 0
        }
        while true {
            guard let lineEnd = (0..<max(0, data.count - 1)).first(where: { data[$0] == 13 && data[$0 + 1] == 10 }) else {
                if !more() { return nil }
                continue
            }
            guard let size = Int(String(decoding: data[..<lineEnd], as: UTF8.self), radix: 16) else { return nil }
            while data.count < lineEnd + 2 + size + 2 { if !more() { return nil } }
            body += data[(lineEnd + 2)..<(lineEnd + 2 + size)]
            data.removeFirst(lineEnd + 2 + size + 2)
            if size == 0 {
                pending = data
                return RawResponse(status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
            }
        }
    }

    /// The client's port of this connection.
    var localPort: Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether the server (listening on `port`) has accepted this connection and read every byte
    /// sent on it so far: its end's receive queue in /proc/net/tcp is empty. Lets a test wait for
    /// the server to have a request in hand instead of sleeping.
    func serverHasRead(port: Int) -> Bool {
        // Read to the end: Foundation stops after the first page of a /proc file.
        let file = Glibc.open("/proc/net/tcp", O_RDONLY)
        guard file >= 0 else { return false }
        defer { Glibc.close(file) }
        var bytes = [UInt8](), chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Glibc.read(file, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        let table = String(decoding: bytes, as: UTF8.self)
        let local = String(format: "0100007F:%04X", port), remote = String(format: "0100007F:%04X", localPort)
        for line in table.split(separator: "\n").dropFirst() {
            // sl, local address, remote address, state, tx_queue:rx_queue, ...
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[1] == local, fields[2] == remote else { continue }
            return fields[4].split(separator: ":").last.flatMap { Int($0, radix: 16) } == 0
        }
        return false
    }

    /// Whether the server's kernel has no such connection: a byte sent on it is answered with
    /// a reset. A connection whose handshake completed while the listen queue was full can
    /// be open on the client's side only, and a silent client would never learn otherwise.
    var isUnknownToServer: Bool {
        send("\r\n")
        var byte: UInt8 = 0
        let received = recv(descriptor, &byte, 1, 0)
        return received < 0 && errno == ECONNRESET
    }

    /// Whether the server closed the connection (within the receive timeout; a timeout is
    /// not a close).
    var isClosed: Bool {
        var byte: UInt8 = 0
        let received = recv(descriptor, &byte, 1, 0)
        return received == 0 || (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    private static func headerEnd(_ data: [UInt8]) -> Int? {
        guard data.count >= 4 else { return nil }
        for index in 0...(data.count - 4) where data[index] == 13 && data[index + 1] == 10 && data[index + 2] == 13 && data[index + 3] == 10 {
            return index
        }
        return nil
    }
}

enum RawHTTP {
    /// One request on a new connection (blocking: call from a thread of its own).
    static func exchangeBlocking(_ port: Int, _ request: String) throws -> RawResponse? {
        let connection = try RawConnection(port)
        connection.send(request)
        return connection.read()
    }

    static func getBlocking(_ port: Int, _ path: String, headers: [String] = [], method: String = "GET") throws -> RawResponse? {
        try exchangeBlocking(port, "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers.map { $0 + "\r\n" }.joined() + "Connection: close\r\n\r\n")
    }

    /// One request on a new connection, waited for off the cooperative pool.
    static func exchange(_ port: Int, _ request: String) async throws -> RawResponse? {
        try await offPool { try exchangeBlocking(port, request) }
    }

    static func get(_ port: Int, _ path: String, headers: [String] = [], method: String = "GET") async throws -> RawResponse? {
        try await offPool { try getBlocking(port, path, headers: headers, method: method) }
    }
}


/// A process's resident memory (this one's by default), from /proc (0 where there is none).
func residentBytes(of pid: String = "self") -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kilobytes * 1024
}
