internal import CEdgeAuth
import EdgeAuth
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The functions of include/edgeauth.h. `@c @implementation` makes the
// compiler check each signature against the header's declaration, so the
// header stays the source of truth. Nothing here traps on caller input:
// every pointer is checked, `size_t` arrives as `Int` (a negative value is a
// length beyond `Int.max`), and every outcome is a status code.

// MARK: - Version, codes, strings

@c @implementation
public func edgeauth_version(
    _ major: UnsafeMutablePointer<Int32>?, _ minor: UnsafeMutablePointer<Int32>?, _ patch: UnsafeMutablePointer<Int32>?
) -> UnsafePointer<CChar>? {
    if let major = unsafe major { unsafe major.pointee = EDGEAUTH_VERSION_MAJOR }
    if let minor = unsafe minor { unsafe minor.pointee = EDGEAUTH_VERSION_MINOR }
    if let patch = unsafe patch { unsafe patch.pointee = EDGEAUTH_VERSION_PATCH }
    return unsafe StaticText.version[0]
}

@c @implementation
public func edgeauth_status_string(_ status: Int32) -> UnsafePointer<CChar>? {
    unsafe StaticText.status[status]
}

@c @implementation
public func edgeauth_verdict_string(_ verdict: Int32) -> UnsafePointer<CChar>? {
    unsafe StaticText.verdictCode[verdict]
}

@c @implementation
public func edgeauth_verdict_description(_ verdict: Int32) -> UnsafePointer<CChar>? {
    unsafe StaticText.verdictDescription[verdict]
}

@c @implementation
public func edgeauth_string_free(_ string: UnsafeMutablePointer<CChar>?) {
    unsafe free(string)
}

/// A malloc'd, NUL-terminated copy of `text` for a `char **` output (freed
/// with `edgeauth_string_free`), or nil when memory is exhausted.
func mallocCopy(_ text: String) -> UnsafeMutablePointer<CChar>? {
    var text = text
    return text.withUTF8 { utf8 -> UnsafeMutablePointer<CChar>? in
        guard let raw = unsafe malloc(utf8.count + 1) else { return nil }
        let out = unsafe raw.bindMemory(to: CChar.self, capacity: utf8.count + 1)
        if utf8.count > 0 { unsafe memcpy(out, utf8.baseAddress!, utf8.count) }
        unsafe out[utf8.count] = 0
        return unsafe out
    }
}

/// The caller's bytes as a buffer: nil for a NULL pointer with a non-zero
/// length or a length beyond `Int.max`; an empty buffer for length 0.
func borrowed(_ pointer: UnsafePointer<UInt8>?, _ length: Int) -> UnsafeRawBufferPointer? {
    if length == 0 { return unsafe UnsafeRawBufferPointer(start: nil, count: 0) }
    guard length > 0, let pointer = unsafe pointer else { return nil }
    return unsafe UnsafeRawBufferPointer(start: pointer, count: length)
}

// MARK: - Verifier

@c @implementation
public func edgeauth_verifier_new(
    _ json: UnsafePointer<UInt8>?, _ length: Int,
    _ verifierOut: UnsafeMutablePointer<OpaquePointer?>?,
    _ errorOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    if let errorOut = unsafe errorOut { unsafe errorOut.pointee = nil }
    guard let verifierOut = unsafe verifierOut else {
        return unsafe fail(EDGEAUTH_ERR_INVALID_ARGUMENT, "verifier_out must not be NULL", errorOut)
    }
    unsafe verifierOut.pointee = nil
    guard unsafe json != nil || length == 0 else {
        return unsafe fail(EDGEAUTH_ERR_INVALID_ARGUMENT, "config_json is NULL but config_len is \(UInt(bitPattern: length))", errorOut)
    }
    guard length >= 0, length <= VerifierConfiguration.maxBytes else {
        return unsafe fail(EDGEAUTH_ERR_CONFIG, "configuration is larger than \(VerifierConfiguration.maxBytes) bytes", errorOut)
    }
    guard let bytes = unsafe borrowed(json, length) else {
        return unsafe fail(EDGEAUTH_ERR_INVALID_ARGUMENT, "config_json is NULL", errorOut)
    }
    return unsafe makeVerifier(verifierOut, errorOut) { () throws(ConfigurationError) in try unsafe VerifierConfiguration.parse(bytes) }
}

/// A verifier from the configuration `read` gives, stored in `verifierOut`; or the status
/// and message of the problem.
func makeVerifier(
    _ verifierOut: UnsafeMutablePointer<OpaquePointer?>, _ errorOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ read: () throws(ConfigurationError) -> VerifierConfiguration
) -> Int32 {
    do throws(ConfigurationError) {
        let configuration = try read()
        guard configuration.verifySignatures else {
            // A library cannot know where its caller listens, so it cannot keep the mode on loopback.
            throw ConfigurationError("verifySignatures: false (development mode) is not available through the C library; use edgeauth serve or the Swift API")
        }
        let verifier: Verifier
        if configuration.downloadsKeys {
            // The calling (C) thread waits for the downloads.
            guard let result = AsyncWait.run({ () async -> Result<Verifier, ConfigurationError> in
                do throws(ConfigurationError) { return .success(try await configuration.makeVerifier()) } catch { return .failure(error) }
            }) else {
                throw ConfigurationError("edgeauth_verifier_new was called from inside a Swift task, where waiting for the key download could deadlock; call it from an ordinary thread, or use EdgeAuth's Swift API", kind: .keys)
            }
            verifier = try result.get()
        } else {
            verifier = try configuration.makeVerifierWithoutDownloads()
        }
        unsafe verifierOut.pointee = Handle.make(VerifierHandle(verifier: verifier))
        return EDGEAUTH_OK
    } catch {
        let status = switch error.kind {
        case .configuration: EDGEAUTH_ERR_CONFIG
        case .keys: EDGEAUTH_ERR_KEYS
        case .cache: EDGEAUTH_ERR_CACHE
        }
        return unsafe fail(status, error.message, errorOut)
    }
}

/// Stores `message` in `errorOut` (when given) and returns `status`.
func fail(_ status: Int32, _ message: String, _ errorOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let errorOut = unsafe errorOut else { return status }
    guard let copy = unsafe mallocCopy(message) else { return EDGEAUTH_ERR_NO_MEMORY }
    unsafe errorOut.pointee = copy
    return status
}

@c @implementation
public func edgeauth_verifier_free(_ verifier: OpaquePointer?) {
    unsafe Handle.release(verifier, as: VerifierHandle.self)
}

@c @implementation
public func edgeauth_verifier_key_count(_ verifier: OpaquePointer?) -> Int {
    unsafe Handle.verifier(verifier)?.verifier.keyCount ?? 0
}

@c @implementation
public func edgeauth_verifier_warning_count(_ verifier: OpaquePointer?) -> Int {
    unsafe Handle.verifier(verifier)?.warnings.count ?? 0
}

@c @implementation
public func edgeauth_verifier_warning(_ verifier: OpaquePointer?, _ index: Int, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    guard let handle = unsafe Handle.verifier(verifier) else { return nil }
    return unsafe handle.warnings.string(index, length: length)
}

@c @implementation
public func edgeauth_verifier_cache_statistic(_ verifier: OpaquePointer?, _ statistic: Int32, _ valueOut: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let handle = unsafe Handle.verifier(verifier), let valueOut = unsafe valueOut else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    let known = [EDGEAUTH_CACHE_HITS, EDGEAUTH_CACHE_NEGATIVE_HITS, EDGEAUTH_CACHE_MISSES, EDGEAUTH_CACHE_STORES, EDGEAUTH_CACHE_ERRORS,
                 EDGEAUTH_CACHE_L1_HITS, EDGEAUTH_CACHE_SKIPPED_STORES, EDGEAUTH_CACHE_EVICTIONS, EDGEAUTH_CACHE_FILL_PERMILLE]
    guard known.contains(statistic) else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    guard let statistics = handle.verifier.cacheStatistics else { return EDGEAUTH_ERR_NOT_FOUND }
    let value = switch statistic {
    case EDGEAUTH_CACHE_L1_HITS: statistics.l1Hits
    case EDGEAUTH_CACHE_HITS: statistics.hits
    case EDGEAUTH_CACHE_NEGATIVE_HITS: statistics.negativeHits
    case EDGEAUTH_CACHE_MISSES: statistics.misses
    case EDGEAUTH_CACHE_STORES: statistics.stores
    case EDGEAUTH_CACHE_SKIPPED_STORES: statistics.skippedStores
    case EDGEAUTH_CACHE_EVICTIONS: statistics.evictions
    case EDGEAUTH_CACHE_FILL_PERMILLE: Int(((handle.verifier.cacheOccupancy?.fill ?? 0) * 1000).rounded())
    default: statistics.errors
    }
    unsafe valueOut.pointee = UInt64(clamping: value)
    return EDGEAUTH_OK
}

@c @implementation
public func edgeauth_verifier_key_statistic(_ verifier: OpaquePointer?, _ statistic: Int32, _ valueOut: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let handle = unsafe Handle.verifier(verifier), let valueOut = unsafe valueOut else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    let status = handle.verifier.keyStatus
    let value: Int
    switch statistic {
    case EDGEAUTH_KEYS_REMOTE_SETS: value = status.count
    case EDGEAUTH_KEYS_STALE_SETS: value = status.count { $0.state != .fresh }
    case EDGEAUTH_KEYS_UNAVAILABLE_SETS: value = status.count { $0.state == .unavailable }
    case EDGEAUTH_KEYS_OLDEST_AGE: value = Int(status.compactMap(\.ageSeconds).max() ?? 0)
    case EDGEAUTH_KEYS_FETCHES: value = status.reduce(0) { $0 + $1.fetches }
    case EDGEAUTH_KEYS_FETCH_FAILURES: value = status.reduce(0) { $0 + $1.failures }
    default: return EDGEAUTH_ERR_INVALID_ARGUMENT
    }
    unsafe valueOut.pointee = UInt64(clamping: value)
    return EDGEAUTH_OK
}

// MARK: - Revocation

/// Runs a revocation through the verifier.
private func revoke(_ verifier: OpaquePointer?, _ body: (Verifier) throws(RevocationError) -> Void) -> Int32 {
    guard let handle = unsafe Handle.verifier(verifier) else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    do {
        try body(handle.verifier)
        return EDGEAUTH_OK
    } catch {
        switch error {
        case .noCache: return EDGEAUTH_ERR_NOT_FOUND
        case .cache: return EDGEAUTH_ERR_CACHE
        }
    }
}

@c @implementation
public func edgeauth_verifier_revoke_token(_ verifier: OpaquePointer?, _ token: UnsafePointer<UInt8>?, _ length: Int, _ until: Int64) -> Int32 {
    guard let bytes = unsafe borrowed(token, length) else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    // A token longer than the limit is never accepted, so there is nothing to revoke: its bytes are not read.
    guard length <= (unsafe Handle.verifier(verifier)?.verifier.policy.limits.maxTokenBytes ?? 0) else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    return unsafe revoke(verifier) { (verifier) throws(RevocationError) in try unsafe verifier.revoke(token: bytes, until: until) }
}

@c @implementation
public func edgeauth_verifier_revoke_token_id(_ verifier: OpaquePointer?, _ tokenID: UnsafePointer<UInt8>?, _ length: Int, _ until: Int64) -> Int32 {
    // LMDB keys are at most 511 bytes; an empty jti names nothing.
    guard length > 0, length <= 511, let bytes = unsafe borrowed(tokenID, length) else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    return unsafe revoke(verifier) { (verifier) throws(RevocationError) in try unsafe verifier.revoke(tokenID: bytes, until: until) }
}

// MARK: - Verifying

/// Checks the arguments of a verification, then makes its synchronous attempt.
/// Returns a status, or the attempt.
func checkedAttempt(_ verifier: OpaquePointer?, _ token: UnsafePointer<UInt8>?, _ length: Int, _ now: Int64) -> Result<VerificationAttempt, StatusCode> {
    guard let handle = unsafe Handle.verifier(verifier) else { return .failure(StatusCode(EDGEAUTH_ERR_INVALID_ARGUMENT)) }
    guard unsafe token != nil || length == 0 else { return .failure(StatusCode(EDGEAUTH_ERR_INVALID_ARGUMENT)) }
    guard now >= 0, now <= JSONText.maxNumericDate else { return .failure(StatusCode(EDGEAUTH_ERR_INVALID_ARGUMENT)) }
    let limit = handle.verifier.policy.limits.maxTokenBytes
    // Too long (or beyond Int.max): the verdict, without reading the bytes.
    guard length >= 0, length <= limit else { return .success(.verdict(.rejected(.tokenTooLarge(limit: limit)))) }
    guard let bytes = unsafe borrowed(token, length) else { return .failure(StatusCode(EDGEAUTH_ERR_INVALID_ARGUMENT)) }
    return unsafe .success(handle.verifier.attempt(bytes, now: now == 0 ? nil : now))
}

/// The shared part of `edgeauth_verify` and `edgeauth_explain`: checks the
/// arguments, then verifies. Returns a status, or the verdict.
private func verify(_ verifier: OpaquePointer?, _ token: UnsafePointer<UInt8>?, _ length: Int, _ now: Int64) -> Result<Verdict, StatusCode> {
    switch unsafe checkedAttempt(verifier, token, length, now) {
    case .failure(let status):
        return .failure(status)
    case .success(.verdict(let verdict)):
        return .success(verdict)
    case .success(.needsKeyRefresh(let pending)):
        // The caller's thread waits for the refresh; the token is copied for the task doing it.
        guard let handle = unsafe Handle.verifier(verifier), let bytes = unsafe borrowed(token, length) else { return .success(pending.verdict) }
        let verifier = handle.verifier
        let token = unsafe Array(bytes)
        return .success(AsyncWait.run { await verifier.verifyAfterKeyRefresh(pending, token: token) } ?? pending.verdict)
    }
}

/// A verdict through the out-parameters of `edgeauth_verify` (the identity only when asked for).
func store(_ verdict: Verdict, _ verdictOut: UnsafeMutablePointer<Int32>, _ identityOut: UnsafeMutablePointer<OpaquePointer?>?) {
    switch verdict {
    case .valid(let identity):
        unsafe verdictOut.pointee = EDGEAUTH_VERDICT_VALID
        if let identityOut = unsafe identityOut { unsafe identityOut.pointee = Handle.make(identity.storage) }
    case .rejected(let reason):
        unsafe verdictOut.pointee = reason.verdictCode
        if let identityOut = unsafe identityOut { unsafe identityOut.pointee = nil }
    }
}

struct StatusCode: Error {
    let value: Int32
    init(_ value: Int32) { self.value = value }
}

@c @implementation
public func edgeauth_verify(
    _ verifier: OpaquePointer?, _ token: UnsafePointer<UInt8>?, _ length: Int, _ now: Int64,
    _ verdictOut: UnsafeMutablePointer<Int32>?, _ identityOut: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guard let verdictOut = unsafe verdictOut else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    switch unsafe verify(verifier, token, length, now) {
    case .failure(let status):
        return status.value
    case .success(let verdict):
        unsafe store(verdict, verdictOut, identityOut)
        return EDGEAUTH_OK
    }
}

@c @implementation
public func edgeauth_explain(
    _ verifier: OpaquePointer?, _ token: UnsafePointer<UInt8>?, _ length: Int, _ now: Int64,
    _ verdictOut: UnsafeMutablePointer<Int32>?, _ explanationOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let verdictOut = unsafe verdictOut, let explanationOut = unsafe explanationOut else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    switch unsafe verify(verifier, token, length, now) {
    case .failure(let status):
        return status.value
    case .success(let verdict):
        let text: String
        let code: Int32
        switch verdict {
        case .valid:
            (text, code) = ("valid", EDGEAUTH_VERDICT_VALID)
        case .rejected(let reason):
            (text, code) = ("\(reason.code): \(reason.explanation)", reason.verdictCode)
        }
        guard let copy = unsafe mallocCopy(text) else { return EDGEAUTH_ERR_NO_MEMORY }
        unsafe verdictOut.pointee = code
        unsafe explanationOut.pointee = copy
        return EDGEAUTH_OK
    }
}
