/// The `NameKey`s of the member names the parser reads (each name's bytes,
/// little-endian; `MemberKeyTests` checks every one against its name).
@usableFromInline
enum MemberKey {
    @usableFromInline static let alg: NameKey = 0x67_6c_61
    @usableFromInline static let kid: NameKey = 0x64_69_6b
    @usableFromInline static let typ: NameKey = 0x70_79_74
    @usableFromInline static let crit: NameKey = 0x74_69_72_63
    @usableFromInline static let b64: NameKey = 0x34_36_62
    @usableFromInline static let iss: NameKey = 0x73_73_69
    @usableFromInline static let sub: NameKey = 0x62_75_73
    @usableFromInline static let aud: NameKey = 0x64_75_61
    @usableFromInline static let exp: NameKey = 0x70_78_65
    @usableFromInline static let iat: NameKey = 0x74_61_69
    @usableFromInline static let nbf: NameKey = 0x66_62_6e
    @usableFromInline static let jti: NameKey = 0x69_74_6a
    @usableFromInline static let scope: NameKey = 0x65_70_6f_63_73
    @usableFromInline static let azp: NameKey = 0x70_7a_61
    @usableFromInline static let scp: NameKey = 0x70_63_73
    @usableFromInline static let email: NameKey = 0x6c_69_61_6d_65
    @usableFromInline static let name: NameKey = 0x65_6d_61_6e
    @usableFromInline static let picture: NameKey = 0x65_72_75_74_63_69_70
    @usableFromInline static let roles: NameKey = 0x73_65_6c_6f_72
    @usableFromInline static let orgID: NameKey = 0x64_69_5f_67_72_6f
}

/// Compares a member name with a literal spelled in ASCII.
@inlinable @inline(__always)
func nameIs(_ doc: UnsafeRawBufferPointer, _ name: JSONSlice, _ literal: StaticString) -> Bool {
    unsafe JSONText.equal(doc, name, UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
}
