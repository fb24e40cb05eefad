package edgeauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// MiddlewareOption configures Middleware.
type MiddlewareOption func(*guard)

// RequireScopes makes every request need all of these scopes. A token that
// lacks any gets 403 `insufficient_scope` with a challenge naming every
// required scope, so the client can ask for all of them at once.
func RequireScopes(scopes ...string) MiddlewareOption {
	return func(g *guard) { g.scopes = appendNew(g.scopes, scopes) }
}

// RequireRoles makes every request need all of these roles (403 `forbidden`
// otherwise: a new token would not grant them by asking).
func RequireRoles(roles ...string) MiddlewareOption {
	return func(g *guard) { g.roles = appendNew(g.roles, roles) }
}

// RequirePermissions makes every request need all of these permissions (403
// `forbidden` otherwise).
func RequirePermissions(permissions ...string) MiddlewareOption {
	return func(g *guard) { g.permissions = appendNew(g.permissions, permissions) }
}

// ResourceMetadata is the absolute URL of the resource's RFC 9728 metadata
// document (https://mcp.example.com/.well-known/oauth-protected-resource/mcp),
// named as `resource_metadata` in every challenge so that MCP clients can
// find the authorization server.
func ResourceMetadata(url string) MiddlewareOption {
	return func(g *guard) { g.metadataURL = url }
}

func appendNew(list, items []string) []string {
	for _, item := range items {
		if !contains(list, item) {
			list = append(list, item)
		}
	}
	return list
}

func contains(list []string, item string) bool {
	for _, x := range list {
		if x == item {
			return true
		}
	}
	return false
}

// Middleware protects a handler with bearer tokens, answering as EdgeAuth's
// own server does (docs/server.md, "The bearer check on the protected prefix"):
//
//   - `access_token` in the query string, or more than one Authorization
//     header: 400 `invalid_request`;
//   - no Authorization header, or another scheme: 401 with a challenge
//     without `error`;
//   - an Authorization header that is not `Bearer <token68>`: 400 `invalid_request`;
//   - a token that does not verify: 401 `invalid_token`, with a description of
//     the kind of problem only (never the values involved);
//   - the provider's keys unavailable: 503 `temporarily_unavailable`, Retry-After;
//   - a valid token without a required scope: 403 `insufficient_scope`;
//     without a required role or permission: 403 `forbidden`.
//
// Error bodies are JSON, `{"error": …, "error_description": …}`, sent with
// `Cache-Control: no-store`; 400, 401 and 403 `insufficient_scope` carry
// `WWW-Authenticate: Bearer …` with `resource_metadata` and `scope`.
//
// The next handler gets the caller's Identity in the request's context
// (IdentityFrom). The identity is closed when that handler returns: a handler
// that passes work to another goroutine copies the values it needs first.
func Middleware(verifier *Verifier, options ...MiddlewareOption) func(http.Handler) http.Handler {
	if verifier == nil {
		panic("edgeauth: Middleware needs a verifier")
	}
	g := &guard{verifier: verifier}
	for _, option := range options {
		option(g)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.serve(w, r, next)
		})
	}
}

type guard struct {
	verifier                   *Verifier
	scopes, roles, permissions []string
	metadataURL                string
}

func (g *guard) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if hasAccessTokenParameter(r.URL.RawQuery) {
		const description = "access tokens are accepted only in the Authorization header"
		g.refuse(w, http.StatusBadRequest, "invalid_request", description, g.challenge("invalid_request", description, nil))
		return
	}
	headers := r.Header.Values("Authorization")
	if len(headers) > 1 {
		const description = "more than one Authorization header"
		g.refuse(w, http.StatusBadRequest, "invalid_request", description, g.challenge("invalid_request", description, nil))
		return
	}
	token, scheme := "", notBearer
	if len(headers) == 1 {
		token, scheme = bearerToken(headers[0])
	}
	switch scheme {
	case notBearer:
		// No credentials, or another scheme: the challenge names the scheme to use.
		g.refuse(w, http.StatusUnauthorized, "unauthorized", "this resource needs a bearer token", g.challenge("", "", nil))
		return
	case malformed:
		g.malformedCredentials(w)
		return
	}

	identity, err := g.verifier.Verify(token)
	var rejected *Rejected
	switch {
	case errors.As(err, &rejected):
		// A token that is not token68 can never be valid: the header is malformed (400),
		// not the token invalid (RFC 6750 §3.1).
		if !isToken68(token) {
			g.malformedCredentials(w)
			return
		}
		if rejected.Reason == KeysUnavailable {
			// The provider or the network, not the token: try again later.
			w.Header().Set("Retry-After", "30")
			g.refuse(w, http.StatusServiceUnavailable, "temporarily_unavailable",
				"the authorization server's keys are unavailable; retry later", "")
			return
		}
		description := clientDescription(rejected.Reason)
		g.refuse(w, http.StatusUnauthorized, "invalid_token", description, g.challenge("invalid_token", description, nil))
		return
	case err != nil:
		g.refuse(w, http.StatusInternalServerError, "server_error", "the access token could not be verified", "")
		return
	}
	defer identity.Close()

	// Every missing scope in one answer; the challenge names every required one.
	var missing []string
	for _, scope := range g.scopes {
		if !identity.HasScope(scope) {
			missing = append(missing, scope)
		}
	}
	if len(missing) > 0 {
		description := "the access token lacks the scopes " + strings.Join(missing, " ")
		g.refuse(w, http.StatusForbidden, "insufficient_scope", description, g.challenge("insufficient_scope", description, g.scopes))
		return
	}
	if lacking := g.lacking(identity); lacking != "" {
		g.refuse(w, http.StatusForbidden, "forbidden", "this resource needs what the caller lacks: "+lacking, "")
		return
	}
	next.ServeHTTP(w, r.WithContext(ContextWithIdentity(r.Context(), identity)))
}

// lacking describes the required roles and permissions the caller does not
// have ("missing role \"admin\"; missing permissions \"a\", \"b\""), or is "".
func (g *guard) lacking(identity *Identity) string {
	var parts []string
	describe := func(required []string, has func(string) bool, singular, plural string) {
		var missing []string
		for _, item := range required {
			if !has(item) {
				missing = append(missing, `"`+item+`"`)
			}
		}
		switch len(missing) {
		case 0:
		case 1:
			parts = append(parts, "missing "+singular+" "+missing[0])
		default:
			parts = append(parts, "missing "+plural+" "+strings.Join(missing, ", "))
		}
	}
	describe(g.roles, identity.HasRole, "role", "roles")
	describe(g.permissions, identity.HasPermission, "permission", "permissions")
	return strings.Join(parts, "; ")
}

func (g *guard) malformedCredentials(w http.ResponseWriter) {
	g.refuse(w, http.StatusBadRequest, "invalid_request", `the Authorization header is not "Bearer <token>"`,
		g.challenge("invalid_request", "malformed Authorization header", nil))
}

// challenge is a `WWW-Authenticate` value (RFC 6750 §3), in the order and form
// EdgeAuth's server sends: error, error_description, resource_metadata, scope.
// Without an error (a request without a token) it has none of the first two.
// scopes nil means the required scopes.
func (g *guard) challenge(code, description string, scopes []string) string {
	var parameters []string
	if code != "" {
		parameters = append(parameters, `error="`+code+`"`)
	}
	if description != "" {
		parameters = append(parameters, `error_description="`+quotable(description)+`"`)
	}
	if g.metadataURL != "" {
		parameters = append(parameters, `resource_metadata="`+quotable(g.metadataURL)+`"`)
	}
	if scopes == nil {
		scopes = g.scopes
	}
	if scope := strings.Join(scopes, " "); scope != "" {
		parameters = append(parameters, `scope="`+quotable(scope)+`"`)
	}
	if len(parameters) == 0 {
		return "Bearer"
	}
	return "Bearer " + strings.Join(parameters, ", ")
}

// quotable keeps text inside a quoted-string (RFC 9110 §5.6.4): a quote or a
// backslash would end or escape it, so each becomes an apostrophe.
func quotable(text string) string { return unquotable.Replace(text) }

var unquotable = strings.NewReplacer(`"`, "'", `\`, "'")

type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// refuse answers an OAuth-style JSON error.
func (g *guard) refuse(w http.ResponseWriter, status int, code, description, challenge string) {
	header := w.Header()
	if challenge != "" {
		header.Set("WWW-Authenticate", challenge)
	}
	header.Set("Content-Type", "application/json")
	header.Set("Cache-Control", "no-store")
	body, _ := json.Marshal(errorBody{Error: code, Description: description})
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// clientDescription is what a client is told about a rejected token: the
// reason's general meaning, never the values involved or anything about the
// configuration (the texts of EdgeAuth's server).
func clientDescription(reason Reason) string {
	switch {
	case reason == Expired:
		return "the access token has expired"
	case reason == NotYetValid, reason == IssuedInFuture:
		return "the access token is not valid yet"
	case reason == WrongAudience:
		return "the access token was not issued for this resource"
	case reason == WrongIssuer:
		return "the access token was not issued by a trusted authorization server"
	case reason == Revoked:
		return "the access token has been revoked"
	case reason == TooOld:
		return "the access token is too old"
	case reason == TokenTooLarge:
		return "the access token is too large"
	case reason.Malformed(), reason == Unsecured:
		return "the access token is malformed"
	default:
		return "the access token is not valid"
	}
}

// hasAccessTokenParameter reports whether the query carries `access_token`
// (RFC 6750 §2.3), which is refused: a token in a URL ends up in logs and
// histories. Names are compared as written and percent-decoded.
func hasAccessTokenParameter(query string) bool {
	for _, field := range strings.Split(query, "&") {
		name := field
		if k := strings.IndexByte(field, '='); k >= 0 {
			name = field[:k]
		}
		if name == "access_token" {
			return true
		}
		if decoded, err := url.QueryUnescape(name); err == nil && decoded == "access_token" {
			return true
		}
	}
	return false
}

type credentials int

const (
	notBearer credentials = iota
	malformed
	bearer
)

// bearerToken reads `Bearer <token>` (RFC 6750 §2.1): the scheme
// case-insensitively, one or more spaces, then the credentials. Whether they
// are token68 is checked only when the token is rejected: a valid token is
// made of base64url and dots.
func bearerToken(value string) (string, credentials) {
	rest := strings.TrimLeft(value, " ")
	end := strings.IndexByte(rest, ' ')
	if end < 0 {
		end = len(rest)
	}
	if !strings.EqualFold(rest[:end], "bearer") {
		return "", notBearer
	}
	token := strings.TrimLeft(rest[end:], " ")
	if token == "" {
		return "", malformed
	}
	return token, bearer
}

// isToken68 reports whether every byte of s is a token68 character (RFC 9110 §11.2).
func isToken68(s string) bool {
	for k := 0; k < len(s); k++ {
		switch c := s[k]; {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/', c == '=':
		default:
			return false
		}
	}
	return true
}
