internal import Atomics
import Foundation

/// A counter every process of a cache sees: 8 bytes of the file `epoch` in the
/// cache directory, mapped shared. Reading it is one atomic load, so a per-process
/// copy of a verdict can check on every use that nothing was revoked since.
@safe final class SharedEpoch: @unchecked Sendable {
    private let mapping: UnsafeMutableRawPointer
    /// The counter: the mapping's first 8 bytes.
    private let counter: UnsafeAtomic<UInt64>
    private static let size = 8

    init(path: String) throws(CacheError) {
        let fd = unsafe open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CacheError(unsafe "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        // A new file is extended to the counter's size (its bytes read as zero).
        guard unsafe fstat(fd, &info) == 0, info.st_size >= Self.size || ftruncate(fd, off_t(Self.size)) == 0 else {
            throw CacheError(unsafe "cannot size \(path): \(String(cString: strerror(errno)))")
        }
        guard let mapped = unsafe mmap(nil, Self.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), unsafe mapped != MAP_FAILED else {
            throw CacheError(unsafe "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        unsafe mapping = unsafe mapped
        counter = unsafe UnsafeAtomic(at: mapped.bindMemory(to: UnsafeAtomic<UInt64>.Storage.self, capacity: 1))
    }

    deinit { unsafe munmap(mapping, Self.size) }

    var value: UInt64 { counter.load(ordering: .acquiring) }

    func increment() { counter.wrappingIncrement(ordering: .acquiringAndReleasing) }
}
