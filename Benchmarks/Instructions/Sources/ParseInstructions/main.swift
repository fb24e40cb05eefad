import EdgeAuthCore

#if canImport(Glibc)
import Glibc
#endif

// Runs `TokenView.parse` + `checkHeader` + `checkClaims` (and, with `identity`, the
// standard identity mapping) on one token N times, with nothing else in the process:
// no Foundation, no Dispatch, so that valgrind can count its instructions exactly.
// `instructions.sh` runs it twice and reports the difference per call.
//
//   ParseInstructions TOKEN-FILE N [identity]

let arguments = CommandLine.arguments
guard arguments.count >= 3, let iterations = Int(arguments[2]), let file = fopen(arguments[1], "r") else {
    print("usage: ParseInstructions TOKEN-FILE N [identity]")
    exit(2)
}
var buffer = [UInt8](repeating: 0, count: 64 * 1024)
let length = fread(&buffer, 1, buffer.count, file)
fclose(file)
var token = Array(buffer[0..<length])
while let last = token.last, last == 10 || last == 13 || last == 32 { token.removeLast() }

// The policy of the TokenVerification benchmarks (BenchData): both issuers, one audience.
let policy = ValidationPolicy(
    issuers: .exactly(["https://edgeauth-bench.us.auth0.com/", "https://sso.edgeauth.test/realms/bench"]),
    audiences: .anyOf(["https://api.edgeauth.test"])
)
let now: Int64 = 1_764_003_600

@inline(never)
func parseAndCheck(_ token: [UInt8]) -> Bool {
    token.withUnsafeBytes { raw in
        TokenView.parse(raw, limits: policy.limits) { result -> Bool in
            guard case .success(let view) = result else { return false }
            return policy.checkHeader(view) == nil && policy.checkClaims(view, now: now) == nil
        }
    }
}

@inline(never)
func parseCheckAndMap(_ token: [UInt8]) -> Identity? {
    token.withUnsafeBytes { raw in
        TokenView.parse(raw, limits: policy.limits) { result -> Identity? in
            guard case .success(let view) = result, policy.checkHeader(view) == nil,
                  policy.checkClaims(view, now: now) == nil
            else { return nil }
            return Identity(standardClaimsOf: view)
        }
    }
}

let mapping = arguments.count > 3 && arguments[3] == "identity"
var accepted = 0
for _ in 0..<iterations {
    if mapping ? parseCheckAndMap(token) != nil : parseAndCheck(token) { accepted += 1 }
}
guard accepted == iterations else {
    print("the token was rejected: it must pass the benchmark policy")
    exit(1)
}
