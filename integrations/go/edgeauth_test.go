package edgeauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The bench-data tokens (bench-data/README.md) are valid at benchNow and expire at benchExp.
const (
	benchNow = 1764003600
	benchExp = 1764086400
)

var algorithms = strings.Fields("hs256 hs384 hs512 rs256 rs384 rs512 ps256 ps384 ps512 es256 es384 es512 eddsa")

func readConfig(t *testing.T) []byte {
	t.Helper()
	config, err := os.ReadFile(filepath.Join("testdata", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return config
}

// newVerifier is the testdata configuration, judging tokens at the Unix time at.
func newVerifier(t *testing.T, at int64) *Verifier {
	t.Helper()
	return newVerifierFrom(t, readConfig(t), at)
}

func newVerifierFrom(t *testing.T, config []byte, at int64) *Verifier {
	t.Helper()
	v, err := NewVerifier(config, WithClock(func() time.Time { return time.Unix(at, 0) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func benchToken(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "bench-data", "tokens", name+".jwt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// hmacSecret is the bench-data HMAC key the testdata configuration trusts.
func hmacSecret(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "bench-data", "keys", "hmac.secret"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mint signs an HS256 token: the issuer, audience and times of the bench
// tokens, overridden or extended by claims (a nil value removes a claim).
func mint(t *testing.T, secret []byte, claims map[string]any) string {
	t.Helper()
	payload := map[string]any{
		"iss": "https://sso.edgeauth.test/realms/bench",
		"aud": "https://api.edgeauth.test",
		"sub": "alice",
		"iat": benchNow - 60,
		"exp": benchNow + 3600,
	}
	for name, value := range claims {
		if value == nil {
			delete(payload, name)
		} else {
			payload[name] = value
		}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	encode := base64.RawURLEncoding.EncodeToString
	input := encode([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + encode(body)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + encode(mac.Sum(nil))
}

// tamper flips one bit of the signature.
func tamper(token string) string {
	b := []byte(token)
	b[len(b)-12] ^= 1
	return string(b)
}

func rejection(t *testing.T, err error) *Rejected {
	t.Helper()
	var rejected *Rejected
	if !errors.As(err, &rejected) {
		t.Fatalf("want *Rejected, got %T %v", err, err)
	}
	return rejected
}

func TestVersion(t *testing.T) {
	if Version() != "0.1.0" {
		t.Fatalf("version %q", Version())
	}
}

func TestBenchTokensVerify(t *testing.T) {
	v := newVerifier(t, benchNow)
	if v.KeyCount() != 11 || len(v.Warnings()) != 0 {
		t.Fatalf("%d keys, warnings %v", v.KeyCount(), v.Warnings())
	}
	for _, shape := range []string{"auth0", "keycloak"} {
		for _, alg := range algorithms {
			identity, err := v.Verify(benchToken(t, shape+"-"+alg))
			if err != nil {
				t.Fatalf("%s-%s: %v", shape, alg, err)
			}
			if e, ok := identity.ExpiresAt(); !ok || e.Unix() != benchExp {
				t.Errorf("%s-%s: exp %v", shape, alg, e)
			}
			identity.Close()
		}
	}
}

func TestKeycloakIdentity(t *testing.T) {
	v := newVerifier(t, benchNow)
	identity, err := v.Verify(benchToken(t, "keycloak-es256"))
	if err != nil {
		t.Fatal(err)
	}
	defer identity.Close()
	if identity.Subject() != "8d6f0b3e-2a41-4c9f-b7d2-5e1a9c03f6b8" || identity.Issuer() != "https://sso.edgeauth.test/realms/bench" {
		t.Errorf("subject %q issuer %q", identity.Subject(), identity.Issuer())
	}
	if email, ok := identity.Email(); !ok || email != "ada@edgeauth.test" {
		t.Errorf("email %q", email)
	}
	if user, ok := identity.Username(); !ok || user != "ada" {
		t.Errorf("username %q", user)
	}
	if client, ok := identity.ClientID(); !ok || client != "mcp-client" {
		t.Errorf("client %q", client)
	}
	if _, ok := identity.Organization(); ok {
		t.Error("no org_id expected")
	}
	if iat, ok := identity.IssuedAt(); !ok || iat.Unix() != 1764000000 {
		t.Errorf("iat %v", iat)
	}
	if got := identity.Audiences(); len(got) != 1 || got[0] != "https://api.edgeauth.test" {
		t.Errorf("audiences %v", got)
	}
	if !identity.HasScope("email") || identity.HasScope("profile") {
		t.Errorf("scopes %v", identity.Scopes())
	}
	var roles []string
	if found, err := identity.ClaimAt("/realm_access/roles", &roles); !found || err != nil || len(roles) != 1 || roles[0] != "user" {
		t.Errorf("realm roles %v %v %v", roles, found, err)
	}
	var missing any
	if found, err := identity.Claim("nope", &missing); found || err != nil {
		t.Errorf("absent claim: %v %v", found, err)
	}
	document, err := identity.JSON()
	var fields map[string]any
	if err != nil || json.Unmarshal(document, &fields) != nil || fields["issuer"] != "https://sso.edgeauth.test/realms/bench" {
		t.Errorf("identity JSON %s %v", document, err)
	}
}

func TestAuth0Permissions(t *testing.T) {
	v := newVerifier(t, benchNow)
	identity, err := v.Verify(benchToken(t, "auth0-eddsa"))
	if err != nil {
		t.Fatal(err)
	}
	defer identity.Close()
	if got := strings.Join(identity.Permissions(), " "); got != "call:tools read:resources read:tools" {
		t.Errorf("permissions %q", got)
	}
	if !identity.HasPermission("call:tools") || identity.HasRole("admin") || len(identity.Roles()) != 0 {
		t.Error("requirement helpers")
	}
	var roles []string
	if found, _ := identity.Claim("https://edgeauth.test/roles", &roles); !found || strings.Join(roles, ",") != "admin,operator" {
		t.Errorf("namespaced roles %v", roles)
	}
}

func TestRejections(t *testing.T) {
	v := newVerifier(t, benchNow)
	secret := hmacSecret(t)
	good := benchToken(t, "auth0-rs256")
	cases := []struct {
		name  string
		token string
		at    int64
		want  Reason
		code  string
	}{
		{"expired", good, benchExp + 30, Expired, "expired"},
		{"forged signature", tamper(good), benchNow, BadSignature, "badSignature"},
		{"forged with another secret", mint(t, []byte(strings.Repeat("x", 64)), nil), benchNow, BadSignature, "badSignature"},
		{"wrong audience", mint(t, secret, map[string]any{"aud": "https://other.example"}), benchNow, WrongAudience, "wrongAudience"},
		{"wrong issuer", mint(t, secret, map[string]any{"iss": "https://evil.example/"}), benchNow, WrongIssuer, "wrongIssuer"},
		{"empty", "", benchNow, Reason(101), "malformed.segmentCount"},
		{"too large", strings.Repeat("a", 1<<20), benchNow, TokenTooLarge, "tokenTooLarge"},
	}
	for _, c := range cases {
		identity, err := v.VerifyAt(c.token, time.Unix(c.at, 0))
		if identity != nil {
			t.Errorf("%s: an identity for a rejected token", c.name)
			continue
		}
		rejected := rejection(t, err)
		if rejected.Reason != c.want || rejected.Reason.String() != c.code || rejected.Description == "" {
			t.Errorf("%s: %d %s %q", c.name, rejected.Reason, rejected.Reason, rejected.Description)
		}
		if !strings.Contains(err.Error(), c.code) {
			t.Errorf("%s: error text %q", c.name, err)
		}
	}
	if !Reason(101).Malformed() || Expired.Malformed() {
		t.Error("Malformed")
	}
	if reason, text, err := v.Explain(tamper(good)); err != nil || reason != BadSignature || !strings.Contains(text, "signature") {
		t.Errorf("explain: %v %q %v", reason, text, err)
	}
	// The clock given at creation is what Verify uses.
	if _, err := newVerifier(t, benchExp+3600).Verify(good); rejection(t, err).Reason != Expired {
		t.Errorf("clock: %v", err)
	}
	// A time before 1970 is outside the library's range: a failed call, not a rejection.
	var callError *Error
	if _, err := v.VerifyAt(good, time.Unix(-5, 0)); !errors.As(err, &callError) || callError.Status != StatusInvalidArgument {
		t.Errorf("negative now: %v", err)
	}
}

func TestConfigurationError(t *testing.T) {
	_, err := NewVerifier([]byte(`{"issuers": ["x"], "anyAudience": true, "keys": [{"jwksFile": "/nonexistent"}]}`))
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusKeys || !strings.Contains(e.Message, "cannot read /nonexistent") {
		t.Fatalf("%v", err)
	}
	_, err = NewVerifier([]byte(`{"issuers": ["x"]}`))
	if !errors.As(err, &e) || e.Status != StatusConfig || !strings.Contains(e.Error(), "invalid configuration: give audiences") {
		t.Fatalf("%v", err)
	}
}

func TestClose(t *testing.T) {
	v, err := NewVerifier(readConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	identity, err := v.VerifyAt(benchToken(t, "keycloak-hs256"), time.Unix(benchNow, 0))
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	v.Close()
	// An identity outlives its verifier.
	if identity.Subject() != "8d6f0b3e-2a41-4c9f-b7d2-5e1a9c03f6b8" {
		t.Errorf("subject after the verifier's Close: %q", identity.Subject())
	}
	if _, err := v.Verify("x"); !errors.Is(err, ErrClosed) {
		t.Errorf("verify after Close: %v", err)
	}
	identity.Close()
	identity.Close()
	if identity.Subject() != "" || identity.HasScope("email") || len(identity.Scopes()) != 0 {
		t.Error("values after Close")
	}
	if _, err := identity.Claim("sub", new(string)); !errors.Is(err, ErrClosed) {
		t.Errorf("claim after Close: %v", err)
	}
}

func TestGoroutinesShareOneVerifier(t *testing.T) {
	v := newVerifier(t, benchNow)
	tokens := map[string]string{}
	for _, alg := range algorithms {
		tokens["auth0-"+alg] = benchToken(t, "auth0-"+alg)
		tokens["keycloak-"+alg] = benchToken(t, "keycloak-"+alg)
	}
	shared, err := v.Verify(tokens["auth0-es256"])
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 5; round++ {
				for name, token := range tokens {
					identity, err := v.Verify(token)
					if err != nil {
						errs <- errors.New(name + ": " + err.Error())
						return
					}
					if strings.HasPrefix(name, "auth0") != strings.HasPrefix(identity.Subject(), "auth0|") {
						errs <- errors.New(name + ": subject " + identity.Subject())
						return
					}
					identity.Close()
					if !shared.HasPermission("read:tools") {
						errs <- errors.New("shared identity")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
