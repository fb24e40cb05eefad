import EdgeAuth
import EdgeAuthTesting
import Testing

/// Registered-claim types, NumericDate parsing, time boundaries, issuer,
/// audience and required claims. Every token is correctly signed.
@Suite("Adversarial: claims")
struct AdversarialClaimsTests {
    typealias A = Adversary
    static let now = Adversary.now
    static let issuer = Adversary.issuer
    static let audience = Adversary.audience

    /// A correctly signed token with these raw-JSON claim overrides.
    static func claims(
        _ name: String, _ expected: Expected, _ overrides: [String: String] = [:], removing: Set<String> = [], extra: String = "",
        now: Int64 = Adversary.now, verifier: @escaping @Sendable () -> Verifier = { Adversary.standard }
    ) -> AttackCase {
        AttackCase(name, expected, now: now, verifier: verifier) { A.hs256(payload: A.claims(overrides, removing: removing, extra: extra)) }
    }

    static func exp(_ name: String, _ expected: Expected, _ value: String) -> AttackCase { claims(name, expected, ["exp": value]) }

    static func invalid(_ claim: String) -> Expected { .rejected(.invalidClaim(claim)) }

    static let timeTypeCases: [AttackCase] = [
        exp("exp as a numeric string is invalid", invalid("exp"), #""\#(now + 3600)""#),
        exp("exp as null is invalid", invalid("exp"), "null"),
        exp("exp as true is invalid", invalid("exp"), "true"),
        exp("exp as an array is invalid", invalid("exp"), "[\(now + 3600)]"),
        exp("exp as an object is invalid", invalid("exp"), "{}"),
        exp("a negative exp is invalid", invalid("exp"), "-1"),
        exp("exp of 1e400 is invalid", invalid("exp"), "1e400"),
        exp("exp of -1e400 is invalid", invalid("exp"), "-1e400"),
        exp("exp of Int64.max is invalid", invalid("exp"), "9223372036854775807"),
        exp("exp of Int64.max + 1 is invalid", invalid("exp"), "9223372036854775808"),
        exp("exp of 2^64 is invalid", invalid("exp"), "18446744073709551616"),
        exp("a 23-digit exp is invalid", invalid("exp"), "99999999999999999999999"),
        exp("a 400-digit exp is invalid", invalid("exp"), String(repeating: "9", count: 400)),
        exp("exp with a huge exponent is invalid", invalid("exp"), "1e99999999999999999999"),
        exp("exp one second after 9999-12-31T23:59:59Z is invalid", invalid("exp"), "253402300800"),
        exp("exp of 2.534023008e11 (after year 9999) is invalid", invalid("exp"), "2.534023008e11"),
        exp("exp of -0.5 is invalid", invalid("exp"), "-0.5"),
        claims("nbf as a string is invalid", invalid("nbf"), ["nbf": #""\#(now)""#]),
        claims("nbf as null is invalid", invalid("nbf"), ["nbf": "null"]),
        claims("nbf as false is invalid", invalid("nbf"), ["nbf": "false"]),
        claims("a negative nbf is invalid", invalid("nbf"), ["nbf": "-1"]),
        claims("nbf of 1e400 is invalid", invalid("nbf"), ["nbf": "1e400"]),
        claims("iat as a string is invalid", invalid("iat"), ["iat": #""\#(now)""#]),
        claims("iat as an array is invalid", invalid("iat"), ["iat": "[]"]),
        claims("a negative iat is invalid", invalid("iat"), ["iat": "-5"]),
        claims("iat of 1e400 is invalid", invalid("iat"), ["iat": "1e400"]),
        claims("iat of -1e400 is invalid", invalid("iat"), ["iat": "-1e400"]),
        claims("iat as null is invalid", invalid("iat"), ["iat": "null"]),
        // Not JSON numbers at all: the payload is not JSON.
        exp("exp of NaN makes the payload invalid JSON", .malformed(.invalidJSON), "NaN"),
        exp("exp of Infinity makes the payload invalid JSON", .malformed(.invalidJSON), "Infinity"),
        claims("nbf of NaN makes the payload invalid JSON", .malformed(.invalidJSON), ["nbf": "NaN"]),
        claims("iat of -Infinity makes the payload invalid JSON", .malformed(.invalidJSON), ["iat": "-Infinity"]),
        AttackCase("claim types are checked even when the signature is forged", invalid("exp")) {
            A.sign(A.attackerHMAC, .hs256, header: A.header(), payload: A.claims(["exp": "null"]))
        },
    ]

    @Test("exp, nbf and iat of the wrong type or out of range", arguments: timeTypeCases)
    func timeTypes(_ attack: AttackCase) { attack.run() }

    static let numericCases: [AttackCase] = [
        exp("a fractional exp is floored", .validExpiring(at: now + 3600), "\(now + 3600).75"),
        exp("a fractional exp with 30 decimals is floored", .validExpiring(at: now + 3600), "\(now + 3600).999999999999999999999999999999"),
        exp("exp written 1764003600.0 is accepted", .validExpiring(at: now + 3600), "\(now + 3600).0"),
        exp("exp written 1.7640036e9 is accepted", .validExpiring(at: now + 3600), "1.7640036e9"),
        exp("exp written 17640036e2 is accepted", .validExpiring(at: now + 3600), "17640036e2"),
        exp("exp written 1764003600E0 is accepted", .validExpiring(at: now + 3600), "\(now + 3600)E0"),
        exp("exp written 1764003600e+0 is accepted", .validExpiring(at: now + 3600), "\(now + 3600)e+0"),
        exp("exp written 176400360000e-2 is accepted", .validExpiring(at: now + 3600), "176400360000e-2"),
        exp("exp written 0.17640036E10 is accepted", .validExpiring(at: now + 3600), "0.17640036E10"),
        exp("exp written with 21 leading fraction zeros and e30 is accepted", .validExpiring(at: now + 3600), "0.0000000000000000000001764003600e31"),
        claims(
            "exp written 1.7e9 is read as 1700000000 and accepted before then", .validExpiring(at: 1_700_000_000),
            ["exp": "1.7e9", "iat": "1699990000"], now: 1_699_999_000
        ),
        exp("exp written 1.7e9 is read as 1700000000 and expired now", .rejected(.expired(expiredAt: 1_700_000_000, now: now)), "1.7e9"),
        exp("exp of 0 is expired", .rejected(.expired(expiredAt: 0, now: now)), "0"),
        exp("exp of -0 is zero and expired", .rejected(.expired(expiredAt: 0, now: now)), "-0"),
        exp("exp of -0.0 is zero and expired", .rejected(.expired(expiredAt: 0, now: now)), "-0.0"),
        exp("exp of 0.5 floors to zero and is expired", .rejected(.expired(expiredAt: 0, now: now)), "0.5"),
        exp("exp of 1e-400 is zero and expired", .rejected(.expired(expiredAt: 0, now: now)), "1e-400"),
        exp("exp of 1e-99999999999999999999 is zero and expired", .rejected(.expired(expiredAt: 0, now: now)), "1e-99999999999999999999"),
        exp("exp of 1e9 is expired", .rejected(.expired(expiredAt: 1_000_000_000, now: now)), "1e9"),
        exp("exp of 9999-12-31T23:59:59Z is accepted", .validExpiring(at: 253_402_300_799), "253402300799"),
        exp("exp just under the year-10000 limit is floored and accepted", .validExpiring(at: 253_402_300_799), "253402300799.99"),
        exp("exp of 2.53402300799e11 is accepted", .validExpiring(at: 253_402_300_799), "2.53402300799e11"),
        exp("an expired fractional exp is floored before the comparison", .rejected(.expired(expiredAt: now - 30, now: now)), "\(now - 30).999999"),
        exp("exp of now - 29.0 is accepted", .validExpiring(at: now - 29), "\(now - 29).0"),
        claims("a fractional nbf is rounded up (now + 30.1 is not yet valid)", .rejected(.notYetValid(notBefore: now + 31, now: now)), ["nbf": "\(now + 30).1"]),
        claims("a fractional iat is rounded up (now + 30.1 is in the future)", .rejected(.issuedInFuture(issuedAt: now + 31, now: now)), ["iat": "\(now + 30).1"]),
        claims("a fractional nbf just inside the leeway is accepted", .valid, ["nbf": "\(now + 29).5"]),
    ]

    @Test("NumericDate forms: fractions, exponents, zero and the year-9999 limit", arguments: numericCases)
    func numeric(_ attack: AttackCase) { attack.run() }

    static let noLeeway: @Sendable () -> Verifier = { A.verifier { $0.leeway = 0 } }
    static let maxAge300: @Sendable () -> Verifier = { A.verifier { $0.maxAge = 300 } }

    static let boundaryCases: [AttackCase] = [
        exp("exp = now - 30 is expired with leeway 30", .rejected(.expired(expiredAt: now - 30, now: now)), "\(now - 30)"),
        exp("exp = now - 29 is accepted with leeway 30", .validExpiring(at: now - 29), "\(now - 29)"),
        exp("exp = now - 31 is expired with leeway 30", .rejected(.expired(expiredAt: now - 31, now: now)), "\(now - 31)"),
        exp("exp = now is accepted with leeway 30", .validExpiring(at: now), "\(now)"),
        claims("nbf = now + 30 is accepted with leeway 30", .valid, ["nbf": "\(now + 30)"]),
        claims("nbf = now + 31 is not yet valid with leeway 30", .rejected(.notYetValid(notBefore: now + 31, now: now)), ["nbf": "\(now + 31)"]),
        claims("iat = now + 30 is accepted with leeway 30", .valid, ["iat": "\(now + 30)"]),
        claims("iat = now + 31 is in the future with leeway 30", .rejected(.issuedInFuture(issuedAt: now + 31, now: now)), ["iat": "\(now + 31)"]),
        claims("exp = now is expired with leeway 0", .rejected(.expired(expiredAt: now, now: now)), ["exp": "\(now)"], verifier: noLeeway),
        claims("exp = now + 1 is accepted with leeway 0", .validExpiring(at: now + 1), ["exp": "\(now + 1)"], verifier: noLeeway),
        claims("nbf = now is accepted with leeway 0", .valid, ["nbf": "\(now)"], verifier: noLeeway),
        claims("nbf = now + 1 is not yet valid with leeway 0", .rejected(.notYetValid(notBefore: now + 1, now: now)), ["nbf": "\(now + 1)"], verifier: noLeeway),
        claims("iat = now + 1 is in the future with leeway 0", .rejected(.issuedInFuture(issuedAt: now + 1, now: now)), ["iat": "\(now + 1)"], verifier: noLeeway),
        claims("a missing exp is refused by default", .rejected(.missingClaim("exp")), removing: ["exp"]),
        claims("a missing exp is accepted when expiration is not required", .valid, removing: ["exp"], verifier: {
            A.verifier { $0.requireExpiration = false }
        }),
        claims("an expired exp is still refused when expiration is not required", .rejected(.expired(expiredAt: now - 3600, now: now)), ["exp": "\(now - 3600)"], verifier: {
            A.verifier { $0.requireExpiration = false }
        }),
        claims("iat = now - 330 is within maxAge 300 plus leeway", .valid, ["iat": "\(now - 330)"], verifier: maxAge300),
        claims("iat = now - 331 is older than maxAge 300 plus leeway", .rejected(.tooOld(issuedAt: now - 331, maxAge: 300)), ["iat": "\(now - 331)"], verifier: maxAge300),
        claims("a missing iat is refused when maxAge is set", .rejected(.missingClaim("iat")), removing: ["iat"], verifier: maxAge300),
        claims("iat = 0 is far older than maxAge", .rejected(.tooOld(issuedAt: 0, maxAge: 300)), ["iat": "0"], verifier: maxAge300),
        claims("exp spelled \\u0065xp is still checked", .rejected(.expired(expiredAt: now - 3600, now: now)), removing: ["exp"], extra: #""\u0065xp":\#(now - 3600)"#),
        claims("exp spelled e\\u0078p is still checked", .rejected(.expired(expiredAt: now - 3600, now: now)), removing: ["exp"], extra: #""e\u0078p":\#(now - 3600)"#),
        claims("nbf spelled \\u006ebf is still checked", .rejected(.notYetValid(notBefore: now + 3600, now: now)), extra: #""\u006ebf":\#(now + 3600)"#),
        claims("iat spelled \\u0069at is still checked", .rejected(.issuedInFuture(issuedAt: now + 3600, now: now)), removing: ["iat"], extra: #""\u0069at":\#(now + 3600)"#),
        claims("an escaped exp of the wrong type is invalid", invalid("exp"), removing: ["exp"], extra: #""\u0065\u0078\u0070":"never""#),
        claims("exp inside a nested object is not the token's exp", .rejected(.missingClaim("exp")), removing: ["exp"], extra: #""ctx":{"exp":\#(now + 3600)}"#),
        claims("a token that is both expired and from the wrong issuer is reported expired", .rejected(.expired(expiredAt: now - 3600, now: now)), [
            "exp": "\(now - 3600)", "iss": #""https://attacker.example/""#,
        ]),
        AttackCase("a forged signature is reported before expiry", .rejected(.badSignature)) {
            A.sign(A.attackerHMAC, .hs256, header: A.header(), payload: A.claims(["exp": "\(now - 3600)"]))
        },
    ]

    @Test("time boundaries, leeway, maxAge and escaped claim names", arguments: boundaryCases)
    func boundaries(_ attack: AttackCase) { attack.run() }

    static func wrongIssuer(_ got: String?) -> Expected { .rejected(.wrongIssuer(expected: [issuer], got: got)) }

    static let issuerCases: [AttackCase] = [
        claims("an issuer without the trailing slash is wrong", wrongIssuer("https://issuer.example"), ["iss": #""https://issuer.example""#]),
        claims("an issuer with a doubled trailing slash is wrong", wrongIssuer("https://issuer.example//"), ["iss": #""https://issuer.example//""#]),
        claims("an issuer in upper case is wrong", wrongIssuer("HTTPS://ISSUER.EXAMPLE/"), ["iss": #""HTTPS://ISSUER.EXAMPLE/""#]),
        claims("an issuer with a Cyrillic look-alike letter is wrong", wrongIssuer("https://іssuer.example/"), ["iss": #""https://іssuer.example/""#]),
        claims("an issuer with a trailing escaped NUL is wrong", wrongIssuer("https://issuer.example/\u{0}"), ["iss": #""https://issuer.example/\u0000""#]),
        claims("an issuer with a leading space is wrong", wrongIssuer(" https://issuer.example/"), ["iss": #"" https://issuer.example/""#]),
        claims("an issuer with a port is wrong", wrongIssuer("https://issuer.example:443/"), ["iss": #""https://issuer.example:443/""#]),
        claims("an empty issuer is wrong", wrongIssuer(""), ["iss": #""""#]),
        claims("a missing issuer is wrong", wrongIssuer(nil), removing: ["iss"]),
        claims("an issuer spelled with escaped solidi is the configured one", .valid, ["iss": #""https:\/\/issuer.example\/""#]),
        claims("an issuer spelled with \\u escapes is the configured one", .valid, ["iss": #""\u0068ttps://issuer\u002eexample/""#]),
        claims("iss spelled \\u0069ss is still checked", wrongIssuer("https://attacker.example/"), removing: ["iss"], extra: #""\u0069ss":"https://attacker.example/""#),
        claims(
            "a decomposed é does not match a configured precomposed é", .rejected(.wrongIssuer(expected: ["https://issu\u{E9}r.example/"], got: "https://issue\u{301}r.example/")),
            ["iss": #""https://issue\u0301r.example/""#],
            verifier: { A.verifier { $0.issuers = .exactly(["https://issu\u{E9}r.example/"]) } }
        ),
        claims("any issuer, even none, is accepted with IssuerRule.any", .valid, removing: ["iss"], verifier: { A.verifier { $0.issuers = .any } }),
        claims("iss as a number is invalid", invalid("iss"), ["iss": "1"]),
        claims("iss as an array is invalid", invalid("iss"), ["iss": #"["\#(issuer)"]"#]),
        claims("iss as null is invalid", invalid("iss"), ["iss": "null"]),
        claims("iss as an object is invalid", invalid("iss"), ["iss": "{}"]),
    ]

    @Test("issuer", arguments: issuerCases)
    func issuerCheck(_ attack: AttackCase) { attack.run() }

    static func wrongAudience(_ got: [String]) -> Expected { .rejected(.wrongAudience(expected: [audience], got: got)) }

    static let audienceCases: [AttackCase] = [
        claims("an audience string that matches is accepted", .valid, ["aud": #""\#(audience)""#]),
        claims("an audience array containing the audience is accepted", .valid, ["aud": #"["https://other.example","\#(audience)"]"#]),
        claims("an escaped audience equal to the configured one is accepted", .valid, ["aud": #""https:\/\/api.example""#]),
        claims(
            "an audience array without a match is wrong", wrongAudience(["https://other.example", "https://api.example/"]),
            ["aud": #"["https://other.example","https://api.example/"]"#]
        ),
        claims("an empty audience array is wrong", wrongAudience([]), ["aud": "[]"]),
        claims("a missing audience is wrong", wrongAudience([]), removing: ["aud"]),
        claims("an empty audience string is wrong", wrongAudience([""]), ["aud": #""""#]),
        claims("an audience with a trailing slash is wrong", wrongAudience(["https://api.example/"]), ["aud": #""https://api.example/""#]),
        claims("an audience in upper case is wrong", wrongAudience(["HTTPS://API.EXAMPLE"]), ["aud": #""HTTPS://API.EXAMPLE""#]),
        claims("an audience prefix match is wrong", wrongAudience(["https://api.example.attacker.example"]), ["aud": #""https://api.example.attacker.example""#]),
        claims("an audience array with a number is invalid", invalid("aud"), ["aud": #"[1,"\#(audience)"]"#]),
        claims("an audience array with null after the match is invalid", invalid("aud"), ["aud": #"["\#(audience)",null]"#]),
        claims("a nested audience array is invalid", invalid("aud"), ["aud": #"[["\#(audience)"]]"#]),
        claims("an audience number is invalid", invalid("aud"), ["aud": "1"]),
        claims("an audience null is invalid", invalid("aud"), ["aud": "null"]),
        claims("an audience object is invalid", invalid("aud"), ["aud": #"{"aud":"\#(audience)"}"#]),
        claims("aud spelled \\u0061ud is still checked", wrongAudience(["https://other.example"]), removing: ["aud"], extra: #""\u0061ud":"https://other.example""#),
        claims("any audience is accepted with AudienceRule.any", .valid, removing: ["aud"], verifier: { A.verifier { $0.audiences = .any } }),
        claims("a wrong issuer is reported before a wrong audience", wrongIssuer("https://attacker.example/"), [
            "iss": #""https://attacker.example/""#, "aud": #""https://other.example""#,
        ]),
    ]

    @Test("audience", arguments: audienceCases)
    func audienceCheck(_ attack: AttackCase) { attack.run() }

    static let requireTenant: @Sendable () -> Verifier = { A.verifier { $0.requiredClaims = ["tenant"] } }

    static let otherCases: [AttackCase] = [
        claims("sub as a number is invalid", invalid("sub"), ["sub": "123"]),
        claims("sub as null is invalid", invalid("sub"), ["sub": "null"]),
        claims("scope as an array is invalid", invalid("scope"), ["scope": #"["read","write"]"#]),
        claims("scope as a number is invalid", invalid("scope"), ["scope": "1"]),
        claims("jti as a number is invalid", invalid("jti"), ["jti": "42"]),
        claims("client_id as an object is invalid", invalid("client_id"), ["client_id": "{}"]),
        claims("azp as a boolean is invalid", invalid("azp"), ["azp": "true"]),
        claims("scope spelled sc\\u006fpe with the wrong type is invalid", invalid("scope"), extra: #""sc\u006fpe":1"#),
        claims("a required custom claim that is missing is reported", .rejected(.missingClaim("tenant")), verifier: requireTenant),
        claims("a required custom claim that is present is accepted", .valid, ["tenant": #""acme""#], verifier: requireTenant),
        claims("a required claim spelled with escapes is present", .valid, extra: #""\u0074enant":"acme""#, verifier: requireTenant),
        claims("a required claim present with a null value is present", .valid, ["tenant": "null"], verifier: requireTenant),
        claims("a required claim only inside a nested object is missing", .rejected(.missingClaim("tenant")), ["ctx": #"{"tenant":"acme"}"#], verifier: requireTenant),
        claims("a required claim differing in case is missing", .rejected(.missingClaim("tenant")), ["Tenant": #""acme""#], verifier: requireTenant),
        claims("a required registered claim (sub) that is missing is reported", .rejected(.missingClaim("sub")), removing: ["sub"], verifier: {
            A.verifier { $0.requiredClaims = ["sub"] }
        }),
        claims("a wrong audience is reported before a missing required claim", wrongAudience(["https://other.example"]), ["aud": #""https://other.example""#], verifier: requireTenant),
    ]

    @Test("other registered claims and required claims", arguments: otherCases)
    func other(_ attack: AttackCase) { attack.run() }
}
