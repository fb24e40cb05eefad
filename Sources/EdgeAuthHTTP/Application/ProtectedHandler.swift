import EdgeAuth
import NIOCore
import NIOHTTP1

/// A request to the protected prefix, after its token was verified.
public struct ProtectedRequest: Sendable {
    public let method: HTTPMethod
    /// The path and query as sent.
    public let uri: String
    public let headers: HTTPHeaders
    public let body: ByteBuffer
    /// The bearer token the server verified for this request (what follows `Bearer `).
    public let bearerToken: Substring
    let id: RequestID
    /// The connection's peer (a client, or a reverse proxy).
    let peer: String
    /// The id this request has in logs and in the `X-Request-Id` response header.
    public var requestID: String { id.description }
}

/// A request's id: this process's id and a counter, both in base 36 (`"k3x9-1f"`), kept as
/// a number until it is written.
struct RequestID: Sendable, CustomStringConvertible {
    /// `"<pid in base 36>-"`.
    let prefix: String
    let number: UInt64

    static func prefix(pid: Int32) -> String { String(pid, radix: 36) + "-" }

    var description: String { prefix + String(number, radix: 36) }
}

/// An answer.
public struct HTTPReply: Sendable {
    public var status: HTTPResponseStatus
    public var headers: [(String, String)]
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus, headers: [(String, String)] = [], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON answer.
    public static func json(_ status: HTTPResponseStatus, _ bytes: [UInt8], headers: [(String, String)] = []) -> HTTPReply {
        HTTPReply(status: status, headers: [("Content-Type", "application/json")] + headers, body: ByteBuffer(bytes: bytes))
    }

    public static func json(_ status: HTTPResponseStatus, _ value: JSONValue, headers: [(String, String)] = []) -> HTTPReply {
        json(status, Array(value.jsonText.utf8), headers: headers)
    }

    /// An OAuth-style error body `{"error", "error_description"}`.
    public static func error(_ status: HTTPResponseStatus, _ code: String, _ description: String, headers: [(String, String)] = []) -> HTTPReply {
        json(status, ["error": .string(code), "error_description": .string(description)], headers: headers)
    }
}

/// What answers verified requests under the protected prefix: the MCP layer, a reverse
/// proxy, or `IdentityEchoHandler`.
public protocol ProtectedHandler: Sendable {
    /// Answers a request from an authenticated caller. Called on the connection's event
    /// loop: answer `.reply` when the answer is at hand, `.deferred` for work that awaits.
    func respond(to request: ProtectedRequest, identity: Identity) -> ProtectedResponse
}

/// What a protected handler answers: at once, or after awaiting.
public typealias ProtectedResponse = RouteResponse

/// Answers the caller's identity as JSON: the minimal protected handler of the embedded
/// default, the tests and the HTTP benchmark.
public struct IdentityEchoHandler: ProtectedHandler {
    private static let headers = [("Content-Type", "application/json")]

    public init() {}

    public func respond(to request: ProtectedRequest, identity: Identity) -> ProtectedResponse {
        let bound = identity.jsonByteBound
        var body = ByteBufferAllocator().buffer(capacity: bound)
        unsafe body.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { unsafe identity.writeJSON(into: $0) }
        return .reply(HTTPReply(status: .ok, headers: Self.headers, body: body))
    }
}
