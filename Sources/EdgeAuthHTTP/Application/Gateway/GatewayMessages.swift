import EdgeAuth
import NIOCore
import NIOHTTP1

/// The JSON-RPC side of a gateway route: requirements by method and by tool checked for
/// every message of a request (each element of a batch), and `tools/list` answers with the
/// tools the caller may not call taken out. The same answers as the Swift tools give.
enum GatewayMessages {
    /// One request or notification of a body.
    struct Message {
        let id: JSONValue?
        let method: String
        /// `params.name` of `tools/call`.
        let tool: String?
    }

    /// What to do with a request to a route that inspects messages.
    enum Outcome {
        /// Forward it; the ids of its `tools/list` requests, whose answers are filtered.
        case forward(toolListIDs: [JSONValue])
        case answer(HTTPReply)
    }

    /// JSON-RPC's code for a refused call (the Swift tools answer it too).
    static let forbiddenCode = -32003

    static func check(_ body: ByteBuffer, route: GatewaySettings.Route, identity: Identity, resource: ProtectedResource) -> Outcome {
        let messages: [Message]
        let isBatch: Bool
        switch parse(body) {
        case .refused(let problem): return .answer(problem)
        case .messages(let parsed, let batch): (messages, isBatch) = (parsed, batch)
        }
        var scopesMissing = false
        var needed: [GatewaySettings.Requirements] = []
        var denied: [(Message, MissingRequirements)] = []
        for message in messages {
            var requirements: [(String, GatewaySettings.Requirements)] = []
            if let byMethod = route.methods[message.method] { requirements.append(("method \(message.method)", byMethod)) }
            if let tool = message.tool, let byTool = route.tools[tool] { requirements.append(("tool \(tool)", byTool)) }
            for (_, requirement) in requirements where !requirement.isMet(by: identity) {
                guard case .deny(let missing) = requirement.requirement.evaluate(identity) else { continue }
                needed.append(requirement)
                if !missing.scopes.isEmpty { scopesMissing = true }
                denied.append((message, missing))
            }
        }
        if scopesMissing {
            // R3: every scope the refused messages need, so one step-up covers them all.
            var scopes = GatewayChecks.neededScopes(resource, route.requirements)
            for requirement in needed { for scope in requirement.scopes where !scopes.contains(scope) { scopes.append(scope) } }
            let what = denied.filter { !$0.1.scopes.isEmpty }.map { $0.0.tool.map { "the tool \($0)" } ?? "the method \($0.0.method)" }.joined(separator: ", ")
            return .answer(resource.insufficientScope("\(what) needs the scopes \(scopes.joined(separator: " "))", scopes: scopes))
        }
        if !denied.isEmpty {
            // A batch is refused whole: forwarding the rest would answer only part of it.
            let errors: [JSONValue] = messages.compactMap { message in
                guard let id = message.id else { return nil }
                guard let missing = denied.first(where: { $0.0.id == id })?.1 else {
                    return error(id: id, code: forbiddenCode, message: "Forbidden: another message of the batch was refused")
                }
                let what = message.tool.map { "tool \($0)" } ?? "method \(message.method)"
                return error(id: id, code: forbiddenCode, message: "Forbidden: the \(what) needs what the caller lacks: \(missing.description)",
                             data: ["missing": ["roles": .array(missing.roles.map(JSONValue.string)), "permissions": .array(missing.permissions.map(JSONValue.string))]])
            }
            if errors.isEmpty { return .answer(HTTPReply(status: .accepted)) }
            return .answer(.json(.ok, isBatch ? .array(errors) : errors[0]))
        }
        let listIDs = messages.compactMap { $0.method == "tools/list" && !route.tools.isEmpty ? $0.id : nil }
        return .forward(toolListIDs: listIDs)
    }

    /// The messages of a body; refused, as JSON-RPC errors, when it is not JSON-RPC: a body
    /// that EdgeAuth cannot read is never forwarded past requirements it could not check.
    static func parse(_ body: ByteBuffer) -> Parsed {
        let value: JSONValue
        do {
            value = try JSONValue.parse(body.readableBytesView, limits: JSONLimits(maxDepth: 64, maxMembers: 100_000))
        } catch {
            return .refused(.json(.badRequest, self.error(id: nil, code: -32700, message: "Parse error: the body is not valid JSON")))
        }
        let items: [JSONValue]
        let isBatch: Bool
        if case .array(let elements) = value {
            guard !elements.isEmpty else { return .refused(.json(.badRequest, error(id: nil, code: -32600, message: "Invalid Request: an empty batch"))) }
            (items, isBatch) = (elements, true)
        } else {
            (items, isBatch) = ([value], false)
        }
        var messages: [Message] = []
        for item in items {
            guard case .object(let members) = item else {
                return .refused(.json(.badRequest, error(id: nil, code: -32600, message: "Invalid Request: a message is not an object")))
            }
            // Answers to the server's own requests (sampling, elicitation) carry no method.
            guard let methodValue = members["method"] else {
                guard members["result"] != nil || members["error"] != nil else {
                    return .refused(.json(.badRequest, error(id: members["id"], code: -32600, message: "Invalid Request: no method")))
                }
                continue
            }
            guard case .string(let method) = methodValue else {
                return .refused(.json(.badRequest, error(id: members["id"], code: -32600, message: "Invalid Request: the method is not a string")))
            }
            var tool: String?
            if method == "tools/call" {
                guard case .string(let name)? = members["params"]?["name"] else {
                    return .refused(.json(.ok, error(id: members["id"], code: -32602, message: "Invalid params: tools/call needs params.name")))
                }
                tool = name
            }
            messages.append(Message(id: members["id"], method: method, tool: tool))
        }
        return .messages(messages, isBatch: isBatch)
    }

    enum Parsed {
        case messages([Message], isBatch: Bool)
        case refused(HTTPReply)
    }

    /// The ids of a body's requests (for the errors of a failed upstream), or none when it is not JSON-RPC.
    static func requestIDs(_ body: ByteBuffer) -> [JSONValue] {
        guard case .messages(let messages, _) = parse(body) else { return [] }
        return messages.compactMap(\.id)
    }

    static func error(id: JSONValue?, code: Int, message: String, data: JSONValue? = nil) -> JSONValue {
        var error: [String: JSONValue] = ["code": .number(String(code)), "message": .string(message)]
        if let data { error["data"] = data }
        return ["jsonrpc": "2.0", "id": id ?? .null, "error": .object(error)]
    }

    // MARK: tools/list answers

    /// A JSON answer (one message or a batch) without the tools the caller may not call;
    /// nil when it is not JSON (then it goes out as it came).
    /// - Parameter toolListIDs: the ids of the `tools/list` requests (nil: any answer listing tools).
    static func filtered(_ answer: ByteBuffer, toolListIDs: [JSONValue]?, route: GatewaySettings.Route, identity: Identity) -> ByteBuffer? {
        guard let value = try? JSONValue.parse(answer.readableBytesView, limits: JSONLimits(maxDepth: 64, maxMembers: 1_000_000)) else { return nil }
        var changed = false
        let result = filtered(value, toolListIDs: toolListIDs, route: route, identity: identity, changed: &changed)
        return changed ? ByteBuffer(string: result.jsonText) : nil
    }

    static func filtered(_ value: JSONValue, toolListIDs: [JSONValue]?, route: GatewaySettings.Route, identity: Identity, changed: inout Bool) -> JSONValue {
        switch value {
        case .array(let elements):
            return .array(elements.map { filtered($0, toolListIDs: toolListIDs, route: route, identity: identity, changed: &changed) })
        case .object(var members):
            guard let id = members["id"], toolListIDs?.contains(id) ?? true, case .object(var result)? = members["result"],
                  case .array(let tools)? = result["tools"] else { return value }
            let kept = tools.filter { tool in
                guard case .string(let name)? = tool["name"], let requirements = route.tools[name] else { return true }
                return requirements.requirement.evaluate(identity) == .allow
            }
            guard kept.count != tools.count else { return value }
            changed = true
            result["tools"] = .array(kept)
            members["result"] = .object(result)
            return .object(members)
        default:
            return value
        }
    }
}
