// Package edgeauth verifies OAuth 2.1 bearer tokens (JWTs) for MCP servers and
// other HTTP APIs with libedgeauth, EdgeAuth's C library (include/edgeauth.h),
// and protects net/http handlers with them (Middleware).
//
//	v, err := edgeauth.NewVerifier(configJSON)
//	if err != nil { ... }             // *edgeauth.Error: Status, Message
//	defer v.Close()
//	identity, err := v.Verify(token)
//	var rejected *edgeauth.Rejected
//	switch {
//	case errors.As(err, &rejected):   // the token: rejected.Reason, rejected.Description
//	case err != nil:                  // the call: *edgeauth.Error
//	default:
//		defer identity.Close()
//		fmt.Println(identity.Subject(), identity.HasScope("read:tools"))
//	}
//
// The library is found with pkg-config (PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
// after `make install PREFIX=...`).
//
// Threads: a Verifier and an Identity never change after creation, so each may
// be used by any number of goroutines at once, as the C library documents.
// Close may be called at any time, also concurrently: it waits for calls in
// progress, and later calls see a closed value (ErrClosed, or zero values from
// the Identity accessors) rather than freed memory.
package edgeauth

// #cgo pkg-config: edgeauth
// #include <edgeauth.h>
// #include <stdlib.h>
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Reason is the outcome code of verifying a token (EDGEAUTH_VERDICT_* in the
// header): 0 for a valid token, a positive code for each rejection reason.
// Codes are never renumbered; an unknown positive code from a newer library
// is still a rejection.
type Reason int32

// The reasons a token is rejected. Malformed tokens have codes 101…199
// (Reason.Malformed).
const (
	Valid                Reason = C.EDGEAUTH_VERDICT_VALID
	TokenTooLarge        Reason = C.EDGEAUTH_VERDICT_TOKEN_TOO_LARGE
	Unsecured            Reason = C.EDGEAUTH_VERDICT_UNSECURED
	UnsupportedAlgorithm Reason = C.EDGEAUTH_VERDICT_UNSUPPORTED_ALGORITHM
	AlgorithmNotAllowed  Reason = C.EDGEAUTH_VERDICT_ALGORITHM_NOT_ALLOWED
	UnsupportedCritical  Reason = C.EDGEAUTH_VERDICT_UNSUPPORTED_CRITICAL
	WrongType            Reason = C.EDGEAUTH_VERDICT_WRONG_TYPE
	UnknownKey           Reason = C.EDGEAUTH_VERDICT_UNKNOWN_KEY
	KeyAlgorithmMismatch Reason = C.EDGEAUTH_VERDICT_KEY_ALGORITHM_MISMATCH
	BadSignature         Reason = C.EDGEAUTH_VERDICT_BAD_SIGNATURE
	Expired              Reason = C.EDGEAUTH_VERDICT_EXPIRED
	NotYetValid          Reason = C.EDGEAUTH_VERDICT_NOT_YET_VALID
	IssuedInFuture       Reason = C.EDGEAUTH_VERDICT_ISSUED_IN_FUTURE
	TooOld               Reason = C.EDGEAUTH_VERDICT_TOO_OLD
	MissingClaim         Reason = C.EDGEAUTH_VERDICT_MISSING_CLAIM
	InvalidClaim         Reason = C.EDGEAUTH_VERDICT_INVALID_CLAIM
	WrongIssuer          Reason = C.EDGEAUTH_VERDICT_WRONG_ISSUER
	WrongAudience        Reason = C.EDGEAUTH_VERDICT_WRONG_AUDIENCE
	Revoked              Reason = C.EDGEAUTH_VERDICT_REVOKED
	ClaimValueNotAllowed Reason = C.EDGEAUTH_VERDICT_CLAIM_VALUE_NOT_ALLOWED
	KeysUnavailable      Reason = C.EDGEAUTH_VERDICT_KEYS_UNAVAILABLE
)

// String is the stable text code EdgeAuth uses in logs, metrics and its CLI:
// "valid", "expired", "badSignature", "malformed.segmentCount", ...
func (r Reason) String() string { return C.GoString(C.edgeauth_verdict_string(C.int32_t(r))) }

// Description is a one-line explanation of the code for operators.
func (r Reason) Description() string {
	return C.GoString(C.edgeauth_verdict_description(C.int32_t(r)))
}

// Malformed reports whether the token's bytes were not a well-formed compact JWT.
func (r Reason) Malformed() bool { return r > 100 && r < 200 }

// Rejected is the error of a token that does not verify. The call itself
// worked: a failed call is an *Error instead.
type Rejected struct {
	// Reason is the library's reason code.
	Reason Reason
	// Description is the reason's general, operator-facing description
	// (Reason.Description); Verifier.Explain gives the values involved.
	Description string
}

func (e *Rejected) Error() string {
	return "edgeauth: token rejected: " + e.Reason.String() + ": " + e.Description
}

// Status is the result of a library call that failed (EDGEAUTH_ERR_*).
type Status int32

// Status codes of failed calls.
const (
	StatusInvalidArgument Status = C.EDGEAUTH_ERR_INVALID_ARGUMENT
	StatusConfig          Status = C.EDGEAUTH_ERR_CONFIG
	StatusKeys            Status = C.EDGEAUTH_ERR_KEYS
	StatusNotFound        Status = C.EDGEAUTH_ERR_NOT_FOUND
	StatusNoMemory        Status = C.EDGEAUTH_ERR_NO_MEMORY
	StatusInternal        Status = C.EDGEAUTH_ERR_INTERNAL
	StatusCache           Status = C.EDGEAUTH_ERR_CACHE
)

// String is the library's short text for the status: "invalid configuration", ...
func (s Status) String() string { return C.GoString(C.edgeauth_status_string(C.int32_t(s))) }

// Error is a failed library call. A rejected token is not an Error but a *Rejected.
type Error struct {
	Status  Status
	Message string // the library's message, when it gave one
}

func (e *Error) Error() string {
	if e.Message != "" {
		return "edgeauth: " + e.Status.String() + ": " + e.Message
	}
	return "edgeauth: " + e.Status.String()
}

// ErrClosed is returned by methods of a closed Verifier or Identity.
var ErrClosed = errors.New("edgeauth: use after Close")

// Version is the version of the loaded library ("0.1.0").
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

// unixTime is the library's `now`: seconds since the epoch, 0 for its clock.
func unixTime(t time.Time) C.int64_t {
	if t.IsZero() {
		return 0
	}
	return C.int64_t(t.Unix())
}

// Verifier verifies tokens against one configuration: the JSON document of
// docs/c-api.md (issuers, audiences, provider, keys, cache, policy).
type Verifier struct {
	mu    sync.RWMutex // readers: calls in progress; writer: Close
	ptr   *C.edgeauth_verifier
	clock func() time.Time
}

// VerifierOption configures NewVerifier.
type VerifierOption func(*Verifier)

// WithClock makes Verify judge tokens at the time clock returns instead of the
// system clock (tests, replays). A zero time means the system clock.
func WithClock(clock func() time.Time) VerifierOption {
	return func(v *Verifier) { v.clock = clock }
}

// NewVerifier creates a verifier from its JSON configuration. Key files are
// read, and JWKS URLs downloaded, before it returns. With a shared cache,
// create verifiers in the process that uses them (not before a fork).
func NewVerifier(config []byte, options ...VerifierOption) (*Verifier, error) {
	p, n := bytesArg(config)
	var ptr *C.edgeauth_verifier
	var message *C.char
	status := C.edgeauth_verifier_new(p, n, &ptr, &message)
	runtime.KeepAlive(config)
	if status != C.EDGEAUTH_OK {
		err := &Error{Status: Status(status)}
		if message != nil {
			err.Message = C.GoString(message)
			C.edgeauth_string_free(message)
		}
		return nil, err
	}
	v := &Verifier{ptr: ptr}
	for _, option := range options {
		option(v)
	}
	runtime.SetFinalizer(v, (*Verifier).Close)
	return v, nil
}

// Close releases the verifier once the calls in progress have returned.
// Identities it produced stay valid. Closing twice does nothing.
func (v *Verifier) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ptr != nil {
		C.edgeauth_verifier_free(v.ptr)
		v.ptr = nil
	}
}

// KeyCount is the number of verification keys in use (0 once closed).
func (v *Verifier) KeyCount() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return int(C.edgeauth_verifier_key_count(v.ptr))
}

// Warnings are the messages of the keys that were skipped while loading.
func (v *Verifier) Warnings() []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	count := C.edgeauth_verifier_warning_count(v.ptr)
	out := make([]string, 0, int(count))
	for k := C.size_t(0); k < count; k++ {
		var n C.size_t
		if p := C.edgeauth_verifier_warning(v.ptr, k, &n); p != nil {
			out = append(out, C.GoStringN(p, C.int(n)))
		}
	}
	return out
}

func (v *Verifier) now() time.Time {
	if v.clock == nil {
		return time.Time{}
	}
	return v.clock()
}

// Verify checks a bearer token (without "Bearer ") at the verifier's clock.
// A valid token gives its Identity, which the caller closes; a token that does
// not verify gives a *Rejected error; a failed call gives an *Error.
func (v *Verifier) Verify(token string) (*Identity, error) {
	return v.VerifyAt(token, v.now())
}

// VerifyAt is Verify at the given time (a zero time: the system clock).
func (v *Verifier) VerifyAt(token string, at time.Time) (*Identity, error) {
	b := []byte(token)
	p, n := bytesArg(b)
	var verdict C.int32_t
	var ptr *C.edgeauth_identity
	v.mu.RLock()
	if v.ptr == nil {
		v.mu.RUnlock()
		return nil, ErrClosed
	}
	status := C.edgeauth_verify(v.ptr, p, n, unixTime(at), &verdict, &ptr)
	v.mu.RUnlock()
	runtime.KeepAlive(b)
	if status != C.EDGEAUTH_OK {
		return nil, &Error{Status: Status(status)}
	}
	if reason := Reason(verdict); reason != Valid {
		C.edgeauth_identity_free(ptr) // NULL for a rejection; freed should that ever change
		return nil, &Rejected{Reason: reason, Description: reason.Description()}
	}
	identity := &Identity{ptr: ptr}
	runtime.SetFinalizer(identity, (*Identity).Close)
	return identity, nil
}

// Explain verifies like Verify and describes the outcome for an operator, with
// the values involved ("wrongAudience: aud is [...], expected one of [...]").
// The text never contains the token; it is meant for logs and diagnostics,
// not for clients.
func (v *Verifier) Explain(token string) (Reason, string, error) {
	b := []byte(token)
	p, n := bytesArg(b)
	var verdict C.int32_t
	var text *C.char
	v.mu.RLock()
	if v.ptr == nil {
		v.mu.RUnlock()
		return 0, "", ErrClosed
	}
	status := C.edgeauth_explain(v.ptr, p, n, unixTime(v.now()), &verdict, &text)
	v.mu.RUnlock()
	runtime.KeepAlive(b)
	if status != C.EDGEAUTH_OK {
		return 0, "", &Error{Status: Status(status)}
	}
	defer C.edgeauth_string_free(text)
	return Reason(verdict), C.GoString(text), nil
}

// Identity is the verified caller of a valid token. Its values never change;
// close it when done (a finalizer frees a forgotten one).
type Identity struct {
	mu  sync.RWMutex // readers: accessors in progress; writer: Close
	ptr *C.edgeauth_identity
}

// Close releases the identity once the accessors in progress have returned.
// Afterwards the accessors return zero values. Closing twice does nothing.
func (i *Identity) Close() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.ptr != nil {
		C.edgeauth_identity_free(i.ptr)
		i.ptr = nil
	}
}

type textAccessor func(*C.edgeauth_identity, *C.size_t) *C.char

// text copies one of the identity's strings; ok is false when it is absent
// (or the identity is closed: the library answers NULL for a NULL identity).
func (i *Identity) text(get textAccessor) (string, bool) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	var n C.size_t
	p := get(i.ptr, &n)
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
func picture(p *C.edgeauth_identity, n *C.size_t) *C.char { return C.edgeauth_identity_picture(p, n) }
func username(p *C.edgeauth_identity, n *C.size_t) *C.char {
	return C.edgeauth_identity_username(p, n)
}
func clientID(p *C.edgeauth_identity, n *C.size_t) *C.char {
	return C.edgeauth_identity_client_id(p, n)
}
func organization(p *C.edgeauth_identity, n *C.size_t) *C.char {
	return C.edgeauth_identity_organization(p, n)
}
func tokenID(p *C.edgeauth_identity, n *C.size_t) *C.char {
	return C.edgeauth_identity_token_id(p, n)
}

// Subject is `sub` ("" when absent).
func (i *Identity) Subject() string { return i.must(subject) }

// Issuer is `iss` ("" when absent, possible only with "anyIssuer").
func (i *Identity) Issuer() string { return i.must(issuer) }

// Email is `email`; ok is false when absent.
func (i *Identity) Email() (string, bool) { return i.text(email) }

// Name is `name`; ok is false when absent.
func (i *Identity) Name() (string, bool) { return i.text(name) }

// Username is `preferred_username`; ok is false when absent.
func (i *Identity) Username() (string, bool) { return i.text(username) }

// Picture is `picture`; ok is false when absent.
func (i *Identity) Picture() (string, bool) { return i.text(picture) }

// ClientID is the OAuth client, `client_id` or else `azp`; ok is false when absent.
func (i *Identity) ClientID() (string, bool) { return i.text(clientID) }

// Organization is `org_id`; ok is false when absent.
func (i *Identity) Organization() (string, bool) { return i.text(organization) }

// TokenID is `jti`; ok is false when absent.
func (i *Identity) TokenID() (string, bool) { return i.text(tokenID) }

// ExpiresAt is `exp`; ok is false when absent.
func (i *Identity) ExpiresAt() (time.Time, bool) {
	return i.instant(func(p *C.edgeauth_identity, t *C.int64_t) C.int32_t {
		return C.edgeauth_identity_expires_at(p, t)
	})
}

// IssuedAt is `iat`; ok is false when absent.
func (i *Identity) IssuedAt() (time.Time, bool) {
	return i.instant(func(p *C.edgeauth_identity, t *C.int64_t) C.int32_t {
		return C.edgeauth_identity_issued_at(p, t)
	})
}

func (i *Identity) instant(get func(*C.edgeauth_identity, *C.int64_t) C.int32_t) (time.Time, bool) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	var t C.int64_t
	if i.ptr == nil || get(i.ptr, &t) != C.EDGEAUTH_OK {
		return time.Time{}, false
	}
	return time.Unix(int64(t), 0), true
}

func (i *Identity) list(count func(*C.edgeauth_identity) C.size_t, item func(*C.edgeauth_identity, C.size_t, *C.size_t) *C.char) []string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	n := count(i.ptr)
	out := make([]string, 0, int(n))
	for k := C.size_t(0); k < n; k++ {
		var length C.size_t
		p := item(i.ptr, k, &length)
		out = append(out, C.GoStringN(p, C.int(length)))
	}
	return out
}

// Roles are the caller's roles (the `roles` claim, or the provider's mapping).
func (i *Identity) Roles() []string {
	return i.list(func(p *C.edgeauth_identity) C.size_t { return C.edgeauth_identity_role_count(p) },
		func(p *C.edgeauth_identity, k C.size_t, n *C.size_t) *C.char {
			return C.edgeauth_identity_role(p, k, n)
		})
}

// Permissions are the caller's permissions (the `permissions` claim, or the provider's mapping).
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

// Audiences are `aud`.
func (i *Identity) Audiences() []string {
	return i.list(func(p *C.edgeauth_identity) C.size_t { return C.edgeauth_identity_audience_count(p) },
		func(p *C.edgeauth_identity, k C.size_t, n *C.size_t) *C.char {
			return C.edgeauth_identity_audience(p, k, n)
		})
}

// HasRole reports whether the caller has exactly this role (case-sensitive).
func (i *Identity) HasRole(role string) bool {
	return i.has(role, func(p *C.edgeauth_identity, v *C.uint8_t, n C.size_t) C.bool {
		return C.edgeauth_identity_has_role(p, v, n)
	})
}

// HasPermission reports whether the caller has exactly this permission (case-sensitive).
func (i *Identity) HasPermission(permission string) bool {
	return i.has(permission, func(p *C.edgeauth_identity, v *C.uint8_t, n C.size_t) C.bool {
		return C.edgeauth_identity_has_permission(p, v, n)
	})
}

// HasScope reports whether the token grants exactly this scope (case-sensitive).
func (i *Identity) HasScope(scope string) bool {
	return i.has(scope, func(p *C.edgeauth_identity, v *C.uint8_t, n C.size_t) C.bool {
		return C.edgeauth_identity_has_scope(p, v, n)
	})
}

// has runs one of the library's requirement checks on value.
func (i *Identity) has(value string, check func(*C.edgeauth_identity, *C.uint8_t, C.size_t) C.bool) bool {
	b := []byte(value)
	p, n := bytesArg(b)
	i.mu.RLock()
	ok := bool(check(i.ptr, p, n))
	i.mu.RUnlock()
	runtime.KeepAlive(b)
	return ok
}

// Claim decodes one top-level claim into out (as encoding/json does);
// found is false when the token has no such claim.
func (i *Identity) Claim(name string, out any) (found bool, err error) {
	return i.claim(name, out, false)
}

// ClaimAt decodes the claim at an RFC 6901 JSON pointer ("/realm_access/roles");
// the empty pointer is the whole claims set.
func (i *Identity) ClaimAt(pointer string, out any) (found bool, err error) {
	return i.claim(pointer, out, true)
}

func (i *Identity) claim(key string, out any, pointer bool) (bool, error) {
	b := []byte(key)
	p, n := bytesArg(b)
	var text *C.char
	var length C.size_t
	var status C.int32_t
	i.mu.RLock()
	if i.ptr == nil {
		i.mu.RUnlock()
		return false, ErrClosed
	}
	if pointer {
		status = C.edgeauth_identity_claim_pointer_json(i.ptr, p, n, &text, &length)
	} else {
		status = C.edgeauth_identity_claim_json(i.ptr, p, n, &text, &length)
	}
	i.mu.RUnlock()
	runtime.KeepAlive(b)
	switch status {
	case C.EDGEAUTH_OK:
		return true, json.Unmarshal([]byte(takeString(text, length)), out)
	case C.EDGEAUTH_ERR_NOT_FOUND:
		return false, nil
	default:
		return false, &Error{Status: Status(status), Message: fmt.Sprintf("claim %q", key)}
	}
}

// JSON is the whole identity as one JSON object (`id`, `issuer`, `audience`,
// `roles`, `permissions`, `scopes`, `expiresAt`, …), as `edgeauth verify` prints it.
func (i *Identity) JSON() ([]byte, error) {
	var text *C.char
	var length C.size_t
	i.mu.RLock()
	if i.ptr == nil {
		i.mu.RUnlock()
		return nil, ErrClosed
	}
	status := C.edgeauth_identity_json(i.ptr, &text, &length)
	i.mu.RUnlock()
	if status != C.EDGEAUTH_OK {
		return nil, &Error{Status: Status(status)}
	}
	return []byte(takeString(text, length)), nil
}

type identityKey struct{}

// ContextWithIdentity returns a copy of ctx that carries identity (what
// Middleware gives the handler; useful to test handlers on their own).
func ContextWithIdentity(ctx context.Context, identity *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, identity)
}

// IdentityFrom is the verified caller Middleware put in the request's context;
// ok is false outside the middleware.
func IdentityFrom(ctx context.Context) (identity *Identity, ok bool) {
	identity, ok = ctx.Value(identityKey{}).(*Identity)
	return identity, ok && identity != nil
}
