package edgeauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const metadataURL = "https://mcp.example.test/.well-known/oauth-protected-resource/mcp"

// whoami answers the caller the middleware put in the context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	identity, ok := IdentityFrom(r.Context())
	if !ok {
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	email, _ := identity.Email()
	_ = json.NewEncoder(w).Encode(map[string]any{
		"sub": identity.Subject(), "email": email, "scopes": identity.Scopes(), "roles": identity.Roles(),
	})
})

// serve runs handler behind the middleware on a loopback test server.
func serve(t *testing.T, v *Verifier, handler http.Handler, options ...MiddlewareOption) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(Middleware(v, options...)(handler))
	t.Cleanup(server.Close)
	return server
}

type answer struct {
	status    int
	challenge string
	body      map[string]any
	header    http.Header
}

// call sends a request with the given Authorization headers (none for nil).
func call(t *testing.T, server *httptest.Server, path string, authorization ...string) answer {
	t.Helper()
	request, err := http.NewRequest(http.MethodGet, server.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, value := range authorization {
		request.Header.Add("Authorization", value)
	}
	response, err := server.Client().Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	text, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: response.StatusCode, challenge: response.Header.Get("WWW-Authenticate"), header: response.Header}
	if err := json.Unmarshal(text, &a.body); err != nil {
		t.Fatalf("%s: body %q is not JSON", path, text)
	}
	return a
}

// expect checks an error answer: status, challenge (exactly) and body.
func expect(t *testing.T, what string, a answer, status int, code, description, challenge string) {
	t.Helper()
	if a.status != status || a.challenge != challenge || a.body["error"] != code || a.body["error_description"] != description {
		t.Errorf("%s:\n got %d %q %v\nwant %d %q {error:%s error_description:%s}", what, a.status, a.challenge, a.body, status, challenge, code, description)
	}
	if a.header.Get("Content-Type") != "application/json" || a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: headers %v", what, a.header)
	}
}

func TestMiddlewareValidToken(t *testing.T) {
	server := serve(t, newVerifier(t, benchNow), whoami, ResourceMetadata(metadataURL), RequireScopes("read:tools"))
	a := call(t, server, "/mcp", "Bearer "+benchToken(t, "auth0-rs256"))
	if a.status != http.StatusOK || a.body["sub"] != "auth0|6651f0c2a5b8e3d4f7a90b12" || a.challenge != "" {
		t.Fatalf("%d %v", a.status, a.body)
	}
	// The scheme is case-insensitive and may be followed by several spaces.
	a = call(t, server, "/mcp?cursor=2", "bEaReR   "+benchToken(t, "auth0-es256"))
	if a.status != http.StatusOK || a.body["sub"] != "auth0|6651f0c2a5b8e3d4f7a90b12" {
		t.Fatalf("%d %v", a.status, a.body)
	}
}

func TestMiddlewareNoToken(t *testing.T) {
	server := serve(t, newVerifier(t, benchNow), whoami, ResourceMetadata(metadataURL), RequireScopes("read:tools", "call:tools"))
	challenge := `Bearer resource_metadata="` + metadataURL + `", scope="read:tools call:tools"`
	expect(t, "no header", call(t, server, "/mcp"), 401, "unauthorized", "this resource needs a bearer token", challenge)
	expect(t, "basic", call(t, server, "/mcp", "Basic YWxpY2U6c2VjcmV0"), 401, "unauthorized", "this resource needs a bearer token", challenge)

	// Without a metadata URL or scopes the challenge is the bare scheme.
	bare := serve(t, newVerifier(t, benchNow), whoami)
	expect(t, "bare", call(t, bare, "/"), 401, "unauthorized", "this resource needs a bearer token", "Bearer")
}

func TestMiddlewareRejectedTokens(t *testing.T) {
	secret := hmacSecret(t)
	good := benchToken(t, "keycloak-rs256")
	challenge := func(description string) string {
		return `Bearer error="invalid_token", error_description="` + description + `", resource_metadata="` + metadataURL + `"`
	}
	server := serve(t, newVerifier(t, benchNow), whoami, ResourceMetadata(metadataURL))
	expired := serve(t, newVerifier(t, benchExp+3600), whoami, ResourceMetadata(metadataURL))

	expect(t, "expired", call(t, expired, "/", "Bearer "+good), 401, "invalid_token",
		"the access token has expired", challenge("the access token has expired"))
	expect(t, "forged signature", call(t, server, "/", "Bearer "+tamper(good)), 401, "invalid_token",
		"the access token is not valid", challenge("the access token is not valid"))
	expect(t, "forged secret", call(t, server, "/", "Bearer "+mint(t, []byte(strings.Repeat("k", 64)), nil)), 401, "invalid_token",
		"the access token is not valid", challenge("the access token is not valid"))
	wrongAudience := mint(t, secret, map[string]any{"aud": []string{"https://other.example", "account"}})
	expect(t, "wrong audience", call(t, server, "/", "Bearer "+wrongAudience), 401, "invalid_token",
		"the access token was not issued for this resource", challenge("the access token was not issued for this resource"))
	expect(t, "malformed token", call(t, server, "/", "Bearer abc.def"), 401, "invalid_token",
		"the access token is malformed", challenge("the access token is malformed"))

	// The same token under a configuration for another audience.
	other := strings.Replace(string(readConfig(t)), "https://api.edgeauth.test", "https://other.example", 1)
	elsewhere := serve(t, newVerifierFrom(t, []byte(other), benchNow), whoami, ResourceMetadata(metadataURL))
	expect(t, "another resource's verifier", call(t, elsewhere, "/", "Bearer "+good), 401, "invalid_token",
		"the access token was not issued for this resource", challenge("the access token was not issued for this resource"))
}

func TestMiddlewareBadRequests(t *testing.T) {
	server := serve(t, newVerifier(t, benchNow), whoami, ResourceMetadata(metadataURL), RequireScopes("read:tools"))
	good := "Bearer " + benchToken(t, "auth0-rs256")
	challenge := func(description string) string {
		return `Bearer error="invalid_request", error_description="` + description + `", resource_metadata="` + metadataURL + `", scope="read:tools"`
	}
	const inQuery = "access tokens are accepted only in the Authorization header"
	for _, query := range []string{"?access_token=x", "?a=1&access_token", "?access%5Ftoken=x"} {
		// Refused even alongside a valid header: the token in the URL is already exposed.
		expect(t, query, call(t, server, "/mcp"+query, good), 400, "invalid_request", inQuery, challenge(inQuery))
	}
	if a := call(t, server, "/mcp?my_access_token=x", good); a.status != http.StatusOK {
		t.Errorf("another parameter: %d %v", a.status, a.body)
	}
	expect(t, "two headers", call(t, server, "/mcp", good, good), 400, "invalid_request",
		"more than one Authorization header", challenge("more than one Authorization header"))
	malformed := challenge("malformed Authorization header")
	expect(t, "no token", call(t, server, "/mcp", "Bearer"), 400, "invalid_request", `the Authorization header is not "Bearer <token>"`, malformed)
	expect(t, "not token68", call(t, server, "/mcp", "Bearer abc def"), 400, "invalid_request", `the Authorization header is not "Bearer <token>"`, malformed)
}

func TestMiddlewareMissingScopes(t *testing.T) {
	// The auth0 tokens grant "openid profile email read:tools call:tools".
	server := serve(t, newVerifier(t, benchNow), whoami, ResourceMetadata(metadataURL),
		RequireScopes("read:tools", "write:notes"), RequireScopes("admin:all", "read:tools"))
	a := call(t, server, "/mcp", "Bearer "+benchToken(t, "auth0-ps256"))
	description := "the access token lacks the scopes write:notes admin:all"
	expect(t, "missing scopes", a, 403, "insufficient_scope", description,
		`Bearer error="insufficient_scope", error_description="`+description+`", resource_metadata="`+metadataURL+`", scope="read:tools write:notes admin:all"`)
}

func TestMiddlewareRolesAndPermissions(t *testing.T) {
	secret := hmacSecret(t)
	server := serve(t, newVerifier(t, benchNow), whoami, ResourceMetadata(metadataURL),
		RequireRoles("admin"), RequirePermissions("notes:delete", "notes:write"))
	user := mint(t, secret, map[string]any{"roles": []string{"user"}, "permissions": []string{"notes:read"}})
	expect(t, "user", call(t, server, "/", "Bearer "+user), 403, "forbidden",
		`this resource needs what the caller lacks: missing role "admin"; missing permissions "notes:delete", "notes:write"`, "")
	writer := mint(t, secret, map[string]any{"roles": []string{"user", "admin"}, "permissions": []string{"notes:write"}})
	expect(t, "writer", call(t, server, "/", "Bearer "+writer), 403, "forbidden",
		`this resource needs what the caller lacks: missing permission "notes:delete"`, "")
	admin := mint(t, secret, map[string]any{"sub": "root", "roles": []string{"admin"}, "permissions": []string{"notes:write", "notes:delete"}})
	a := call(t, server, "/", "Bearer "+admin)
	if a.status != http.StatusOK || a.body["sub"] != "root" || fmt.Sprint(a.body["roles"]) != "[admin]" {
		t.Errorf("admin: %d %v", a.status, a.body)
	}
}

func TestMiddlewareIdentityInHandler(t *testing.T) {
	if _, ok := IdentityFrom(context.Background()); ok {
		t.Fatal("an identity outside the middleware")
	}
	var kept *Identity
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		identity, ok := IdentityFrom(r.Context())
		if !ok || identity.Subject() != "8d6f0b3e-2a41-4c9f-b7d2-5e1a9c03f6b8" || !identity.HasScope("email") {
			http.Error(w, `{"error":"identity"}`, http.StatusInternalServerError)
			return
		}
		var realmRoles []string
		if found, err := identity.ClaimAt("/realm_access/roles", &realmRoles); !found || err != nil {
			http.Error(w, `{"error":"claim"}`, http.StatusInternalServerError)
			return
		}
		kept = identity
		_ = json.NewEncoder(w).Encode(map[string]any{"realm_roles": realmRoles})
	})
	server := serve(t, newVerifier(t, benchNow), handler, RequireScopes("email"))
	a := call(t, server, "/", "Bearer "+benchToken(t, "keycloak-eddsa"))
	if a.status != http.StatusOK || fmt.Sprint(a.body["realm_roles"]) != "[user]" {
		t.Fatalf("%d %v", a.status, a.body)
	}
	// The middleware closes the identity once the handler has returned.
	if kept == nil || kept.Subject() != "" {
		t.Error("the identity outlived the request")
	}
}

func TestMiddlewareConcurrentRequests(t *testing.T) {
	server := serve(t, newVerifier(t, benchNow), whoami, RequireScopes("read:tools"))
	tokens := []string{benchToken(t, "auth0-rs256"), benchToken(t, "auth0-es256"), tamper(benchToken(t, "auth0-hs256"))}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 12; k++ {
				token := tokens[(g+k)%len(tokens)]
				request, _ := http.NewRequest(http.MethodGet, server.URL, nil)
				request.Header.Set("Authorization", "Bearer "+token)
				response, err := server.Client().Do(request)
				if err != nil {
					errs <- err.Error()
					return
				}
				_, _ = io.Copy(io.Discard, response.Body)
				response.Body.Close()
				if want := map[bool]int{true: 401, false: 200}[token == tokens[2]]; response.StatusCode != want {
					errs <- fmt.Sprintf("%d, want %d", response.StatusCode, want)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
