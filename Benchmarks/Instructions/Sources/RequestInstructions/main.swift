import EdgeAuthMCP
import Foundation
import NIOCore
import NIOEmbedded

// What `edgeauth serve` does for one request on its protected route, without the sockets:
// the request handler of a server with the embedded default (development key, shared
// cache, identity answered as JSON, no rate limits), in a channel that is driven by hand.
// The request is the benchmark's (`make bench-http`): GET /mcp with a cached valid token.
// `requests.sh` runs it twice under valgrind and reports the difference per request.
//
//   RequestInstructions N

guard CommandLine.arguments.count == 2, let count = Int(CommandLine.arguments[1]) else {
    print("usage: RequestInstructions N")
    exit(2)
}
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-requests-\(getpid())").path
defer { try? FileManager.default.removeItem(atPath: directory) }

var server = ServerConfiguration()
server.rateLimit.perIP = nil
server.rateLimit.perUser = nil
server.rateLimit.invalidTokensPerIP = nil
let issuer = try DevelopmentIssuer.open(directory: directory, server: server)
let verifierConfiguration = issuer.verifierConfiguration
// Built without `makeVerifier` (async): valgrind cannot run the threads the concurrency runtime
// starts. The same keys, policy and cache as the server's embedded default.
let jwks = try Data(contentsOf: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(DevelopmentIssuer.jwksFile)))
let verifier = Verifier(policy: verifierConfiguration.policy, keys: try KeySet(jwksJSON: jwks),
                        cache: try SharedCache.open(verifierConfiguration.cache!))
let resource = ProtectedResource(server: server, issuers: verifierConfiguration.exactIssuers)
let context = ServerContext(verifier: verifier, resource: resource, server: server, handler: IdentityEchoHandler())

let token = try issuer.token(user: "bench", scopes: ["notes:read"])
let request = "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer \(token)\r\n\r\n"

let channel = EmbeddedChannel()
try HTTPServer.configure(channel, context: context)
_ = channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 50000))
var answered = 0
for _ in 0..<count {
    try channel.writeInbound(ByteBuffer(string: request))
    guard var answer = try channel.readOutbound(as: ByteBuffer.self),
          answer.readString(length: 15) == "HTTP/1.1 200 OK" else { break }
    answered += 1
}
guard answered == count else {
    print("request \(answered + 1) was not answered 200")
    exit(1)
}
