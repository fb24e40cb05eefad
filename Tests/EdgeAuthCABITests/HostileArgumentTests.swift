import CEdgeAuth
import EdgeAuth
import EdgeAuthTestThreads
import EdgeAuthTesting
import Foundation
import Testing

/// Every function of include/edgeauth.h called with the arguments a careless or
/// hostile C caller passes: NULL pointers, lengths beyond `Int.max` (a negative
/// `Int` is a `size_t` above it), lengths that promise more bytes than a buffer
/// holds, bytes that are not UTF-8, handles of the other kind, codes and indices
/// out of range, times outside 0…9999-12-31. Each must answer with its documented
/// status (or NULL, 0, false) and the process must survive: a trap ends the test run.
@Suite("C ABI hostile arguments")
struct HostileArgumentTests {
    /// Lengths a buffer cannot hold: SIZE_MAX, 2^63 and 2^63 - 1 as `size_t`.
    static let hugeLengths: [Int] = [-1, Int.min, Int.max]
    /// Non-zero lengths that must not be read through a NULL pointer.
    static let nullLengths: [Int] = [1, 5, 4 << 20, Int.max, -1, Int.min]
    /// Status, verdict and statistic codes, mostly unknown.
    static let codes: [Int32] = [.min, .min + 1, -1_000_000, -8, -7, -1, 0, 1, 6, 7, 21, 99, 100, 101, 119, 120, 199, 200, 65_536, .max - 1, .max]
    /// Times outside 0…253402300799.
    static let badTimes: [Int64] = [.min, .min + 1, -1, 253_402_300_800, .max]
    /// Indices past the end of any list (as `size_t`: Int.max, SIZE_MAX, 2^63).
    static let badIndices: [Int] = [1_000, Int.max, -1, Int.min]
    /// Byte strings that are not UTF-8.
    static let notUTF8: [[UInt8]] = [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0x61, 0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82]]

    static let factory = TokenFactory(key: try! SigningKey.generate(.ec(.p256), kid: "hostile"), algorithm: .es256)

    /// A cached verifier, an uncached one and the identity of a token rich in lists,
    /// created for one check and released after it.
    final class Fixture {
        let verifier: OpaquePointer
        let uncached: OpaquePointer
        let identity: OpaquePointer
        let token: [UInt8]

        init() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-hostile-\(UUID().uuidString)").path
            verifier = try HostileArgumentTests.verifier(["cache": ["directory": .string(directory)]])
            uncached = try HostileArgumentTests.verifier()
            token = Array(try HostileArgumentTests.factory.token(claims: [
                "roles": ["admin", "user"], "permissions": ["read"], "scope": "a b", "email": "e@example.com", "name": "N",
                "preferred_username": "u", "picture": "p", "client_id": "c", "org_id": "o", "jti": "j",
            ]).utf8)
            var verdict: Int32 = -1
            var identity: OpaquePointer?
            let status = edgeauth_verify(uncached, token, token.count, HostileArgumentTests.factory.now, &verdict, &identity)
            try #require(status == EDGEAUTH_OK && verdict == EDGEAUTH_VERDICT_VALID)
            self.identity = try #require(identity)
        }

        deinit {
            edgeauth_identity_free(identity)
            edgeauth_verifier_free(uncached)
            edgeauth_verifier_free(verifier)
        }
    }

    static func config(_ extra: [String: JSONValue] = [:]) throws -> String {
        var members: [String: JSONValue] = [
            "issuers": [.string(factory.issuer)],
            "audiences": [.string(factory.audience)],
            "keys": [["jwks": ["keys": [try factory.key.publicJWK(alg: .es256)]]]],
        ]
        for (name, value) in extra { members[name] = value }
        return JSONValue.object(members).jsonText
    }

    static func verifier(_ extra: [String: JSONValue] = [:]) throws -> OpaquePointer {
        let created = newVerifier(Array(try config(extra).utf8))
        try #require(created.status == EDGEAUTH_OK, "\(created.error ?? "")")
        return try #require(created.verifier)
    }

    /// `edgeauth_verifier_new` over `bytes`, freeing what it returns.
    static func newVerifier(_ bytes: [UInt8]) -> (status: Int32, verifier: OpaquePointer?, error: String?) {
        var verifier: OpaquePointer?
        var error: UnsafeMutablePointer<CChar>?
        let status = bytes.withUnsafeBufferPointer { edgeauth_verifier_new($0.baseAddress, $0.count, &verifier, &error) }
        defer { edgeauth_string_free(error) }
        return (status, verifier, error.map { String(cString: $0) })
    }

    static func text(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }

    /// Known status codes and verdict codes, from the header's constants.
    static let statuses: Set<Int32> = [EDGEAUTH_OK, EDGEAUTH_ERR_INVALID_ARGUMENT, EDGEAUTH_ERR_CONFIG, EDGEAUTH_ERR_KEYS, EDGEAUTH_ERR_NOT_FOUND,
                                       EDGEAUTH_ERR_NO_MEMORY, EDGEAUTH_ERR_INTERNAL, EDGEAUTH_ERR_CACHE]
    static let verdicts: Set<Int32> = Set(Int32(0)...20).union(101...119)

    // MARK: - One check per function

    typealias Check = @Sendable (Fixture) throws -> Void

    /// A string accessor of an identity (`const char *f(const edgeauth_identity *, size_t *)`).
    static func stringAccessor(_ function: @escaping @Sendable (OpaquePointer?, UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>?) -> Check {
        { fixture in
            var length = 99
            #expect(function(nil, &length) == nil && length == 99)
            #expect(function(nil, nil) == nil)
            #expect(function(fixture.verifier, &length) == nil && length == 99, "a verifier is not an identity")
            #expect(function(fixture.identity, nil) != nil)
            #expect(function(fixture.identity, &length) != nil && length != 99)
        }
    }

    /// A list of an identity: its count and its indexed accessor.
    static func listCount(_ count: @escaping @Sendable (OpaquePointer?) -> Int, expected: Int) -> Check {
        { fixture in
            #expect(count(nil) == 0)
            #expect(count(fixture.verifier) == 0, "a verifier is not an identity")
            #expect(count(fixture.identity) == expected)
        }
    }

    static func listElement(
        _ element: @escaping @Sendable (OpaquePointer?, Int, UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>?, count: Int
    ) -> Check {
        { fixture in
            var length = 99
            for index in badIndices + [count] {
                #expect(element(fixture.identity, index, &length) == nil && length == 99, "index \(index)")
                #expect(element(nil, index, &length) == nil)
            }
            #expect(element(nil, 0, &length) == nil && element(fixture.verifier, 0, &length) == nil && length == 99)
            #expect(element(fixture.identity, count - 1, nil) != nil)
        }
    }

    /// A requirement helper (`has_role`, …): false for everything hostile, true for a held name.
    static func requirement(_ has: @escaping @Sendable (OpaquePointer?, UnsafePointer<UInt8>?, Int) -> Bool, held: String) -> Check {
        { fixture in
            let name = Array(held.utf8)
            #expect(has(fixture.identity, name, name.count))
            #expect(!has(nil, name, name.count))
            #expect(!has(fixture.verifier, name, name.count), "a verifier is not an identity")
            #expect(!has(fixture.identity, nil, 0))
            for length in nullLengths { #expect(!has(fixture.identity, nil, length), "NULL, length \(length)") }
            // Longer than any entry: compared by length first, never read.
            for length in hugeLengths { #expect(!has(fixture.identity, name, length), "length \(length)") }
            for bytes in notUTF8 { #expect(!has(fixture.identity, bytes, bytes.count)) }
        }
    }

    /// `edgeauth_identity_claim_json` and `_claim_pointer_json`.
    static func claimLookup(
        _ lookup: @escaping @Sendable (OpaquePointer?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                       UnsafeMutablePointer<Int>?) -> Int32,
        found: String, absent: [String]
    ) -> Check {
        { fixture in
            let name = Array(found.utf8)
            var json: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(bitPattern: 0x10)
            var length = 99
            #expect(lookup(fixture.identity, name, name.count, nil, &length) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            #expect(lookup(nil, name, name.count, &json, &length) == EDGEAUTH_ERR_INVALID_ARGUMENT && json == nil)
            json = UnsafeMutablePointer(bitPattern: 0x10)
            #expect(lookup(fixture.verifier, name, name.count, &json, &length) == EDGEAUTH_ERR_INVALID_ARGUMENT && json == nil)
            for size in nullLengths {
                #expect(lookup(fixture.identity, nil, size, &json, &length) == EDGEAUTH_ERR_INVALID_ARGUMENT, "NULL, length \(size)")
            }
            for size in hugeLengths {
                let status = lookup(fixture.identity, name, size, &json, &length)
                // Beyond Int.max is out of range; Int.max is longer than any claim, so nothing is read.
                #expect(status == (size < 0 ? EDGEAUTH_ERR_INVALID_ARGUMENT : EDGEAUTH_ERR_NOT_FOUND), "length \(size)")
                #expect(json == nil)
            }
            for bytes in notUTF8 {
                #expect(lookup(fixture.identity, bytes, bytes.count, &json, &length) == EDGEAUTH_ERR_INVALID_ARGUMENT && json == nil)
            }
            let huge = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
            #expect(lookup(fixture.identity, huge, huge.count, &json, nil) == EDGEAUTH_ERR_NOT_FOUND)
            for text in absent {
                let bytes = Array(text.utf8)
                #expect(lookup(fixture.identity, bytes, bytes.count, &json, &length) == EDGEAUTH_ERR_NOT_FOUND, "\(text.prefix(40))")
                #expect(json == nil)
            }
            #expect(lookup(fixture.identity, name, name.count, &json, nil) == EDGEAUTH_OK)
            edgeauth_string_free(json)
        }
    }

    /// `edgeauth_identity_expires_at` and `_issued_at`.
    static func time(_ read: @escaping @Sendable (OpaquePointer?, UnsafeMutablePointer<Int64>?) -> Int32) -> Check {
        { fixture in
            var time: Int64 = 42
            #expect(read(nil, &time) == EDGEAUTH_ERR_INVALID_ARGUMENT && time == 42)
            #expect(read(fixture.identity, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            #expect(read(fixture.verifier, &time) == EDGEAUTH_ERR_INVALID_ARGUMENT && time == 42, "a verifier is not an identity")
            #expect(read(fixture.identity, &time) == EDGEAUTH_OK)
        }
    }

    /// `edgeauth_verifier_cache_statistic` and `_key_statistic`.
    static func statistic(
        _ read: @escaping @Sendable (OpaquePointer?, Int32, UnsafeMutablePointer<UInt64>?) -> Int32, known: ClosedRange<Int32>, uncached: Int32
    ) -> Check {
        { fixture in
            var value: UInt64 = 42
            for code in codes where !known.contains(code) {
                #expect(read(fixture.verifier, code, &value) == EDGEAUTH_ERR_INVALID_ARGUMENT && value == 42, "statistic \(code)")
            }
            for code in known {
                value = 42
                #expect(read(nil, code, &value) == EDGEAUTH_ERR_INVALID_ARGUMENT)
                #expect(read(fixture.verifier, code, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
                #expect(read(fixture.identity, code, &value) == EDGEAUTH_ERR_INVALID_ARGUMENT, "an identity is not a verifier")
                #expect(value == 42)
                #expect(read(fixture.verifier, code, &value) == EDGEAUTH_OK)
                #expect(read(fixture.uncached, code, &value) == uncached)
            }
        }
    }

    /// `edgeauth_verify` and `edgeauth_explain`, through one signature.
    typealias Verify = @Sendable (OpaquePointer?, UnsafePointer<UInt8>?, Int, Int64, UnsafeMutablePointer<Int32>?, Bool) -> Int32

    static func verification(_ call: @escaping Verify) -> Check {
        { fixture in
            let now = factory.now
            let token = fixture.token
            var verdict: Int32 = -99
            #expect(call(nil, token, token.count, now, &verdict, true) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            #expect(call(fixture.identity, token, token.count, now, &verdict, true) == EDGEAUTH_ERR_INVALID_ARGUMENT, "an identity is not a verifier")
            #expect(call(fixture.verifier, token, token.count, now, nil, true) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            for length in nullLengths {
                #expect(call(fixture.verifier, nil, length, now, &verdict, true) == EDGEAUTH_ERR_INVALID_ARGUMENT, "NULL, length \(length)")
            }
            for time in badTimes {
                #expect(call(fixture.verifier, token, token.count, time, &verdict, true) == EDGEAUTH_ERR_INVALID_ARGUMENT, "now \(time)")
            }
            #expect(verdict == -99, "outputs untouched on an error")
            // Lengths beyond the limit are a verdict, without the bytes being read.
            for length in hugeLengths + [16_385] {
                verdict = -99
                #expect(call(fixture.verifier, token, length, now, &verdict, true) == EDGEAUTH_OK)
                #expect(verdict == EDGEAUTH_VERDICT_TOKEN_TOO_LARGE, "length \(length)")
            }
            for bytes in notUTF8 + [[], [0], Array("..".utf8), [UInt8](repeating: 0x2E, count: 16_384), Array(token.prefix(token.count - 1)) + [0xFF]] {
                verdict = -99
                #expect(call(fixture.verifier, bytes, bytes.count, now, &verdict, true) == EDGEAUTH_OK)
                #expect(verdict > 0 && verdicts.contains(verdict), "\(bytes.prefix(8)): \(verdict)")
            }
            verdict = -99
            #expect(call(fixture.verifier, nil, 0, now, &verdict, true) == EDGEAUTH_OK && verdict == EDGEAUTH_VERDICT_MALFORMED_SEGMENT_COUNT)
            for verifier in [fixture.verifier, fixture.uncached] {
                #expect(call(verifier, token, token.count, now, &verdict, false) == EDGEAUTH_OK && verdict == EDGEAUTH_VERDICT_VALID)
                #expect(call(verifier, token, token.count, 253_402_300_799, &verdict, false) == EDGEAUTH_OK && verdict == EDGEAUTH_VERDICT_EXPIRED)
            }
        }
    }

    static func verifierCount(_ count: @escaping @Sendable (OpaquePointer?) -> Int, expected: Int) -> Check {
        { fixture in
            #expect(count(nil) == 0)
            #expect(count(fixture.identity) == 0, "an identity is not a verifier")
            #expect(count(fixture.verifier) == expected)
        }
    }

    /// One check for every function of the header, by name.
    static let checks: [String: Check] = [
        "edgeauth_version": { _ in
            #expect(text(edgeauth_version(nil, nil, nil)) == "\(EDGEAUTH_VERSION_MAJOR).\(EDGEAUTH_VERSION_MINOR).\(EDGEAUTH_VERSION_PATCH)")
            var major: Int32 = -1
            #expect(edgeauth_version(&major, nil, nil) != nil && major == EDGEAUTH_VERSION_MAJOR)
        },
        "edgeauth_status_string": { _ in
            for code in codes + Array(statuses) {
                let name = try #require(text(edgeauth_status_string(code)), "status \(code)")
                #expect(statuses.contains(code) ? name != "unknown status" : name == "unknown status", "status \(code)")
            }
        },
        "edgeauth_verdict_string": { _ in
            for code in codes + Array(verdicts) {
                let name = try #require(text(edgeauth_verdict_string(code)), "verdict \(code)")
                #expect(verdicts.contains(code) ? name != "unknown" : name == "unknown", "verdict \(code)")
            }
        },
        "edgeauth_verdict_description": { _ in
            for code in codes + Array(verdicts) {
                let description = try #require(text(edgeauth_verdict_description(code)), "verdict \(code)")
                #expect(!description.isEmpty)
            }
        },
        "edgeauth_string_free": { _ in
            edgeauth_string_free(nil)
            var error: UnsafeMutablePointer<CChar>?
            var verifier: OpaquePointer?
            #expect(edgeauth_verifier_new(nil, 0, &verifier, &error) == EDGEAUTH_ERR_CONFIG)
            edgeauth_string_free(error)
            error = nil
            edgeauth_string_free(error)
        },
        "edgeauth_verifier_new": { _ in
            var verifier: OpaquePointer? = OpaquePointer(bitPattern: 0x10)
            var error: UnsafeMutablePointer<CChar>?
            let config = Array(try config().utf8)
            #expect(edgeauth_verifier_new(config, config.count, nil, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            #expect(edgeauth_verifier_new(config, config.count, nil, &error) == EDGEAUTH_ERR_INVALID_ARGUMENT && error != nil)
            edgeauth_string_free(error)
            for length in nullLengths {
                #expect(edgeauth_verifier_new(nil, length, &verifier, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT, "NULL, length \(length)")
                #expect(verifier == nil)
            }
            // Longer than 4 MiB, or beyond Int.max: refused without reading the (one) byte.
            var byte = UInt8(ascii: "{")
            for length in hugeLengths + [(4 << 20) + 1] {
                #expect(edgeauth_verifier_new(&byte, length, &verifier, nil) == EDGEAUTH_ERR_CONFIG, "length \(length)")
                #expect(verifier == nil)
            }
            let deep = [UInt8](repeating: UInt8(ascii: "["), count: 1 << 20)
            // 101,000 members in all (the limit is 100,000), in objects small enough to check for duplicates quickly.
            let object = "{" + (0...100).map { "\"k\($0)\":0" }.joined(separator: ",") + "}"
            let wide = Array(("{\"issuers\":[" + repeatElement(object, count: 1_000).joined(separator: ",") + "]}").utf8)
            let long = Array("{\"issuers\":[\"\(String(repeating: "i", count: (4 << 20) - 64))\"]}".utf8)
            let hostile: [[UInt8]] = notUTF8 + [
                [], [0], deep, wide, long, Array("{\"issuers\":[\"\u{0}\"]}".utf8), Array("{\"issuers\":[\"a\"]}".utf8) + [0xFF],
                Array("{\"issuers\":[\"".utf8) + [0xFF, 0xFE] + Array("\"],\"anyAudience\":true}".utf8),
                Array(#"{"issuers": 5}"#.utf8), Array(#"{"issuers": [], "audiences": []}"#.utf8),
            ]
            for bytes in hostile {
                let created = newVerifier(bytes)
                #expect([EDGEAUTH_ERR_CONFIG, EDGEAUTH_ERR_KEYS].contains(created.status), "\(bytes.prefix(24)): \(created.error ?? "")")
                #expect(created.verifier == nil && created.error?.isEmpty == false)
            }
            // Numbers out of every range: a status, never an overflow. Some are allowed; those must then verify.
            let numbers: [String] = ["1e400", "-1e400", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
                                     "18446744073709551616", "-1", "0", "0.5", "1e-400", "123456789012345678901234567890"]
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-hostile-\(UUID().uuidString)").path
            // Each member with the largest value the configuration accepts, where arithmetic on it could overflow.
            let members: [(String, String, (String) -> String)] = [
                ("leeway", "600", { #""leeway": \#($0)"# }), ("maxAge", "253402300799", { #""maxAge": \#($0)"# }),
                ("maxTokenBytes", "16777216", { #""limits": {"maxTokenBytes": \#($0)}"# }),
                ("maxJSONDepth", "64", { #""limits": {"maxJSONDepth": \#($0)}"# }),
                ("maxJSONMembers", "10000", { #""limits": {"maxJSONMembers": \#($0)}"# }),
                ("mapSizeBytes", "1099511627776", { #""cache": {"directory": "\#(scratch)/\#(UUID().uuidString)", "mapSizeBytes": \#($0)}"# }),
                ("maxTTL", "86400", { #""cache": {"directory": "\#(scratch)/\#(UUID().uuidString)", "maxTTL": \#($0)}"# }),
                ("l1Entries", "1000000", { #""cache": {"directory": "\#(scratch)/\#(UUID().uuidString)", "l1Entries": \#($0)}"# }),
            ]
            let base = try HostileArgumentTests.config()
            var accepted = 0
            for (member, largest, json) in members {
                for number in numbers + ["1", largest] {
                    let document = String(base.dropLast()) + ", " + json(number) + "}"
                    let created = newVerifier(Array(document.utf8))
                    #expect([EDGEAUTH_OK, EDGEAUTH_ERR_CONFIG, EDGEAUTH_ERR_CACHE].contains(created.status), "\(member) \(number): \(created.status)")
                    guard let verifier = created.verifier else { continue }
                    defer { edgeauth_verifier_free(verifier) }
                    accepted += 1
                    let token = Array(try factory.token().utf8)
                    for now in [factory.now, 1, 253_402_300_799] {
                        var verdict: Int32 = -1
                        #expect(edgeauth_verify(verifier, token, token.count, now, &verdict, nil) == EDGEAUTH_OK, "\(member) \(number)")
                        #expect(verdicts.contains(verdict))
                    }
                }
            }
            #expect(accepted >= members.count, "at least one value of each member is accepted")
        },
        "edgeauth_verifier_free": { fixture in
            edgeauth_verifier_free(nil)
            // An identity is not a verifier: left alone, still usable.
            edgeauth_verifier_free(fixture.identity)
            #expect(edgeauth_identity_subject(fixture.identity, nil) != nil)
        },
        "edgeauth_verifier_key_count": verifierCount(edgeauth_verifier_key_count, expected: 1),
        "edgeauth_verifier_warning_count": verifierCount(edgeauth_verifier_warning_count, expected: 0),
        "edgeauth_verifier_warning": { fixture in
            var length = 99
            for index in badIndices + [0] {
                #expect(edgeauth_verifier_warning(fixture.verifier, index, &length) == nil && length == 99, "index \(index)")
                #expect(edgeauth_verifier_warning(nil, index, &length) == nil)
                #expect(edgeauth_verifier_warning(fixture.identity, index, &length) == nil, "an identity is not a verifier")
            }
        },
        "edgeauth_verifier_cache_statistic": statistic(edgeauth_verifier_cache_statistic, known: 1...9, uncached: EDGEAUTH_ERR_NOT_FOUND),
        "edgeauth_verifier_key_statistic": statistic(edgeauth_verifier_key_statistic, known: 1...6, uncached: EDGEAUTH_OK),
        "edgeauth_verifier_revoke_token": { fixture in
            let token = fixture.token
            #expect(edgeauth_verifier_revoke_token(nil, token, token.count, 0) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            #expect(edgeauth_verifier_revoke_token(fixture.identity, token, token.count, 0) == EDGEAUTH_ERR_INVALID_ARGUMENT, "an identity is not a verifier")
            for length in nullLengths {
                #expect(edgeauth_verifier_revoke_token(fixture.verifier, nil, length, 0) == EDGEAUTH_ERR_INVALID_ARGUMENT, "NULL, length \(length)")
            }
            // Beyond Int.max, or longer than any token the verifier accepts: not read.
            for length in hugeLengths + [16_385] {
                #expect(edgeauth_verifier_revoke_token(fixture.verifier, token, length, 0) == EDGEAUTH_ERR_INVALID_ARGUMENT, "length \(length)")
            }
            #expect(edgeauth_verifier_revoke_token(fixture.uncached, token, token.count, 0) == EDGEAUTH_ERR_NOT_FOUND)
            for until: Int64 in [.min, -1, 0, .max] {
                #expect(edgeauth_verifier_revoke_token(fixture.verifier, [0xFF], 1, until) == EDGEAUTH_OK)
                #expect(edgeauth_verifier_revoke_token(fixture.verifier, nil, 0, until) == EDGEAUTH_OK)
            }
        },
        "edgeauth_verifier_revoke_token_id": { fixture in
            let id = Array("id".utf8)
            #expect(edgeauth_verifier_revoke_token_id(nil, id, id.count, 0) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            #expect(edgeauth_verifier_revoke_token_id(fixture.identity, id, id.count, 0) == EDGEAUTH_ERR_INVALID_ARGUMENT, "an identity is not a verifier")
            for length in nullLengths + [0] {
                #expect(edgeauth_verifier_revoke_token_id(fixture.verifier, nil, length, 0) == EDGEAUTH_ERR_INVALID_ARGUMENT, "NULL, length \(length)")
            }
            for length in hugeLengths + [0, 512] {
                #expect(edgeauth_verifier_revoke_token_id(fixture.verifier, id, length, 0) == EDGEAUTH_ERR_INVALID_ARGUMENT, "length \(length)")
            }
            #expect(edgeauth_verifier_revoke_token_id(fixture.uncached, id, id.count, 0) == EDGEAUTH_ERR_NOT_FOUND)
            let longest = [UInt8](repeating: 0xFF, count: 511)
            for until: Int64 in [.min, -1, 0, .max] {
                #expect(edgeauth_verifier_revoke_token_id(fixture.verifier, longest, longest.count, until) == EDGEAUTH_OK)
                for bytes in notUTF8 {
                    #expect([EDGEAUTH_OK, EDGEAUTH_ERR_INVALID_ARGUMENT].contains(edgeauth_verifier_revoke_token_id(fixture.verifier, bytes, bytes.count, until)))
                }
            }
        },
        "edgeauth_verify": verification { verifier, token, length, now, verdictOut, wantsOutput in
            var identity: OpaquePointer? = OpaquePointer(bitPattern: 0x10)
            let status = wantsOutput
                ? edgeauth_verify(verifier, token, length, now, verdictOut, &identity)
                : edgeauth_verify(verifier, token, length, now, verdictOut, nil)
            if status == EDGEAUTH_OK, wantsOutput {
                #expect((identity != nil) == (verdictOut?.pointee == EDGEAUTH_VERDICT_VALID))
                edgeauth_identity_free(identity)
            } else if wantsOutput {
                #expect(identity == OpaquePointer(bitPattern: 0x10), "identity_out untouched on an error")
            }
            return status
        },
        "edgeauth_explain": verification { verifier, token, length, now, verdictOut, wantsOutput in
            var explanation: UnsafeMutablePointer<CChar>?
            if !wantsOutput, verdictOut != nil {
                #expect(edgeauth_explain(verifier, token, length, now, verdictOut, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            }
            let status = edgeauth_explain(verifier, token, length, now, verdictOut, &explanation)
            #expect((status == EDGEAUTH_OK) == (explanation != nil))
            edgeauth_string_free(explanation)
            return status
        },
        "edgeauth_identity_free": { fixture in
            edgeauth_identity_free(nil)
            // A verifier is not an identity: left alone, still usable.
            edgeauth_identity_free(fixture.verifier)
            #expect(edgeauth_verifier_key_count(fixture.verifier) == 1)
        },
        "edgeauth_identity_subject": stringAccessor(edgeauth_identity_subject),
        "edgeauth_identity_issuer": stringAccessor(edgeauth_identity_issuer),
        "edgeauth_identity_email": stringAccessor(edgeauth_identity_email),
        "edgeauth_identity_name": stringAccessor(edgeauth_identity_name),
        "edgeauth_identity_username": stringAccessor(edgeauth_identity_username),
        "edgeauth_identity_picture": stringAccessor(edgeauth_identity_picture),
        "edgeauth_identity_client_id": stringAccessor(edgeauth_identity_client_id),
        "edgeauth_identity_organization": stringAccessor(edgeauth_identity_organization),
        "edgeauth_identity_token_id": stringAccessor(edgeauth_identity_token_id),
        "edgeauth_identity_expires_at": time(edgeauth_identity_expires_at),
        "edgeauth_identity_issued_at": time(edgeauth_identity_issued_at),
        "edgeauth_identity_role_count": listCount(edgeauth_identity_role_count, expected: 2),
        "edgeauth_identity_role": listElement(edgeauth_identity_role, count: 2),
        "edgeauth_identity_permission_count": listCount(edgeauth_identity_permission_count, expected: 1),
        "edgeauth_identity_permission": listElement(edgeauth_identity_permission, count: 1),
        "edgeauth_identity_scope_count": listCount(edgeauth_identity_scope_count, expected: 2),
        "edgeauth_identity_scope": listElement(edgeauth_identity_scope, count: 2),
        "edgeauth_identity_audience_count": listCount(edgeauth_identity_audience_count, expected: 1),
        "edgeauth_identity_audience": listElement(edgeauth_identity_audience, count: 1),
        "edgeauth_identity_has_role": requirement(edgeauth_identity_has_role, held: "admin"),
        "edgeauth_identity_has_permission": requirement(edgeauth_identity_has_permission, held: "read"),
        "edgeauth_identity_has_scope": requirement(edgeauth_identity_has_scope, held: "b"),
        "edgeauth_identity_claim_json": claimLookup(
            edgeauth_identity_claim_json, found: "roles", absent: ["", "missing", "/roles", "roles\u{0}", String(repeating: "r", count: 70_000)]
        ),
        "edgeauth_identity_claim_pointer_json": claimLookup(
            edgeauth_identity_claim_pointer_json, found: "/roles/1",
            absent: [
                "roles", "/missing", "/roles/2", "/roles/-1", "/roles/01", "/roles/+1", "/roles/ 1", "/roles/1e0", "/roles/-",
                "/roles/99999999999999999999999999999999", "/roles/9223372036854775807", "/roles/9223372036854775808",
                "/roles/18446744073709551616", "/~", "/~2", "/roles~", "/roles/0/0", "/email/0", "/exp/x", "//",
                String(repeating: "/", count: 100_000), String(repeating: "/roles", count: 10_000), String(repeating: "/0", count: 50_000),
            ]
        ),
        "edgeauth_verify_nonblocking": verification { verifier, token, length, now, verdictOut, wantsOutput in
            var identity: OpaquePointer? = OpaquePointer(bitPattern: 0x10)
            var refreshing = true
            let status = wantsOutput
                ? edgeauth_verify_nonblocking(verifier, token, length, now, verdictOut, &identity, nil, nil, &refreshing)
                : edgeauth_verify_nonblocking(verifier, token, length, now, verdictOut, nil, nil, nil, nil)
            if status == EDGEAUTH_OK, wantsOutput {
                #expect((identity != nil) == (verdictOut?.pointee == EDGEAUTH_VERDICT_VALID) && !refreshing)
                edgeauth_identity_free(identity)
            } else if wantsOutput {
                #expect(identity == OpaquePointer(bitPattern: 0x10), "identity_out untouched on an error")
            }
            return status
        },
        "edgeauth_verifier_new_from_file": { _ in
            var verifier: OpaquePointer? = OpaquePointer(bitPattern: 0x10)
            var error: UnsafeMutablePointer<CChar>?
            #expect(edgeauth_verifier_new_from_file("/nonexistent/edgeauth.yaml", nil, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            #expect(edgeauth_verifier_new_from_file(nil, &verifier, &error) == EDGEAUTH_ERR_INVALID_ARGUMENT && verifier == nil && error != nil)
            edgeauth_string_free(error)
            #expect(edgeauth_verifier_new_from_file("", &verifier, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            for bytes in notUTF8 {
                let path = (bytes + [0]).map { CChar(bitPattern: $0) }
                #expect(edgeauth_verifier_new_from_file(path, &verifier, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT && verifier == nil)
            }
            #expect(edgeauth_verifier_new_from_file("/nonexistent/edgeauth.yaml", &verifier, nil) == EDGEAUTH_ERR_CONFIG && verifier == nil)
        },
        "edgeauth_identity_check": { fixture in
            var result: Int32 = -99
            let words = Array("scope:b".utf8)
            #expect(edgeauth_identity_check(fixture.identity, words, words.count, &result, nil) == EDGEAUTH_OK && result == EDGEAUTH_REQUIREMENT_MET)
            result = -99
            #expect(edgeauth_identity_check(nil, words, words.count, &result, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            #expect(edgeauth_identity_check(fixture.verifier, words, words.count, &result, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT, "a verifier is not an identity")
            #expect(edgeauth_identity_check(fixture.identity, words, words.count, nil, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            for length in nullLengths { #expect(edgeauth_identity_check(fixture.identity, nil, length, &result, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT) }
            // Beyond 64 KiB or Int.max: refused without reading.
            for length in hugeLengths + [65_537] { #expect(edgeauth_identity_check(fixture.identity, words, length, &result, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT) }
            for bytes in notUTF8 { #expect(edgeauth_identity_check(fixture.identity, bytes, bytes.count, &result, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT) }
            #expect(result == -99, "result untouched on an error")
        },
        "edgeauth_challenge": { _ in
            var out: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(bitPattern: 0x10)
            #expect(edgeauth_challenge(EDGEAUTH_CHALLENGE_MISSING_TOKEN, "https://r/m", nil, nil) == EDGEAUTH_ERR_INVALID_ARGUMENT)
            #expect(edgeauth_challenge(EDGEAUTH_CHALLENGE_MISSING_TOKEN, nil, nil, &out) == EDGEAUTH_ERR_INVALID_ARGUMENT && out == nil)
            for code in codes where code != EDGEAUTH_CHALLENGE_MISSING_TOKEN && code != EDGEAUTH_CHALLENGE_INSUFFICIENT_SCOPE {
                let status = edgeauth_challenge(code, "https://r/m", nil, &out)
                let known = code > 0 && text(edgeauth_verdict_string(code)) != "unknown"
                #expect(status == (known ? EDGEAUTH_OK : EDGEAUTH_ERR_INVALID_ARGUMENT), "kind \(code)")
                edgeauth_string_free(out)
            }
            for bytes in notUTF8 {
                let text = (bytes + [0]).map { CChar(bitPattern: $0) }
                #expect(edgeauth_challenge(EDGEAUTH_CHALLENGE_MISSING_TOKEN, text, nil, &out) == EDGEAUTH_ERR_INVALID_ARGUMENT && out == nil)
                #expect(edgeauth_challenge(EDGEAUTH_CHALLENGE_MISSING_TOKEN, "https://r/m", text, &out) == EDGEAUTH_ERR_INVALID_ARGUMENT && out == nil)
            }
        },
        "edgeauth_identity_json": { fixture in
            var json: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(bitPattern: 0x10)
            var length = 99
            #expect(edgeauth_identity_json(fixture.identity, nil, &length) == EDGEAUTH_ERR_INVALID_ARGUMENT && length == 99)
            #expect(edgeauth_identity_json(nil, &json, &length) == EDGEAUTH_ERR_INVALID_ARGUMENT && json == nil)
            json = UnsafeMutablePointer(bitPattern: 0x10)
            #expect(edgeauth_identity_json(fixture.verifier, &json, &length) == EDGEAUTH_ERR_INVALID_ARGUMENT && json == nil)
            #expect(edgeauth_identity_json(fixture.identity, &json, nil) == EDGEAUTH_OK && json != nil)
            edgeauth_string_free(json)
        },
    ]

    // MARK: - The tests

    /// The names of the functions include/edgeauth.h declares.
    static func declaredFunctions() throws -> Set<String> {
        let header = try String(contentsOf: Vectors.packageRoot.appendingPathComponent("include/edgeauth.h"), encoding: .utf8)
        // A declaration: EDGEAUTH_API, the return type, then the name and its parenthesis.
        let declaration = /EDGEAUTH_API[^;(]*?\b(edgeauth_[a-z0-9_]+)\s*\(/
        return Set(header.matches(of: declaration).map { String($0.output.1) })
    }

    @Test("Every edgeauth_ function of include/edgeauth.h has a hostile-argument check, and every check a function")
    func everyFunctionIsCovered() throws {
        let declared = try Self.declaredFunctions()
        #expect(declared.count >= 39)
        #expect(declared.subtracting(Self.checks.keys).sorted() == [], "declared in the header without a hostile check")
        #expect(Set(Self.checks.keys).subtracting(declared).sorted() == [], "checked but not declared")
    }

    @Test("Hostile arguments give the documented status, never a crash", .ownThread, arguments: Self.checks.keys.sorted())
    func hostileArguments(_ function: String) throws {
        let check = try #require(Self.checks[function])
        let fixture = try Fixture()
        try withExtendedLifetime(fixture) { try check(fixture) }
    }
}
