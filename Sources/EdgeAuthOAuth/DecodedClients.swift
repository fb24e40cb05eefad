import Synchronization

/// The registered clients decoded lately, each with the stored bytes it was decoded from:
/// every token request reads its client's record, and a record whose bytes are unchanged
/// need not be decoded again. The store stays the authority: a client revoked or changed
/// there (by any worker, or `edgeauth clients revoke`) reads differently and is decoded anew.
final class DecodedClients: Sendable {
    private let entries = Mutex<[String: (stored: [UInt8], record: ClientRecord)]>([:])
    /// Kept at most; past this the cache starts over (registrations are rate-limited, and a
    /// client outside it costs one decode).
    static let capacity = 4096

    /// The record decoded from exactly `stored`, or nil.
    func record(_ clientID: String, stored: [UInt8]) -> ClientRecord? {
        entries.withLock { entries in
            guard let entry = entries[clientID], entry.stored == stored else { return nil }
            return entry.record
        }
    }

    func remember(_ record: ClientRecord, stored: [UInt8]) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[record.clientID] = (stored, record)
        }
    }
}
