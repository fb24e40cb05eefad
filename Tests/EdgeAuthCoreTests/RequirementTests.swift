import EdgeAuthCore
import Testing

/// Requirement evaluation, as tables (the RBAC model of docs/rbac.md).
@Suite("Requirements")
struct RequirementTests {
    static let alice = Identity(
        id: "alice", roles: ["admin", "editor"], permissions: ["notes:read", "notes:delete"],
        scopes: ["openid", "notes:read", "files"], issuer: "https://issuer.example/"
    )

    static let table: [(String, Requirement, Decision)] = [
        ("a held role", .role("admin"), .allow),
        ("a role not held", .role("owner"), .deny(MissingRequirements(roles: ["owner"]))),
        ("role names compare exactly", .role("Admin"), .deny(MissingRequirements(roles: ["Admin"]))),
        ("a held permission", .permission("notes:delete"), .allow),
        ("a permission not held", .permission("notes:write"), .deny(MissingRequirements(permissions: ["notes:write"]))),
        ("a granted scope", .scope("notes:read"), .allow),
        ("a scope not granted", .scope("notes:write"), .deny(MissingRequirements(scopes: ["notes:write"]))),
        ("authenticated", .authenticated, .allow),
        ("all of: every missing scope at once (R3)", .scopes("notes:read", "notes:write", "notes:admin"),
         .deny(MissingRequirements(scopes: ["notes:write", "notes:admin"]))),
        ("all of, mixed kinds", .role("owner") && .permission("notes:write") && .scope("openid"),
         .deny(MissingRequirements(roles: ["owner"], permissions: ["notes:write"]))),
        ("any of: one alternative is enough", .roles("owner", "editor", all: false), .allow),
        ("any of: the closest alternative is reported", .anyOf([.scopes("a", "b"), .role("owner")]), .deny(MissingRequirements(roles: ["owner"]))),
        ("any of: a tie reports the first", .anyOf([.scope("x"), .role("y")]), .deny(MissingRequirements(scopes: ["x"]))),
        ("an empty any-of never allows", .anyOf([]), .deny(MissingRequirements(checks: ["anyOf: no alternative"]))),
        ("nested", .scope("notes:read") && (.role("owner") || .permission("notes:delete")), .allow),
        ("repeats are reported once", .scope("w") && .scope("w"), .deny(MissingRequirements(scopes: ["w"]))),
        ("a passing check", .check(name: "same tenant") { $0.id == "alice" }, .allow),
        ("a failing check", .check(name: "office hours") { _ in false }, .deny(MissingRequirements(checks: ["office hours"]))),
    ]

    @Test("evaluation", arguments: table)
    func evaluate(_ row: (String, Requirement, Decision)) {
        #expect(row.1.evaluate(Self.alice) == row.2, "\(row.0)")
    }

    @Test("with the scope hierarchy, a granted scope also grants the scopes below it")
    func hierarchy() {
        #expect(Requirement.scope("files:read").evaluate(Self.alice, scopeHierarchy: true) == .allow)
        #expect(Requirement.scope("files:read:own").evaluate(Self.alice, scopeHierarchy: true) == .allow)
        #expect(Requirement.scope("files:read").evaluate(Self.alice) == .deny(MissingRequirements(scopes: ["files:read"])))
        // Not upwards, and not by a shared prefix that is not a whole segment.
        #expect(Requirement.scope("notes").evaluate(Self.alice, scopeHierarchy: true) == .deny(MissingRequirements(scopes: ["notes"])))
        #expect(Requirement.scope("filesystem:read").evaluate(Self.alice, scopeHierarchy: true) == .deny(MissingRequirements(scopes: ["filesystem:read"])))
    }

    @Test("the scopes a requirement names, for challenges and metadata")
    func scopesNamed() {
        let requirement: Requirement = .scope("a") && (.scope("b") || .role("r")) && .scope("a")
        #expect(requirement.scopesNamed == ["a", "b"])
    }

    @Test("a denial reads as one line")
    func description() {
        #expect(MissingRequirements(roles: ["admin"], scopes: ["a", "b"]).description == #"missing role "admin"; missing scopes "a", "b""#)
    }

    @Test("the example of docs/rbac.md")
    func documentedExample() {
        let canDelete: Requirement = .scope("notes:write") && (.role("admin") || .permission("notes:delete"))
        guard case .deny(let missing) = canDelete.evaluate(Self.alice) else {
            Issue.record("alice holds no notes:write scope")
            return
        }
        #expect(missing.description == #"missing scope "notes:write""#)
        #expect(Requirement.anyOf([.scopes("a", "b"), .role("owner")]).evaluate(Self.alice) == .deny(MissingRequirements(roles: ["owner"])))
    }
}
