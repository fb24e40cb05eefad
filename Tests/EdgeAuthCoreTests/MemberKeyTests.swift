@testable import EdgeAuthCore
import Testing

@Suite("Member name keys")
struct MemberKeyTests {
    /// A name's bytes, little-endian, as the scanner builds its key.
    func key(_ name: String) -> NameKey {
        name.utf8.enumerated().reduce(0) { $0 | NameKey($1.element) << (8 * NameKey($1.offset)) }
    }

    @Test("every constant is the key of its name")
    func constants() {
        let expected: [(NameKey, String)] = [
            (MemberKey.alg, "alg"), (MemberKey.kid, "kid"), (MemberKey.typ, "typ"), (MemberKey.crit, "crit"),
            (MemberKey.b64, "b64"), (MemberKey.iss, "iss"), (MemberKey.sub, "sub"), (MemberKey.aud, "aud"),
            (MemberKey.exp, "exp"), (MemberKey.iat, "iat"), (MemberKey.nbf, "nbf"), (MemberKey.jti, "jti"),
            (MemberKey.scope, "scope"), (MemberKey.azp, "azp"), (MemberKey.scp, "scp"), (MemberKey.email, "email"),
            (MemberKey.name, "name"), (MemberKey.picture, "picture"), (MemberKey.roles, "roles"), (MemberKey.orgID, "org_id"),
        ]
        for (constant, name) in expected {
            #expect(constant == key(name), "\(name)")
        }
    }

    /// The registered claims of a payload, parsed as a token with an RS256 header.
    func claims(_ payload: String, header: String = #"{"alg":"RS256","kid":"k"}"#) -> (RegisteredClaims, String?)? {
        let token = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "."
            + Base64URL.encode([UInt8](repeating: 1, count: 256))
        return Array(token.utf8).withUnsafeBytes { raw in
            TokenView.parse(raw) { result in
                guard case .success(let view) = result else { return nil }
                return (view.claims, view.kidString)
            }
        }
    }

    @Test("claims are found whether the scanner keys their names or compares their bytes")
    func everyPosition() throws {
        // Names right at the end of a short document are too close to it for an 8-byte load.
        let short = try #require(claims(#"{"exp":1}"#))
        #expect(short.0.exp == 1)
        let end = try #require(claims(#"{"sub":"s","iss":"i","aud":"a","exp":2}"#))
        #expect(end.0.exp == 2 && end.0.iss != nil && end.0.sub != nil && end.0.aud != nil)
        let escaped = try #require(claims(#"{"\u0065xp":3,"na\u006de":"n","long-claim-name":1,"client_id":"c","permissions":["p"],"preferred_username":"u"}"#))
        #expect(escaped.0.exp == 3 && escaped.0.name != nil && escaped.0.clientID != nil && escaped.0.permissions != nil && escaped.0.preferredUsername != nil)
        // Names that share a key's bytes with a claim but are longer are not that claim.
        let longer = try #require(claims(#"{"expiry":5,"exp":4,"issuer":"x"}"#))
        #expect(longer.0.exp == 4 && longer.0.iss == nil)
        let header = try #require(claims(#"{"exp":1}"#, header: #"{"kid":"abc","alg":"RS256"}"#))
        #expect(header.1 == "abc")
        let escapedHeader = try #require(claims(#"{"exp":1}"#, header: #"{"\u006bid":"xyz","alg":"RS256"}"#))
        #expect(escapedHeader.1 == "xyz")
    }

    @Test("a header parameter of the wrong type is refused wherever it is")
    func headerTypes() {
        for header in [#"{"alg":"RS256","kid":1}"#, #"{"kid":[],"alg":"RS256"}"#, #"{"alg":"RS256","typ":null}"#, #"{"b64":"no","alg":"RS256"}"#] {
            let token = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(#"{"exp":1}"#.utf8)) + "."
                + Base64URL.encode([UInt8](repeating: 1, count: 256))
            let reason: Reason? = Array(token.utf8).withUnsafeBytes { raw in
                TokenView.parse(raw) { result in
                    if case .failure(let reason) = result { return reason }
                    return nil
                }
            }
            #expect(reason == .malformed(.headerParameterType), "\(header)")
        }
    }
}
