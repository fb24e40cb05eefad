/// The header parameters EdgeAuth reads. Everything else (`jku`, `x5u`, `jwk`,
/// `x5c`…) is deliberately ignored: keys are never taken from the token.
@usableFromInline
struct HeaderFields {
    @usableFromInline var alg: JSONSlice?
    @usableFromInline var kid: JSONSlice?
    @usableFromInline var typ: JSONSlice?
    @usableFromInline var crit: JSONSlice?
    @usableFromInline var b64: JSONSlice?

    @usableFromInline init() {}

    @usableFromInline
    static func scan(
        _ header: UnsafeRawBufferPointer, limits: JSONLimits, names: UnsafeMutableBufferPointer<MemberName>
    ) throws(Malformation) -> HeaderFields {
        var fields = HeaderFields()
        var scanner = unsafe JSONScanner(doc: header, limits: limits, names: names)
        try unsafe scanner.scanTopLevelObject(notObject: .headerNotObject) { (name, key, value) throws(Malformation) in
            switch key {
            case MemberKey.alg: fields.alg = value
            case MemberKey.kid: fields.kid = value
            case MemberKey.typ: fields.typ = value
            case MemberKey.crit: fields.crit = value
            case MemberKey.b64: fields.b64 = value
            case 0:
                // No key: a name spelled with escapes ("\u0061lg") still names a
                // parameter, and a name near the end of the header is read byte by byte.
                if unsafe nameIs(header, name, "alg") { fields.alg = value }
                else if unsafe nameIs(header, name, "kid") { fields.kid = value }
                else if unsafe nameIs(header, name, "typ") { fields.typ = value }
                else if unsafe nameIs(header, name, "crit") { fields.crit = value }
                else if unsafe nameIs(header, name, "b64") { fields.b64 = value }
            default: return
            }
        }
        // Once, after the scan (each parameter appears at most once: duplicates were refused).
        if let kid = fields.kid, kid.kind != .string { throw .headerParameterType }
        if let typ = fields.typ, typ.kind != .string { throw .headerParameterType }
        if let b64 = fields.b64, b64.kind != .bool { throw .headerParameterType }
        return fields
    }

    /// The algorithm, after the checks that make a header unacceptable whatever the policy.
    @usableFromInline
    func algorithm(in header: UnsafeRawBufferPointer) -> Result<Algorithm, Reason> {
        guard let alg, alg.kind == .string else { return .failure(.malformed(.missingAlgorithm)) }
        // Up to 8 bytes of the unescaped name, packed: every implemented name is 5 bytes.
        var packed: UInt64 = 0
        var length = 0
        if alg.hasEscapes {
            var bytes = unsafe JSONText.UnescapedBytes(doc: header, slice: alg)
            while let byte = unsafe bytes.next() {
                if length < 8 { packed |= UInt64(byte) << (8 * UInt64(length)) }
                length += 1
            }
        } else {
            length = alg.count
            for i in 0..<min(length, 8) { unsafe packed |= UInt64(header[alg.start + i]) << (8 * UInt64(i)) }
        }
        // "none" in any case: its four letters with the case bit set (only a letter's other
        // case shares a letter's value with that bit set).
        if length == 4, packed | 0x2020_2020 == 0x65_6e_6f_6e { return .failure(.unsecured) }
        if let b64, unsafe header[b64.start] == UInt8(ascii: "f") { return .failure(.malformed(.unencodedPayload)) }
        if let crit {
            // RFC 7515 §4.1.11: a non-empty array of names. None is implemented here.
            guard crit.kind == .array else { return .failure(.malformed(.headerParameterType)) }
            var first: JSONSlice?
            var allStrings = true
            unsafe JSONText.forEachElement(header, crit) { element in
                if element.kind != .string { allStrings = false }
                if first == nil { first = element }
                return true
            }
            guard allStrings, let first else { return .failure(.malformed(.headerParameterType)) }
            return unsafe .failure(.unsupportedCritical(JSONText.string(header, first)))
        }
        // Every implemented name is exactly 5 bytes; the length check also stops "HS256\u0000"
        // (a NUL adds nothing to the packed value) from passing as "HS256".
        if length == Algorithm.nameLength, let index = Algorithm.packedNames.firstIndex(of: packed) {
            return .success(Algorithm(rawValue: UInt8(index))!)
        }
        return unsafe .failure(.unsupportedAlgorithm(JSONText.string(header, alg)))
    }
}
