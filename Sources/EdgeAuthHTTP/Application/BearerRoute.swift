import EdgeAuth
import NIOCore
import NIOHTTP1

/// The protected prefix: the rate limits, a bearer token from the `Authorization` header
/// only (R2–R6), its verification, the required scopes (R3), then the protected handler.
struct BearerRoute: Route {
    let handler: any ProtectedHandler

    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        if let limiter = context.limiter {
            let limits = context.server.rateLimit
            // Repeated invalid tokens: refused before they cost a verification.
            if let invalid = limits.invalidTokensPerIP, limiter.isExhausted("bad:" + request.client, invalid) {
                return .reply(ServerContext.tooManyRequests(retryAfter: Int((1 / invalid.rate).rounded(.up))))
            }
            if let perIP = limits.perIP, case .limited(let retryAfter) = limiter.check("ip:" + request.client, perIP) {
                return .reply(ServerContext.tooManyRequests(retryAfter: retryAfter))
            }
        }
        let resource = context.resource
        if let query = request.query, Self.hasAccessTokenParameter(query) {
            let description = "access tokens are accepted only in the Authorization header"
            return .reply(.error(.badRequest, "invalid_request", description,
                                 headers: [("WWW-Authenticate", resource.challenge(error: "invalid_request", description: description))]))
        }
        guard request.facts.authorizationCount <= 1 else {
            let description = "more than one Authorization header"
            return .reply(.error(.badRequest, "invalid_request", description,
                                 headers: [("WWW-Authenticate", resource.challenge(error: "invalid_request", description: description))]))
        }
        let token: Substring
        switch request.facts.authorization.map(Self.bearerToken) {
        case nil, .notBearer?:
            return .reply(Self.missingToken(resource))
        case .malformed?:
            return .reply(malformedCredentials(resource))
        case .token(let value)?:
            token = value
        }
        let verifier = context.verifier
        // The header's own bytes when they are contiguous (a native string): no copy of the token.
        let attempt = unsafe token.utf8.withContiguousStorageIfAvailable { unsafe verifier.attempt(UnsafeRawBufferPointer($0)) }
            ?? Array(token.utf8).withUnsafeBytes { unsafe verifier.attempt($0) }
        switch attempt {
        case .verdict(let verdict):
            return finish(verdict, token: token, request, context: context)
        case .needsKeyRefresh(let pending):
            // A key published since the last refresh: fetch it off the event loop, then answer there.
            let bytes = Array(token.utf8)
            return .stream { writer in
                Task {
                    let verdict = await verifier.verifyAfterKeyRefresh(pending, token: bytes)
                    writer.eventLoop.execute { Self.answer(finish(verdict, token: token, request, context: context), through: writer) }
                }
            }
        }
    }

    func answerBeforeBody(_ head: HTTPRequestHead, facts: RequestDecoder.HeadFacts, context: ServerContext) -> HTTPReply? {
        Self.answerBeforeBody(facts, context.resource)
    }

    /// No bearer token: refused whatever the body.
    static func answerBeforeBody(_ facts: RequestDecoder.HeadFacts, _ resource: ProtectedResource) -> HTTPReply? {
        switch facts.authorization.map(bearerToken) {
        case nil, .notBearer?: missingToken(resource)
        default: nil
        }
    }

    /// No credentials, or another scheme: the challenge names the scheme to use.
    static func missingToken(_ resource: ProtectedResource) -> HTTPReply {
        .error(.unauthorized, "unauthorized", "this resource needs a bearer token", headers: [("WWW-Authenticate", resource.challenge())])
    }

    /// Any answer, through a writer made for a stream (on its loop).
    static func answer(_ response: RouteResponse, through writer: ResponseWriter) {
        let loop = writer.eventLoop
        switch response {
        case .reply(let reply): writer.reply(reply)
        case .stream(let start): start(writer)
        case .deferred(let work): Task { let reply = await work(); loop.execute { writer.reply(reply) } }
        case .pending(let start): start { reply in loop.execute { writer.reply(reply) } }
        }
    }

    private func malformedCredentials(_ resource: ProtectedResource) -> HTTPReply {
        .error(.badRequest, "invalid_request", "the Authorization header is not \"Bearer <token>\"",
               headers: [("WWW-Authenticate", resource.challenge(error: "invalid_request", description: "malformed Authorization header"))])
    }

    private func finish(_ verdict: Verdict, token: Substring, _ request: ServerRequest, context: ServerContext) -> RouteResponse {
        let resource = context.resource
        // A token that is not token68 can never be valid, so the syntax is checked only for
        // a refused one: a malformed header is a 400, not an invalid token (RFC 6750 §3.1).
        if case .rejected = verdict, !token.utf8.allSatisfy(Self.isToken68) {
            return .reply(malformedCredentials(resource))
        }
        switch verdict {
        case .valid: context.metrics.validVerdict()
        case .rejected(let reason): context.metrics.verdict(reason.code)
        }
        switch verdict {
        case .rejected(.keysUnavailable):
            // The provider or the network, not the token: try again later.
            context.logger.warning("token refused: the provider's keys are unavailable", metadata: ["request_id": "\(request.id)"])
            return .reply(.error(.serviceUnavailable, "temporarily_unavailable", "the authorization server's keys are unavailable; retry later",
                                 headers: [("Retry-After", "30")]))
        case .rejected(let reason):
            context.logger.debug("token rejected", metadata: ["request_id": "\(request.id)", "reason": "\(reason.code)"])
            if let limiter = context.limiter, let invalid = context.server.rateLimit.invalidTokensPerIP {
                _ = limiter.check("bad:" + request.client, invalid)
            }
            let description = BearerChallenge.description(of: reason)
            return .reply(.error(.unauthorized, "invalid_token", description,
                                 headers: [("WWW-Authenticate", resource.challenge(error: "invalid_token", description: description))]))
        case .valid(let identity):
            if let limiter = context.limiter, let perUser = context.server.rateLimit.perUser,
               case .limited(let retryAfter) = limiter.check("user:" + (identity.issuer) + "\u{0}" + identity.id, perUser) {
                return .reply(ServerContext.tooManyRequests(retryAfter: retryAfter))
            }
            // R3: every missing scope in one challenge.
            let missing = resource.requiredScopes.filter { !identity.hasScope($0) }
            guard missing.isEmpty else {
                return .reply(resource.insufficientScope("the access token lacks the scopes " + missing.joined(separator: " "), scopes: resource.requiredScopes))
            }
            let protected = ProtectedRequest(method: request.method, uri: request.uri, headers: request.head.headers, body: request.body,
                                             bearerToken: token, id: request.id, peer: request.peer)
            return handler.respond(to: protected, identity: identity)
        }
    }

    /// Whether the query carries `access_token` (RFC 6750 §2.3, refused: R6).
    static func hasAccessTokenParameter(_ query: Substring) -> Bool {
        query.split(separator: "&").contains { $0 == "access_token" || $0.hasPrefix("access_token=") }
    }

    enum BearerCredentials: Equatable {
        case token(Substring)
        case notBearer
        case malformed
    }

    /// `Bearer <token68>` (RFC 6750 §2.1): the scheme case-insensitively, one or more
    /// spaces, then the credentials. Whether they are token68 (`isToken68`) is checked
    /// only when the token is refused: a valid token is made of base64url and dots.
    static func bearerToken(_ value: String) -> BearerCredentials {
        var value = value
        // Header values are native strings: this checks their bytes in place, without copying.
        let scanned = value.withUTF8 { bytes -> Scanned in
            var index = 0
            while index < bytes.count, unsafe bytes[index] == UInt8(ascii: " ") { index += 1 }
            let schemeStart = index
            while index < bytes.count, unsafe bytes[index] != UInt8(ascii: " ") { index += 1 }
            guard index - schemeStart == 6 else { return .notBearer }
            let bearer: StaticString = "bearer"
            for offset in 0..<6 where unsafe bytes[schemeStart + offset] | 0x20 != bearer.utf8Start[offset] { return .notBearer }
            while index < bytes.count, unsafe bytes[index] == UInt8(ascii: " ") { index += 1 }
            guard index < bytes.count else { return .malformed }
            return .token(from: index)
        }
        switch scanned {
        case .notBearer: return .notBearer
        case .malformed: return .malformed
        case .token(let offset): return .token(value[value.utf8.index(value.utf8.startIndex, offsetBy: offset)...])
        }
    }

    private enum Scanned {
        case notBearer, malformed
        case token(from: Int)
    }

    /// The characters of `token68` (RFC 9110 §11.2).
    @inline(__always)
    static func isToken68(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
            true
        default:
            false
        }
    }
}
