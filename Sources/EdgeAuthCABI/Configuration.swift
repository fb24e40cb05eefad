import Dispatch
import EdgeAuth
import Foundation
import Synchronization

/// Why `edgeauth_verifier_new` failed: which status, and a message naming the
/// member and the problem.
struct CABIError: Error {
    enum Kind { case configuration, keys, cache }
    let kind: Kind
    let message: String

    static func config(_ message: String) -> CABIError { CABIError(kind: .configuration, message: message) }
    static func keys(_ message: String) -> CABIError { CABIError(kind: .keys, message: message) }
    static func cache(_ message: String) -> CABIError { CABIError(kind: .cache, message: message) }
}

/// Loads the keys of a configuration.
///
/// Local sources (inline, files, environment) are read on the calling thread.
/// Remote sets go through `KeyRing.load`, which is async: the calling (C) thread
/// waits for it (`AsyncWait`).
enum CABIKeyLoader {
    static func load(_ configuration: VerifierConfiguration, cache: SharedCache?) throws(CABIError) -> KeyRing {
        guard configuration.keys.contains(where: \.isRemote) else {
            var keys = [VerificationKey]()
            var skipped = [String]()
            for source in configuration.keys {
                do {
                    let set = try KeyLoader.loadLocal(source)
                    keys += set.keys
                    skipped += set.skipped.map { "\(source.label): \($0)" }
                } catch {
                    throw .keys(error.message)
                }
            }
            guard !keys.isEmpty else {
                throw .keys("no usable verification key" + (skipped.isEmpty ? "" : ": " + skipped.joined(separator: "; ")))
            }
            return KeyRing(KeySet(keys: keys, skipped: skipped))
        }
        let issuers: [String] = if case .exactly(let list) = configuration.policy.issuers { list } else { [] }
        let sources = configuration.keys
        let settings = configuration.keyRefresh
        let result = AsyncWait.run { () async -> Result<KeyRing, ConfigurationError> in
            do throws(ConfigurationError) {
                return .success(try await KeyRing.load(sources, settings: settings, cache: cache, issuers: issuers))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case nil:
            throw .keys("edgeauth_verifier_new was called from inside a Swift task, where waiting for the key download could deadlock; call it from an ordinary thread, or use EdgeAuth's Swift API")
        case .failure(let error)?:
            throw .keys(error.message)
        case .success(let ring)?:
            return ring
        }
    }
}

/// Runs async work to its end while the calling C thread waits.
enum AsyncWait {
    /// The result, or nil when called from inside a Swift task: the wait would then
    /// block a thread of the cooperative pool, which the work itself may need.
    static func run<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T? {
        let insideTask = unsafe withUnsafeCurrentTask { task in unsafe task != nil }
        guard !insideTask else { return nil }
        let outcome = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            outcome.value = await body()
            done.signal()
        }
        done.wait()
        return outcome.value
    }

    /// The result handed from the task to the waiting thread. Written once before
    /// `signal()` and read after `wait()`, which orders the two.
    private final class Outcome<T>: @unchecked Sendable {
        var value: T?
    }
}

/// The shared cache of a configuration (one open instance per directory and process).
enum CacheRegistry {
    static func cache(for configuration: CacheConfiguration) throws(CABIError) -> SharedCache {
        do {
            return try SharedCache.open(configuration)
        } catch {
            throw .cache("cache: \(error)")
        }
    }
}
