/// Reads the registered claims of a payload in one validating pass.
@usableFromInline
enum ClaimScanner {
    /// Fills `claims`; returns the reason when a registered claim has the wrong type.
    @usableFromInline
    static func scan(
        _ payload: UnsafeRawBufferPointer, into claims: inout RegisteredClaims,
        limits: JSONLimits, names: UnsafeMutableBufferPointer<MemberName>
    ) throws(Malformation) -> Reason? {
        var exp: JSONSlice?
        var nbf: JSONSlice?
        var iat: JSONSlice?
        var scanner = unsafe JSONScanner(doc: payload, limits: limits, names: names)
        try unsafe scanner.scanTopLevelObject(notObject: .payloadNotObject) { (name, key, value) throws(Malformation) in
            switch key {
            case MemberKey.iss: claims.iss = value
            case MemberKey.sub: claims.sub = value
            case MemberKey.aud: claims.aud = value
            case MemberKey.exp: exp = value
            case MemberKey.iat: iat = value
            case MemberKey.nbf: nbf = value
            case MemberKey.jti: claims.jti = value
            case MemberKey.scope: claims.scope = value
            case MemberKey.azp: claims.azp = value
            case MemberKey.scp: claims.scp = value
            case MemberKey.email: claims.email = value
            case MemberKey.name: claims.name = value
            case MemberKey.picture: claims.picture = value
            case MemberKey.roles: claims.roles = value
            case MemberKey.orgID: claims.orgID = value
            case 0:
                // No key (a longer name, one spelled with escapes such as "\u0065xp",
                // or one near the end of the payload): compare the bytes.
                try unsafe rescanName(payload, name, value, &claims, &exp, &nbf, &iat)
            default: return
            }
        }
        return unsafe checkTypes(payload, &claims, exp: exp, nbf: nbf, iat: iat)
    }

    @usableFromInline
    static func rescanName(
        _ payload: UnsafeRawBufferPointer, _ name: JSONSlice, _ value: JSONSlice,
        _ claims: inout RegisteredClaims, _ exp: inout JSONSlice?, _ nbf: inout JSONSlice?, _ iat: inout JSONSlice?
    ) throws(Malformation) {
        // A plain name of eight bytes or more can only be one of the three long ones (the
        // shorter names have keys): most unknown names are long, so they stop here.
        if !name.hasEscapes, name.count >= 8 {
            switch name.count {
            case 9: if unsafe nameIs(payload, name, "client_id") { claims.clientID = value }
            case 11: if unsafe nameIs(payload, name, "permissions") { claims.permissions = value }
            case 18: if unsafe nameIs(payload, name, "preferred_username") { claims.preferredUsername = value }
            default: break
            }
            return
        }
        if unsafe nameIs(payload, name, "iss") { claims.iss = value }
        else if unsafe nameIs(payload, name, "iat") { iat = value }
        else if unsafe nameIs(payload, name, "sub") { claims.sub = value }
        else if unsafe nameIs(payload, name, "scope") { claims.scope = value }
        else if unsafe nameIs(payload, name, "aud") { claims.aud = value }
        else if unsafe nameIs(payload, name, "azp") { claims.azp = value }
        else if unsafe nameIs(payload, name, "exp") { exp = value }
        else if unsafe nameIs(payload, name, "nbf") { nbf = value }
        else if unsafe nameIs(payload, name, "jti") { claims.jti = value }
        else if unsafe nameIs(payload, name, "client_id") { claims.clientID = value }
        else if unsafe nameIs(payload, name, "scp") { claims.scp = value }
        else if unsafe nameIs(payload, name, "email") { claims.email = value }
        else if unsafe nameIs(payload, name, "name") { claims.name = value }
        else if unsafe nameIs(payload, name, "permissions") { claims.permissions = value }
        else if unsafe nameIs(payload, name, "picture") { claims.picture = value }
        else if unsafe nameIs(payload, name, "preferred_username") { claims.preferredUsername = value }
        else if unsafe nameIs(payload, name, "roles") { claims.roles = value }
        else if unsafe nameIs(payload, name, "org_id") { claims.orgID = value }
    }

    @usableFromInline
    static func checkTypes(
        _ payload: UnsafeRawBufferPointer, _ claims: inout RegisteredClaims,
        exp: JSONSlice?, nbf: JSONSlice?, iat: JSONSlice?
    ) -> Reason? {
        if let s = claims.iss, s.kind != .string { return .invalidClaim("iss") }
        if let s = claims.sub, s.kind != .string { return .invalidClaim("sub") }
        if let s = claims.jti, s.kind != .string { return .invalidClaim("jti") }
        if let s = claims.scope, s.kind != .string { return .invalidClaim("scope") }
        if let s = claims.azp, s.kind != .string { return .invalidClaim("azp") }
        if let s = claims.clientID, s.kind != .string { return .invalidClaim("client_id") }
        if let aud = claims.aud {
            switch aud.kind {
            case .string: break
            case .array:
                if !aud.stringsOnly { return .invalidClaim("aud") }
            default: return .invalidClaim("aud")
            }
        }
        if let exp {
            guard let value = unsafe JSONText.numericDate(payload, exp) else { return .invalidClaim("exp") }
            claims.exp = value
        }
        if let nbf {
            guard let value = unsafe JSONText.numericDate(payload, nbf, roundingUp: true) else { return .invalidClaim("nbf") }
            claims.nbf = value
        }
        if let iat {
            guard let value = unsafe JSONText.numericDate(payload, iat, roundingUp: true) else { return .invalidClaim("iat") }
            claims.iat = value
        }
        return nil
    }
}
