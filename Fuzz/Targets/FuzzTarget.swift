/// A parser of untrusted input driven by arbitrary bytes: by libFuzzer (`make fuzz`, the
/// Driver) and by the smoke test of `make test` (Smoke). `run` returns for any input; a
/// crash, a leak, a time-out or a `PropertyViolation` is a finding.
struct FuzzTarget: Sendable {
    let name: String
    let run: @Sendable (UnsafeRawBufferPointer) throws -> Void

    static let all: [FuzzTarget] = [
        TokenTargets.token, TokenTargets.json, TokenTargets.base64url, TokenTargets.jwk, TokenTargets.jwks,
        HTTPTargets.request, HTTPTargets.authorization, UpstreamAnswerTargets.answer,
        OAuthTargets.form, OAuthTargets.clientRegistration, OAuthTargets.clientMetadata, OAuthTargets.redirectURI,
        ConfigurationTargets.json, ConfigurationTargets.yaml,
    ]
}

/// A property an input broke, beyond not crashing.
struct PropertyViolation: Error, CustomStringConvertible {
    let description: String
}

func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) throws {
    guard !condition() else { return }
    throw PropertyViolation(description: message())
}

extension UnsafeRawBufferPointer {
    var text: String { String(decoding: self, as: UTF8.self) }
}
