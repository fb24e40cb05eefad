/// What a caller must have to be allowed: roles, permissions, scopes, checks of
/// its own, and their combinations. Evaluated against a verified `Identity`.
///
/// ```swift
/// let canDelete: Requirement = .allOf([.scope("notes:write"), .anyOf([.role("admin"), .permission("notes:delete")])])
/// switch canDelete.evaluate(identity) {
/// case .allow: …
/// case .deny(let missing): … missing.scopes   // every missing scope, for an insufficient_scope challenge
/// }
/// ```
public indirect enum Requirement: Sendable {
    case role(String)
    case permission(String)
    case scope(String)
    /// Every one of these (an empty list always allows: "authenticated").
    case allOf([Requirement])
    /// At least one of these (an empty list never allows).
    case anyOf([Requirement])
    /// A check of the caller's own; `name` is what a denial reports.
    case check(name: String, @Sendable (Identity) -> Bool)

    /// Any verified caller.
    public static let authenticated = Requirement.allOf([])

    public static func roles(_ names: String..., all: Bool = true) -> Requirement {
        all ? .allOf(names.map(Requirement.role)) : .anyOf(names.map(Requirement.role))
    }

    public static func permissions(_ names: String..., all: Bool = true) -> Requirement {
        all ? .allOf(names.map(Requirement.permission)) : .anyOf(names.map(Requirement.permission))
    }

    public static func scopes(_ names: String..., all: Bool = true) -> Requirement {
        all ? .allOf(names.map(Requirement.scope)) : .anyOf(names.map(Requirement.scope))
    }

    /// Both requirements.
    public static func && (a: Requirement, b: Requirement) -> Requirement { .allOf([a, b]) }
    /// Either requirement.
    public static func || (a: Requirement, b: Requirement) -> Requirement { .anyOf([a, b]) }

    /// Allows, or denies with what is missing.
    /// - Parameter scopeHierarchy: when set, a granted scope also grants the scopes below
    ///   it, `notes` granting `notes:read` and `notes:read:own` (segments split by `:`).
    public func evaluate(_ identity: Identity, scopeHierarchy: Bool = false) -> Decision {
        let missing = missing(for: identity, scopeHierarchy: scopeHierarchy)
        return missing.isEmpty ? .allow : .deny(missing)
    }

    /// Every scope this requirement names, in order and without repeats (for
    /// `WWW-Authenticate: … scope="…"` and protected-resource metadata).
    public var scopesNamed: [String] {
        var out = [String]()
        func collect(_ requirement: Requirement) {
            switch requirement {
            case .scope(let name) where !out.contains(name): out.append(name)
            case .allOf(let parts), .anyOf(let parts): parts.forEach(collect)
            default: break
            }
        }
        collect(self)
        return out
    }

    private func missing(for identity: Identity, scopeHierarchy: Bool) -> MissingRequirements {
        switch self {
        case .role(let name):
            return identity.hasRole(name) ? MissingRequirements() : MissingRequirements(roles: [name])
        case .permission(let name):
            return identity.hasPermission(name) ? MissingRequirements() : MissingRequirements(permissions: [name])
        case .scope(let name):
            return Self.grants(identity, scope: name, hierarchy: scopeHierarchy) ? MissingRequirements() : MissingRequirements(scopes: [name])
        case .check(let name, let predicate):
            return predicate(identity) ? MissingRequirements() : MissingRequirements(checks: [name])
        case .allOf(let parts):
            // Everything missing at once: a client can then ask for all the scopes in one step.
            return parts.reduce(into: MissingRequirements()) { $0.merge($1.missing(for: identity, scopeHierarchy: scopeHierarchy)) }
        case .anyOf(let parts):
            // The alternative closest to being met (fewest missing items; the first on a tie).
            var best: MissingRequirements?
            for part in parts {
                let missing = part.missing(for: identity, scopeHierarchy: scopeHierarchy)
                if missing.isEmpty { return missing }
                if best == nil || missing.count < best!.count { best = missing }
            }
            return best ?? MissingRequirements(checks: ["anyOf: no alternative"])
        }
    }

    /// Whether the identity holds `scope`, or (with the hierarchy) one of its ancestors.
    static func grants(_ identity: Identity, scope: String, hierarchy: Bool) -> Bool {
        if identity.hasScope(scope) { return true }
        guard hierarchy else { return false }
        var prefix = scope[...]
        while let separator = prefix.lastIndex(of: ":") {
            prefix = prefix[..<separator]
            if !prefix.isEmpty, identity.hasScope(prefix) { return true }
        }
        return false
    }
}

/// The outcome of evaluating a `Requirement`.
public enum Decision: Sendable, Equatable {
    case allow
    case deny(MissingRequirements)
}

/// What a denied caller lacks. Each list keeps the requirement's order, without repeats.
public struct MissingRequirements: Sendable, Equatable {
    public var roles: [String]
    public var permissions: [String]
    public var scopes: [String]
    /// Names of failed `Requirement.check`s.
    public var checks: [String]

    public init(roles: [String] = [], permissions: [String] = [], scopes: [String] = [], checks: [String] = []) {
        self.roles = roles
        self.permissions = permissions
        self.scopes = scopes
        self.checks = checks
    }

    public var isEmpty: Bool { count == 0 }
    var count: Int { roles.count + permissions.count + scopes.count + checks.count }

    mutating func merge(_ other: MissingRequirements) {
        func add(_ items: [String], to list: inout [String]) {
            for item in items where !list.contains(item) { list.append(item) }
        }
        add(other.roles, to: &roles)
        add(other.permissions, to: &permissions)
        add(other.scopes, to: &scopes)
        add(other.checks, to: &checks)
    }

    /// One line for a JSON-RPC error or a log: `missing role "admin"; missing scopes "a", "b"`.
    public var description: String {
        var parts = [String]()
        func describe(_ items: [String], _ singular: String, _ plural: String) {
            guard !items.isEmpty else { return }
            parts.append("missing \(items.count == 1 ? singular : plural) " + items.map { "\"\($0)\"" }.joined(separator: ", "))
        }
        describe(roles, "role", "roles")
        describe(permissions, "permission", "permissions")
        describe(scopes, "scope", "scopes")
        describe(checks, "check", "checks")
        return parts.joined(separator: "; ")
    }
}
