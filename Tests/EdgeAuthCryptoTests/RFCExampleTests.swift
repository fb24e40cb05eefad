import EdgeAuth
import EdgeAuthTesting
import Testing

/// RFC 7515 App. A, RFC 8037 App. A, RFC 7520 §4 and RFC 7797 §4.1 worked examples.
@Suite("RFC JOSE examples")
struct RFCExampleTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let value: JSONValue
        var id: String { value["id"]?.stringValue ?? "?" }
        var testDescription: String { id }
    }

    static let cases: [Case] = ((try? Vectors.load("jose_rfc_examples.json"))?["cases"]?.arrayValue ?? []).map(Case.init)

    @Test("the vector file is present and complete")
    func vectorFileLoads() {
        #expect(Self.cases.count == 15)
    }

    @Test("each example gets its expected outcome", arguments: cases)
    func example(_ example: Case) throws {
        let value = example.value
        let expected = try #require(value["expected"]?.stringValue)
        let serialization = value["serialization"]?.stringValue ?? ""
        if expected == "valid" {
            try expectValid(value)
            return
        }
        // Everything else must be rejected by a compact-JWT bearer verifier, for the stated reason.
        let secret = try VerificationKey(hmacSecret: Array(repeating: 1, count: 64))
        let verifier = Verifier(policy: ValidationPolicy(issuers: .any, audiences: .any), keys: KeySet(keys: [secret]))
        var attempts: [String] = []
        if let compact = value["compact"]?.stringValue ?? value["compact_form"]?.stringValue { attempts.append(compact) }
        for form in ["json_general", "json_flattened"] {
            if let json = value[form], json != .null { attempts.append(json.jsonText) }
        }
        #expect(!attempts.isEmpty)
        for token in attempts {
            let reason = try #require(verifier.verify(token).reason, "\(example.id) was accepted")
            switch (example.id, serialization) {
            case ("rfc7515-A.5", _): #expect(reason == .unsecured)
            case ("rfc7520-4.5", _): #expect(reason == .malformed(.emptySegment))
            case (_, "json"), (_, "json-flattened") where token.hasPrefix("{"):
                #expect(reason == .malformed(.jsonSerialization))
            case ("rfc7797-4.1", _):
                // The unencoded payload "$.02" contains a dot: four segments.
                #expect(reason == .malformed(.segmentCount))
            default:
                Issue.record("\(example.id): unexpected case, rejected with \(reason.code)")
            }
        }
    }

    /// The signature verifies through the JWK import path; tokens whose payload is a
    /// JWT claims set also pass the full verifier.
    func expectValid(_ value: JSONValue) throws {
        let alg = try #require(value["alg"]?.stringValue.flatMap(Algorithm.init(name:)))
        let jwk = try #require(value["public_jwk"].flatMap { $0 == .null ? nil : $0 } ?? value["jwk"])
        let key = try VerificationKey(jwk: jwk)
        let compact = try #require(value["compact"]?.stringValue)
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        let signingInput = Array(compact.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        let signature = try Base64URL.decode(parts[2])
        let verified = signingInput.withUnsafeBytes { m in signature.withUnsafeBytes { s in key.verify(alg, signingInput: m, signature: s) } }
        #expect(verified, "\(value["id"]?.stringValue ?? "") signature")

        let verifier = Verifier(policy: ValidationPolicy(issuers: .any, audiences: .any), keys: KeySet(keys: [key]))
        let verdict = verifier.verify(compact, now: 1_300_819_000)
        if let payload = value["payload_utf8"]?.stringValue, payload.hasPrefix("{") {
            #expect(verdict.identity?.issuer == "joe", "\(String(describing: verdict.reason))")
            #expect(verdict.identity?.claims["http://example.com/is_root"] == .bool(true))
            // One second past exp + leeway it is expired.
            #expect(verifier.verify(compact, now: 1_300_819_380 + 30).reason == .expired(expiredAt: 1_300_819_380, now: 1_300_819_410))
        } else {
            // A JWS whose payload is not a claims set is not a bearer token (documented in docs/conformance.md).
            #expect(verdict.reason == .malformed(.payloadNotObject))
        }
    }
}
