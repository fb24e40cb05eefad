/// The built-in development identity provider, the embedded default of `edgeauth serve`:
/// a list of users who log in by choosing their name, without a password. Loopback only
/// unless the operator forces it (`oauth.allowDevelopmentOffLoopback`); every page says so.
struct DevelopmentIdentityProvider: Sendable {
    let users: [DevelopmentUser]

    /// The user called `name`, as the tokens will describe them.
    func authenticate(_ name: String) -> AuthenticatedUser? {
        guard let user = users.first(where: { $0.name == name }) else { return nil }
        return AuthenticatedUser(subject: user.name, roles: user.roles, permissions: user.permissions, scopes: user.scopes, email: user.email, name: user.name)
    }
}
