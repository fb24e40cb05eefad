/*
 * threads_test: 8 threads share one verifier and verify the same tokens and
 * tokens of their own (valid, tampered, expired, malformed), checking every
 * verdict and the identities; all threads also read one shared identity.
 * Built with -Wall -Wextra -Werror -fsanitize=address,undefined by `make
 * c-abi-test`.
 *
 *   threads_test BENCH_DATA_DIR [CACHE_DIR]
 *
 * With CACHE_DIR the verifier uses the shared LMDB cache there, so most
 * verifications are cache hits and every identity checked comes from it.
 *
 * Uses the tokens in bench-data/tokens (valid at NOW, signed by the keys in
 * bench-data/jwks.json and bench-data/keys/hmac.secret).
 */
#include <edgeauth.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define ROUNDS 20
#define NOW INT64_C(1764003600)
#define EXP INT64_C(1764086400)

static const char *const algorithms[] = {
    "hs256", "hs384", "hs512", "rs256", "rs384", "rs512", "ps256",
    "ps384", "ps512", "es256", "es384", "es512", "eddsa",
};
#define ALGORITHMS (sizeof algorithms / sizeof algorithms[0])
#define TOKENS (2 * ALGORITHMS)

typedef struct {
  uint8_t *bytes;
  size_t len;
  int keycloak; /* shape: 0 auth0, 1 keycloak */
} token_t;

static token_t tokens[TOKENS];
static edgeauth_verifier *verifier;
static edgeauth_identity *shared_identity;
static atomic_long checks_passed;
static atomic_long checks_failed;

#define CHECK(cond, ...)                                                      \
  do {                                                                        \
    if (cond) {                                                               \
      atomic_fetch_add(&checks_passed, 1);                                    \
    } else {                                                                  \
      atomic_fetch_add(&checks_failed, 1);                                    \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                    \
      fprintf(stderr, __VA_ARGS__);                                           \
      fprintf(stderr, "\n");                                                  \
    }                                                                         \
  } while (0)

static uint8_t *read_file(const char *path, size_t *len_out) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) return NULL;
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
  if (buf == NULL || fread(buf, 1, (size_t)size, file) != (size_t)size) {
    free(buf);
    fclose(file);
    return NULL;
  }
  fclose(file);
  *len_out = (size_t)size;
  return buf;
}

static int string_is(const char *value, size_t len, const char *expected) {
  return value != NULL && len == strlen(expected) && memcmp(value, expected, len) == 0;
}

static int has(bool (*fn)(const edgeauth_identity *, const uint8_t *, size_t),
               const edgeauth_identity *identity, const char *name) {
  return fn(identity, (const uint8_t *)name, strlen(name));
}

/* Checks the identity of a valid bench-data token of either shape. */
static void check_identity(const edgeauth_identity *identity, int keycloak) {
  size_t len = 0;
  int64_t exp = 0;
  const char *subject = edgeauth_identity_subject(identity, &len);
  if (keycloak) {
    CHECK(string_is(subject, len, "8d6f0b3e-2a41-4c9f-b7d2-5e1a9c03f6b8"), "keycloak subject: %s", subject);
    const char *issuer = edgeauth_identity_issuer(identity, &len);
    CHECK(string_is(issuer, len, "https://sso.edgeauth.test/realms/bench"), "keycloak issuer: %s", issuer);
    const char *email = edgeauth_identity_email(identity, &len);
    CHECK(string_is(email, len, "ada@edgeauth.test"), "email: %s", email ? email : "(null)");
    const char *username = edgeauth_identity_username(identity, &len);
    CHECK(string_is(username, len, "ada"), "username: %s", username ? username : "(null)");
    CHECK(edgeauth_identity_permission_count(identity) == 0, "keycloak has no permissions");
    CHECK(has(edgeauth_identity_has_scope, identity, "email"), "scope email");
    char *json = NULL;
    int32_t status = edgeauth_identity_claim_pointer_json(identity, (const uint8_t *)"/realm_access/roles", 19, &json, &len);
    CHECK(status == EDGEAUTH_OK && string_is(json, len, "[\"user\"]"), "realm roles: %s", json ? json : "(null)");
    edgeauth_string_free(json);
  } else {
    CHECK(string_is(subject, len, "auth0|6651f0c2a5b8e3d4f7a90b12"), "auth0 subject: %s", subject);
    const char *issuer = edgeauth_identity_issuer(identity, &len);
    CHECK(string_is(issuer, len, "https://edgeauth-bench.us.auth0.com/"), "auth0 issuer: %s", issuer);
    CHECK(edgeauth_identity_email(identity, NULL) == NULL, "auth0 token has no email");
    CHECK(edgeauth_identity_permission_count(identity) == 3, "3 permissions");
    const char *second = edgeauth_identity_permission(identity, 1, &len);
    CHECK(string_is(second, len, "read:resources"), "permission 1: %s", second ? second : "(null)");
    CHECK(edgeauth_identity_permission(identity, 3, NULL) == NULL, "permission 3 is out of range");
    CHECK(has(edgeauth_identity_has_permission, identity, "call:tools"), "permission call:tools");
    CHECK(!has(edgeauth_identity_has_permission, identity, "call:tool"), "no permission call:tool");
    CHECK(edgeauth_identity_scope_count(identity) == 5, "5 scopes");
    CHECK(edgeauth_identity_audience_count(identity) == 2, "2 audiences");
    const char *client = edgeauth_identity_client_id(identity, &len);
    CHECK(string_is(client, len, "q7bKd2LmN9pRs4TvW8yZa1Bc3De5FgHj"), "client id: %s", client ? client : "(null)");
    char *json = NULL;
    int32_t status = edgeauth_identity_claim_json(identity, (const uint8_t *)"https://edgeauth.test/roles", 27, &json, &len);
    CHECK(status == EDGEAUTH_OK && string_is(json, len, "[\"admin\",\"operator\"]"), "namespaced roles: %s", json ? json : "(null)");
    edgeauth_string_free(json);
  }
  CHECK(edgeauth_identity_role_count(identity) == 0, "no roles claim");
  CHECK(!has(edgeauth_identity_has_role, identity, "admin"), "no role admin");
  CHECK(edgeauth_identity_expires_at(identity, &exp) == EDGEAUTH_OK && exp == EXP, "exp");
  char *missing = NULL;
  CHECK(edgeauth_identity_claim_json(identity, (const uint8_t *)"nope", 4, &missing, NULL) == EDGEAUTH_ERR_NOT_FOUND && missing == NULL,
        "absent claim");
}

static void expect_verdict(const uint8_t *token, size_t len, int64_t now, int32_t expected, int keycloak) {
  int32_t verdict = -1;
  edgeauth_identity *identity = NULL;
  int32_t status = edgeauth_verify(verifier, token, len, now, &verdict, &identity);
  CHECK(status == EDGEAUTH_OK, "status %d", status);
  CHECK(verdict == expected, "verdict %s, expected %s", edgeauth_verdict_string(verdict), edgeauth_verdict_string(expected));
  if (expected == EDGEAUTH_VERDICT_VALID) {
    CHECK(identity != NULL, "identity for a valid token");
    if (identity != NULL) check_identity(identity, keycloak);
  } else {
    CHECK(identity == NULL, "no identity for a rejected token");
  }
  edgeauth_identity_free(identity);
}

static void *worker(void *arg) {
  size_t id = (size_t)arg;
  for (int round = 0; round < ROUNDS; round++) {
    /* Shared: every thread verifies every token, each starting elsewhere. */
    for (size_t k = 0; k < TOKENS; k++) {
      token_t *t = &tokens[(k + id * 3 + (size_t)round) % TOKENS];
      expect_verdict(t->bytes, t->len, NOW, EDGEAUTH_VERDICT_VALID, t->keycloak);
    }
    /* Distinct: tokens only this thread verifies — a signature altered at a
       thread-specific place, an expired one, and a truncated one. */
    token_t *mine = &tokens[(id * 3 + (size_t)round) % TOKENS];
    uint8_t *copy = malloc(mine->len);
    memcpy(copy, mine->bytes, mine->len);
    size_t at = mine->len - 10 - id;
    copy[at] = copy[at] == 'A' ? 'B' : 'A';
    expect_verdict(copy, mine->len, NOW, EDGEAUTH_VERDICT_BAD_SIGNATURE, mine->keycloak);
    expect_verdict(mine->bytes, mine->len, EXP + 31 + (int64_t)id, EDGEAUTH_VERDICT_EXPIRED, mine->keycloak);
    expect_verdict(mine->bytes, 40 + id, NOW, EDGEAUTH_VERDICT_MALFORMED_SEGMENT_COUNT, mine->keycloak);
    free(copy);
    /* Everyone reads one identity at the same time. */
    check_identity(shared_identity, 1);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: %s BENCH_DATA_DIR [CACHE_DIR]\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char path[4096];
  for (size_t i = 0; i < TOKENS; i++) {
    tokens[i].keycloak = i >= ALGORITHMS;
    snprintf(path, sizeof path, "%s/tokens/%s-%s.jwt", dir, tokens[i].keycloak ? "keycloak" : "auth0", algorithms[i % ALGORITHMS]);
    tokens[i].bytes = read_file(path, &tokens[i].len);
    if (tokens[i].bytes == NULL) { perror(path); return 2; }
  }

  char config[16384];
  int n = snprintf(config, sizeof config,
                   "{\"issuers\": [\"https://edgeauth-bench.us.auth0.com/\", \"https://sso.edgeauth.test/realms/bench\"],"
                   " \"audiences\": [\"https://api.edgeauth.test\"],"
                   " \"keys\": [{\"jwksFile\": \"%s/jwks.json\"}, {\"hmacSecretFile\": \"%s/keys/hmac.secret\"}]"
                   "%s%s%s}",
                   dir, dir, argc == 3 ? ", \"cache\": {\"directory\": \"" : "", argc == 3 ? argv[2] : "", argc == 3 ? "\"}" : "");
  if (n < 0 || (size_t)n >= sizeof config) return 2;
  char *error = NULL;
  /* The configuration is passed with its length, without the terminating NUL. */
  int32_t status = edgeauth_verifier_new((const uint8_t *)config, (size_t)n, &verifier, &error);
  if (status != EDGEAUTH_OK) {
    fprintf(stderr, "edgeauth_verifier_new: %s: %s\n", edgeauth_status_string(status), error);
    edgeauth_string_free(error);
    return 1;
  }
  CHECK(edgeauth_verifier_key_count(verifier) == 11, "11 keys, got %zu", edgeauth_verifier_key_count(verifier));

  int32_t verdict = -1;
  status = edgeauth_verify(verifier, tokens[ALGORITHMS + 9].bytes, tokens[ALGORITHMS + 9].len, NOW, &verdict, &shared_identity);
  if (status != EDGEAUTH_OK || verdict != EDGEAUTH_VERDICT_VALID) {
    fprintf(stderr, "shared identity: status %d verdict %s\n", status, edgeauth_verdict_string(verdict));
    return 1;
  }

  pthread_t threads[THREADS];
  for (size_t i = 0; i < THREADS; i++) {
    if (pthread_create(&threads[i], NULL, worker, (void *)i) != 0) { perror("pthread_create"); return 1; }
  }
  for (size_t i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);

  uint64_t hits = 0, l1_hits = 0, misses = 0;
  if (argc == 3) {
    CHECK(edgeauth_verifier_cache_statistic(verifier, EDGEAUTH_CACHE_HITS, &hits) == EDGEAUTH_OK, "cache hits");
    CHECK(edgeauth_verifier_cache_statistic(verifier, EDGEAUTH_CACHE_L1_HITS, &l1_hits) == EDGEAUTH_OK, "L1 hits");
    CHECK(edgeauth_verifier_cache_statistic(verifier, EDGEAUTH_CACHE_MISSES, &misses) == EDGEAUTH_OK, "cache misses");
    CHECK(hits + l1_hits > misses, "mostly hits: %llu + %llu (L1) hits, %llu misses", (unsigned long long)hits,
          (unsigned long long)l1_hits, (unsigned long long)misses);
  } else {
    CHECK(edgeauth_verifier_cache_statistic(verifier, EDGEAUTH_CACHE_HITS, &hits) == EDGEAUTH_ERR_NOT_FOUND, "no cache");
  }

  edgeauth_identity_free(shared_identity);
  edgeauth_verifier_free(verifier);
  for (size_t i = 0; i < TOKENS; i++) free(tokens[i].bytes);

  long passed = atomic_load(&checks_passed), failed = atomic_load(&checks_failed);
  printf("threads_test: %d threads x %d rounds, %s\n", THREADS, ROUNDS, argc == 3 ? "shared cache" : "no cache");
  if (argc == 3) {
    printf("cache: %llu hits, %llu L1 hits, %llu misses\n", (unsigned long long)hits, (unsigned long long)l1_hits,
           (unsigned long long)misses);
  }
  printf("%ld passed, %ld failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
