import EdgeAuthMCP
import Foundation

// Auth0 when AUTH0_DOMAIN and AUTH0_AUDIENCE are set (auth0.env.example); otherwise the
// development key of `edgeauth serve`, so the server can be tried without an account.
let environment = ProcessInfo.processInfo.environment
let auth: MCPAuth
var settings = ServerConfiguration()
if let domain = environment["AUTH0_DOMAIN"], let audience = environment["AUTH0_AUDIENCE"] {
    auth = .auth0(domain: domain, audience: audience)
    // The URL clients use for this server: the audience its tokens are issued for.
    settings.resource = audience
} else {
    auth = .development()
}
var options = MCPServer.Options()
options.dataDirectory = environment["NOTES_DATA_DIR"] ?? ".edgeauth/notes"

let server = MCPServer(name: "notes", version: "1.0.0", auth: auth, options: options)

server.tool("whoami", description: "Who am I?") { _, context in
    .text("You are \(context.auth.name ?? context.auth.id) with roles \(context.auth.roles)")
}

server.tool("add_note", description: "Add a note.",
            inputSchema: ["type": "object", "properties": ["text": ["type": "string", "minLength": 1, "maxLength": 1000]], "required": ["text"]],
            requires: .scope("notes:write")) { arguments, context in
    let text = try arguments.string("text")
    // Keyed by the verified user: every worker process sees the same notes.
    let count = try context.userData.modify("notes", initial: [String]()) { notes in
        notes.append(text)
        return notes.count
    }
    return .text("You have \(count) notes")
}

server.tool("list_notes", description: "List your notes.") { _, context in
    let notes = try context.userData.decode("notes", as: [String].self) ?? []
    return .structured(["notes": .array(notes.map(Value.string))], text: notes.joined(separator: "\n"))
}

server.tool("delete_note", description: "Delete a note by its position (from 1).",
            inputSchema: ["type": "object", "properties": ["index": ["type": "integer", "minimum": 1]], "required": ["index"]],
            requires: .permission("notes:delete")) { arguments, context in
    let index = try arguments.int("index")
    let removed = try context.userData.modify("notes", initial: [String]()) { notes -> String? in
        notes.indices.contains(index - 1) ? notes.remove(at: index - 1) : nil
    }
    guard let removed else { throw ToolError("there is no note \(index)") }
    return .text("Deleted \"\(removed)\"")
}

do {
    try await server.run(settings)
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(2)
}
