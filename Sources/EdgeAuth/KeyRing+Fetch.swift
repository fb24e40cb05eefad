import Foundation
import Logging

// One refresh of one remote set: take what another process stored, or claim the fetch
// (waiting for another process's fetch in progress), fetch, share the document, and retire
// the verdicts of keys that disappeared.
extension KeyRing {
    /// Run by `refresh`, once at a time per set in this process.
    func performRefresh(_ set: RemoteKeySet, unknownKey: Bool, initial: Bool) async -> Bool {
        let before = set.snapshot.sequence
        let beforeFingerprints = set.snapshot.fingerprints
        // Every adoption below rebuilds the merged keys, even when they are the same: their
        // age (and so their usability) changed.
        var changed = false

        if let cache {
            // Another process may have fetched already.
            if let stored = cache.storedKeySet(source: set.storeKey), stored.sequence != before, !stored.document.isEmpty {
                changed = adopt(stored, into: set)
                if changed || !set.isDue(now: clock(), settings: settings) && !unknownKey { return changed }
            }
            // The local cool-down first: a flood of unknown `kid`s must not become a flood of write transactions.
            if !(initial && !set.hasKeys), !set.mayFetch(now: clock(), coolDown: settings.coolDown) { return changed }
            claiming: while true {
                let now = clock()
                // At start-up without keys, a cool-down does not stop this process from trying.
                let coolDown = initial && !set.hasKeys ? 0 : settings.coolDown
                let abandonAfter = settings.fetchTimeout.wholeSeconds + settings.connectTimeout.wholeSeconds + 2
                switch cache.claimKeySetFetch(source: set.storeKey, now: now, coolDown: coolDown, abandonAfter: abandonAfter) {
                case .claimed:
                    break claiming
                case .coolingDown:
                    // The last fetch could not share its document: a key only it has is fetched here.
                    if unknownKey, cache.storedKeySet(source: set.storeKey)?.lastError == SharedCache.documentNotStored { break claiming }
                    set.noteCoolDown(now: now)
                    // The fetch that started the cool-down may have stored its keys after the
                    // check above: take them, or the token that brought us here is refused.
                    if let stored = cache.storedKeySet(source: set.storeKey), stored.sequence != set.snapshot.sequence,
                       !stored.document.isEmpty {
                        changed = adopt(stored, into: set) || changed
                    }
                    return changed
                case .inProgress(let since):
                    // Wait for the other process's result, then use it.
                    let deadline = since + abandonAfter
                    while clock() <= deadline {
                        try? await Task.sleep(for: .milliseconds(25))
                        guard let stored = cache.storedKeySet(source: set.storeKey) else { break }
                        if !stored.fetchInProgress {
                            if stored.lastError == SharedCache.documentNotStored { break claiming }
                            set.noteCoolDown(now: clock())
                            if stored.sequence != set.snapshot.sequence, !stored.document.isEmpty {
                                changed = adopt(stored, into: set) || changed
                            } else if !stored.lastError.isEmpty {
                                set.noteFailure(stored.lastError, fetchedHere: false)
                            }
                            return changed
                        }
                    }
                    // The fetcher went away: try to claim again.
                }
            }
        } else {
            let now = clock()
            guard (initial && !set.hasKeys) || set.mayFetch(now: now, coolDown: settings.coolDown) else { return false }
        }

        // This process fetches.
        let now = clock()
        set.noteAttempt(now: now)
        do throws(ConfigurationError) {
            let (document, keys, maxAge) = try await set.fetch(settings: settings)
            let lifetime = settings.lifetime(maxAge: maxAge)
            var stored = StoredKeySet()
            stored.fetchedAt = now
            stored.freshUntil = now + lifetime
            stored.document = document
            stored.sequence = before &+ 1
            if let cache, let written = cache.finishKeySetFetch(source: set.storeKey, now: now, result: .success((document, now + lifetime))) {
                stored = written
            }
            set.noteFetched(success: true)
            changed = adopt(stored, into: set, keys: keys) || changed
            let removed = beforeFingerprints.subtracting(set.snapshot.fingerprints)
            if !beforeFingerprints.isEmpty, !removed.isEmpty { retireRemovedKeys(count: removed.count, source: set) }
            for message in keys.skipped { Self.logger.warning("\(set.source.label): \(message)") }
        } catch {
            cache?.finishKeySetFetch(source: set.storeKey, now: clock(), result: .failure(KeySetFetchError(error.message)))
            set.noteFailure(error.message, fetchedHere: true)
            set.noteFetched(success: false)
            let snapshot = set.snapshot
            Self.logger.warning("key refresh failed; using the last good keys", metadata: [
                "source": "\(set.source.label)", "error": "\(error.message)",
                "keys_age_seconds": "\(snapshot.fetchedAt == 0 ? -1 : now - snapshot.fetchedAt)",
            ])
        }
        return changed
    }

    /// A key disappeared from a set: verdicts it made must not be served from the cache.
    private func retireRemovedKeys(count: Int, source: RemoteKeySet) {
        Self.logger.notice("keys removed from the provider's set; verdicts they made are no longer served", metadata: [
            "source": "\(source.source.label)", "removed": "\(count)",
        ])
        guard let cache else { return }
        do {
            if issuers.isEmpty {
                try cache.dropAllVerdicts()
            } else {
                for issuer in issuers { try cache.bumpGeneration(issuer: issuer) }
            }
        } catch {
            Self.logger.error("could not retire the verdicts of removed keys", metadata: ["error": "\(error)"])
        }
    }
}
