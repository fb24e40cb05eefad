import EdgeAuth
import EdgeAuthCore
import Foundation

// A full uncached verification (`Verifier.verify`: parse, key selection, signature,
// claims, identity) of one token N times, with the keys and policy of the
// TokenVerification benchmarks. `verify-instructions.sh` runs it twice under valgrind
// and reports the difference per call, so the whole HS256 path can be counted, not
// only its parse.
//
//   VerifyInstructions TOKEN-FILE N

let arguments = CommandLine.arguments
guard arguments.count == 3, let iterations = Int(arguments[2]) else {
    print("usage: VerifyInstructions TOKEN-FILE N")
    exit(2)
}
let here = URL(fileURLWithPath: arguments[1]).deletingLastPathComponent()
var token = Array(try Data(contentsOf: URL(fileURLWithPath: arguments[1])))
while let last = token.last, last == 10 || last == 13 || last == 32 { token.removeLast() }
let keys = try KeySet(jwksJSON: Data(contentsOf: here.appendingPathComponent("../jwks-with-hmac.json")))
let verifier = Verifier(
    policy: ValidationPolicy(
        issuers: .exactly(["https://edgeauth-bench.us.auth0.com/", "https://sso.edgeauth.test/realms/bench"]),
        audiences: .anyOf(["https://api.edgeauth.test"])
    ),
    keys: keys
)
let now: Int64 = 1_764_003_600

@inline(never)
func verify(_ token: [UInt8]) -> Bool {
    verifier.verify(token.span.bytes, now: now).identity != nil
}

var accepted = 0
for _ in 0..<iterations where verify(token) { accepted += 1 }
guard accepted == iterations else {
    print("the token was rejected: it must pass the benchmark policy")
    exit(1)
}
