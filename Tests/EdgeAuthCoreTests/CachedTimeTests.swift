import EdgeAuthCore
import Testing

/// The time checks a cached verdict goes through again when it is served: the clock may
/// have stepped back since the token was verified.
@Suite("Time checks of a cached verdict")
struct CachedTimeTests {
    static let policy = ValidationPolicy(issuers: .any, audiences: .any, leeway: 30)

    static func identity(_ claims: String) throws -> Identity {
        try Identity(standardClaimsOfPayload: Array(#"{"sub":"u","iss":"i","exp":2000000000,"#.utf8) + Array(claims.utf8) + [UInt8(ascii: "}")])
    }

    @Test("nbf and iat ahead of the clock (beyond the leeway) refuse a cached verdict, as a verification would")
    func aheadOfTheClock() throws {
        let now: Int64 = 1_764_000_000
        let notYet = try Self.identity(#""nbf":\#(now + 3600)"#)
        #expect(notYet.notBefore == now + 3600)
        #expect(Self.policy.checkTimes(of: notYet, now: now) == .notYetValid(notBefore: now + 3600, now: now))
        #expect(Self.policy.checkTimes(of: notYet, now: now + 3600) == nil)
        let future = try Self.identity(#""iat":\#(now + 60)"#)
        #expect(Self.policy.checkTimes(of: future, now: now) == .issuedInFuture(issuedAt: now + 60, now: now))
        // Within the leeway both pass.
        #expect(Self.policy.checkTimes(of: try Self.identity(#""nbf":\#(now + 30),"iat":\#(now + 30)"#), now: now) == nil)
    }
}
