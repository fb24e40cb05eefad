import EdgeAuth
import Testing

/// The strict reader every configuration section is read with.
@Suite("Configuration reader")
struct ConfigurationReaderTests {
    /// A small section: two members and a nested one, declared once each.
    struct Sample: ConfigurationSection {
        static var member: String { "sample" }
        var port = 8080
        var timeout = 10.0
        var name: String?
        var debug = false
        var tags: [String] = []
        var inner = Inner()

        struct Inner: ConfigurationSection {
            static var member: String { "inner" }
            var bytes = 1024
            mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
                bytes = try section.integer("bytes", default: bytes, in: 1...4096, unit: .bytes, environment: "SAMPLE_BYTES")
            }
        }

        mutating func read(from section: inout ConfigurationReader) throws(ConfigurationError) {
            port = try section.integer("port", default: port, in: 0...65_535, environment: "SAMPLE_PORT")
            timeout = try section.number("timeout", default: timeout, in: 0.5...60, unit: .seconds)
            name = try section.string("name", example: "\"demo\"") ?? name
            debug = try section.bool("debug", default: debug, environment: "SAMPLE_DEBUG")
            tags = try section.strings("tags", example: "[\"a\"]") ?? tags
            try section.section(into: &inner)
        }
    }

    func read(_ document: JSONValue?, _ environment: [String: String] = [:], base: Sample = Sample()) throws(ConfigurationError) -> Sample {
        try Sample.read(document, base: base, environment: environment)
    }

    func message(_ document: JSONValue?, _ environment: [String: String] = [:]) -> String {
        do {
            _ = try read(document, environment)
            return "no error"
        } catch {
            return error.message
        }
    }

    @Test("members absent from the document keep the base value; given ones replace it")
    func defaultsAndBase() throws {
        var base = Sample()
        base.port = 9000
        let read = try read(["timeout": .number("2.5"), "inner": ["bytes": 2048]], base: base)
        #expect(read.port == 9000 && read.timeout == 2.5 && read.inner.bytes == 2048 && read.name == nil)
        #expect(try self.read(nil).port == 8080)
    }

    @Test("an unknown member is refused with its path and the members the section declared")
    func unknownMembers() {
        #expect(message(["prot": 1]) == "sample: unknown member \"prot\" (known: debug, inner, name, port, tags, timeout)")
        #expect(message(["inner": ["byte": 1]]) == "sample.inner: unknown member \"byte\" (known: bytes)")
    }

    @Test("a value of the wrong type names the path and a valid value")
    func wrongTypes() {
        #expect(message(["port": "80"]) == "sample.port must be an integer between 0 and 65535 (got \"80\")")
        #expect(message(["port": .number("1.5")]).hasPrefix("sample.port must be an integer"))
        #expect(message(["timeout": true]) == "sample.timeout must be a number of seconds between 0.5 and 60 (got true)")
        #expect(message(["name": 3]) == "sample.name must be a non-empty string, like \"demo\"")
        #expect(message(["debug": "yes"]) == "sample.debug must be true or false (got \"yes\")")
        #expect(message(["inner": [1, 2]]) == "sample.inner must be an object of members (got an array)")
        #expect(message("x") == "sample must be an object of members (got \"x\")")
    }

    @Test("a value out of range names the path, the range and the value")
    func ranges() {
        #expect(message(["port": 70_000]) == "sample.port must be between 0 and 65535 (got 70000)")
        #expect(message(["inner": ["bytes": 0]]) == "sample.inner.bytes must be between 1 and 4096 bytes (got 0)")
        #expect(message(["timeout": .number("0.1")]) == "sample.timeout must be a number of seconds between 0.5 and 60 (got 0.1)")
    }

    @Test("array elements are named by their index")
    func elementPaths() {
        #expect(message(["tags": ["a", ""]]).hasPrefix("sample.tags[1] must be a non-empty string"))
        #expect(message(["tags": 5]).hasPrefix("sample.tags must be a string or an array of strings"))
    }

    @Test("an array of objects reads each element under its index")
    func objectElements() throws {
        let document: JSONValue = ["keys": [["kid": "a"], ["kid": "b", "extra": true]]]
        var root = try ConfigurationReader(document: document)
        #expect {
            _ = try root.objects("keys", expected: "a \"kid\"") { (entry, _) throws(ConfigurationError) in try entry.string("kid", example: "\"k1\"") }
        } throws: { error in
            (error as? ConfigurationError)?.message == "keys[1]: unknown member \"extra\" (known: kid)"
        }
        var other = try ConfigurationReader(document: ["keys": [["kid": 7]]])
        #expect {
            _ = try other.objects("keys", expected: "a \"kid\"") { (entry, _) throws(ConfigurationError) in try entry.string("kid", example: "\"k1\"") }
        } throws: { error in
            (error as? ConfigurationError)?.message == "keys[0].kid must be a non-empty string, like \"k1\""
        }
    }

    @Test("a variable wins over the member, with the same bounds, and a bad value names the variable")
    func environment() throws {
        let read = try read(["port": 80, "inner": ["bytes": 100]], ["SAMPLE_PORT": " 8443 ", "SAMPLE_BYTES": "200", "SAMPLE_DEBUG": "TRUE"])
        #expect(read.port == 8443 && read.inner.bytes == 200 && read.debug)
        #expect(try self.read(nil, ["SAMPLE_BYTES": "300"]).inner.bytes == 300, "a variable applies when its section is absent")
        #expect(message(nil, ["SAMPLE_PORT": "99999"]) == "SAMPLE_PORT must be a whole number from 0 to 65535 (got \"99999\"; it sets sample.port)")
        #expect(message(nil, ["SAMPLE_BYTES": "many"]) == "SAMPLE_BYTES must be a whole number of bytes from 1 to 4096 (got \"many\"; it sets sample.inner.bytes)")
        #expect(message(nil, ["SAMPLE_DEBUG": "yes"]) == "SAMPLE_DEBUG must be true or false (got \"yes\"; it sets sample.debug)")
    }

    @Test("the declared members and their variables can be listed")
    func declarations() {
        let members = Sample.declaredMembers(base: Sample())
        #expect(members.map(\.path) == ["sample", "sample.port", "sample.timeout", "sample.name", "sample.debug", "sample.tags",
                                        "sample.inner", "sample.inner.bytes"])
        #expect(members.first { $0.path == "sample.inner.bytes" }?.variable == "SAMPLE_BYTES")
    }

    @Test("the verifier's members: nested unknown members, element paths, variables")
    func verifierDocument() {
        func message(_ document: JSONValue, _ environment: [String: String] = [:]) -> String {
            do {
                _ = try VerifierConfiguration.from(document, environment: environment)
                return "no error"
            } catch {
                return error.message
            }
        }
        let base: [String: JSONValue] = ["issuers": "https://login.example.com/", "audiences": "api", "keys": [["jwksFile": "/k.json"]]]
        func with(_ member: String, _ value: JSONValue) -> JSONValue {
            var document = base
            document[member] = value
            return .object(document)
        }
        #expect(message(with("keyRefresh", ["cooldown": 5])).hasPrefix("keyRefresh: unknown member \"cooldown\" (known: "))
        #expect(message(with("keys", [["jwksFile": "/k.json"], ["pemFile": "/k.pem", "kid": 3]])) == "keys[1].kid must be a non-empty string, like \"key-1\"")
        #expect(message(with("keys", [["jwksFile": "/k.json", "kid": "a"]])).hasPrefix("keys[0]: unknown member \"kid\""))
        #expect(message(with("issuers", ["https://a.example/", 5])).hasPrefix("issuers[1] must be a non-empty string"))
        #expect(message(with("algorithms", ["ES256", "none"])).hasPrefix("algorithms[1]: \"none\" is not one of"))
        #expect(message(with("isuers", ["x"])).hasPrefix("configuration: unknown member \"isuers\""), "a misspelt member is named before what it leaves missing")
        #expect(message(with("server", [:])).hasPrefix("configuration: unknown member \"server\""), "a section nobody reads is refused")
        #expect(message(.object(base), ["EDGEAUTH_KEY_REFRESH_COOL_DOWN": "0"])
            == "EDGEAUTH_KEY_REFRESH_COOL_DOWN must be a whole number of seconds from 1 to 86400 (got \"0\"; it sets keyRefresh.coolDown)")
        #expect(message(with("leeway", 601), ["EDGEAUTH_LEEWAY": "5"]) == "no error", "the variable wins over the file's member")
    }

    @Test("environmentOverrides lists the variables the declarations name")
    func overrides() {
        let overrides = Dictionary(uniqueKeysWithValues: VerifierConfiguration.environmentOverrides.map { ($0.variable, $0.member) })
        #expect(overrides["EDGEAUTH_LEEWAY"] == "leeway")
        #expect(overrides["EDGEAUTH_CACHE_DIR"] == "cache.directory")
        #expect(overrides["EDGEAUTH_KEY_REFRESH_MAX_DOCUMENT_BYTES"] == "keyRefresh.maxDocumentBytes")
        #expect(overrides.count == 11)
    }
}
