/// The outcome of verifying a token: a value, never a thrown error.
public enum Verdict: Sendable, Hashable {
    case valid(Identity)
    case rejected(Reason)

    public var identity: Identity? {
        if case .valid(let identity) = self { return identity }
        return nil
    }

    public var reason: Reason? {
        if case .rejected(let reason) = self { return reason }
        return nil
    }
}
