// Command verify checks a bearer token read from standard input with
// libedgeauth and prints the identity as JSON-ish lines.
//
//	go run ./cmd/verify -config testdata/config.json -now 1764003600 < token.jwt
//
// Exit status: 0 valid, 1 rejected, 2 usage or configuration error.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"edgeauth.example/edgeauth"
)

func main() {
	configPath := flag.String("config", "", "verifier configuration (JSON)")
	now := flag.Int64("now", 0, "verify at this time (seconds since the epoch); 0: the clock")
	flag.Parse()
	config, err := os.ReadFile(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	verifier, err := edgeauth.NewVerifier(config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "configuration:", err)
		os.Exit(2)
	}
	defer verifier.Close()

	token, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	token = bytes.TrimRight(token, "\r\n")

	verdict, identity, err := verifier.Verify(token, *now)
	if err != nil {
		fmt.Fprintln(os.Stderr, "verify:", err)
		os.Exit(2)
	}
	if verdict != edgeauth.Valid {
		_, explanation, _ := verifier.Explain(token, *now)
		fmt.Println("rejected:", verdict)
		fmt.Fprintln(os.Stderr, explanation)
		os.Exit(1)
	}
	defer identity.Close()
	fmt.Println("valid (libedgeauth", edgeauth.Version()+")")
	fmt.Println("subject:", identity.Subject())
	fmt.Println("issuer: ", identity.Issuer())
	if email, ok := identity.Email(); ok {
		fmt.Println("email:  ", email)
	}
	fmt.Println("scopes: ", identity.Scopes())
	var realmRoles []string
	if found, _ := identity.ClaimAt("/realm_access/roles", &realmRoles); found {
		fmt.Println("realm roles:", realmRoles)
	}
}
