/*
 * header_check: include/edgeauth.h compiles cleanly on its own, as C11 and
 * as C++ (-Wall -Wextra -Werror -pedantic), and its constants keep their
 * published values. Run after linking, it also checks that the library it
 * loaded matches the header's version.
 */
#include <edgeauth.h>
/* A second inclusion must be harmless. */
#include <edgeauth.h>

#include <stdio.h>
#include <string.h>

#if defined(__cplusplus)
#  define STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#  define STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Published numbers never change. */
STATIC_ASSERT(EDGEAUTH_OK == 0, "EDGEAUTH_OK");
STATIC_ASSERT(EDGEAUTH_ERR_INVALID_ARGUMENT == -1, "status");
STATIC_ASSERT(EDGEAUTH_ERR_CONFIG == -2, "status");
STATIC_ASSERT(EDGEAUTH_ERR_KEYS == -3, "status");
STATIC_ASSERT(EDGEAUTH_ERR_NOT_FOUND == -4, "status");
STATIC_ASSERT(EDGEAUTH_ERR_NO_MEMORY == -5, "status");
STATIC_ASSERT(EDGEAUTH_ERR_INTERNAL == -6, "status");
STATIC_ASSERT(EDGEAUTH_ERR_CACHE == -7, "status");
STATIC_ASSERT(EDGEAUTH_CACHE_HITS == 1 && EDGEAUTH_CACHE_ERRORS == 5, "cache counters");
STATIC_ASSERT(EDGEAUTH_VERDICT_VALID == 0, "verdict");
STATIC_ASSERT(EDGEAUTH_VERDICT_BAD_SIGNATURE == 9, "verdict");
STATIC_ASSERT(EDGEAUTH_VERDICT_EXPIRED == 10, "verdict");
STATIC_ASSERT(EDGEAUTH_VERDICT_WRONG_AUDIENCE == 17, "verdict");
STATIC_ASSERT(EDGEAUTH_VERDICT_REVOKED == 18, "verdict");
STATIC_ASSERT(EDGEAUTH_VERDICT_CLAIM_VALUE_NOT_ALLOWED == 19, "verdict");
STATIC_ASSERT(EDGEAUTH_VERDICT_KEYS_UNAVAILABLE == 20, "verdict");
STATIC_ASSERT(EDGEAUTH_VERDICT_MALFORMED_SEGMENT_COUNT == 101, "verdict");
STATIC_ASSERT(EDGEAUTH_VERDICT_MALFORMED_SIGNATURE_LENGTH == 119, "verdict");
STATIC_ASSERT(EDGEAUTH_VERDICT_IS_MALFORMED(EDGEAUTH_VERDICT_MALFORMED_INVALID_JSON), "malformed range");
STATIC_ASSERT(!EDGEAUTH_VERDICT_IS_MALFORMED(EDGEAUTH_VERDICT_EXPIRED), "malformed range");
STATIC_ASSERT(EDGEAUTH_VERSION_NUMBER == EDGEAUTH_VERSION_MAJOR * 10000 + EDGEAUTH_VERSION_MINOR * 100 + EDGEAUTH_VERSION_PATCH,
              "version number");

/* Every function, with the exact type the header gives it. */
typedef struct {
  const char *(*version)(int32_t *, int32_t *, int32_t *);
  const char *(*status_string)(int32_t);
  const char *(*verdict_string)(int32_t);
  const char *(*verdict_description)(int32_t);
  void (*string_free)(char *);
  int32_t (*verifier_new)(const uint8_t *, size_t, edgeauth_verifier **, char **);
  void (*verifier_free)(edgeauth_verifier *);
  size_t (*verifier_key_count)(const edgeauth_verifier *);
  size_t (*verifier_warning_count)(const edgeauth_verifier *);
  const char *(*verifier_warning)(const edgeauth_verifier *, size_t, size_t *);
  int32_t (*verifier_cache_statistic)(const edgeauth_verifier *, int32_t, uint64_t *);
  int32_t (*verify)(const edgeauth_verifier *, const uint8_t *, size_t, int64_t, int32_t *, edgeauth_identity **);
  int32_t (*explain)(const edgeauth_verifier *, const uint8_t *, size_t, int64_t, int32_t *, char **);
  void (*identity_free)(edgeauth_identity *);
  const char *(*text[9])(const edgeauth_identity *, size_t *);
  int32_t (*times[2])(const edgeauth_identity *, int64_t *);
  size_t (*counts[4])(const edgeauth_identity *);
  const char *(*items[4])(const edgeauth_identity *, size_t, size_t *);
  bool (*has[3])(const edgeauth_identity *, const uint8_t *, size_t);
  int32_t (*claim_json)(const edgeauth_identity *, const uint8_t *, size_t, char **, size_t *);
  int32_t (*claim_pointer_json)(const edgeauth_identity *, const uint8_t *, size_t, char **, size_t *);
  int32_t (*identity_json)(const edgeauth_identity *, char **, size_t *);
} edgeauth_functions;

static const edgeauth_functions functions = {
    edgeauth_version,
    edgeauth_status_string,
    edgeauth_verdict_string,
    edgeauth_verdict_description,
    edgeauth_string_free,
    edgeauth_verifier_new,
    edgeauth_verifier_free,
    edgeauth_verifier_key_count,
    edgeauth_verifier_warning_count,
    edgeauth_verifier_warning,
    edgeauth_verifier_cache_statistic,
    edgeauth_verify,
    edgeauth_explain,
    edgeauth_identity_free,
    {edgeauth_identity_subject, edgeauth_identity_issuer, edgeauth_identity_email, edgeauth_identity_name,
     edgeauth_identity_username, edgeauth_identity_picture, edgeauth_identity_client_id,
     edgeauth_identity_organization, edgeauth_identity_token_id},
    {edgeauth_identity_expires_at, edgeauth_identity_issued_at},
    {edgeauth_identity_role_count, edgeauth_identity_permission_count, edgeauth_identity_scope_count,
     edgeauth_identity_audience_count},
    {edgeauth_identity_role, edgeauth_identity_permission, edgeauth_identity_scope, edgeauth_identity_audience},
    {edgeauth_identity_has_role, edgeauth_identity_has_permission, edgeauth_identity_has_scope},
    edgeauth_identity_claim_json,
    edgeauth_identity_claim_pointer_json,
    edgeauth_identity_json,
};

int main(void) {
  int32_t major = -1, minor = -1, patch = -1;
  const char *version = functions.version(&major, &minor, &patch);
  if (strcmp(version, EDGEAUTH_VERSION_STRING) != 0 || major != EDGEAUTH_VERSION_MAJOR ||
      minor != EDGEAUTH_VERSION_MINOR || patch != EDGEAUTH_VERSION_PATCH) {
    fprintf(stderr, "library %s (%d.%d.%d) does not match header %s\n", version, major, minor, patch,
            EDGEAUTH_VERSION_STRING);
    return 1;
  }
  /* NULL everywhere: statuses, never a crash. */
  edgeauth_verifier *verifier = NULL;
  int32_t verdict = -1;
  if (functions.verifier_new(NULL, 0, &verifier, NULL) != EDGEAUTH_ERR_CONFIG || verifier != NULL) return 1;
  if (functions.verify(NULL, NULL, 0, 0, &verdict, NULL) != EDGEAUTH_ERR_INVALID_ARGUMENT) return 1;
  functions.verifier_free(NULL);
  functions.identity_free(NULL);
  functions.string_free(NULL);
  printf("header_check: libedgeauth %s, %s\n", version, functions.status_string(EDGEAUTH_OK));
  return 0;
}
