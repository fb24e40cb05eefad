/// Where each `Identity` field comes from in a provider's tokens, by JSON pointer.
/// The issuer, audience, `jti`, client and times always come from the registered
/// claims; everything a provider names differently is mapped here.
public struct ClaimMapping: Sendable, Hashable {
    public var subject: ClaimPointer = "/sub"
    public var email: ClaimPointer? = "/email"
    public var name: ClaimPointer? = "/name"
    public var username: ClaimPointer? = "/preferred_username"
    public var picture: ClaimPointer? = "/picture"
    public var organization: ClaimPointer? = "/org_id"
    /// Every source adds its elements, in order.
    public var roles: [ListSource] = [.claim("/roles")]
    public var permissions: [ListSource] = [.claim("/permissions")]
    /// The first of these holding at least one scope: a space-separated string or an array.
    public var scopes: [ClaimPointer] = ["/scope", "/scp"]

    /// The standard claims (the mapping `Identity(standardClaimsOf:)` applies).
    public static let standard = ClaimMapping()

    public init() {}

    /// Where list elements come from.
    public enum ListSource: Sendable, Hashable {
        /// A string (one element) or an array of strings, each with `prefix` in front.
        case claim(ClaimPointer, prefix: String = "")
        /// The first of these claims that is present.
        case firstOf([ClaimPointer])
        /// For every member of the object at the pointer, the strings of its `roles`
        /// array as `member:role` (Keycloak's `resource_access`).
        case rolesOfEachMember(ClaimPointer)
    }
}

extension Identity {
    /// Maps a parsed token through `mapping`.
    public init(mapping: ClaimMapping, view: TokenView, signatureVerified: Bool = true) {
        let doc = unsafe view.payload
        let root = unsafe view.payloadObject
        let c = unsafe view.claims
        func string(_ pointer: ClaimPointer?) -> JSONSlice? {
            guard let value = unsafe pointer?.resolve(in: doc, from: root), value.kind == .string else { return nil }
            return value
        }
        var sources = IdentitySources(registered: c, signatureVerified: signatureVerified)
        sources.subject = string(mapping.subject)
        sources.email = string(mapping.email)
        sources.name = string(mapping.name)
        sources.username = string(mapping.username)
        sources.picture = string(mapping.picture)
        sources.organization = string(mapping.organization)
        sources.scopes = mapping.scopes.lazy.compactMap { unsafe $0.resolve(in: doc, from: root) }.first { value in
            unsafe value.kind == .array || (value.kind == .string && Identity.hasWord(doc, value))
        }
        for (list, listSources) in [(IdentityList.roles, mapping.roles), (.permissions, mapping.permissions)] {
            for source in listSources {
                switch source {
                case .claim(let pointer, let prefix):
                    if let value = unsafe pointer.resolve(in: doc, from: root) { sources.additions.append(ListAddition(list, value, prefix: prefix)) }
                case .firstOf(let pointers):
                    if let value = pointers.lazy.compactMap({ unsafe $0.resolve(in: doc, from: root) }).first {
                        sources.additions.append(ListAddition(list, value))
                    }
                case .rolesOfEachMember(let pointer):
                    guard let object = unsafe pointer.resolve(in: doc, from: root), object.kind == .object else { continue }
                    unsafe JSONText.forEachMember(doc, object) { name, value in
                        let roles: StaticString = "roles"
                        if let array = unsafe JSONText.member(doc, value, UnsafeRawBufferPointer(start: roles.utf8Start, count: roles.utf8CodeUnitCount)) {
                            unsafe sources.additions.append(ListAddition(list, array, prefix: JSONText.string(doc, name) + ":"))
                        }
                        return true
                    }
                }
            }
        }
        unsafe self.init(storage: IdentityStorage.make(payload: doc, sources: sources))
    }
}
