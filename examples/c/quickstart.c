#include <edgeauth.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  const char *config =
      "{\"issuers\": [\"https://sso.edgeauth.test/realms/bench\"],"
      " \"audiences\": [\"https://api.edgeauth.test\"],"
      " \"keys\": [{\"jwksFile\": \"bench-data/jwks.json\"}]}";
  edgeauth_verifier *verifier = NULL;
  char *error = NULL;
  int32_t status = edgeauth_verifier_new((const uint8_t *)config, strlen(config), &verifier, &error);
  if (status != EDGEAUTH_OK) {
    fprintf(stderr, "%s: %s\n", edgeauth_status_string(status), error);
    edgeauth_string_free(error);
    return 2;
  }

  const char *token = argv[1];
  int64_t now = 1764003600; /* the bench-data tokens are valid then; 0 means "the clock" */
  int32_t verdict;
  edgeauth_identity *identity = NULL;
  status = edgeauth_verify(verifier, (const uint8_t *)token, strlen(token), now, &verdict, &identity);
  if (status != EDGEAUTH_OK) {
    fprintf(stderr, "%s\n", edgeauth_status_string(status));
  } else if (verdict == EDGEAUTH_VERDICT_VALID) {
    const char *email = edgeauth_identity_email(identity, NULL);
    printf("valid: %s <%s>\n", edgeauth_identity_subject(identity, NULL), email ? email : "no email");
    edgeauth_identity_free(identity);
  } else {
    printf("rejected: %s\n", edgeauth_verdict_string(verdict));
  }
  edgeauth_verifier_free(verifier);
  return status == EDGEAUTH_OK && verdict == EDGEAUTH_VERDICT_VALID ? 0 : 1;
}
