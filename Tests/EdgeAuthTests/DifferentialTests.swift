import EdgeAuth
import EdgeAuthTesting
import Foundation
import Testing

/// Differential test against joserfc, an independent JOSE implementation in Python.
///
/// `Tests/differential/differential.py` generates keys for every algorithm, a JWKS
/// and thousands of tokens, and records joserfc's verdict for each under the same
/// policy this suite gives `Verifier`. Any disagreement fails, unless it is one of
/// the `DeliberateDifference`s below, each recognised from the token and EdgeAuth's
/// reason (never from the category label alone). See docs/differential-testing.md.
@Suite("Differential against joserfc")
struct DifferentialTests {
    static let now: Int64 = 1_764_000_000
    static let leeway: Int64 = 30
    static let minimumCases = 2000

    /// Which verdicts each category must produce (EdgeAuth's verdicts, and the
    /// verdicts on which both implementations agree): a category that should hold
    /// valid and invalid tokens must show both, so a generator or policy mistake
    /// that rejects everything cannot pass silently.
    static let expectedVerdicts: [String: Set<Bool>] = [
        "valid": [true],
        "no_kid": [true, false],
        "tampered_header": [false],
        "tampered_payload": [false],
        "tampered_signature": [false],
        "payload_swapped": [false],
        "exp_window": [true, false],
        "nbf_window": [true, false],
        "iat_window": [true, false],
        "wrong_issuer": [true, false],
        "wrong_audience": [true, false],
        "foreign_key_same_kid": [false],
        "alg_switched": [false],
        "unknown_kid": [false],
        "numeric_forms": [true, false],
        "json_forms": [true, false],
        "encoding_forms": [false],
    ]

    @Test("EdgeAuth and joserfc agree on every generated token, apart from the listed deliberate differences")
    func agreesWithJoserfc() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let python = environment["EDGEAUTH_PYTHON"], !python.isEmpty else {
            Issue.record("""
                EDGEAUTH_PYTHON is not set, so the differential test cannot run joserfc. \
                Run `make test` (it runs `make python-deps` and sets EDGEAUTH_PYTHON), or run \
                `make python-deps` and then `EDGEAUTH_PYTHON=$PWD/.venv/bin/python3 swift test --filter Differential`.
                """)
            return
        }
        let seed = environment["EDGEAUTH_DIFFERENTIAL_SEED"].flatMap { Int($0) } ?? 1
        let count = environment["EDGEAUTH_DIFFERENTIAL_COUNT"].flatMap { Int($0) } ?? 3000

        guard let document = try await generate(python: python, seed: seed, count: count) else { return }
        guard let now = int64(document["now"]), let leeway = int64(document["leeway"]),
              let issuer = document["issuer"]?.stringValue, let audience = document["audience"]?.stringValue,
              let jwks = document["jwks"], let cases = document["cases"]?.arrayValue
        else {
            Issue.record("the generator's output lacks now, leeway, issuer, audience, jwks or cases")
            return
        }
        #expect(now == Self.now)
        #expect(leeway == Self.leeway)

        let keys = try KeySet(jwks: jwks)
        #expect(keys.skipped.isEmpty, "JWKS keys skipped: \(keys.skipped)")
        #expect(keys.keys.count == Algorithm.allCases.count, "one key per algorithm expected, got \(keys.keys.count)")
        let verifier = Verifier(
            policy: ValidationPolicy(issuers: .exactly([issuer]), audiences: .anyOf([audience]), leeway: leeway),
            keys: keys
        )

        var stats = [String: CategoryStats]()
        var differences = [DeliberateDifference: Int]()
        var mismatches = [String]()
        for (index, entry) in cases.enumerated() {
            // Seconds of verifications: other suites' tasks (a server's deferred answers) get the pool's threads between them.
            if index % 50 == 0 { await Task.yield() }
            guard let token = entry["token"]?.stringValue, let category = entry["category"]?.stringValue,
                  let pythonAccepts = entry["python_accepts"]?.boolValue
            else {
                Issue.record("case #\(index) lacks token, category or python_accepts")
                continue
            }
            let variant = entry["variant"]?.stringValue ?? "?"
            let verdict = verifier.verify(token, now: now)
            let edgeAccepts: Bool
            let reason: Reason?
            switch verdict {
            case .valid:
                edgeAccepts = true
                reason = nil
            case .rejected(let why):
                edgeAccepts = false
                reason = why
            }
            stats[category, default: CategoryStats()].record(edge: edgeAccepts, python: pythonAccepts)
            guard edgeAccepts != pythonAccepts else {
                stats[category]!.agreed.insert(edgeAccepts)
                continue
            }
            if let difference = DeliberateDifference.classify(
                token: token, pythonAccepts: pythonAccepts, reason: reason, features: TokenFeatures(entry["features"]),
                now: now, leeway: leeway
            ) {
                differences[difference, default: 0] += 1
                stats[category]!.deliberate += 1
                continue
            }
            stats[category]!.mismatches += 1
            let python = entry["python_reason"]?.stringValue ?? "?"
            mismatches.append(
                "case #\(index) [\(category)/\(variant)]: joserfc \(pythonAccepts ? "accepts" : "rejects (\(python))"), "
                    + "EdgeAuth \(reason.map { "rejects (\($0.code))" } ?? "accepts")"
            )
        }

        print(Self.report(stats: stats, differences: differences, total: cases.count, seed: seed))

        #expect(cases.count >= Self.minimumCases, "only \(cases.count) cases compared")
        for line in mismatches.prefix(40) {
            Issue.record("unexplained mismatch: \(line)")
        }
        #expect(mismatches.count == 0, "unexplained mismatches (the first 40 are listed above)")

        #expect(Set(stats.keys) == Set(Self.expectedVerdicts.keys), "categories: \(stats.keys.sorted())")
        for (category, expected) in Self.expectedVerdicts.sorted(by: { $0.key < $1.key }) {
            guard let observed = stats[category] else { continue }
            #expect(observed.edgeVerdicts == expected, "\(category): EdgeAuth verdicts \(observed.edgeVerdicts), expected \(expected)")
            #expect(observed.agreed == expected, "\(category): agreed verdicts \(observed.agreed), expected \(expected)")
        }
        if cases.count >= Self.minimumCases {
            // Every listed difference must still occur: a stale entry would hide nothing but mislead readers.
            for difference in DeliberateDifference.allCases where differences[difference] == nil {
                Issue.record("deliberate difference \(difference.rawValue) listed but not observed")
            }
        }
    }

    /// Runs the generator into a temporary file and parses its output. Waits for it without
    /// holding a thread of the cooperative pool, which other suites' servers need meanwhile.
    private func generate(python: String, seed: Int, count: Int) async throws -> JSONValue? {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = packageRoot.appendingPathComponent("Tests/differential/differential.py")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-differential-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("cases.json")
        let errors = directory.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            script.path, "--out", output.path,
            "--count", String(count), "--seed", String(seed), "--now", String(Self.now),
        ]
        process.standardOutput = FileHandle.nullDevice
        let errorHandle = try FileHandle(forWritingTo: errors)
        defer { try? errorHandle.close() }
        process.standardError = errorHandle
        do {
            try process.run()
        } catch {
            Issue.record("cannot run EDGEAUTH_PYTHON=\(python): \(error). Run `make python-deps` (or `make test`).")
            return nil
        }
        if !(await waitUntil(timeout: .seconds(180), interval: .milliseconds(50)) { !process.isRunning }) {
            process.terminate()
            process.waitUntilExit()
            Issue.record("differential.py did not finish within 180 s")
            return nil
        }
        process.waitUntilExit()
        let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            Issue.record("differential.py exited with status \(process.terminationStatus) (is joserfc installed? run `make python-deps`):\n\(stderr.suffix(4000))")
            return nil
        }
        return try JSONValue.parse(Array(try Data(contentsOf: output)))
    }

    private func int64(_ value: JSONValue?) -> Int64? {
        if case .number(let text)? = value { return Int64(text) }
        return nil
    }

    private static func report(stats: [String: CategoryStats], differences: [DeliberateDifference: Int], total: Int, seed: Int) -> String {
        var lines = ["Differential test against joserfc: \(total) cases, seed \(seed)"]
        lines.append("category               cases  edge✓  edge✗  py✓  deliberate  mismatches")
        for (name, s) in stats.sorted(by: { $0.key < $1.key }) {
            lines.append(
                name.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + String(format: " %5d  %5d  %5d  %4d  %10d  %10d", s.cases, s.edgeAccepted, s.cases - s.edgeAccepted, s.pythonAccepted, s.deliberate, s.mismatches)
            )
        }
        lines.append("deliberate differences:")
        for difference in DeliberateDifference.allCases {
            lines.append("  \(difference.rawValue): \(differences[difference] ?? 0) (\(difference.reason))")
        }
        return lines.joined(separator: "\n")
    }
}

private struct CategoryStats {
    var cases = 0
    var edgeAccepted = 0
    var pythonAccepted = 0
    var deliberate = 0
    var mismatches = 0
    var edgeVerdicts = Set<Bool>()
    /// Verdicts on which EdgeAuth and joserfc agree.
    var agreed = Set<Bool>()

    mutating func record(edge: Bool, python: Bool) {
        cases += 1
        if edge { edgeAccepted += 1 }
        if python { pythonAccepted += 1 }
        edgeVerdicts.insert(edge)
    }
}

/// What the generator found in a token with Python's own JSON and base64 decoding
/// (`features` in differential.py), independently of EdgeAuth's parser.
struct TokenFeatures {
    var duplicateMember = false
    var loneSurrogate = false
    var depth = 0
    var members = 0
    var padded = false

    init(_ value: JSONValue?) {
        guard let value else { return }
        duplicateMember = value["duplicate_member"]?.boolValue ?? false
        loneSurrogate = value["lone_surrogate"]?.boolValue ?? false
        depth = value["depth"]?.doubleValue.map { Int($0) } ?? 0
        members = value["members"]?.doubleValue.map { Int($0) } ?? 0
        padded = value["padded"]?.boolValue ?? false
    }
}

/// Where EdgeAuth deliberately decides differently from joserfc. Each case is
/// recognised from EdgeAuth's reason and from what the token itself contains
/// (looked at here, or by the generator's own decoding); anything else that
/// differs is a failure.
enum DeliberateDifference: String, CaseIterable {
    /// `exp` exactly `now - leeway` (or a fraction within that second).
    case expiryBoundary
    /// `exp`/`nbf`/`iat` negative, beyond 9999-12-31, infinite, or a JSON boolean.
    case numericDateOutOfRange
    /// The same member name twice in the header or payload.
    case duplicateMember
    /// A `\uD800`-style escape with no partner surrogate.
    case unpairedSurrogate
    /// Nesting deeper than 16 or more than 256 members (`TokenLimits` defaults).
    case jsonLimits
    /// A UTF-8 byte order mark before the payload JSON.
    case byteOrderMark
    /// `iss` given as an array.
    case issuerNotString
    /// `aud` as an array with a member that is not a string.
    case audienceNotStrings
    /// `=` padding in a segment.
    case paddedBase64

    /// Why EdgeAuth decides as it does (mirrored in docs/differential-testing.md).
    var reason: String {
        switch self {
        case .expiryBoundary:
            "RFC 7519 §4.1.4: the token must not be accepted on or after exp; EdgeAuth rejects when now - leeway >= exp, joserfc only when exp < now - leeway."
        case .numericDateOutOfRange:
            "RFC 7519 §2: a NumericDate is a non-negative number of seconds; EdgeAuth accepts 0...253402300799 and no booleans (Python's bool is an int)."
        case .duplicateMember:
            "RFC 7515 §5.2 / RFC 7519 §4: duplicate names make a token ambiguous; EdgeAuth rejects, Python's json keeps the last."
        case .unpairedSurrogate:
            "RFC 8259 §8.2: an unpaired surrogate is not a Unicode string; EdgeAuth rejects, Python decodes it."
        case .jsonLimits:
            "TokenLimits bounds the work per untrusted token (depth 16, 256 members); joserfc has no such limits."
        case .byteOrderMark:
            "RFC 8259 §8.1: a BOM is not part of JSON text; EdgeAuth rejects, Python's json.loads(bytes) skips it."
        case .issuerNotString:
            "RFC 7519 §4.1.1: iss is a single StringOrURI; joserfc accepts a list containing the issuer."
        case .audienceNotStrings:
            "RFC 7519 §4.1.3: aud is a string or an array of strings; joserfc ignores non-string members."
        case .paddedBase64:
            "RFC 7515 §2: base64url without padding; joserfc accepts segments with correct '=' padding."
        }
    }

    static func classify(
        token: String, pythonAccepts: Bool, reason: Reason?, features: TokenFeatures, now: Int64, leeway: Int64
    ) -> DeliberateDifference? {
        // EdgeAuth never accepts what joserfc rejects.
        guard let reason else { return nil }
        guard pythonAccepts else { return nil }  // both reject: not a difference
        switch reason {
        case .expired(let expiredAt, let at) where expiredAt == at - leeway:
            return .expiryBoundary
        case .invalidClaim(let name) where ["exp", "nbf", "iat"].contains(name):
            switch payloadClaim(token, name) {
            case .bool?:
                return .numericDateOutOfRange
            case .number(let text)?:
                guard let value = Double(text), value < 0 || value > Double(JSONText.maxNumericDate) else { return nil }
                return .numericDateOutOfRange
            default:
                return nil
            }
        case .invalidClaim("iss"):
            if case .array? = payloadClaim(token, "iss") { return .issuerNotString }
            return nil
        case .invalidClaim("aud"):
            if case .array(let items)? = payloadClaim(token, "aud"), items.contains(where: { $0.stringValue == nil }) {
                return .audienceNotStrings
            }
            return nil
        case .malformed(.duplicateMember):
            return features.duplicateMember ? .duplicateMember : nil
        case .malformed(.invalidUTF8):
            return features.loneSurrogate ? .unpairedSurrogate : nil
        case .malformed(.nestingTooDeep):
            return features.depth > TokenLimits().json.maxDepth ? .jsonLimits : nil
        case .malformed(.tooManyMembers):
            return features.members > TokenLimits().json.maxMembers ? .jsonLimits : nil
        case .malformed(.payloadNotObject), .malformed(.invalidJSON):
            return payloadBytes(token)?.starts(with: [0xEF, 0xBB, 0xBF]) == true ? .byteOrderMark : nil
        case .malformed(.base64Padding):
            return features.padded ? .paddedBase64 : nil
        default:
            return nil
        }
    }

    /// The decoded payload segment of a token (canonical base64url only).
    private static func payloadBytes(_ token: String) -> [UInt8]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        return try? Base64URL.decode(parts[1])
    }

    /// A member of the payload, when the payload is a well-formed JSON object.
    private static func payloadClaim(_ token: String, _ name: String) -> JSONValue? {
        guard let bytes = payloadBytes(token), let payload = try? JSONValue.parse(bytes) else { return nil }
        return payload[name]
    }
}
