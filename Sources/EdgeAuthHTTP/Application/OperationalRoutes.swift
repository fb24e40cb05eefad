import EdgeAuth
import NIOCore
import NIOHTTP1

/// RFC 9728 protected-resource metadata (R1), with the OAuth routes' own rate limit.
struct MetadataRoute: Route {
    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        if let limiter = context.limiter, let limit = context.server.rateLimit.oauthPerIP,
           case .limited(let retryAfter) = limiter.check("oauth:" + request.client, limit) {
            return .reply(ServerContext.tooManyRequests(retryAfter: retryAfter))
        }
        guard request.head.method == .GET || request.head.method == .HEAD else { return .reply(ServerContext.methodNotAllowed("GET, HEAD, OPTIONS")) }
        // In proxy mode any origin may read it, like the authorization server's metadata (R8).
        let cors = context.authorization == nil ? [] : CORSPolicy.publicHeaders(origin: request.origin)
        return .reply(.json(.ok, context.resource.metadataDocument, headers: [("Cache-Control", "max-age=3600")] + cors))
    }
}

/// Liveness: the worker answers.
struct HealthRoute: Route {
    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        .reply(.json(.ok, ["status": "ok"]))
    }
}

/// Readiness: keys to verify with, none of the remote sets unavailable, not draining.
struct ReadinessRoute: Route {
    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        guard let gateway = context.gateway else { return .reply(Self.answer(context, upstreams: [])) }
        // A gateway is ready when its upstreams are: each is asked for a connection.
        let probes = gateway.readiness(on: request.eventLoop)
        return .pending { answer in probes.whenSuccess { answer(Self.answer(context, upstreams: $0)) } }
    }

    private static func answer(_ context: ServerContext, upstreams: [(upstream: GatewaySettings.UpstreamURL, up: Bool)]) -> HTTPReply {
        let health = context.verifier.health
        let draining = context.draining.load(ordering: .relaxed)
        let ready = health.ready && !draining && upstreams.allSatisfy(\.up)
        var body: [String: JSONValue] = [
            "status": .string(ready ? "ready" : "not ready"),
            "draining": .bool(draining),
            "keys": .number(String(health.keyCount)),
            "keySets": .array(health.keySets.map { ["state": .string($0.state.rawValue), "ageSeconds": .number(String($0.ageSeconds ?? -1))] }),
            "cache": .bool(health.cached),
        ]
        if !upstreams.isEmpty {
            body["upstreams"] = .array(upstreams.map { ["url": .string($0.upstream.description), "state": .string($0.up ? "up" : "down")] })
        }
        return .json(ready ? .ok : .serviceUnavailable, .object(body))
    }
}

/// The Prometheus exposition of every worker. It writes this worker's snapshot and reads
/// the others' files, so it is built off the event loop.
struct MetricsRoute: Route {
    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse {
        .deferred {
            let document = context.metrics.exposition(context.verifier)
            return HTTPReply(status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4")], body: ByteBuffer(bytes: document))
        }
    }
}
