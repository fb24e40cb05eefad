import EdgeAuthCore
import Foundation
import Synchronization

/// Verdicts kept in this process's memory in front of the shared cache. A hit
/// costs a seeded 64-bit hash of the token and one comparison of its bytes: no
/// SHA-256, no LMDB transaction, no allocation.
///
/// The same validity rules as the shared cache: an entry is served only before
/// its expiry (the shared entry's) and while the cache's `epoch` is the one it was
/// stored under, so a revocation or key generation bump anywhere on the host
/// empties every process's copies on their next use. The caller re-checks the
/// token's times on every hit, as for a shared-cache hit.
///
/// The token bytes are held in memory (never written anywhere) so that a hash
/// collision can never serve another token's verdict; tokens above `maxTokenBytes`
/// are not kept.
public final class VerdictL1: Sendable {
    private struct Slot {
        var hash: UInt64
        var token: [UInt8]
        var verdict: CachedVerdict
        var expiry: Int64
        var epoch: UInt64
    }

    private final class Stripe: Sendable {
        let slots: Mutex<[Slot?]>
        init(count: Int) { slots = Mutex([Slot?](repeating: nil, count: count)) }
    }

    /// Independent locks, so threads rarely wait on each other.
    private static let stripeCount = 16
    public static let maxTokenBytes = 4096

    private let stripes: [Stripe]
    private let slotsPerStripe: Int
    /// Random per process: which tokens share a slot cannot be chosen from outside.
    private let seed = UInt64.random(in: .min ... .max)
    private let hitCount = Atomic<Int>(0)

    /// - Parameter entries: the most verdicts kept (rounded up to a multiple of 16).
    public init(entries: Int) {
        let perStripe = max(1, (entries + Self.stripeCount - 1) / Self.stripeCount)
        slotsPerStripe = perStripe
        stripes = (0..<Self.stripeCount).map { _ in Stripe(count: perStripe) }
    }

    /// Hits served since this table was created.
    public var hits: Int { hitCount.load(ordering: .relaxed) }

    package func hash(_ token: UnsafeRawBufferPointer) -> UInt64 {
        unsafe Checksum.of(token, seed: seed)
    }

    /// The stripe and the slot in it that a hash selects.
    private func place(_ hash: UInt64) -> (Stripe, Int) {
        (stripes[Int(hash % UInt64(Self.stripeCount))], Int((hash / UInt64(Self.stripeCount)) % UInt64(slotsPerStripe)))
    }

    package func lookup(_ token: UnsafeRawBufferPointer, hash: UInt64, now: Int64, epoch: UInt64) -> CachedVerdict? {
        let (stripe, index) = place(hash)
        let found = stripe.slots.withLock { slots -> CachedVerdict? in
            guard let slot = slots[index], slot.hash == hash else { return nil }
            guard now < slot.expiry, slot.epoch == epoch else {
                slots[index] = nil
                return nil
            }
            let same = unsafe slot.token.withUnsafeBytes { stored in
                unsafe stored.count == token.count && (token.isEmpty || memcmp(stored.baseAddress!, token.baseAddress!, token.count) == 0)
            }
            return same ? slot.verdict : nil
        }
        if found != nil { hitCount.add(1, ordering: .relaxed) }
        return found
    }

    package func insert(_ token: UnsafeRawBufferPointer, hash: UInt64, verdict: CachedVerdict, expiry: Int64, epoch: UInt64) {
        guard token.count <= Self.maxTokenBytes else { return }
        let slot = unsafe Slot(hash: hash, token: Array(token), verdict: verdict, expiry: expiry, epoch: epoch)
        let (stripe, index) = place(hash)
        stripe.slots.withLock { $0[index] = slot }
    }
}
