internal import CLMDB
public import EdgeAuthCore

/// Revocations and key generations: what stops a stored verdict from being served.
extension SharedCache {
    // MARK: Revocation

    /// Revokes one token (by its cache key, `Verifier.cacheKey(for:)`) until `until`.
    public func revoke(tokenHash: TokenDigest, until: Int64) throws(CacheError) {
        let environment = self.environment
        let db = environment.revokedTokens
        try unsafe environment.write { txn in unsafe LMDBEnvironment.put(txn, db, tokenHash, Self.encode(until)) }
        current.epoch.increment()
    }

    /// Revokes every token with this `jti` until `until`.
    public func revoke(tokenID: String, until: Int64) throws(CacheError) {
        let result = unsafe Array(tokenID.utf8).withUnsafeBytes { id in Result { () throws(CacheError) in try unsafe revoke(tokenID: id, until: until) } }
        try result.get()
    }

    /// Revokes every token whose `jti` has these UTF-8 bytes until `until`.
    package func revoke(tokenID: UnsafeRawBufferPointer, until: Int64) throws(CacheError) {
        let environment = self.environment
        let db = environment.revokedIDs
        try unsafe environment.write { txn in unsafe LMDBEnvironment.put(txn, db, tokenID, Self.encode(until)) }
        current.epoch.increment()
    }

    /// Whether a token is revoked (by cache key, or by `jti` when given).
    public func isRevoked(tokenHash: TokenDigest, tokenID: String?, now: Int64) -> Bool {
        let environment = self.environment
        guard let tokenID else {
            return unsafe (try? environment.read { unsafe isRevoked(environment, $0, tokenHash: tokenHash, tokenID: nil, now: now) }) ?? false
        }
        return unsafe Array(tokenID.utf8).withUnsafeBytes { id in
            unsafe (try? environment.read { unsafe isRevoked(environment, $0, tokenHash: tokenHash, tokenID: id, now: now) }) ?? false
        }
    }

    /// Whether a verified token is revoked (by cache key, or by the identity's `jti`).
    public func isRevoked(tokenHash: TokenDigest, identity: Identity, now: Int64) -> Bool {
        let environment = self.environment
        return unsafe (try? environment.read { unsafe isRevoked(environment, $0, tokenHash: tokenHash, tokenID: identity.storage.entry(.tokenId), now: now) }) ?? false
    }

    func isRevoked(_ environment: LMDBEnvironment, _ txn: OpaquePointer, tokenHash: TokenDigest, tokenID: UnsafeRawBufferPointer?, now: Int64) -> Bool {
        if let until = unsafe LMDBEnvironment.get(txn, environment.revokedTokens, tokenHash, unsafe Self.decodeInt64), now < until { return true }
        guard let tokenID = unsafe tokenID, unsafe !tokenID.isEmpty else { return false }
        return unsafe LMDBEnvironment.get(txn, environment.revokedIDs, tokenID, unsafe Self.decodeInt64).map { now < $0 } ?? false
    }

    // MARK: Key generations

    /// The current key generation of an issuer (0 until first bumped).
    public func generation(issuer: String) -> UInt64 {
        let environment = self.environment
        return unsafe Array(issuer.utf8).withUnsafeBytes { issuer in
            unsafe (try? environment.read { unsafe currentGeneration(environment, $0, issuer: issuer) }) ?? 0
        }
    }

    /// Starts a new key generation for an issuer: every verdict stored before stops being served.
    public func bumpGeneration(issuer: String) throws(CacheError) {
        let environment = self.environment
        let db = environment.generations
        let name = Array(issuer.utf8)
        try unsafe environment.write { txn in
            let next = unsafe name.withUnsafeBytes { unsafe currentGeneration(environment, txn, issuer: $0) } &+ 1
            return unsafe LMDBEnvironment.put(txn, db, name, Self.encode(Int64(bitPattern: next)))
        }
        current.epoch.increment()
    }

    func currentGeneration(_ environment: LMDBEnvironment, _ txn: OpaquePointer, issuer: UnsafeRawBufferPointer?) -> UInt64 {
        // LMDB refuses empty keys; a token without `iss` has generation 0 forever.
        guard let issuer = unsafe issuer, unsafe !issuer.isEmpty else { return 0 }
        return unsafe LMDBEnvironment.get(txn, environment.generations, issuer, unsafe Self.decodeInt64).map { UInt64(bitPattern: $0) } ?? 0
    }
}
