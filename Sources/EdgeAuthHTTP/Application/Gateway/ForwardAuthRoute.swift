import EdgeAuth
import NIOCore
import NIOHTTP1

/// `/auth/verify`: the question a proxy in front of an MCP server asks before it forwards a
/// request (nginx `auth_request`, Traefik ForwardAuth, Envoy `ext_authz`). The same checks
/// as the protected prefix (rate limits, the bearer token, the challenges), then the
/// requirements of the gateway route the original path falls in. 200 carries the identity
/// headers and no body.
struct ForwardAuthRoute: Route {
    let settings: GatewaySettings
    private let bearer: BearerRoute

    init(settings: GatewaySettings, resource: ProtectedResource) {
        self.settings = settings
        bearer = BearerRoute(handler: Answer(settings: settings, resource: resource))
    }

    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        let original = Self.original(request.head, ownPath: settings.forwardAuthPath ?? "")
        // A CORS preflight carries no credentials: the proxy may let it through to the upstream.
        if case .OPTIONS = original.method { return .reply(HTTPReply(status: .ok)) }
        let (path, query) = ConnectionHandler.split(original.uri)
        guard GatewayPath.isNormal(path) else {
            return .reply(.error(.forbidden, "forbidden", "the path is not in normal form (doubled slashes, dot segments or needless percent-escapes)"))
        }
        // The head stays as it came (a changed copy would cost a copy of its headers).
        let asked = ServerRequest(head: request.head, path: path, query: query, body: ByteBuffer(), peer: request.peer, client: request.client,
                                  id: request.id, facts: request.facts, eventLoop: request.eventLoop, original: original)
        return bearer.respond(to: asked, context: context)
    }

    /// The request the proxy asks about: nginx names it in `X-Original-Method` and
    /// `X-Original-URI`, Traefik in `X-Forwarded-Method` and `X-Forwarded-Uri` (its own
    /// request is a GET), Envoy sends it as this request's method and path, after the
    /// endpoint's own path (`path_prefix`).
    static func original(_ head: HTTPRequestHead, ownPath: String) -> (method: HTTPMethod, uri: String) {
        // One pass over the headers, nginx's names before Traefik's.
        var originalMethod: String?, originalURI: String?, forwardedMethod: String?, forwardedURI: String?
        for (name, value) in head.headers {
            switch name.utf8.count {
            case 14 where HeaderBytes.same(name, "x-original-uri"): originalURI = originalURI ?? value
            case 15 where HeaderBytes.same(name, "x-forwarded-uri"): forwardedURI = forwardedURI ?? value
            case 17 where HeaderBytes.same(name, "x-original-method"): originalMethod = originalMethod ?? value
            case 18 where HeaderBytes.same(name, "x-forwarded-method"): forwardedMethod = forwardedMethod ?? value
            default: break
            }
        }
        let method = (originalMethod ?? forwardedMethod).map { HTTPMethod(rawValue: $0.utf8.contains { $0 >= UInt8(ascii: "a") } ? $0.uppercased() : $0) }
        if let uri = originalURI ?? forwardedURI, uri.hasPrefix("/") {
            return (method ?? head.method, uri)
        }
        var uri = head.uri
        if uri.hasPrefix(ownPath) {
            uri.removeFirst(ownPath.count)
            if !uri.hasPrefix("/") { uri = "/" + uri }
        }
        return (method ?? head.method, uri)
    }

    /// What a verified caller gets: the route's requirements, then 200 with the identity.
    private struct Answer: ProtectedHandler {
        let settings: GatewaySettings
        let resource: ProtectedResource

        func respond(to request: ProtectedRequest, identity: Identity) -> ProtectedResponse {
            .reply(answer(request, identity: identity))
        }

        private func answer(_ request: ProtectedRequest, identity: Identity) -> HTTPReply {
            let path = ConnectionHandler.split(request.uri).path
            if !settings.routes.isEmpty {
                guard let route = settings.route(for: path) else {
                    return .error(.forbidden, "forbidden", "no gateway route covers this path")
                }
                if let refusal = GatewayChecks.refusal(of: route.requirements, identity: identity, resource: resource, what: "this path") {
                    return refusal
                }
            }
            return HTTPReply(status: .ok, headers: IdentityHeaders.of(identity, names: settings.identityHeaders))
        }
    }
}

/// The requirements of gateway routes, answered as the protected prefix and the Swift tools
/// answer them (R3): a missing scope is 403 `insufficient_scope` naming every scope needed,
/// so a client can step up; missing roles or permissions, which no new token would grant
/// by asking, are 403 `forbidden`.
enum GatewayChecks {
    static func refusal(of requirements: GatewaySettings.Requirements, identity: Identity, resource: ProtectedResource, what: String) -> HTTPReply? {
        guard !requirements.isMet(by: identity), case .deny(let missing) = requirements.requirement.evaluate(identity) else { return nil }
        if !missing.scopes.isEmpty {
            let scopes = neededScopes(resource, requirements)
            return resource.insufficientScope("\(what) needs the scopes \(scopes.joined(separator: " "))", scopes: scopes)
        }
        return .error(.forbidden, "forbidden", "\(what) needs what the caller lacks: \(missing.description)")
    }

    /// The protected resource's scopes, then the requirement's.
    static func neededScopes(_ resource: ProtectedResource, _ requirements: GatewaySettings.Requirements...) -> [String] {
        var scopes = resource.requiredScopes
        for requirement in requirements { for scope in requirement.scopes where !scopes.contains(scope) { scopes.append(scope) } }
        return scopes
    }
}
