import EdgeAuth
import Foundation
import EdgeAuthOAuth
import NIOCore
import NIOHTTP1

/// The routes of proxy mode (docs/oauth-modes.md): each reads the request, hands the
/// parameters to the `AuthorizationServer` off the event loop (its store commits durably),
/// and turns the answer into JSON, a page or a redirect.
enum AuthorizationRoutes {
    static func add(_ server: AuthorizationServer, to routes: inout Routes) {
        for path in server.metadataPaths { routes.add(path: path, MetadataDocumentRoute(server: server), metric: .metadata) }
        let paths = server.endpointPaths
        routes.add(path: paths.authorize, AuthorizeRoute(server: server), metric: .oauth)
        routes.add(path: paths.login, LoginRoute(server: server), metric: .oauth)
        routes.add(path: paths.consent, ConsentRoute(server: server), metric: .oauth)
        routes.add(path: paths.token, TokenRoute(server: server), metric: .oauth)
        routes.add(path: paths.register, RegisterRoute(server: server), metric: .oauth)
        routes.add(path: paths.revoke, RevokeRoute(server: server), metric: .oauth)
        routes.add(path: paths.jwks, JWKSRoute(server: server), metric: .metadata)
    }

    /// The paths browser-based clients call from their own origin (CORS for any origin, no credentials).
    static func publicPaths(_ server: AuthorizationServer) -> Set<String> {
        let paths = server.endpointPaths
        return Set(server.metadataPaths + [paths.token, paths.register, paths.revoke, paths.jwks])
    }

    /// The refusal of a request the OAuth routes do not answer, or nil: over plain http
    /// where https is needed, or beyond the rate limit per client address (`server.rateLimit.oauthPerIP`).
    static func admit(_ request: ServerRequest, _ context: ServerContext, bucket: String = "oauth:",
                        _ limit: SharedRateLimiter.Limit?) -> HTTPReply? {
        if context.oauthNeedsForwardedHTTPS, let refusal = forwardedHTTPSRefusal(request, context) { return refusal }
        guard let limiter = context.limiter, let limit, case .limited(let retryAfter) = limiter.check(bucket + request.client, limit) else { return nil }
        return ServerContext.tooManyRequests(retryAfter: retryAfter)
    }

    /// Behind a TLS-terminating reverse proxy, the request must come from one of its
    /// addresses (`trustedProxies`), forwarded from https, for this server's host: codes,
    /// secrets and tokens never travel over plain http off loopback.
    static func forwardedHTTPSRefusal(_ request: ServerRequest, _ context: ServerContext) -> HTTPReply? {
        let headers = request.head.headers
        let proto = headers["X-Forwarded-Proto"].last?.split(separator: ",").last?.trimmingCharacters(in: .whitespaces).lowercased()
        guard context.server.rateLimit.trustedProxies.contains(request.peer), proto == "https" else {
            return .error(.forbidden, "invalid_request", "this endpoint is served over https only")
        }
        if let host = headers["X-Forwarded-Host"].last?.split(separator: ",").last?.trimmingCharacters(in: .whitespaces),
           let expected = context.authorization.flatMap({ URLComponents(string: $0.issuer) }),
           host.lowercased() != (expected.host ?? "").lowercased() + (expected.port.map { ":\($0)" } ?? "") {
            return .error(.misdirectedRequest, "invalid_request", "this server does not answer for that host")
        }
        return nil
    }

    /// The answers of the token, registration and revocation endpoints are never cached.
    static let noStore: [(String, String)] = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]

    /// A JSON answer of the token, registration and revocation endpoints.
    static func json(_ status: HTTPResponseStatus, _ value: JSONValue, origin: String?) -> HTTPReply {
        json(status, Array(value.jsonText.utf8), origin: origin)
    }

    static func json(_ status: HTTPResponseStatus, _ body: [UInt8], origin: String?) -> HTTPReply {
        let headers: [(String, String)] = noStore + CORSPolicy.publicHeaders(origin: origin)
        return .json(status, body, headers: headers)
    }

    /// An OAuth error (RFC 6749 §5.2) with `Cache-Control: no-store`; `invalid_client`
    /// after Basic credentials carries their challenge.
    static func error(_ error: OAuthError, basic: Bool = false, origin: String?) -> HTTPReply {
        var headers: [(String, String)] = noStore + CORSPolicy.publicHeaders(origin: origin)
        if error.code == .invalidClient, basic { headers.append(("WWW-Authenticate", "Basic realm=\"edgeauth\"")) }
        return .error(HTTPResponseStatus(statusCode: error.status), error.code.rawValue, error.description, headers: headers)
    }

    /// A client's POST to `/token` or `/revoke`: its form, `Authorization` header and origin
    /// handed to `respond`, or the OAuth error refusing the method or the body.
    static func postedForm(_ request: ServerRequest,
                           _ respond: (_ parameters: [String: String], _ authorization: String?, _ origin: String?) -> RouteResponse) -> RouteResponse {
        guard request.head.method == .POST else { return .reply(ServerContext.methodNotAllowed("POST, OPTIONS")) }
        do throws(RequestBodyError) {
            return respond(try form(request), request.head.headers.first(name: "Authorization"), request.origin)
        } catch {
            return .reply(self.error(OAuthError(.invalidRequest, error.problem), origin: request.origin))
        }
    }

    static func form(_ request: ServerRequest) throws(RequestBodyError) -> [String: String] {
        try FormBody(request.body, contentType: request.head.headers.first(name: "Content-Type")).parameters()
    }
}

/// RFC 8414 metadata and OIDC discovery (A1).
struct MetadataDocumentRoute: Route {
    let server: AuthorizationServer

    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        if let refused = AuthorizationRoutes.admit(request, context, context.server.rateLimit.oauthPerIP) { return .reply(refused) }
        guard request.head.method == .GET || request.head.method == .HEAD else { return .reply(ServerContext.methodNotAllowed("GET, HEAD, OPTIONS")) }
        return .reply(.json(.ok, server.metadata, headers: [("Cache-Control", "max-age=3600")] + CORSPolicy.publicHeaders(origin: request.origin)))
    }
}

/// The published signing keys.
struct JWKSRoute: Route {
    let server: AuthorizationServer

    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        if let refused = AuthorizationRoutes.admit(request, context, nil) { return .reply(refused) }
        guard request.head.method == .GET || request.head.method == .HEAD else { return .reply(ServerContext.methodNotAllowed("GET, HEAD, OPTIONS")) }
        return .reply(.json(.ok, server.jwks, headers: [("Cache-Control", "max-age=300")] + CORSPolicy.publicHeaders(origin: request.origin)))
    }
}

/// `/authorize` by GET (query) or POST (form).
struct AuthorizeRoute: Route {
    let server: AuthorizationServer

    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        if let refused = AuthorizationRoutes.admit(request, context, context.server.rateLimit.oauthPerIP) { return .reply(refused) }
        let parameters: [String: String]
        do throws(RequestBodyError) {
            switch request.head.method {
            case .GET: parameters = try FormBody(query: request.query).parameters()
            case .POST: parameters = try AuthorizationRoutes.form(request)
            default: return .reply(ServerContext.methodNotAllowed("GET, POST"))
            }
        } catch {
            return .reply(AuthorizationPages.error("The authorization request is malformed: \(error.problem)", server: server))
        }
        return .deferred { AuthorizationPages.reply(to: await server.authorize(parameters), server: server) }
    }
}

/// The login form of the development identity provider.
struct LoginRoute: Route {
    let server: AuthorizationServer

    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        if let refused = AuthorizationRoutes.admit(request, context, context.server.rateLimit.oauthPerIP) { return .reply(refused) }
        guard request.head.method == .POST else { return .reply(ServerContext.methodNotAllowed("POST")) }
        guard let form = try? AuthorizationRoutes.form(request), let pending = form["pending"], let user = form["user"] else {
            return .reply(AuthorizationPages.error("The login form is incomplete.", server: server))
        }
        return .deferred { AuthorizationPages.reply(to: await server.login(pendingID: pending, user: user), server: server) }
    }
}

/// The consent form (A6).
struct ConsentRoute: Route {
    let server: AuthorizationServer

    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        if let refused = AuthorizationRoutes.admit(request, context, context.server.rateLimit.oauthPerIP) { return .reply(refused) }
        guard request.head.method == .POST else { return .reply(ServerContext.methodNotAllowed("POST")) }
        guard let form = try? AuthorizationRoutes.form(request), let pending = form["pending"], let decision = form["decision"],
              decision == "approve" || decision == "deny"
        else {
            return .reply(AuthorizationPages.error("The consent form is incomplete.", server: server))
        }
        return .deferred {
            AuthorizationPages.reply(to: await server.consent(pendingID: pending, consentToken: form["consent_token"], approve: decision == "approve"),
                                     server: server)
        }
    }
}

/// `/token` (A2, A9, A11).
struct TokenRoute: Route {
    let server: AuthorizationServer

    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        // No rate limit per address: every request authenticates its client, and codes and refresh tokens cannot be guessed.
        if let refused = AuthorizationRoutes.admit(request, context, nil) { return .reply(refused) }
        // Answered from the state store's commit, without a task: the grant path's hand-offs are its cost.
        return AuthorizationRoutes.postedForm(request) { parameters, authorization, origin in
            .pending { answer in
                server.token(parameters, authorization: authorization) { result in
                    let reply: HTTPReply
                    switch result {
                    case .success(let body): reply = AuthorizationRoutes.json(.ok, body, origin: origin)
                    case .failure(let error): reply = AuthorizationRoutes.error(error, basic: authorization != nil, origin: origin)
                    }
                    answer(reply)
                }
            }
        }
    }
}

/// `/register` (RFC 7591, A3), with a budget of its own per address.
struct RegisterRoute: Route {
    let server: AuthorizationServer

    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        if let refused = AuthorizationRoutes.admit(request, context, bucket: "register:", context.server.rateLimit.registrationPerIP) { return .reply(refused) }
        guard request.head.method == .POST else { return .reply(ServerContext.methodNotAllowed("POST, OPTIONS")) }
        let metadata: JSONValue
        do throws(RequestBodyError) {
            metadata = try JSONBody.parse(request.body, contentType: request.head.headers.first(name: "Content-Type"), maxBytes: 16 * 1024)
        } catch {
            return .reply(AuthorizationRoutes.error(OAuthError(.invalidClientMetadata, error.problem), origin: request.origin))
        }
        let address = request.client
        let origin = request.origin
        return .deferred {
            do throws(OAuthError) {
                return AuthorizationRoutes.json(.created, try await server.register(metadata, from: address), origin: origin)
            } catch {
                return AuthorizationRoutes.error(error, origin: origin)
            }
        }
    }
}

/// `/revoke` (RFC 7009, A10).
struct RevokeRoute: Route {
    let server: AuthorizationServer

    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        if let refused = AuthorizationRoutes.admit(request, context, context.server.rateLimit.oauthPerIP) { return .reply(refused) }
        let verifier = context.verifier
        return AuthorizationRoutes.postedForm(request) { parameters, authorization, origin in
            .deferred {
                switch await server.revoke(parameters, authorization: authorization, inspect: { verifier.verify($0).identity }) {
                case .success: HTTPReply(status: .ok, headers: [("Cache-Control", "no-store")] + CORSPolicy.publicHeaders(origin: origin))
                case .failure(let error): AuthorizationRoutes.error(error, basic: authorization != nil, origin: origin)
                }
            }
        }
    }
}

extension ServerRequest {
    /// The browser origin of the request, if any.
    var origin: String? { head.headers.first(name: "Origin") }
}

extension RequestBodyError {
    /// What is wrong, for an OAuth error's description.
    var problem: String {
        switch self {
        case .tooLarge(let limit): "the request body is larger than \(limit) bytes"
        case .unsupportedMediaType(let expected): "the request body must be \(expected)"
        case .malformed(let problem): problem
        }
    }
}
