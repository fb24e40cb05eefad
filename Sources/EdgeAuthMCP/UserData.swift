import EdgeAuth
import EdgeAuthCache
import Foundation

/// Per-user values kept by tools, shared by every worker process. The key is the verified
/// issuer and subject: a tool cannot read or write another user's values through it.
public struct UserData: Sendable {
    let store: UserDataStore?
    let user: String

    public func get(_ name: String) throws -> Data? {
        try openStore().value(user: user, name: name).map { Data($0) }
    }

    /// Reads, changes (nil deletes) and writes back `name` atomically across workers.
    public func update<R>(_ name: String, _ body: (inout Data?) throws -> R) throws -> R {
        try openStore().update(user: user, name: name) { (bytes: inout [UInt8]?) throws -> R in
            var data = bytes.map { Data($0) }
            let result = try body(&data)
            bytes = data.map { Array($0) }
            return result
        }
    }

    /// The JSON value under `name`, decoded, or nil.
    public func decode<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T? {
        try get(name).map { try JSONDecoder().decode(T.self, from: $0) }
    }

    /// Changes the JSON value under `name` (starting from `initial` when absent) atomically.
    public func modify<T: Codable, R>(_ name: String, initial: T, _ body: (inout T) throws -> R) throws -> R {
        try update(name) { data in
            var value = try data.map { try JSONDecoder().decode(T.self, from: $0) } ?? initial
            let result = try body(&value)
            data = try JSONEncoder().encode(value)
            return result
        }
    }

    private func openStore() throws -> UserDataStore {
        guard let store else { throw ToolError("this server keeps no user data (no data directory is configured)") }
        return store
    }
}
