import Foundation

/// A provider's key set (JWKS document) as the processes of a host share it, with
/// the bookkeeping that lets one fetch serve all of them.
public struct StoredKeySet: Sendable, Equatable {
    /// When a process last claimed the right to fetch (seconds since the epoch).
    public var attemptedAt: Int64 = 0
    /// When the last fetch ended, successfully or not.
    public var completedAt: Int64 = 0
    /// When the stored document was fetched (0: never).
    public var fetchedAt: Int64 = 0
    /// Until when the document is fresh (its `Cache-Control` lifetime, clamped).
    public var freshUntil: Int64 = 0
    /// Incremented by every successful fetch: a process compares it with the one it loaded.
    public var sequence: UInt64 = 0
    /// The last fetch's error, when it failed (empty after a success).
    public var lastError: String = ""
    /// The document as fetched (empty: never fetched).
    public var document: [UInt8] = []

    public init() {}

    /// Whether a fetch was claimed and has not ended.
    public var fetchInProgress: Bool { attemptedAt > completedAt }

    static let headerSize = 48

    func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.headerSize + lastError.utf8.count + document.count)
        let errorBytes = Array(lastError.utf8.prefix(1024))
        for value in [attemptedAt, completedAt, fetchedAt, freshUntil, Int64(bitPattern: sequence), Int64(errorBytes.count)] {
            unsafe withUnsafeBytes(of: value.littleEndian) { unsafe bytes += $0 }
        }
        return bytes + errorBytes + document
    }

    init?(decoding raw: UnsafeRawBufferPointer) {
        guard raw.count >= Self.headerSize else { return nil }
        func field(_ index: Int) -> Int64 { unsafe Int64(littleEndian: raw.loadUnaligned(fromByteOffset: index * 8, as: Int64.self)) }
        let errorLength = field(5)
        guard errorLength >= 0, errorLength <= raw.count - Self.headerSize else { return nil }
        (attemptedAt, completedAt, fetchedAt, freshUntil, sequence) = (field(0), field(1), field(2), field(3), UInt64(bitPattern: field(4)))
        let errorEnd = Self.headerSize + Int(errorLength)
        lastError = unsafe String(decoding: raw[Self.headerSize..<errorEnd], as: UTF8.self)
        document = unsafe Array(raw[errorEnd...])
    }
}

/// The answer to a process asking to fetch a key set.
public enum KeyFetchClaim: Sendable, Equatable {
    /// This process fetches now; the others wait for its result.
    case claimed
    /// Another process is fetching since then; wait for its result.
    case inProgress(since: Int64)
    /// A fetch ended less than the cool-down ago: do not fetch before then.
    case coolingDown(until: Int64)
}

extension SharedCache {
    /// The key set stored for a source (a JWKS URL or an issuer), if any.
    public func storedKeySet(source: String) -> StoredKeySet? {
        let environment = self.environment
        return try? unsafe environment.read { txn in
            unsafe LMDBEnvironment.get(txn, environment.keySets, Self.keySetKey(source)) { unsafe StoredKeySet(decoding: $0) }
        } ?? nil
    }

    /// Asks for the right to fetch a source's keys, atomically for every process of the host:
    /// at most one fetch per `coolDown` seconds, and none while another one is in progress
    /// (a fetch older than `abandonAfter` seconds is taken as abandoned by a process that died).
    /// When the cache cannot be written, the caller fetches: keys matter more than coordination.
    public func claimKeySetFetch(source: String, now: Int64, coolDown: Int64, abandonAfter: Int64) -> KeyFetchClaim {
        let environment = self.environment
        let key = Self.keySetKey(source)
        var claim = KeyFetchClaim.claimed
        do {
            try unsafe environment.write { txn in
                var record = unsafe LMDBEnvironment.get(txn, environment.keySets, key) { unsafe StoredKeySet(decoding: $0) } ?? StoredKeySet()
                // Times later than now were written before the clock stepped back: they hold nothing up.
                if record.fetchInProgress, now < record.attemptedAt + abandonAfter, record.attemptedAt <= now {
                    claim = .inProgress(since: record.attemptedAt)
                    return 0
                }
                let lastEnd = max(record.completedAt, record.attemptedAt)
                if lastEnd > 0, now < lastEnd + coolDown, lastEnd <= now {
                    claim = .coolingDown(until: lastEnd + coolDown)
                    return 0
                }
                record.attemptedAt = now
                return unsafe LMDBEnvironment.put(txn, environment.keySets, key, record.encoded())
            }
        } catch {
            recordFailure("key-set claim")
            return .claimed
        }
        return claim
    }

    /// Records the end of a claimed fetch: the new document (`sequence` incremented), or the
    /// error with the previous document kept. A new document changes `epoch`, so every
    /// process notices it on its next verification.
    /// - Returns: the record as stored, or nil when the cache could not be written.
    @discardableResult
    public func finishKeySetFetch(source: String, now: Int64, result: Result<(document: [UInt8], freshUntil: Int64), KeySetFetchError>) -> StoredKeySet? {
        let environment = self.environment
        let key = Self.keySetKey(source)
        var stored: StoredKeySet?
        do {
            try unsafe environment.write { txn in
                var record = unsafe LMDBEnvironment.get(txn, environment.keySets, key) { unsafe StoredKeySet(decoding: $0) } ?? StoredKeySet()
                record.completedAt = now
                switch result {
                case .success(let fetched):
                    record.document = fetched.document
                    record.fetchedAt = now
                    record.freshUntil = fetched.freshUntil
                    record.sequence &+= 1
                    record.lastError = ""
                case .failure(let error):
                    record.lastError = error.message
                }
                stored = record
                return unsafe LMDBEnvironment.put(txn, environment.keySets, key, record.encoded())
            }
        } catch {
            recordFailure("key-set store")
            // The claim still ends (a document too large for the map, say): the other
            // processes would otherwise wait for it, then fetch nothing. They fetch themselves.
            if case .success = result {
                finishKeySetFetch(source: source, now: now, result: .failure(KeySetFetchError(Self.documentNotStored)))
            }
            return nil
        }
        if case .success = result { current.epoch.increment() }
        return stored
    }

    /// The error a fetch records when its document could not be stored: every process fetches for itself.
    public static let documentNotStored = "the key-set document could not be stored in the cache"

    private static func keySetKey(_ source: String) -> [UInt8] {
        // LMDB keys are at most 511 bytes: a longer source (configuration, not network input)
        // is keyed by its first 400 bytes and a 64-bit FNV-1a hash of the whole.
        let bytes = Array(source.utf8)
        guard bytes.count > 400 else { return bytes }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Array(bytes.prefix(400)) + Array("#\(String(hash, radix: 16))".utf8)
    }
}

/// Why a key-set fetch failed, as stored for the other processes.
public struct KeySetFetchError: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
