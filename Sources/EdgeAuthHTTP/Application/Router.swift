import NIOCore
import NIOHTTP1

/// A request as the application layer sees it: read whole, within the limits.
struct ServerRequest: Sendable {
    let head: HTTPRequestHead
    let path: String
    let query: Substring?
    let body: ByteBuffer
    /// The connection's peer (a client, or a reverse proxy).
    let peer: String
    /// The client's address (the peer, or behind a trusted proxy the client it names).
    let client: String
    let id: RequestID
    /// What the decoder noted in the head (the `Authorization` field among them).
    let facts: RequestDecoder.HeadFacts
    /// The connection's loop: routes answer there, and come back to it after awaiting.
    let eventLoop: any EventLoop
    /// The request a proxy asks about (forward-auth), when it is not this one.
    var original: (method: HTTPMethod, uri: String)? = nil

    /// The method and target the answer is for: the original request's, else this one's.
    var method: HTTPMethod { original?.method ?? head.method }
    var uri: String { original?.uri ?? head.uri }
}

/// What a route answers: at once, after awaiting (off the event loop), or when work it
/// started elsewhere calls back (from any thread, once) without a task in between.
public enum RouteResponse: Sendable {
    case reply(HTTPReply)
    case deferred(@Sendable () async -> HTTPReply)
    case pending(@Sendable (_ answer: @escaping @Sendable (HTTPReply) -> Void) -> Void)
    /// An answer written as it is made (`ResponseWriter`), started on the connection's loop.
    case stream(@Sendable (ResponseWriter) -> Void)
}

/// Answers the requests of a path. Called on the connection's event loop.
protocol Route: Sendable {
    func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse
    /// The answer to a request whose client waits (`Expect: 100-continue`) before sending a
    /// body that could not change it — a missing token — or nil to let the body come.
    func answerBeforeBody(_ head: HTTPRequestHead, facts: RequestDecoder.HeadFacts, context: ServerContext) -> HTTPReply?
}

extension Route {
    func answerBeforeBody(_ head: HTTPRequestHead, facts: RequestDecoder.HeadFacts, context: ServerContext) -> HTTPReply? { nil }
}

/// The routes beside the protected prefix, gathered before the server starts.
struct Routes {
    fileprivate var exact: [String: Router.Entry] = [:]
    fileprivate var prefixes: [(prefix: String, entry: Router.Entry)] = []

    /// - Parameter answersOptions: the route answers `OPTIONS` itself (else it is a CORS preflight).
    mutating func add(path: String, _ route: any Route, metric: HTTPMetrics.Route = .other, answersOptions: Bool = false) {
        exact[path] = Router.Entry(route: route, metric: metric, answersOptions: answersOptions)
    }

    /// Every path that starts with `prefix` (a reverse-proxied prefix, static assets).
    mutating func add(prefix: String, _ route: any Route, metric: HTTPMetrics.Route = .other, answersOptions: Bool = false) {
        prefixes.append((prefix, Router.Entry(route: route, metric: metric, answersOptions: answersOptions)))
        prefixes.sort { $0.prefix.utf8.count > $1.prefix.utf8.count }
    }
}

/// Which route answers a path. The protected prefix is matched first, by comparing the
/// path's start, so the routes added beside it cost its requests nothing; other paths
/// are looked up exactly, then by prefix. A class: every request reads it, none copies it.
final class Router: Sendable {
    struct Entry: Sendable {
        let route: any Route
        let metric: HTTPMetrics.Route
        var answersOptions = false
    }

    private let protectedPath: String
    private let protectedPrefix: String
    private let protected: Entry?
    private let exact: [String: Entry]
    private let prefixes: [(prefix: String, entry: Entry)]

    init(protectedPath: String, protected route: any Route, routes: Routes = Routes()) {
        self.protectedPath = protectedPath
        protectedPrefix = protectedPath == "/" ? "/" : protectedPath + "/"
        protected = Entry(route: route, metric: .protected)
        exact = routes.exact
        prefixes = routes.prefixes
    }

    /// Only `routes`, nothing protected (the admin listener).
    init(routes: Routes) {
        protectedPath = ""
        protectedPrefix = ""
        protected = nil
        exact = routes.exact
        prefixes = routes.prefixes
    }

    /// The route of a path, or nil (404).
    func match(_ path: String) -> Entry? {
        guard let protected else { return exact[path] ?? prefixes.first(where: { path.hasPrefix($0.prefix) })?.entry }
        let isProtected = path == protectedPath || path.hasPrefix(protectedPrefix)
        // A protected prefix of "/" covers every path: the exact routes come first then.
        if isProtected, protectedPath != "/" { return protected }
        if let entry = exact[path] { return entry }
        if let entry = prefixes.first(where: { path.hasPrefix($0.prefix) })?.entry { return entry }
        return isProtected ? protected : nil
    }
}
