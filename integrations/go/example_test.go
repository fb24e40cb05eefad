package edgeauth_test

import (
	"fmt"
	"log"
	"net/http"
	"os"

	edgeauth "github.com/edgeauth/edgeauth-go"
)

// A protected MCP endpoint: every request needs a valid token with the scope
// "mcp:tools"; the handler reads the caller from the request's context.
func ExampleMiddleware() {
	config, err := os.ReadFile("edgeauth.json")
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := edgeauth.NewVerifier(config)
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()

	protect := edgeauth.Middleware(verifier,
		edgeauth.ResourceMetadata("https://mcp.example.com/.well-known/oauth-protected-resource/mcp"),
		edgeauth.RequireScopes("mcp:tools"))
	mcp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := edgeauth.IdentityFrom(r.Context())
		fmt.Fprintln(w, "hello", user.Subject())
	})
	http.Handle("/mcp", protect(mcp))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", nil))
}
