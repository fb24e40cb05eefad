internal import CEdgeAuth
import EdgeAuth
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The identity accessors of include/edgeauth.h (the rules of Exports.swift hold here too).

// MARK: - Identity

@c @implementation
public func edgeauth_identity_free(_ identity: OpaquePointer?) {
    unsafe Handle.release(identity, as: IdentityStorage.self)
}

private func field(_ identity: OpaquePointer?, _ field: IdentityField, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    guard let storage = unsafe Handle.identity(identity) else { return nil }
    return unsafe storage.cString(field.rawValue, length: length)
}

@c @implementation
public func edgeauth_identity_subject(_ identity: OpaquePointer?, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe field(identity, .subject, length)
}

@c @implementation
public func edgeauth_identity_issuer(_ identity: OpaquePointer?, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe field(identity, .issuer, length)
}

@c @implementation
public func edgeauth_identity_email(_ identity: OpaquePointer?, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe field(identity, .email, length)
}

@c @implementation
public func edgeauth_identity_name(_ identity: OpaquePointer?, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe field(identity, .name, length)
}

@c @implementation
public func edgeauth_identity_username(_ identity: OpaquePointer?, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe field(identity, .username, length)
}

@c @implementation
public func edgeauth_identity_picture(_ identity: OpaquePointer?, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe field(identity, .picture, length)
}

@c @implementation
public func edgeauth_identity_client_id(_ identity: OpaquePointer?, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe field(identity, .clientId, length)
}

@c @implementation
public func edgeauth_identity_organization(_ identity: OpaquePointer?, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe field(identity, .organization, length)
}

@c @implementation
public func edgeauth_identity_token_id(_ identity: OpaquePointer?, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe field(identity, .tokenId, length)
}

private func time(_ identity: OpaquePointer?, _ out: UnsafeMutablePointer<Int64>?, _ value: (Identity) -> Int64?) -> Int32 {
    guard let handle = unsafe Handle.identity(identity), let out = unsafe out else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    guard let time = value(Identity(storage: handle)) else { return EDGEAUTH_ERR_NOT_FOUND }
    unsafe out.pointee = time
    return EDGEAUTH_OK
}

@c @implementation
public func edgeauth_identity_expires_at(_ identity: OpaquePointer?, _ out: UnsafeMutablePointer<Int64>?) -> Int32 {
    unsafe time(identity, out) { $0.expiresAt }
}

@c @implementation
public func edgeauth_identity_issued_at(_ identity: OpaquePointer?, _ out: UnsafeMutablePointer<Int64>?) -> Int32 {
    unsafe time(identity, out) { $0.issuedAt }
}

private func count(_ identity: OpaquePointer?, _ list: IdentityList) -> Int {
    unsafe Handle.identity(identity)?.range(list).count ?? 0
}

private func element(
    _ identity: OpaquePointer?, _ list: IdentityList, _ index: Int, _ length: UnsafeMutablePointer<Int>?
) -> UnsafePointer<CChar>? {
    guard let handle = unsafe Handle.identity(identity) else { return nil }
    return unsafe handle.element(of: list, index, length: length)
}

@c @implementation
public func edgeauth_identity_role_count(_ identity: OpaquePointer?) -> Int {
    unsafe count(identity, .roles)
}

@c @implementation
public func edgeauth_identity_role(_ identity: OpaquePointer?, _ index: Int, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe element(identity, .roles, index, length)
}

@c @implementation
public func edgeauth_identity_permission_count(_ identity: OpaquePointer?) -> Int {
    unsafe count(identity, .permissions)
}

@c @implementation
public func edgeauth_identity_permission(_ identity: OpaquePointer?, _ index: Int, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe element(identity, .permissions, index, length)
}

@c @implementation
public func edgeauth_identity_scope_count(_ identity: OpaquePointer?) -> Int {
    unsafe count(identity, .scopes)
}

@c @implementation
public func edgeauth_identity_scope(_ identity: OpaquePointer?, _ index: Int, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe element(identity, .scopes, index, length)
}

@c @implementation
public func edgeauth_identity_audience_count(_ identity: OpaquePointer?) -> Int {
    unsafe count(identity, .audience)
}

@c @implementation
public func edgeauth_identity_audience(_ identity: OpaquePointer?, _ index: Int, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    unsafe element(identity, .audience, index, length)
}

private func has(_ identity: OpaquePointer?, _ list: IdentityList, _ name: UnsafePointer<UInt8>?, _ length: Int) -> Bool {
    guard let storage = unsafe Handle.identity(identity), let bytes = unsafe borrowed(name, length) else { return false }
    return unsafe storage.contains(list, bytes)
}

@c @implementation
public func edgeauth_identity_has_role(_ identity: OpaquePointer?, _ role: UnsafePointer<UInt8>?, _ length: Int) -> Bool {
    unsafe has(identity, .roles, role, length)
}

@c @implementation
public func edgeauth_identity_has_permission(_ identity: OpaquePointer?, _ permission: UnsafePointer<UInt8>?, _ length: Int) -> Bool {
    unsafe has(identity, .permissions, permission, length)
}

@c @implementation
public func edgeauth_identity_has_scope(_ identity: OpaquePointer?, _ scope: UnsafePointer<UInt8>?, _ length: Int) -> Bool {
    unsafe has(identity, .scopes, scope, length)
}

/// Looks up a claim by `lookup(name)` and returns it as JSON text through `jsonOut`.
private func claimJSON(
    _ identity: OpaquePointer?, _ name: UnsafePointer<UInt8>?, _ length: Int,
    _ jsonOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ lengthOut: UnsafeMutablePointer<Int>?,
    _ lookup: (Identity, String) -> JSONValue?
) -> Int32 {
    guard let jsonOut = unsafe jsonOut else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    unsafe jsonOut.pointee = nil
    guard let handle = unsafe Handle.identity(identity), let bytes = unsafe borrowed(name, length) else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    // A name or pointer can take at most twice the claims' bytes (`~0`, `~1`): a longer one names nothing, unread.
    guard length <= 2 * (unsafe handle.withPayload { $0.count }) + 2 else { return EDGEAUTH_ERR_NOT_FOUND }
    guard let name = unsafe String(validating: bytes, as: UTF8.self) else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    guard let value = lookup(Identity(storage: handle), name) else { return EDGEAUTH_ERR_NOT_FOUND }
    return unsafe output(value.jsonText, jsonOut, lengthOut)
}

/// Stores a malloc'd copy of `text` in `out` (and its length in `lengthOut`).
private func output(_ text: String, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, _ lengthOut: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let copy = unsafe mallocCopy(text) else { return EDGEAUTH_ERR_NO_MEMORY }
    unsafe out.pointee = copy
    if let lengthOut = unsafe lengthOut { unsafe lengthOut.pointee = text.utf8.count }
    return EDGEAUTH_OK
}

@c @implementation
public func edgeauth_identity_claim_json(
    _ identity: OpaquePointer?, _ name: UnsafePointer<UInt8>?, _ length: Int,
    _ jsonOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ lengthOut: UnsafeMutablePointer<Int>?
) -> Int32 {
    unsafe claimJSON(identity, name, length, jsonOut, lengthOut) { identity, name in identity.claims[name] }
}

@c @implementation
public func edgeauth_identity_claim_pointer_json(
    _ identity: OpaquePointer?, _ pointer: UnsafePointer<UInt8>?, _ length: Int,
    _ jsonOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ lengthOut: UnsafeMutablePointer<Int>?
) -> Int32 {
    unsafe claimJSON(identity, pointer, length, jsonOut, lengthOut) { identity, pointer in identity.claims.value(at: pointer) }
}

@c @implementation
public func edgeauth_identity_json(
    _ identity: OpaquePointer?, _ jsonOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ lengthOut: UnsafeMutablePointer<Int>?
) -> Int32 {
    guard let jsonOut = unsafe jsonOut else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    unsafe jsonOut.pointee = nil
    guard let handle = unsafe Handle.identity(identity) else { return EDGEAUTH_ERR_INVALID_ARGUMENT }
    return unsafe output(Identity(storage: handle).jsonValue.jsonText, jsonOut, lengthOut)
}
