@testable import EdgeAuthHTTP
import EdgeAuth
import NIOCore
import NIOHTTP1
import Testing

/// The pieces the application layer gives its routes: bodies, pages, redirects, CORS, the router.
@Suite("HTTP application layer")
struct ApplicationLayerTests {
    static let form = "application/x-www-form-urlencoded"

    @Test("A form body is decoded strictly: percent-escapes, plus signs, order, repeated parameters refused on read")
    func formBody() throws {
        let body = try FormBody(ByteBuffer(string: "grant_type=authorization_code&code=a%2Bb+c&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&empty=&flag"),
                                contentType: "Application/X-WWW-Form-URLEncoded; charset=UTF-8")
        #expect(body.fields.map(\.name) == ["grant_type", "code", "redirect_uri", "empty", "flag"])
        #expect(try body.value("code") == "a+b c")
        #expect(try body.value("redirect_uri") == "http://127.0.0.1:9/cb")
        #expect(try body.value("empty") == "" && body.value("flag") == "" && body.value("absent") == nil)
        let repeated = try FormBody(ByteBuffer(string: "scope=a&scope=b"), contentType: Self.form)
        #expect(throws: RequestBodyError.malformed("the parameter scope is repeated")) { try repeated.value("scope") }
        #expect(try FormBody(ByteBuffer(string: "é=%C3%A9"), contentType: Self.form).value("é") == "é")
        // Empty pairs are skipped; a value keeps every `=` after the first.
        let sparse = try FormBody(ByteBuffer(string: "&a=1&&b=x=y&"), contentType: Self.form)
        #expect(sparse.fields.map(\.name) == ["a", "b"])
        #expect(try sparse.value("b") == "x=y")
        // Bytes that are not UTF-8 are refused with or without escapes around them.
        for bytes: [UInt8] in [[0x61, 0x3D, 0xFF], [0xC3, 0x3D, 0x62], [0x61, 0x3D, 0x2B, 0xFF]] {
            #expect(throws: RequestBodyError.malformed("the form is not UTF-8")) { try FormBody(ByteBuffer(bytes: bytes), contentType: Self.form) }
        }
    }

    @Test("A form's media type is matched without its parameters, the spaces and tabs around it, or case", arguments: [
        ("application/x-www-form-urlencoded", true), (" \tAPPLICATION/x-www-form-urlencoded\t ;charset=utf-8", true), ("application/x-www-form-urlencoded;", true),
        ("application/x-www-form-urlencodedx", false), ("application/x-www-form-urlencode", false), ("application/json", false), ("", false),
        ("application/x-www-form-urlencoded x", false), ("application/x-www-form-urlencoded\u{212A}", false),
    ])
    func formMediaType(contentType: String, accepted: Bool) {
        let decoded = try? FormBody(ByteBuffer(string: "a=b"), contentType: contentType)
        #expect((decoded != nil) == accepted)
    }

    @Test("A bad form body is refused with the answer that says why", arguments: [
        ("a=%zz", "the form has an invalid percent-escape"), ("a=%4", "the form has an invalid percent-escape"), ("a=%", "the form has an invalid percent-escape"),
        ("=x", "a form field has no name"), ("a=%FF", "the form is not UTF-8"),
    ])
    func badForm(text: String, problem: String) {
        #expect(throws: RequestBodyError.malformed(problem)) { try FormBody(ByteBuffer(string: text), contentType: Self.form) }
        #expect(RequestBodyError.malformed(problem).reply.status == .badRequest)
    }

    @Test("Form limits: media type (415), size (413), field count (400)")
    func formLimits() {
        #expect(throws: RequestBodyError.unsupportedMediaType(expected: Self.form)) { try FormBody(ByteBuffer(string: "a=b"), contentType: "application/json") }
        #expect(throws: RequestBodyError.unsupportedMediaType(expected: Self.form)) { try FormBody(ByteBuffer(string: "a=b"), contentType: nil) }
        var limits = FormBody.Limits()
        limits.maxBytes = 8
        #expect(throws: RequestBodyError.tooLarge(limit: 8)) { try FormBody(ByteBuffer(string: "a=123456789"), contentType: Self.form, limits: limits) }
        #expect(RequestBodyError.tooLarge(limit: 8).reply.status == .payloadTooLarge)
        #expect(RequestBodyError.unsupportedMediaType(expected: Self.form).reply.status == .unsupportedMediaType)
        let many = (0..<65).map { "f\($0)=1" }.joined(separator: "&")
        #expect(throws: RequestBodyError.malformed("the form has more than 64 fields")) { try FormBody(ByteBuffer(string: many), contentType: Self.form) }
    }

    @Test("A JSON body is parsed within its limits")
    func jsonBody() throws {
        let value = try JSONBody.parse(ByteBuffer(string: #"{"redirect_uris": ["http://127.0.0.1/cb"]}"#), contentType: "application/json; charset=utf-8")
        #expect(value["redirect_uris"]?.arrayValue?.first?.stringValue == "http://127.0.0.1/cb")
        #expect(throws: RequestBodyError.unsupportedMediaType(expected: "application/json")) { try JSONBody.parse(ByteBuffer(string: "{}"), contentType: "text/plain") }
        #expect(throws: RequestBodyError.tooLarge(limit: 4)) { try JSONBody.parse(ByteBuffer(string: "[1,2,3]"), contentType: "application/json", maxBytes: 4) }
        #expect(throws: RequestBodyError.self) { try JSONBody.parse(ByteBuffer(string: #"{"a":1,"a":2}"#), contentType: "application/json") }
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect(throws: RequestBodyError.self) { try JSONBody.parse(ByteBuffer(string: deep), contentType: "application/json") }
    }

    @Test("An HTML page cannot be framed, cached, sniffed or load anything from elsewhere")
    func page() {
        let reply = HTTPReply.html(.ok, "<p>\(HTML.escape("<script>\"x\" & 'y'</script>"))</p>", styleNonce: "n0nce")
        let headers = Dictionary(uniqueKeysWithValues: reply.headers.map { ($0.0.lowercased(), $0.1) })
        #expect(headers["content-type"] == "text/html; charset=utf-8")
        #expect(headers["x-frame-options"] == "DENY" && headers["cache-control"] == "no-store" && headers["x-content-type-options"] == "nosniff")
        let policy = headers["content-security-policy"] ?? ""
        #expect(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'") && policy.contains("style-src 'nonce-n0nce'"))
        #expect(!policy.contains("script-src"))
        #expect(String(buffer: reply.body) == "<p>&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;</p>")
        // An error page keeps its own Cache-Control: the serializer adds none beside it.
        let written = ResponseSerializer.serialize(.html(.badRequest, "<p>no</p>"), version: .http1_1, includeBody: true, requestID: nil, corsOrigin: nil,
                                                   connectionClose: false, allocator: ByteBufferAllocator())
        #expect(String(buffer: written).components(separatedBy: "Cache-Control").count == 2)
    }

    @Test("Redirects go to safe locations only, with 302 or 303", arguments: [
        ("https://client.example/cb?code=x&state=y", true), ("http://127.0.0.1:43123/callback", true), ("com.example.app:/oauth2redirect", true),
        ("/consent?id=1", true), ("//evil.example/", false), ("/\\evil.example", false), ("https://client.example/cb#frag", false),
        ("javascript:alert(1)", false), ("JavaScript:alert(1)", false), ("data:text/html,x", false), ("https:///nohost", false),
        ("https://client.example/a b", false), ("https://client.example/\r\nSet-Cookie: x", false), ("", false), ("relative/path", false),
    ])
    func redirect(location: String, allowed: Bool) throws {
        if allowed {
            let reply = try HTTPReply.redirect(to: location)
            #expect(reply.status == .found && reply.headers.contains { $0 == ("Location", location) })
            #expect(try HTTPReply.redirect(to: location, status: .seeOther).status == .seeOther)
        } else {
            #expect(throws: RedirectError.location(location)) { try HTTPReply.redirect(to: location) }
        }
    }

    @Test("A redirect status other than 302 or 303 is refused")
    func redirectStatus() {
        #expect(throws: RedirectError.status(301)) { try HTTPReply.redirect(to: "/x", status: .movedPermanently) }
        #expect(throws: RedirectError.status(307)) { try HTTPReply.redirect(to: "/x", status: .temporaryRedirect) }
    }

    @Test("R8: one CORS policy decides the allowed origin, the preflight and the refusal of other sites' pages")
    func cors() {
        let policy = CORSPolicy(allowedOrigins: ["https://app.example"], ownOrigin: "https://mcp.example")
        #expect(policy.allowedOrigin("https://app.example") == "https://app.example")
        #expect(policy.allowedOrigin("https://evil.example") == nil && policy.allowedOrigin(nil) == nil)
        #expect(policy.permits(origin: nil) && policy.permits(origin: "https://mcp.example") && policy.permits(origin: "https://app.example"))
        #expect(!policy.permits(origin: "https://evil.example"))
        #expect(CORSPolicy(allowedOrigins: ["*"], ownOrigin: "https://mcp.example").allowedOrigin("https://any.example") == "*")
        #expect(CORSPolicy(allowedOrigins: [], ownOrigin: "https://mcp.example").allowedOrigin("https://mcp.example") == nil)
        var head = HTTPRequestHead(version: .http1_1, method: .OPTIONS, uri: "/mcp")
        head.headers.add(name: "Origin", value: "https://app.example")
        head.headers.add(name: "Access-Control-Request-Method", value: "POST")
        let preflight = policy.preflight(head, path: "/mcp")
        #expect(preflight.status == .noContent)
        #expect(preflight.headers.contains { $0.0 == "Access-Control-Allow-Headers" && $0.1.contains("Authorization") && $0.1.contains("MCP-Protocol-Version") })
        head.headers.replaceOrAdd(name: "Origin", value: "https://evil.example")
        #expect(!policy.preflight(head, path: "/mcp").headers.contains { $0.0 == "Access-Control-Allow-Methods" })
        // R8: the authorization server's public endpoints answer any origin's preflight, without credentials.
        let oauth = CORSPolicy(allowedOrigins: [], ownOrigin: "https://mcp.example", publicPaths: ["/token"])
        #expect(oauth.preflight(head, path: "/token").headers.contains { $0.0 == "Access-Control-Allow-Origin" && $0.1 == "*" })
        #expect(!oauth.preflight(head, path: "/mcp").headers.contains { $0.0 == "Access-Control-Allow-Origin" })
        #expect(!oauth.preflight(head, path: "/token").headers.contains { $0.0 == "Access-Control-Allow-Credentials" })
    }

    struct Named: Route {
        let name: String
        func respond(to request: ServerRequest, context: ServerContext) -> RouteResponse { .reply(HTTPReply(status: .ok, body: ByteBuffer(string: name))) }
    }

    func name(_ entry: Router.Entry?) -> String? { (entry?.route as? Named)?.name }

    @Test("The router: the protected prefix first, then exact paths, then the longest prefix; 404 for the rest")
    func router() {
        var routes = Routes()
        routes.add(path: "/token", Named(name: "token"))
        routes.add(prefix: "/inspector/", Named(name: "inspector"))
        routes.add(prefix: "/inspector/assets/", Named(name: "assets"))
        let router = Router(protectedPath: "/mcp", protected: Named(name: "protected"), routes: routes)
        #expect(name(router.match("/mcp")) == "protected" && name(router.match("/mcp/x")) == "protected")
        #expect(router.match("/mcpx") == nil && router.match("/") == nil && router.match("/tokens") == nil)
        #expect(name(router.match("/token")) == "token")
        #expect(name(router.match("/inspector/index.html")) == "inspector" && name(router.match("/inspector/assets/app.css")) == "assets")
        #expect(router.match("/mcp")?.metric == .protected)
        // A protected prefix of "/" covers every path the other routes do not take.
        var rootRoutes = Routes()
        rootRoutes.add(path: "/healthz", Named(name: "health"), metric: .health)
        let root = Router(protectedPath: "/", protected: Named(name: "protected"), routes: rootRoutes)
        #expect(name(root.match("/healthz")) == "health" && name(root.match("/anything")) == "protected")
    }

    @Test("The response writer never writes past the room it was given")
    func writerBound() {
        var room = [UInt8](repeating: 0xAA, count: 32)
        let written = room.withUnsafeMutableBytes { bytes -> Int in
            var writer = ResponseSerializer.Writer(cursor: bytes.baseAddress!, end: bytes.baseAddress! + 16)
            writer.write("0123456789")
            writer.write("0123456789")  // does not fit: dropped whole
            writer.decimal(.max)         // needs 20 bytes of room
            writer.write("abcdef")
            return writer.cursor - bytes.baseAddress!
        }
        #expect(written == 16)
        #expect(String(decoding: room[..<16], as: UTF8.self) == "0123456789abcdef")
        #expect(room[16...].allSatisfy { $0 == 0xAA })
    }
}

@Suite("pages of a login")
struct LoginPageTests {
    @Test("A6: a login page's forms may end at the client's redirect URI (browsers check form-action on the redirect)")
    func formRedirects() {
        #expect(HTTPReply.formRedirectSource("https://app.example.com:8443/cb?x=1") == "https://app.example.com:8443")
        #expect(HTTPReply.formRedirectSource("http://127.0.0.1:33418/callback") == "http://127.0.0.1:33418")
        #expect(HTTPReply.formRedirectSource("http://[::1]/cb") == "http://[::1]")
        #expect(HTTPReply.formRedirectSource("com.example.app:/cb") == "com.example.app:")
        #expect(HTTPReply.formRedirectSource("not a uri") == nil)
        let policy = HTTPReply.contentSecurityPolicy(formRedirects: ["https://app.example.com"])
        #expect(policy.contains("form-action 'self' https://app.example.com;"))
        #expect(HTTPReply.contentSecurityPolicy().contains("form-action 'self';"))
    }
}
