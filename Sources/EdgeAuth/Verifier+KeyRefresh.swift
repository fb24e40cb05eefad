/// What one synchronous pass over a token found: the verdict, or that the token names a
/// key the verifier does not have yet and a key refresh may change the answer.
public enum VerificationAttempt: Sendable {
    case verdict(Verdict)
    /// Hand this to `Verifier.verifyAfterKeyRefresh(_:token:)`, off any thread that must not block.
    case needsKeyRefresh(PendingKeyRefresh)
}

/// A verification waiting for the remote key sets to be refreshed.
public struct PendingKeyRefresh: Sendable {
    /// The answer when the refresh changes nothing (`unknownKey`).
    public let verdict: Verdict
    /// `KeyRing.keysGeneration` before the first pass: another process's fetch adopted in
    /// between counts as a change too.
    let generation: UInt64
    let now: Int64?
}

// The only place that runs "unknown key → refresh → verify again". The HTTP server waits
// for it on its event loop, the C library on the calling thread, async Swift with `await`.
extension Verifier {
    /// One pass through the cache and the verification, without waiting for anything.
    package func attempt(_ token: UnsafeRawBufferPointer, now: Int64? = nil) -> VerificationAttempt {
        let generation = keyRing.keysGeneration
        let verdict = verify(token, now: now)
        guard case .rejected(.unknownKey) = verdict, refreshesOnUnknownKey else { return .verdict(verdict) }
        return .needsKeyRefresh(PendingKeyRefresh(verdict: verdict, generation: generation, now: now))
    }

    /// One pass through the cache and the verification, without waiting for anything.
    public func attempt(_ token: RawSpan, now: Int64? = nil) -> VerificationAttempt {
        token.withUnsafeBytes { attempt($0, now: now) }
    }

    /// Refreshes the remote key sets (within their cool-down, across processes) and, when
    /// that changed the keys, verifies the token again.
    public func verifyAfterKeyRefresh(_ pending: PendingKeyRefresh, token: [UInt8]) async -> Verdict {
        guard await keyRing.refreshAfterUnknownKey(since: pending.generation) else { return pending.verdict }
        return verify(token, now: pending.now)
    }

    /// Verifies a token; when its key is unknown and remote key sets are configured,
    /// refreshes them (at most once per cool-down per source, across processes, or by
    /// waiting for another process's fetch) and verifies again. The first token signed
    /// with a newly published key is accepted this way, not just the ones after it.
    public func verifyRefreshingKeys(_ token: [UInt8], now: Int64? = nil) async -> Verdict {
        switch token.withUnsafeBytes({ attempt($0, now: now) }) {
        case .verdict(let verdict): verdict
        case .needsKeyRefresh(let pending): await verifyAfterKeyRefresh(pending, token: token)
        }
    }

    public func verifyRefreshingKeys(_ token: String, now: Int64? = nil) async -> Verdict {
        await verifyRefreshingKeys(Array(token.utf8), now: now)
    }

    /// Whether a refresh started now for a pending verification would download (not in the
    /// cool-down of every remote set).
    package var keyRefreshWouldFetch: Bool { keyRing.refreshWouldFetch }

    /// Whether an unknown key can be worth a refresh: remote sets exist, signatures are
    /// checked, and this process may download (not a child forked after the verifier was made).
    private var refreshesOnUnknownKey: Bool {
        keyRing.hasRemoteSources && signatureCheck == .required && keyRing.mayDownload
    }
}
