import EdgeAuth
import EdgeAuthHTTP
import Foundation
import Testing

/// The `server` section, read by the configuration reader, and where its variables fit
/// in the launch resolution.
@Suite("Server configuration section")
struct ServerConfigurationTests {
    func message(_ document: JSONValue?, _ environment: [String: String] = [:]) -> String {
        do {
            _ = try ServerConfiguration.parse(document, environment: environment)
            return "no error"
        } catch {
            return error.message
        }
    }

    @Test("members absent from the file keep the values given in code")
    func base() throws {
        var base = ServerConfiguration()
        base.port = 9100
        base.requiredScopes = ["notes:read"]
        base.limits.maxBodyBytes = 2048
        let read = try ServerConfiguration.parse(["host": "0.0.0.0", "limits": ["idleTimeout": 5]], base: base)
        #expect(read.host == "0.0.0.0" && read.port == 9100 && read.requiredScopes == ["notes:read"])
        #expect(read.limits.maxBodyBytes == 2048 && read.limits.idleTimeout == 5)
    }

    @Test("errors name the member's path, and unknown members list the known ones")
    func errors() {
        #expect(message(["limits": ["maxBody": 1]]) == "server.limits: unknown member \"maxBody\" (known: idleTimeout, maxBodyBytes, maxHeaderBytes, requestTimeout)")
        #expect(message(["rateLimit": ["perIp": false]]).hasPrefix("server.rateLimit: unknown member \"perIp\""))
        #expect(message(["limits": ["maxBodyBytes": -1]]) == "server.limits.maxBodyBytes must be between 0 and 67108864 bytes (got -1)")
        #expect(message(["corsOrigins": ["https://a.example", "https://b.example/path"]]).hasPrefix("server.corsOrigins[1] must be an origin like"))
        #expect(message(["rateLimit": ["trustedProxies": ["10.0.0.1", "proxy"]]]).hasPrefix("server.rateLimit.trustedProxies[1] must be an IP address"))
        #expect(message(["rateLimit": ["perUser": ["rate": 1]]]).hasPrefix("server.rateLimit.perUser must be {\"rate\""))
        #expect(message(["admin": ["host": "127.0.0.1"]]) == "server.admin needs a port")
        #expect(message(["admin": ["port": 9090, "path": "/m"]]).hasPrefix("server.admin: unknown member \"path\""))
        #expect(message(["admin": 9090]).hasPrefix("server.admin must be an object of port and host"))
    }

    @Test("EDGEAUTH_HOST/PORT/WORKERS/EVENT_LOOPS win over the file and are checked like the members")
    func variables() throws {
        let read = try ServerConfiguration.parse(["port": 8000, "workers": 2], environment: ["EDGEAUTH_PORT": "8443", "EDGEAUTH_HOST": "::1"])
        #expect(read.port == 8443 && read.host == "::1" && read.workers == 2)
        #expect(message(nil, ["EDGEAUTH_WORKERS": "999"]) == "EDGEAUTH_WORKERS must be a whole number from 0 to 256 (got \"999\"; it sets server.workers)")
        #expect(try ServerConfiguration.parse(["eventLoops": 2], environment: [:]).eventLoops == 2)
        #expect(try ServerConfiguration.parse(["eventLoops": 2], environment: ["EDGEAUTH_EVENT_LOOPS": "4"]).eventLoops == 4)
        #expect(message(["eventLoops": 0]) == "server.eventLoops must be between 1 and 64 (got 0)")
        #expect(message(nil, ["EDGEAUTH_HOST": " "]).hasPrefix("EDGEAUTH_HOST is set but empty"))
        #expect(Set(ServerLaunch.environmentOverrides.map(\.variable))
            == ["EDGEAUTH_HOST", "EDGEAUTH_PORT", "EDGEAUTH_WORKERS", "EDGEAUTH_EVENT_LOOPS", "EDGEAUTH_TLS_CERTIFICATE", "EDGEAUTH_TLS_KEY", "EDGEAUTH_ADMIN_HOST", "EDGEAUTH_ADMIN_PORT"])
        let admin = try ServerConfiguration.parse(["admin": ["port": 9090]], environment: ["EDGEAUTH_ADMIN_HOST": "::1"])
        #expect(admin.admin == ServerConfiguration.AdminListener(host: "::1", port: 9090))
        #expect(try ServerConfiguration.parse(nil, environment: ["EDGEAUTH_ADMIN_PORT": "0"]).admin?.port == 0)
    }

    @Test("server.tls needs both files; the variables set them; the default resource is https then")
    func tls() throws {
        #expect(message(["tls": ["certificate": "/c.pem"]], [:]) == "server.tls needs both certificate and key (PEM files)")
        let read = try ServerConfiguration.parse(nil, environment: ["EDGEAUTH_TLS_CERTIFICATE": "/c.pem", "EDGEAUTH_TLS_KEY": "/k.pem"])
        #expect(read.tls == ServerConfiguration.TLSFiles(certificate: "/c.pem", key: "/k.pem"))
        #expect(read.resourceURL == "https://127.0.0.1:8080/mcp")
        #expect(try ServerConfiguration.parse(nil).tls == nil)
    }

    @Test("the launch: command line > variables > file > code > defaults")
    func precedence() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("edgeauth.yaml").path
        try Data("anyIssuer: true\nanyAudience: true\nkeys: [{jwksFile: /k.json}]\nserver:\n  port: 8001\n  workers: 3\n".utf8)
            .write(to: URL(fileURLWithPath: path))
        var code = ServerConfiguration()
        code.port = 8002
        code.workers = 4
        code.protectedPath = "/tools"
        func resolve(_ source: ConfigurationSource, _ environment: [String: String], _ overrides: ServerOverrides = ServerOverrides()) throws -> ServerConfiguration {
            try ServerLaunch(resolving: source, server: code, overrides: overrides, environment: environment) { _, _ in
                throw ConfigurationError("not started")
            }.configuration.server
        }
        let file = try resolve(.file(path), [:])
        #expect(file.port == 8001 && file.workers == 3 && file.protectedPath == "/tools", "the file over the code; the code over the defaults")
        let variable = try resolve(.file(path), ["EDGEAUTH_PORT": "8003"])
        #expect(variable.port == 8003 && variable.workers == 3, "a variable over the file")
        let commandLine = try resolve(.file(path), ["EDGEAUTH_PORT": "8003"], ServerOverrides(port: 8004))
        #expect(commandLine.port == 8004, "the command line over everything")
        let verifier = VerifierConfiguration(policy: ValidationPolicy(issuers: .any, audiences: .any), keys: [.jwksFile("/k.json")])
        let inCode = try resolve(.verifier(verifier), ["EDGEAUTH_WORKERS": "1"])
        #expect(inCode.port == 8002 && inCode.workers == 1, "without a file, the variables apply over the code")
        #expect(throws: ConfigurationError.self) { try resolve(.verifier(verifier), ["EDGEAUTH_PORT": "http"]) }
    }
}
