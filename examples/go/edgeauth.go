// Package edgeauth is a cgo binding for libedgeauth, EdgeAuth's C library
// (include/edgeauth.h): bearer-token (JWT) verification for MCP servers.
//
//	v, err := edgeauth.NewVerifier(configJSON)
//	...
//	defer v.Close()
//	verdict, identity, err := v.Verify(token, 0)
//	if verdict == edgeauth.Valid {
//		defer identity.Close()
//		fmt.Println(identity.Subject(), identity.HasScope("read:tools"))
//	}
//
// The library is found with pkg-config (PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
// after `make install PREFIX=...`). A Verifier and an Identity may be used
// from any number of goroutines at once.
package edgeauth

// #cgo pkg-config: edgeauth
// #include <edgeauth.h>
// #include <stdlib.h>
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// Verdict is the outcome of verifying a token: Valid, or a stable rejection
// code (EDGEAUTH_VERDICT_* in the header).
type Verdict int32

// Verdicts a caller commonly branches on; every code has a String().
const (
	Valid         Verdict = C.EDGEAUTH_VERDICT_VALID
	Expired       Verdict = C.EDGEAUTH_VERDICT_EXPIRED
	BadSignature  Verdict = C.EDGEAUTH_VERDICT_BAD_SIGNATURE
	WrongIssuer   Verdict = C.EDGEAUTH_VERDICT_WRONG_ISSUER
	WrongAudience Verdict = C.EDGEAUTH_VERDICT_WRONG_AUDIENCE
	TokenTooLarge Verdict = C.EDGEAUTH_VERDICT_TOKEN_TOO_LARGE
)

// String is the stable text code: "valid", "expired", "malformed.segmentCount", ...
func (v Verdict) String() string { return C.GoString(C.edgeauth_verdict_string(C.int32_t(v))) }

// Description is a one-line explanation of the code for operators.
func (v Verdict) Description() string {
	return C.GoString(C.edgeauth_verdict_description(C.int32_t(v)))
}

// Malformed reports whether the token's bytes were not a well-formed JWT.
func (v Verdict) Malformed() bool { return v > 100 && v < 200 }

// Error is a failed call (a status other than EDGEAUTH_OK); a rejected token is not an Error.
type Error struct {
	Status  int32
	Message string
}

func (e *Error) Error() string {
	text := C.GoString(C.edgeauth_status_string(C.int32_t(e.Status)))
	if e.Message != "" {
		return text + ": " + e.Message
	}
	return text
}

// Status codes (EDGEAUTH_ERR_*).
const (
	ErrInvalidArgument = int32(C.EDGEAUTH_ERR_INVALID_ARGUMENT)
	ErrConfig          = int32(C.EDGEAUTH_ERR_CONFIG)
	ErrKeys            = int32(C.EDGEAUTH_ERR_KEYS)
	ErrNotFound        = int32(C.EDGEAUTH_ERR_NOT_FOUND)
)

// ErrClosed is returned by methods of a closed Verifier or Identity.
var ErrClosed = errors.New("edgeauth: use after Close")

// Version is the loaded library's version.
func Version() string { return C.GoString(C.edgeauth_version(nil, nil, nil)) }

// bytesArg borrows a Go slice for the duration of one C call (cgo allows
// passing Go memory that holds no Go pointers).
func bytesArg(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// takeString copies a library-allocated string and frees it.
func takeString(p *C.char, n C.size_t) string {
	defer C.edgeauth_string_free(p)
	return C.GoStringN(p, C.int(n))
}

// Verifier verifies tokens against one configuration (docs/c-api.md).
type Verifier struct {
	ptr *C.edgeauth_verifier
}

// NewVerifier creates a verifier from its JSON configuration. Key files are
// read, and JWKS URLs downloaded, before it returns.
func NewVerifier(config []byte) (*Verifier, error) {
	p, n := bytesArg(config)
	var v *C.edgeauth_verifier
	var message *C.char
	status := C.edgeauth_verifier_new(p, n, &v, &message)
	runtime.KeepAlive(config)
	if status != C.EDGEAUTH_OK {
		err := &Error{Status: int32(status)}
		if message != nil {
			err.Message = C.GoString(message)
			C.edgeauth_string_free(message)
		}
		return nil, err
	}
	verifier := &Verifier{ptr: v}
	runtime.SetFinalizer(verifier, (*Verifier).Close)
	return verifier, nil
}

// Close releases the verifier. Identities it produced stay valid.
func (v *Verifier) Close() {
	if v.ptr != nil {
		C.edgeauth_verifier_free(v.ptr)
		v.ptr = nil
	}
}

// KeyCount is the number of verification keys loaded.
func (v *Verifier) KeyCount() int { return int(C.edgeauth_verifier_key_count(v.ptr)) }

// Verify checks a token (without "Bearer "). now is seconds since the epoch,
// 0 for the system clock. For a valid token the Identity is non-nil and
// must be closed.
func (v *Verifier) Verify(token []byte, now int64) (Verdict, *Identity, error) {
	if v.ptr == nil {
		return 0, nil, ErrClosed
	}
	p, n := bytesArg(token)
	var verdict C.int32_t
	var identity *C.edgeauth_identity
	status := C.edgeauth_verify(v.ptr, p, n, C.int64_t(now), &verdict, &identity)
	runtime.KeepAlive(token)
	runtime.KeepAlive(v)
	if status != C.EDGEAUTH_OK {
		return 0, nil, &Error{Status: int32(status)}
	}
	if identity == nil {
		return Verdict(verdict), nil, nil
	}
	id := &Identity{ptr: identity}
	runtime.SetFinalizer(id, (*Identity).Close)
	return Verdict(verdict), id, nil
}

// Explain verifies like Verify and describes the outcome for an operator.
func (v *Verifier) Explain(token []byte, now int64) (Verdict, string, error) {
	if v.ptr == nil {
		return 0, "", ErrClosed
	}
	p, n := bytesArg(token)
	var verdict C.int32_t
	var text *C.char
	status := C.edgeauth_explain(v.ptr, p, n, C.int64_t(now), &verdict, &text)
	runtime.KeepAlive(token)
	runtime.KeepAlive(v)
	if status != C.EDGEAUTH_OK {
		return 0, "", &Error{Status: int32(status)}
	}
	defer C.edgeauth_string_free(text)
	return Verdict(verdict), C.GoString(text), nil
}

// Identity is the verified user of a valid token.
type Identity struct {
	ptr *C.edgeauth_identity
}

// Close releases the identity.
func (i *Identity) Close() {
	if i.ptr != nil {
		C.edgeauth_identity_free(i.ptr)
		i.ptr = nil
	}
}

type textAccessor func(*C.edgeauth_identity, *C.size_t) *C.char

func (i *Identity) text(get textAccessor) (string, bool) {
	var n C.size_t
	p := get(i.ptr, &n)
	runtime.KeepAlive(i)
	if p == nil {
		return "", false
	}
	return C.GoStringN(p, C.int(n)), true
}

func (i *Identity) must(get textAccessor) string { s, _ := i.text(get); return s }

// The cgo functions cannot be used as values directly: wrap them.
func subject(p *C.edgeauth_identity, n *C.size_t) *C.char { return C.edgeauth_identity_subject(p, n) }
func issuer(p *C.edgeauth_identity, n *C.size_t) *C.char  { return C.edgeauth_identity_issuer(p, n) }
func email(p *C.edgeauth_identity, n *C.size_t) *C.char   { return C.edgeauth_identity_email(p, n) }
func name(p *C.edgeauth_identity, n *C.size_t) *C.char    { return C.edgeauth_identity_name(p, n) }
func username(p *C.edgeauth_identity, n *C.size_t) *C.char {
	return C.edgeauth_identity_username(p, n)
}
func clientID(p *C.edgeauth_identity, n *C.size_t) *C.char {
	return C.edgeauth_identity_client_id(p, n)
}
func organization(p *C.edgeauth_identity, n *C.size_t) *C.char {
	return C.edgeauth_identity_organization(p, n)
}

// Subject is `sub` ("" when absent).
func (i *Identity) Subject() string { return i.must(subject) }

// Issuer is `iss`.
func (i *Identity) Issuer() string { return i.must(issuer) }

// Email is `email`; ok is false when absent.
func (i *Identity) Email() (string, bool) { return i.text(email) }

// Name is `name`; ok is false when absent.
func (i *Identity) Name() (string, bool) { return i.text(name) }

// Username is `preferred_username`; ok is false when absent.
func (i *Identity) Username() (string, bool) { return i.text(username) }

// ClientID is `client_id` or `azp`; ok is false when absent.
func (i *Identity) ClientID() (string, bool) { return i.text(clientID) }

// Organization is `org_id`; ok is false when absent.
func (i *Identity) Organization() (string, bool) { return i.text(organization) }

// ExpiresAt is `exp`; ok is false when absent.
func (i *Identity) ExpiresAt() (int64, bool) {
	var t C.int64_t
	ok := C.edgeauth_identity_expires_at(i.ptr, &t) == C.EDGEAUTH_OK
	runtime.KeepAlive(i)
	return int64(t), ok
}

func (i *Identity) list(count func(*C.edgeauth_identity) C.size_t, item func(*C.edgeauth_identity, C.size_t, *C.size_t) *C.char) []string {
	n := count(i.ptr)
	out := make([]string, 0, int(n))
	for k := C.size_t(0); k < n; k++ {
		var length C.size_t
		p := item(i.ptr, k, &length)
		out = append(out, C.GoStringN(p, C.int(length)))
	}
	runtime.KeepAlive(i)
	return out
}

// Roles are the `roles` claim's strings.
func (i *Identity) Roles() []string {
	return i.list(func(p *C.edgeauth_identity) C.size_t { return C.edgeauth_identity_role_count(p) },
		func(p *C.edgeauth_identity, k C.size_t, n *C.size_t) *C.char {
			return C.edgeauth_identity_role(p, k, n)
		})
}

// Permissions are the `permissions` claim's strings.
func (i *Identity) Permissions() []string {
	return i.list(func(p *C.edgeauth_identity) C.size_t { return C.edgeauth_identity_permission_count(p) },
		func(p *C.edgeauth_identity, k C.size_t, n *C.size_t) *C.char {
			return C.edgeauth_identity_permission(p, k, n)
		})
}

// Scopes are `scope` split on spaces (or an `scp` array).
func (i *Identity) Scopes() []string {
	return i.list(func(p *C.edgeauth_identity) C.size_t { return C.edgeauth_identity_scope_count(p) },
		func(p *C.edgeauth_identity, k C.size_t, n *C.size_t) *C.char {
			return C.edgeauth_identity_scope(p, k, n)
		})
}

// HasRole, HasPermission and HasScope compare exactly (case-sensitive).
func (i *Identity) HasRole(role string) bool {
	return i.has(role, func(p *C.edgeauth_identity, v *C.uint8_t, n C.size_t) C.bool {
		return C.edgeauth_identity_has_role(p, v, n)
	})
}

func (i *Identity) HasPermission(permission string) bool {
	return i.has(permission, func(p *C.edgeauth_identity, v *C.uint8_t, n C.size_t) C.bool {
		return C.edgeauth_identity_has_permission(p, v, n)
	})
}

func (i *Identity) HasScope(scope string) bool {
	return i.has(scope, func(p *C.edgeauth_identity, v *C.uint8_t, n C.size_t) C.bool {
		return C.edgeauth_identity_has_scope(p, v, n)
	})
}

// has runs one of the library's requirement checks on value.
func (i *Identity) has(value string, check func(*C.edgeauth_identity, *C.uint8_t, C.size_t) C.bool) bool {
	b := []byte(value)
	p, n := bytesArg(b)
	ok := bool(check(i.ptr, p, n))
	runtime.KeepAlive(b)
	runtime.KeepAlive(i)
	return ok
}

// Claim decodes one top-level claim into out (as encoding/json does);
// found is false when the token has no such claim.
func (i *Identity) Claim(name string, out any) (found bool, err error) {
	return i.claim(name, out, false)
}

// ClaimAt decodes the claim at an RFC 6901 JSON pointer ("/realm_access/roles").
func (i *Identity) ClaimAt(pointer string, out any) (found bool, err error) {
	return i.claim(pointer, out, true)
}

func (i *Identity) claim(key string, out any, pointer bool) (bool, error) {
	if i.ptr == nil {
		return false, ErrClosed
	}
	b := []byte(key)
	p, n := bytesArg(b)
	var text *C.char
	var length C.size_t
	var status C.int32_t
	if pointer {
		status = C.edgeauth_identity_claim_pointer_json(i.ptr, p, n, &text, &length)
	} else {
		status = C.edgeauth_identity_claim_json(i.ptr, p, n, &text, &length)
	}
	runtime.KeepAlive(b)
	runtime.KeepAlive(i)
	switch status {
	case C.EDGEAUTH_OK:
		return true, json.Unmarshal([]byte(takeString(text, length)), out)
	case C.EDGEAUTH_ERR_NOT_FOUND:
		return false, nil
	default:
		return false, &Error{Status: int32(status), Message: fmt.Sprintf("claim %q", key)}
	}
}
