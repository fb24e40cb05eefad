import EdgeAuthCache
import Foundation
import Testing

@Suite("state store (LMDB)")
struct StateStoreTests {
    func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("edgeauth-state-\(UUID().uuidString)").path
    }

    @Test("a write that throws leaves nothing; committed records survive reopening")
    func transactions() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let store = try LMDBStateStore(directory: path)
            try store.write { writer in try writer.put(.clients, "a", [1, 2, 3]) }
            struct Abort: Error {}
            #expect(throws: Abort.self) {
                try store.write { writer in
                    try writer.put(.clients, "b", [4])
                    throw Abort()
                }
            }
        }
        let reopened = try LMDBStateStore(directory: path)
        #expect(try reopened.read { try $0.get(.clients, "a") } == [1, 2, 3])
        #expect(try reopened.read { try $0.get(.clients, "b") } == nil)
        #expect(try reopened.counts()[.clients] == 1)
        let attributes = try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o077 } == 0)
    }

    @Test("a store written by a newer EdgeAuth is refused, never rebuilt")
    func newerFormat() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        // Write format 99 through a store, then reopen.
        do {
            let store = try LMDBStateStore(directory: path)
            try store.write { writer in try writer.put(.clients, "kept", [7]) }
        }
        try LMDBStateStore.setFormatForTesting(directory: path, version: 99)
        #expect(throws: CacheError.self) { try LMDBStateStore(directory: path) }
        try LMDBStateStore.setFormatForTesting(directory: path, version: LMDBStateStore.formatVersion)
        #expect(try LMDBStateStore(directory: path).read { try $0.get(.clients, "kept") } == [7])
    }

    @Test("a backup is a consistent copy that opens as a store")
    func backup() throws {
        let path = directory(), copy = directory()
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: copy)
        }
        let store = try LMDBStateStore(directory: path)
        try store.write { writer in for index in 0..<100 { try writer.put(.grants, "g\(index)", Array(repeating: UInt8(index), count: 64)) } }
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try store.backup(to: copy)
        #expect(try LMDBStateStore(directory: copy).counts()[.grants] == 100)
    }

    @Test("grouped commits: concurrent writes share commits, a write that throws rolls back alone")
    func groupedCommits() async throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try LMDBStateStore(directory: path)
        struct Refused: Error {}
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<200 {
                group.addTask {
                    do {
                        try await store.commit { writer in
                            try writer.put(.grants, "g\(index)", [UInt8(index % 256)])
                            if index % 10 == 0 { throw Refused() }
                        }
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 180)
        let reopened = try LMDBStateStore(directory: directory(copying: store))
        #expect(try reopened.counts()[.grants] == 180)
        #expect(try store.read { try $0.get(.grants, "g10") } == nil)
        #expect(try store.read { try $0.get(.grants, "g11") } == [11])
    }

    /// A backup of `store` in a new directory (a second handle on the same files would be a second environment in this process).
    func directory(copying store: LMDBStateStore) throws -> String {
        let copy = directory()
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try store.backup(to: copy)
        return copy
    }

    @Test("keys are limited in size")
    func keySize() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try LMDBStateStore(directory: path)
        #expect(throws: CacheError.self) { try store.write { try $0.put(.clients, String(repeating: "k", count: 600), [1]) } }
        #expect(throws: CacheError.self) { try store.write { try $0.put(.clients, [], [1]) } }
    }
}
