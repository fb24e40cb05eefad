import EdgeAuth
import EdgeAuthTesting
import Testing

/// The JOSE header: `alg`, `crit`, `b64`, registered parameter types, `typ`
/// and the policy's algorithm list. Tokens are signed with the configured HMAC
/// key over the given header, so only the header rules can reject them.
@Suite("Adversarial: JOSE header")
struct AdversarialHeaderTests {
    typealias A = Adversary

    static func header(
        _ name: String, _ expected: Expected, _ header: String,
        verifier: @escaping @Sendable () -> Verifier = { Adversary.standard }
    ) -> AttackCase {
        AttackCase(name, expected, verifier: verifier) { A.hs256(header: header) }
    }

    static let algCases: [AttackCase] = [
        header("a header without alg is refused", .malformed(.missingAlgorithm), #"{"typ":"JWT","kid":"hmac-1"}"#),
        header("an empty header object is refused", .malformed(.missingAlgorithm), "{}"),
        header("alg as a number is refused", .malformed(.missingAlgorithm), #"{"alg":256,"kid":"hmac-1"}"#),
        header("alg as null is refused", .malformed(.missingAlgorithm), #"{"alg":null,"kid":"hmac-1"}"#),
        header("alg as a boolean is refused", .malformed(.missingAlgorithm), #"{"alg":true,"kid":"hmac-1"}"#),
        header("alg as an array is refused", .malformed(.missingAlgorithm), #"{"alg":["HS256"],"kid":"hmac-1"}"#),
        header("alg as an object is refused", .malformed(.missingAlgorithm), #"{"alg":{"name":"HS256"},"kid":"hmac-1"}"#),
        header("alg none is unsecured", .rejected(.unsecured), #"{"alg":"none"}"#),
        header("alg None is unsecured", .rejected(.unsecured), #"{"alg":"None"}"#),
        header("alg NONE is unsecured", .rejected(.unsecured), #"{"alg":"NONE"}"#),
        header("alg nOnE is unsecured", .rejected(.unsecured), #"{"alg":"nOnE"}"#),
        header("alg none spelled n\\u006fne is unsecured", .rejected(.unsecured), #"{"alg":"n\u006fne","kid":"hmac-1"}"#),
        header("alg none with a kid of a configured key is unsecured", .rejected(.unsecured), #"{"alg":"none","kid":"hmac-1"}"#),
        AttackCase("alg none with an empty signature (the classic forgery) is unsecured", .rejected(.unsecured)) {
            A.b64(#"{"alg":"none"}"#) + "." + A.b64(A.claims()) + "."
        },
        header("alg \"none \" with a trailing space is unsupported", .rejected(.unsupportedAlgorithm("none ")), #"{"alg":"none "}"#),
        header("alg \"none\\u0000\" with an escaped NUL is unsupported", .rejected(.unsupportedAlgorithm("none\u{0}")), #"{"alg":"none\u0000"}"#),
        header("alg \"nonf\" one bit from none is unsupported", .rejected(.unsupportedAlgorithm("nonf")), #"{"alg":"nonf"}"#),
        header("alg \"n@ne\" (the case bit of a non-letter) is unsupported", .rejected(.unsupportedAlgorithm("n@ne")), #"{"alg":"n@ne"}"#),
        header("alg HS1 is unsupported", .rejected(.unsupportedAlgorithm("HS1")), #"{"alg":"HS1"}"#),
        header("alg RS1 is unsupported", .rejected(.unsupportedAlgorithm("RS1")), #"{"alg":"RS1"}"#),
        header("alg ES256K is unsupported", .rejected(.unsupportedAlgorithm("ES256K")), #"{"alg":"ES256K"}"#),
        header("alg hs256 in lowercase is unsupported", .rejected(.unsupportedAlgorithm("hs256")), #"{"alg":"hs256"}"#),
        header("alg eddsa in lowercase is unsupported", .rejected(.unsupportedAlgorithm("eddsa")), #"{"alg":"eddsa"}"#),
        header("alg Ed25519 is unsupported", .rejected(.unsupportedAlgorithm("Ed25519")), #"{"alg":"Ed25519"}"#),
        header("alg \"HS256 \" with a trailing space is unsupported", .rejected(.unsupportedAlgorithm("HS256 ")), #"{"alg":"HS256 "}"#),
        header("an empty alg is unsupported", .rejected(.unsupportedAlgorithm("")), #"{"alg":""}"#),
        header("alg HS2560 is unsupported", .rejected(.unsupportedAlgorithm("HS2560")), #"{"alg":"HS2560"}"#),
        header("the JWE alg RSA-OAEP is unsupported", .rejected(.unsupportedAlgorithm("RSA-OAEP")), #"{"alg":"RSA-OAEP"}"#),
        header("the JWE alg dir is unsupported", .rejected(.unsupportedAlgorithm("dir")), #"{"alg":"dir"}"#),
        header("alg with a Cyrillic look-alike letter is unsupported", .rejected(.unsupportedAlgorithm("НS256")), #"{"alg":"НS256"}"#),
        header("alg HS256 followed by an escaped NUL is unsupported", .rejected(.unsupportedAlgorithm("HS256\u{0}")), #"{"alg":"HS256\u0000","kid":"hmac-1"}"#),
        AttackCase("alg ES256 followed by three escaped NULs is unsupported", .rejected(.unsupportedAlgorithm("ES256\u{0}\u{0}\u{0}"))) {
            A.sign(A.ec256, .es256, header: #"{"alg":"ES256\u0000\u0000\u0000","kid":"ec-256"}"#, payload: A.claims())
        },
        header("alg HS256 spelled with escapes is HS256", .valid, #"{"alg":"\u0048\u0053256","kid":"hmac-1"}"#),
    ]

    @Test("alg: missing, mistyped, none, unknown", arguments: algCases)
    func alg(_ attack: AttackCase) { attack.run() }

    static let extensionCases: [AttackCase] = [
        header("crit naming a registered claim is unsupported", .rejected(.unsupportedCritical("exp")), A.header(extra: #""crit":["exp"],"exp":1"#)),
        header("crit naming b64 is unsupported", .rejected(.unsupportedCritical("b64")), A.header(extra: #""crit":["b64"],"b64":true"#)),
        header("crit with several names reports the first", .rejected(.unsupportedCritical("https://example.com/ext")), A.header(extra: #""crit":["https://example.com/ext","exp"]"#)),
        header("crit naming an absent parameter is unsupported", .rejected(.unsupportedCritical("x")), A.header(extra: #""crit":["x"]"#)),
        header("an empty crit array is refused", .malformed(.headerParameterType), A.header(extra: #""crit":[]"#)),
        header("crit as a string is refused", .malformed(.headerParameterType), A.header(extra: #""crit":"exp""#)),
        header("crit with a number element is refused", .malformed(.headerParameterType), A.header(extra: #""crit":[1]"#)),
        header("crit with a string then a number is refused", .malformed(.headerParameterType), A.header(extra: #""crit":["exp",1]"#)),
        header("crit as null is refused", .malformed(.headerParameterType), A.header(extra: #""crit":null"#)),
        header("crit as an object is refused", .malformed(.headerParameterType), A.header(extra: #""crit":{}"#)),
        header("crit does not rescue alg none", .rejected(.unsecured), #"{"alg":"none","crit":["exp"]}"#),
        header("b64 false (unencoded payload) is refused", .malformed(.unencodedPayload), A.header(extra: #""b64":false"#)),
        header("b64 false listed in crit is refused", .malformed(.unencodedPayload), A.header(extra: #""b64":false,"crit":["b64"]"#)),
        header("b64 true without crit is the default and accepted", .valid, A.header(extra: #""b64":true"#)),
        header("b64 as the string \"false\" is refused", .malformed(.headerParameterType), A.header(extra: #""b64":"false""#)),
        header("b64 as 0 is refused", .malformed(.headerParameterType), A.header(extra: #""b64":0"#)),
        header("b64 as null is refused", .malformed(.headerParameterType), A.header(extra: #""b64":null"#)),
        header("alg none with b64 false is still unsecured", .rejected(.unsecured), #"{"alg":"none","b64":false}"#),
    ]

    @Test("crit and b64", arguments: extensionCases)
    func extensions(_ attack: AttackCase) { attack.run() }

    static let parameterCases: [AttackCase] = [
        header("kid as a number is refused", .malformed(.headerParameterType), #"{"alg":"HS256","kid":1}"#),
        header("kid as null is refused", .malformed(.headerParameterType), #"{"alg":"HS256","kid":null}"#),
        header("kid as an array is refused", .malformed(.headerParameterType), #"{"alg":"HS256","kid":["hmac-1"]}"#),
        header("kid as an object is refused", .malformed(.headerParameterType), #"{"alg":"HS256","kid":{"id":"hmac-1"}}"#),
        header("kid as a boolean is refused", .malformed(.headerParameterType), #"{"alg":"HS256","kid":true}"#),
        header("typ as a number is refused", .malformed(.headerParameterType), #"{"alg":"HS256","kid":"hmac-1","typ":1}"#),
        header("typ as null is refused", .malformed(.headerParameterType), #"{"alg":"HS256","kid":"hmac-1","typ":null}"#),
        header("typ as an array is refused", .malformed(.headerParameterType), #"{"alg":"HS256","kid":"hmac-1","typ":["at+jwt"]}"#),
        header("unknown header parameters are ignored", .valid, A.header(extra: #""cty":"JWT","x5t":"abc","foo":{"bar":[1,2]}"#)),
        header("any typ is accepted when no type is required", .valid, #"{"alg":"HS256","kid":"hmac-1","typ":"anything/at-all"}"#),
    ]

    static let escapedNameCases: [AttackCase] = [
        header("alg spelled \\u0061lg is read as alg (none)", .rejected(.unsecured), #"{"\u0061lg":"none"}"#),
        header("alg spelled \\u0061lg is read as alg (HS256)", .valid, #"{"\u0061lg":"HS256","kid":"hmac-1"}"#),
        header("crit spelled \\u0063rit is read as crit", .rejected(.unsupportedCritical("exp")), A.header(extra: #""\u0063rit":["exp"]"#)),
        header("b64 spelled b\\u0036\\u0034 is read as b64", .malformed(.unencodedPayload), A.header(extra: #""b\u0036\u0034":false"#)),
        header("kid spelled \\u006bid with a number is a type error", .malformed(.headerParameterType), #"{"alg":"HS256","\u006bid":7}"#),
        AttackCase("kid spelled \\u006bid selects the key it names", .rejected(.keyAlgorithmMismatch(kid: "rsa-1", algorithm: "HS256"))) {
            A.sign(A.attackerHMAC, .hs256, header: #"{"alg":"HS256","\u006bid":"rsa-1"}"#, payload: A.claims())
        },
        header("typ spelled t\\u0079p is read as typ", wrongType("JWT"), #"{"alg":"HS256","kid":"hmac-1","t\u0079p":"JWT"}"#, verifier: atJWT),
    ]

    @Test("registered header parameters spelled with escapes", arguments: escapedNameCases)
    func escapedNames(_ attack: AttackCase) { attack.run() }

    @Test("registered header parameter types", arguments: parameterCases)
    func parameters(_ attack: AttackCase) { attack.run() }

    static let atJWT: @Sendable () -> Verifier = { A.verifier { $0.requiredType = "at+jwt" } }

    static func typ(_ name: String, _ expected: Expected, _ typ: String?) -> AttackCase {
        let header = typ.map { #"{"alg":"HS256","kid":"hmac-1","typ":"\#($0)"}"# } ?? #"{"alg":"HS256","kid":"hmac-1"}"#
        return Self.header(name, expected, header, verifier: atJWT)
    }

    static func wrongType(_ got: String?) -> Expected { .rejected(.wrongType(expected: "at+jwt", got: got)) }

    static let typCases: [AttackCase] = [
        typ("typ at+jwt is accepted", .valid, "at+jwt"),
        typ("typ AT+JWT is accepted (case-insensitive)", .valid, "AT+JWT"),
        typ("typ application/at+jwt is accepted", .valid, "application/at+jwt"),
        typ("typ Application/AT+JWT is accepted", .valid, "Application/AT+JWT"),
        typ("typ at+jw\\u0074 is at+jwt", .valid, #"at+jw\u0074"#),
        typ("typ JWT is the wrong type", wrongType("JWT"), "JWT"),
        typ("a missing typ is the wrong type", wrongType(nil), nil),
        typ("an empty typ is the wrong type", wrongType(""), ""),
        typ("typ application/jwt is the wrong type", wrongType("application/jwt"), "application/jwt"),
        typ("typ with a trailing space is the wrong type", wrongType("at+jwt "), "at+jwt "),
        typ("typ with a trailing escaped NUL is the wrong type", wrongType("at+jwt\u{0}"), #"at+jwt\u0000"#),
        typ("typ with a doubled application/ prefix is the wrong type", wrongType("application/application/at+jwt"), "application/application/at+jwt"),
        typ("typ with a misspelled prefix is the wrong type", wrongType("applicatiom/at+jwt"), "applicatiom/at+jwt"),
        typ("typ jwt+at is the wrong type", wrongType("jwt+at"), "jwt+at"),
        typ("a 40-character typ is the wrong type", wrongType(String(repeating: "at+jwt", count: 6) + "at+j"), String(repeating: "at+jwt", count: 6) + "at+j"),
    ]

    @Test("typ when at+jwt is required", arguments: typCases)
    func requiredType(_ attack: AttackCase) { attack.run() }

    static let policyCases: [AttackCase] = [
        AttackCase("HS256 is refused by an asymmetric-only policy", .rejected(.algorithmNotAllowed("HS256")), verifier: { A.verifier { $0.algorithms = .asymmetric } }) {
            A.validToken
        },
        AttackCase("PS256 is refused when only RS256 is allowed", .rejected(.algorithmNotAllowed("PS256")), verifier: { A.verifier { $0.algorithms = AlgorithmSet([.rs256]) } }) {
            A.signed(by: A.rsa, .ps256)
        },
        AttackCase("RS256 is accepted when only RS256 is allowed", .valid, verifier: { A.verifier { $0.algorithms = AlgorithmSet([.rs256]) } }) {
            A.signed(by: A.rsa, .rs256)
        },
        AttackCase("ES256 is refused by an HMAC-only policy", .rejected(.algorithmNotAllowed("ES256")), verifier: { A.verifier { $0.algorithms = .hmac } }) {
            A.signed(by: A.ec256, .es256)
        },
        AttackCase("EdDSA is refused when only ES256 is allowed", .rejected(.algorithmNotAllowed("EdDSA")), verifier: { A.verifier { $0.algorithms = AlgorithmSet([.es256]) } }) {
            A.signed(by: A.ed25519, .edDSA)
        },
        AttackCase("every algorithm is refused by an empty allow-list", .rejected(.algorithmNotAllowed("HS256")), verifier: { A.verifier { $0.algorithms = AlgorithmSet([]) } }) {
            A.validToken
        },
        AttackCase("the allow-list is checked before typ", .rejected(.algorithmNotAllowed("HS256")), verifier: {
            A.verifier {
                $0.algorithms = .asymmetric
                $0.requiredType = "at+jwt"
            }
        }) { A.validToken },
        AttackCase("the allow-list is checked before the signature", .rejected(.algorithmNotAllowed("HS256")), verifier: { A.verifier { $0.algorithms = .asymmetric } }) {
            A.signed(by: A.attackerHMAC, .hs256)
        },
    ]

    @Test("the policy's algorithm allow-list", arguments: policyCases)
    func policy(_ attack: AttackCase) { attack.run() }
}
