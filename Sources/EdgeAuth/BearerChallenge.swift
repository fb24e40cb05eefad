import EdgeAuthCore

/// The `WWW-Authenticate` value of a refused bearer request (RFC 6750 §3, RFC 9728 §5.1),
/// written once for `edgeauth serve`, the gateway and the C library (the nginx module).
public enum BearerChallenge {
    /// `Bearer error="…", error_description="…", resource_metadata="…", scope="…"`, each
    /// parameter only when given.
    public static func text(error: String? = nil, description: String? = nil, metadataURL: String, scopes: [String]) -> String {
        var parameters = [String]()
        if let error { parameters.append("error=\"\(quotable(error))\"") }
        if let description { parameters.append("error_description=\"\(quotable(description))\"") }
        parameters.append("resource_metadata=\"\(quotable(metadataURL))\"")
        let scope = scopes.joined(separator: " ")
        if !scope.isEmpty { parameters.append("scope=\"\(quotable(scope))\"") }
        return "Bearer " + parameters.joined(separator: ", ")
    }

    /// What a client is told about a rejected token: the reason's general meaning, never
    /// the values involved or anything about the server's configuration (R2).
    public static func description(of reason: Reason) -> String {
        description(of: Meaning(reason))
    }

    /// The rejections a client is told apart.
    public enum Meaning: Sendable {
        case expired, notYetValid, wrongAudience, wrongIssuer, revoked, tooOld, tooLarge, malformed, notValid

        public init(_ reason: Reason) {
            self = switch reason {
            case .expired: .expired
            case .notYetValid, .issuedInFuture: .notYetValid
            case .wrongAudience: .wrongAudience
            case .wrongIssuer: .wrongIssuer
            case .revoked: .revoked
            case .tooOld: .tooOld
            case .tokenTooLarge: .tooLarge
            case .malformed, .unsecured: .malformed
            default: .notValid
            }
        }
    }

    public static func description(of meaning: Meaning) -> String {
        switch meaning {
        case .expired: "the access token has expired"
        case .notYetValid: "the access token is not valid yet"
        case .wrongAudience: "the access token was not issued for this resource"
        case .wrongIssuer: "the access token was not issued by a trusted authorization server"
        case .revoked: "the access token has been revoked"
        case .tooOld: "the access token is too old"
        case .tooLarge: "the access token is too large"
        case .malformed: "the access token is malformed"
        case .notValid: "the access token is not valid"
        }
    }

    /// Text inside a quoted-string (RFC 9110 §5.6.4): quotes and backslashes would end or
    /// escape it, and line breaks would end the header.
    private static func quotable(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }) else { return text }
        return String(text.map { $0 == "\"" || $0 == "\\" ? "'" : ($0.asciiValue.map { $0 < 0x20 } ?? false) || $0 == "\r\n" ? " " : $0 })
    }
}
