/// A JWS signature algorithm EdgeAuth implements (RFC 7518, RFC 8037).
public enum Algorithm: UInt8, CaseIterable, Sendable, Hashable, Codable {
    case hs256, hs384, hs512
    case rs256, rs384, rs512
    case ps256, ps384, ps512
    case es256, es384, es512
    case edDSA

    /// The kind of key and signature scheme.
    public enum Family: Sendable {
        case hmac, rsaPKCS1, rsaPSS, ecdsa, eddsa
    }

    /// The `alg` header value.
    public var name: String {
        switch self {
        case .hs256: "HS256"
        case .hs384: "HS384"
        case .hs512: "HS512"
        case .rs256: "RS256"
        case .rs384: "RS384"
        case .rs512: "RS512"
        case .ps256: "PS256"
        case .ps384: "PS384"
        case .ps512: "PS512"
        case .es256: "ES256"
        case .es384: "ES384"
        case .es512: "ES512"
        case .edDSA: "EdDSA"
        }
    }

    /// The algorithm named exactly `name` (case-sensitive, as RFC 7515 requires).
    public init?(name: String) {
        guard let match = Algorithm.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    public var family: Family {
        switch self {
        case .hs256, .hs384, .hs512: .hmac
        case .rs256, .rs384, .rs512: .rsaPKCS1
        case .ps256, .ps384, .ps512: .rsaPSS
        case .es256, .es384, .es512: .ecdsa
        case .edDSA: .eddsa
        }
    }

    /// Digest size in bytes (for EdDSA, the internal SHA-512).
    public var hashBytes: Int {
        switch self {
        case .hs256, .rs256, .ps256, .es256: 32
        case .hs384, .rs384, .ps384, .es384: 48
        case .hs512, .rs512, .ps512, .es512, .edDSA: 64
        }
    }

    /// The exact signature length when the algorithm fixes it (RSA depends on the key).
    public var fixedSignatureLength: Int? {
        switch self {
        case .hs256: 32
        case .hs384: 48
        case .hs512: 64
        case .es256: 64
        case .es384: 96
        case .es512: 132
        case .edDSA: 64
        default: nil
        }
    }

    /// The `alg` name packed into an integer (up to 8 ASCII bytes), for matching without strings.
    @usableFromInline
    static let packedNames: [UInt64] = allCases.map { pack(Array($0.name.utf8)) }

    /// The length in bytes of every implemented `alg` name.
    @usableFromInline
    static let nameLength = 5

    @usableFromInline
    static func pack(_ bytes: [UInt8]) -> UInt64 {
        var value: UInt64 = 0
        for (i, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        return value
    }
}

/// A set of algorithms, stored as a bit mask so membership tests never allocate.
public struct AlgorithmSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public init(_ algorithms: some Sequence<Algorithm>) {
        self.init(rawValue: algorithms.reduce(0) { $0 | 1 << $1.rawValue })
    }

    @inlinable
    public func contains(_ algorithm: Algorithm) -> Bool { rawValue & (1 << algorithm.rawValue) != 0 }

    public static let all = AlgorithmSet(Algorithm.allCases)
    public static let asymmetric = AlgorithmSet(Algorithm.allCases.filter { $0.family != .hmac })
    public static let hmac = AlgorithmSet([.hs256, .hs384, .hs512])

    public var algorithms: [Algorithm] { Algorithm.allCases.filter(contains) }
}
