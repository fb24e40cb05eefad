import EdgeAuthHTTP
import Foundation

/// The demo that `edgeauth serve` runs without configuration: a notes server whose tools
/// show each kind of requirement (docs/quickstart.md).
extension MCPServer {
    public static func demo(auth: MCPAuth = .development(), dataDirectory: String) -> MCPServer {
        var options = Options()
        options.dataDirectory = dataDirectory
        options.instructions = "A notes server: whoami, add_note, list_notes, delete_note (permission notes:delete), admin_stats (role admin)."
        let server = MCPServer(name: "edgeauth-demo", version: EdgeAuthVersion.string, auth: auth, options: options)

        server.tool("whoami", description: "Who am I? The verified caller's identity.", annotations: .init(readOnlyHint: true)) { _, context in
            let auth = context.auth
            return .structured([
                "id": .string(auth.id), "email": auth.email.map(Value.string) ?? .null, "name": auth.name.map(Value.string) ?? .null,
                "roles": .array(auth.roles.map(Value.string)), "permissions": .array(auth.permissions.map(Value.string)),
                "scopes": .array(auth.scopes.map(Value.string)), "expiresAt": auth.expiresAt.map { .int(Int($0)) } ?? .null,
            ], text: "You are \(auth.name ?? auth.id) with roles \(auth.roles) and scopes \(auth.scopes)")
        }

        server.tool("add_note", description: "Add a note to your notes.",
                    inputSchema: ["type": "object", "properties": ["text": ["type": "string", "minLength": 1, "maxLength": 2000]],
                                  "required": ["text"], "additionalProperties": false],
                    requires: .scope("notes:write")) { arguments, context in
            let text = try arguments.string("text")
            let note = try context.userData.modify(Notes.key, initial: Notes()) { notes -> Note in
                guard notes.items.count < Notes.maxNotes else { throw ToolError("you have \(Notes.maxNotes) notes already; delete some first") }
                notes.lastID += 1
                let note = Note(id: notes.lastID, text: text, created: Int64(Date().timeIntervalSince1970))
                notes.items.append(note)
                return note
            }
            return .structured(["id": .int(note.id), "text": .string(note.text)], text: "Added note \(note.id)")
        }

        server.tool("list_notes", description: "List your notes.", requires: .scope("notes:read"), annotations: .init(readOnlyHint: true)) { _, context in
            let notes = try context.userData.decode(Notes.key, as: Notes.self)?.items ?? []
            let text = notes.isEmpty ? "You have no notes." : notes.map { "\($0.id): \($0.text)" }.joined(separator: "\n")
            return .structured(["notes": .array(notes.map { ["id": .int($0.id), "text": .string($0.text)] })], text: text)
        }

        server.tool("delete_note", description: "Delete one of your notes.",
                    inputSchema: ["type": "object", "properties": ["id": ["type": "integer", "minimum": 1]], "required": ["id"], "additionalProperties": false],
                    requires: .permission("notes:delete"), annotations: .init(destructiveHint: true)) { arguments, context in
            let id = try arguments.int("id")
            let deleted = try context.userData.modify(Notes.key, initial: Notes()) { notes -> Bool in
                guard let index = notes.items.firstIndex(where: { $0.id == id }) else { return false }
                notes.items.remove(at: index)
                return true
            }
            guard deleted else { throw ToolError("you have no note \(id)") }
            return .text("Deleted note \(id)")
        }

        let admin = server.group(requires: .role("admin"))
        admin.tool("admin_stats", description: "Statistics of the notes server (role admin).", annotations: .init(readOnlyHint: true)) { _, context in
            guard let store = context.userData.store else { throw ToolError("no data directory") }
            let census = try store.census(name: Notes.key)
            return .structured(["usersWithNotes": .int(census.users), "bytes": .int(census.bytes)],
                               text: "\(census.users) users have notes (\(census.bytes) bytes)")
        }

        server.resource("notes://mine", name: "My notes", description: "Your notes as JSON.", mimeType: "application/json",
                        requires: .scope("notes:read")) { context in
            let notes = try context.userData.decode(Notes.key, as: Notes.self)?.items ?? []
            let document = Value.object(["notes": .array(notes.map { ["id": .int($0.id), "text": .string($0.text)] })])
            return [.text(document.compactJSON, uri: "notes://mine", mimeType: "application/json")]
        }

        server.prompt("summarize_notes", description: "Ask the model to summarize your notes.", requires: .scope("notes:read")) { _, context in
            let notes = try context.userData.decode(Notes.key, as: Notes.self)?.items ?? []
            let text = "Summarize these notes:\n" + notes.map { "- \($0.text)" }.joined(separator: "\n")
            return [.user(.text(text: text))]
        }
        return server
    }
}

struct Note: Codable {
    var id: Int
    var text: String
    var created: Int64
}

struct Notes: Codable {
    static let key = "notes"
    static let maxNotes = 1000
    var lastID = 0
    var items: [Note] = []
}
