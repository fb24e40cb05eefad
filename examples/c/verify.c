/*
 * verify: check a bearer token with libedgeauth and print who it belongs to.
 *
 *   verify CONFIG.json [NOW] < token
 *
 * CONFIG.json is an edgeauth_verifier_new() configuration (docs/c-api.md);
 * NOW is the time to verify at, in seconds since the epoch (default: the
 * clock). Exit status: 0 valid, 1 rejected, 2 usage or configuration error.
 *
 * Build against an installed copy:
 *   cc -o verify verify.c $(pkg-config --cflags --libs edgeauth)
 */
#include <edgeauth.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole stream; the buffer is not NUL-terminated (EdgeAuth takes lengths). */
static uint8_t *read_all(FILE *file, size_t *len_out) {
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  size_t n;
  if (buf == NULL) return NULL;
  while ((n = fread(buf + len, 1, cap - len, file)) > 0) {
    len += n;
    if (len == cap) {
      uint8_t *bigger = realloc(buf, cap *= 2);
      if (bigger == NULL) { free(buf); return NULL; }
      buf = bigger;
    }
  }
  *len_out = len;
  return buf;
}

static void print_list(const char *label, const edgeauth_identity *identity,
                       size_t (*count)(const edgeauth_identity *),
                       const char *(*item)(const edgeauth_identity *, size_t, size_t *)) {
  size_t n = count(identity);
  printf("%-12s", label);
  for (size_t i = 0; i < n; i++) printf(" %s", item(identity, i, NULL));
  printf("\n");
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s CONFIG.json [NOW] < token\n", argv[0]);
    return 2;
  }
  int64_t now = argc == 3 ? strtoll(argv[2], NULL, 10) : 0;

  FILE *config_file = fopen(argv[1], "rb");
  if (config_file == NULL) { perror(argv[1]); return 2; }
  size_t config_len = 0;
  uint8_t *config = read_all(config_file, &config_len);
  fclose(config_file);
  if (config == NULL) { fprintf(stderr, "out of memory\n"); return 2; }

  edgeauth_verifier *verifier = NULL;
  char *error = NULL;
  int32_t status = edgeauth_verifier_new(config, config_len, &verifier, &error);
  free(config);
  if (status != EDGEAUTH_OK) {
    fprintf(stderr, "configuration: %s: %s\n", edgeauth_status_string(status), error ? error : "");
    edgeauth_string_free(error);
    return 2;
  }
  for (size_t i = 0; i < edgeauth_verifier_warning_count(verifier); i++)
    fprintf(stderr, "warning: %s\n", edgeauth_verifier_warning(verifier, i, NULL));

  size_t token_len = 0;
  uint8_t *token = read_all(stdin, &token_len);
  if (token == NULL) { fprintf(stderr, "out of memory\n"); return 2; }
  while (token_len > 0 && (token[token_len - 1] == '\n' || token[token_len - 1] == '\r')) token_len--;

  int32_t verdict = -1;
  edgeauth_identity *identity = NULL;
  status = edgeauth_verify(verifier, token, token_len, now, &verdict, &identity);
  int exit_code = 2;
  if (status != EDGEAUTH_OK) {
    fprintf(stderr, "verify: %s\n", edgeauth_status_string(status));
  } else if (verdict == EDGEAUTH_VERDICT_VALID) {
    int64_t exp = 0;
    printf("valid\n");
    printf("%-12s %s\n", "subject", edgeauth_identity_subject(identity, NULL));
    printf("%-12s %s\n", "issuer", edgeauth_identity_issuer(identity, NULL));
    const char *email = edgeauth_identity_email(identity, NULL);
    if (email != NULL) printf("%-12s %s\n", "email", email);
    if (edgeauth_identity_expires_at(identity, &exp) == EDGEAUTH_OK) printf("%-12s %lld\n", "expires", (long long)exp);
    print_list("roles", identity, edgeauth_identity_role_count, edgeauth_identity_role);
    print_list("permissions", identity, edgeauth_identity_permission_count, edgeauth_identity_permission);
    print_list("scopes", identity, edgeauth_identity_scope_count, edgeauth_identity_scope);
    const char *read_tools = "read:tools";
    printf("%-12s %s\n", "read:tools", edgeauth_identity_has_permission(identity, (const uint8_t *)read_tools, strlen(read_tools)) ? "yes" : "no");
    exit_code = 0;
  } else {
    char *explanation = NULL;
    int32_t again = 0;
    printf("rejected: %s\n", edgeauth_verdict_string(verdict));
    if (edgeauth_explain(verifier, token, token_len, now, &again, &explanation) == EDGEAUTH_OK) {
      fprintf(stderr, "%s\n", explanation);
      edgeauth_string_free(explanation);
    }
    exit_code = 1;
  }
  edgeauth_identity_free(identity);
  edgeauth_verifier_free(verifier);
  free(token);
  return exit_code;
}
