package edgeauth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	now = 1764003600
	exp = 1764086400
)

var algorithms = strings.Fields("hs256 hs384 hs512 rs256 rs384 rs512 ps256 ps384 ps512 es256 es384 es512 eddsa")

func newVerifier(t *testing.T) *Verifier {
	t.Helper()
	config, err := os.ReadFile(filepath.Join("testdata", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func token(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "bench-data", "tokens", name+".jwt"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVersion(t *testing.T) {
	if Version() != "0.1.0" {
		t.Fatalf("version %q", Version())
	}
}

func TestBenchTokensVerify(t *testing.T) {
	v := newVerifier(t)
	if v.KeyCount() != 11 {
		t.Fatalf("%d keys", v.KeyCount())
	}
	for _, shape := range []string{"auth0", "keycloak"} {
		for _, alg := range algorithms {
			verdict, identity, err := v.Verify(token(t, shape+"-"+alg), now)
			if err != nil || verdict != Valid {
				t.Fatalf("%s-%s: %v %v", shape, alg, verdict, err)
			}
			if e, ok := identity.ExpiresAt(); !ok || e != exp {
				t.Errorf("%s-%s: exp %d", shape, alg, e)
			}
			identity.Close()
		}
	}
}

func TestKeycloakIdentity(t *testing.T) {
	v := newVerifier(t)
	_, identity, err := v.Verify(token(t, "keycloak-es256"), now)
	if err != nil || identity == nil {
		t.Fatal(err)
	}
	defer identity.Close()
	if identity.Subject() != "8d6f0b3e-2a41-4c9f-b7d2-5e1a9c03f6b8" || identity.Issuer() != "https://sso.edgeauth.test/realms/bench" {
		t.Errorf("subject %q issuer %q", identity.Subject(), identity.Issuer())
	}
	if email, ok := identity.Email(); !ok || email != "ada@edgeauth.test" {
		t.Errorf("email %q", email)
	}
	if _, ok := identity.Organization(); ok {
		t.Error("no org_id expected")
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
}

func TestAuth0Permissions(t *testing.T) {
	v := newVerifier(t)
	_, identity, err := v.Verify(token(t, "auth0-eddsa"), now)
	if err != nil || identity == nil {
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
	v := newVerifier(t)
	good := token(t, "auth0-rs256")
	tampered := append([]byte{}, good...)
	tampered[len(tampered)-12] ^= 1
	cases := []struct {
		name  string
		token []byte
		now   int64
		want  Verdict
		text  string
	}{
		{"expired", good, exp + 30, Expired, "expired"},
		{"bad signature", tampered, now, BadSignature, "badSignature"},
		{"empty", nil, now, Verdict(101), "malformed.segmentCount"},
		{"too large", make([]byte, 1<<20), now, TokenTooLarge, "tokenTooLarge"},
	}
	for _, c := range cases {
		verdict, identity, err := v.Verify(c.token, c.now)
		if err != nil || verdict != c.want || identity != nil || verdict.String() != c.text {
			t.Errorf("%s: %v (%s) %v", c.name, verdict, verdict.String(), err)
		}
	}
	if verdict, text, err := v.Explain(tampered, now); err != nil || verdict != BadSignature || !strings.Contains(text, "signature") {
		t.Errorf("explain: %v %q %v", verdict, text, err)
	}
	if _, _, err := v.Verify(good, -5); err == nil {
		t.Error("negative now must be an error")
	}
}

func TestConfigurationError(t *testing.T) {
	_, err := NewVerifier([]byte(`{"issuers": ["x"], "anyAudience": true, "keys": [{"jwksFile": "/nonexistent"}]}`))
	var e *Error
	if !errors.As(err, &e) || e.Status != ErrKeys || !strings.Contains(e.Message, "cannot read /nonexistent") {
		t.Fatalf("%v", err)
	}
	_, err = NewVerifier([]byte(`{"issuers": ["x"]}`))
	if !errors.As(err, &e) || e.Status != ErrConfig || !strings.Contains(e.Error(), "invalid configuration: give audiences") {
		t.Fatalf("%v", err)
	}
}

func TestGoroutinesShareOneVerifier(t *testing.T) {
	v := newVerifier(t)
	tokens := map[string][]byte{}
	for _, alg := range algorithms {
		tokens["auth0-"+alg] = token(t, "auth0-"+alg)
		tokens["keycloak-"+alg] = token(t, "keycloak-"+alg)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 10; round++ {
				for name, tok := range tokens {
					verdict, identity, err := v.Verify(tok, now)
					if err != nil || verdict != Valid {
						errs <- errors.New(name + ": " + verdict.String())
						return
					}
					if strings.HasPrefix(name, "auth0") != strings.HasPrefix(identity.Subject(), "auth0|") {
						errs <- errors.New(name + ": subject " + identity.Subject())
						return
					}
					identity.Close()
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
