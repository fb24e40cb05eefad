internal import CEdgeAuth
import EdgeAuth
import Foundation

// What a server that links the library needs beyond verifying (the nginx module):
// a verifier from the file `edgeauth serve` reads, a verification that never
// blocks, requirements, and the challenge of a refused request.

@c @implementation
public func edgeauth_verifier_new_from_file(
    _ path: UnsafePointer<CChar>?,
    _ verifierOut: UnsafeMutablePointer<OpaquePointer?>?,
    _ errorOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    if let errorOut = unsafe errorOut { unsafe errorOut.pointee = nil }
    guard let verifierOut = unsafe verifierOut else {
        return unsafe fail(EDGEAUTH_ERR_INVALID_ARGUMENT, "verifier_out must not be NULL", errorOut)
    }
    unsafe verifierOut.pointee = nil
    guard let path = unsafe path, let file = unsafe String(validatingCString: path), !file.isEmpty else {
        return unsafe fail(EDGEAUTH_ERR_INVALID_ARGUMENT, "path must be a non-empty UTF-8 file name", errorOut)
    }
    return unsafe makeVerifier(verifierOut, errorOut) { () throws(ConfigurationError) in try VerifierConfiguration.load(file: file) }
}

@c @implementation
public func edgeauth_verify_nonblocking(
    _ verifier: OpaquePointer?, _ token: UnsafePointer<UInt8>?, _ length: Int, _ now: Int64,
    _ verdictOut: UnsafeMutablePointer<Int32>?, _ identityOut: UnsafeMutablePointer<OpaquePointer?>?,
    _ ready: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?, _ context: UnsafeMutableRawPointer?, _ refreshingOut: UnsafeMutablePointer<Bool>?
) -> Int32 {
    guard let verdictOut = unsafe verdictOut else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    if let refreshingOut = unsafe refreshingOut { unsafe refreshingOut.pointee = false }
    let attempt: VerificationAttempt
    switch unsafe checkedAttempt(verifier, token, length, now) {
    case .failure(let status): return status.value
    case .success(let outcome): attempt = outcome
    }
    switch attempt {
    case .verdict(let verdict):
        unsafe store(verdict, verdictOut, identityOut)
    case .needsKeyRefresh(let pending):
        guard let handle = unsafe Handle.verifier(verifier), let bytes = unsafe borrowed(token, length) else { return EDGEAUTH_OK }
        let verifier = handle.verifier
        // Within the cool-down nothing would be fetched: the answer is the token's (`unknownKey`),
        // as edgeauth_verify() gives it, not a wait that would end the same way.
        guard verifier.keyRefreshWouldFetch else {
            unsafe store(pending.verdict, verdictOut, identityOut)
            return EDGEAUTH_OK
        }
        unsafe store(.rejected(.keysUnavailable), verdictOut, identityOut)
        let copy = unsafe Array(bytes)
        let notify = unsafe ready.map { callback in unsafe Notification(callback: callback, context: context) }
        if let refreshingOut = unsafe refreshingOut { unsafe refreshingOut.pointee = true }
        Task.detached {
            _ = await verifier.verifyAfterKeyRefresh(pending, token: copy)
            unsafe notify?.fire()
        }
    }
    return EDGEAUTH_OK
}

/// The C callback and its context, carried to the task that refreshes the keys.
@unsafe private struct Notification: @unchecked Sendable {
    let callback: @convention(c) (UnsafeMutableRawPointer?) -> Void
    let context: UnsafeMutableRawPointer?

    func fire() { unsafe callback(context) }
}

@c @implementation
public func edgeauth_identity_check(
    _ identity: OpaquePointer?, _ requirement: UnsafePointer<UInt8>?, _ length: Int,
    _ resultOut: UnsafeMutablePointer<Int32>?, _ scopesOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    if let scopesOut = unsafe scopesOut { unsafe scopesOut.pointee = nil }
    guard let resultOut = unsafe resultOut, let storage = unsafe Handle.identity(identity), length <= maxRequirementBytes,
          let bytes = unsafe borrowed(requirement, length), let text = unsafe String(validating: bytes, as: UTF8.self),
          let parsed = RequirementWords(text)
    else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    let identity = Identity(storage: storage)
    switch parsed.requirement.evaluate(identity) {
    case .allow:
        unsafe resultOut.pointee = EDGEAUTH_REQUIREMENT_MET
    case .deny(let missing) where !missing.scopes.isEmpty:
        if let scopesOut = unsafe scopesOut {
            guard let copy = unsafe mallocCopy(parsed.requirement.scopesNamed.joined(separator: " ")) else { return EDGEAUTH_ERR_NO_MEMORY }
            unsafe scopesOut.pointee = copy
        }
        unsafe resultOut.pointee = EDGEAUTH_REQUIREMENT_MISSING_SCOPE
    case .deny:
        unsafe resultOut.pointee = EDGEAUTH_REQUIREMENT_FORBIDDEN
    }
    return EDGEAUTH_OK
}

/// The longest requirement text read (a longer one is an invalid argument, never read).
let maxRequirementBytes = 65_536

/// `scope:NAME role:NAME permission:NAME`, separated by spaces: every one needed.
struct RequirementWords {
    let requirement: Requirement

    init?(_ text: String) {
        var parts: [Requirement] = []
        for word in text.split(separator: " ") {
            guard let colon = word.firstIndex(of: ":") else { return nil }
            let name = String(word[word.index(after: colon)...])
            guard !name.isEmpty else { return nil }
            switch word[..<colon] {
            case "scope": parts.append(.scope(name))
            case "role": parts.append(.role(name))
            case "permission": parts.append(.permission(name))
            default: return nil
            }
        }
        requirement = .allOf(parts)
    }
}

@c @implementation
public func edgeauth_challenge(
    _ kind: Int32, _ resourceMetadata: UnsafePointer<CChar>?, _ scopes: UnsafePointer<CChar>?,
    _ challengeOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let challengeOut = unsafe challengeOut else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    unsafe challengeOut.pointee = nil
    guard let metadata = unsafe resourceMetadata.flatMap({ unsafe String(validatingCString: $0) }) else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    var scopeList: [String] = []
    if let scopes = unsafe scopes {
        guard let text = unsafe String(validatingCString: scopes) else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
        scopeList = text.split(separator: " ").map(String.init)
    }
    let challenge: String
    switch kind {
    case EDGEAUTH_CHALLENGE_MISSING_TOKEN:
        challenge = BearerChallenge.text(metadataURL: metadata, scopes: scopeList)
    case EDGEAUTH_CHALLENGE_INSUFFICIENT_SCOPE:
        let description = "the access token lacks the scopes " + scopeList.joined(separator: " ")
        challenge = BearerChallenge.text(error: "insufficient_scope", description: description, metadataURL: metadata, scopes: scopeList)
    default:
        guard kind != EDGEAUTH_VERDICT_VALID, let meaning = BearerChallenge.Meaning(verdictCode: kind) else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
        challenge = BearerChallenge.text(error: "invalid_token", description: BearerChallenge.description(of: meaning), metadataURL: metadata, scopes: scopeList)
    }
    guard let copy = unsafe mallocCopy(challenge) else { return EDGEAUTH_ERR_NO_MEMORY }
    unsafe challengeOut.pointee = copy
    return EDGEAUTH_OK
}

extension BearerChallenge.Meaning {
    /// The meaning of a rejection verdict code; nil for a code the header does not define.
    init?(verdictCode: Int32) {
        guard StaticText.rejections.contains(verdictCode) else { return nil }
        switch verdictCode {
        case EDGEAUTH_VERDICT_EXPIRED: self = .expired
        case EDGEAUTH_VERDICT_NOT_YET_VALID, EDGEAUTH_VERDICT_ISSUED_IN_FUTURE: self = .notYetValid
        case EDGEAUTH_VERDICT_WRONG_AUDIENCE: self = .wrongAudience
        case EDGEAUTH_VERDICT_WRONG_ISSUER: self = .wrongIssuer
        case EDGEAUTH_VERDICT_REVOKED: self = .revoked
        case EDGEAUTH_VERDICT_TOO_OLD: self = .tooOld
        case EDGEAUTH_VERDICT_TOKEN_TOO_LARGE: self = .tooLarge
        case EDGEAUTH_VERDICT_UNSECURED, 101...199: self = .malformed
        default: self = .notValid
        }
    }
}
