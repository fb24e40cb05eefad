/*
 * edgeauth.h — the C interface of EdgeAuth, an OAuth 2.1 / JWT bearer-token
 * verifier for MCP servers.
 *
 * This header is the source of truth for the ABI of libedgeauth. The library
 * implements every function declared here, exports no other `edgeauth_`
 * symbol, and a test compares the two in both directions.
 *
 * Rules that hold for every function:
 *
 *  - Status. Every call that can fail returns an `int32_t` status:
 *    `EDGEAUTH_OK` (0) or a negative `EDGEAUTH_ERR_*` code. Codes are never
 *    renumbered; new ones may be added. `edgeauth_status_string()` names them.
 *  - Verdicts. Verifying a token is a call that succeeds (`EDGEAUTH_OK`) and
 *    reports the token's verdict in a separate out-parameter:
 *    `EDGEAUTH_VERDICT_VALID` (0) or a positive `EDGEAUTH_VERDICT_*` code.
 *    "The call failed" therefore never looks like "the token was rejected".
 *  - Inputs are `const uint8_t *` plus a length in bytes, borrowed for the
 *    duration of the call only. They need not be NUL-terminated and may hold
 *    any bytes. A NULL pointer with length 0 is an empty input; a NULL
 *    pointer with a non-zero length is `EDGEAUTH_ERR_INVALID_ARGUMENT`.
 *  - Outputs. Strings returned as `const char *` are owned by the handle
 *    they came from and stay valid until that handle is freed; strings
 *    returned through `char **` are the caller's and are released with
 *    `edgeauth_string_free()`. Every returned string is UTF-8 and
 *    NUL-terminated; where a `size_t *len_out` is offered (it may be NULL)
 *    it receives the length in bytes without the terminator, which is the
 *    way to read a value that contains U+0000.
 *  - Freeing. `edgeauth_*_free(NULL)` does nothing. A handle is freed exactly
 *    once, after every other call that uses it has returned.
 *  - Threads. A verifier's configuration and an identity's values never
 *    change after creation (the verifier's cache synchronizes itself): one
 *    verifier may be used by any number of threads at once, and so may one
 *    identity. No function keeps a pointer to its inputs or calls back.
 *  - Processes. Create verifiers after fork(), not before: a verifier with a
 *    shared cache holds an LMDB environment, which must not cross a fork.
 *  - Failure. No function aborts, throws or crashes on caller input: NULL
 *    pointers, empty or huge lengths and bytes that are not UTF-8 all
 *    produce a status or a verdict.
 *
 * Compatibility: a published function never changes its signature or
 * meaning; a changed behaviour gets a new function (`..._v2`).
 */
#ifndef EDGEAUTH_H
#define EDGEAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(EDGEAUTH_BUILDING)
#    define EDGEAUTH_API __declspec(dllexport)
#  else
#    define EDGEAUTH_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define EDGEAUTH_API __attribute__((visibility("default")))
#else
#  define EDGEAUTH_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */
/* ------------------------------------------------------------------------ */

#define EDGEAUTH_VERSION_MAJOR 0
#define EDGEAUTH_VERSION_MINOR 1
#define EDGEAUTH_VERSION_PATCH 0
/** "MAJOR.MINOR.PATCH" of this header. */
#define EDGEAUTH_VERSION_STRING "0.1.0"
/** MAJOR * 10000 + MINOR * 100 + PATCH, for `#if` comparisons. */
#define EDGEAUTH_VERSION_NUMBER                                               \
  (EDGEAUTH_VERSION_MAJOR * 10000 + EDGEAUTH_VERSION_MINOR * 100 +            \
   EDGEAUTH_VERSION_PATCH)

/**
 * The version of the library that is loaded, which may differ from the
 * header a program was compiled with.
 *
 * @param major_out, minor_out, patch_out  receive the version numbers; each
 *        may be NULL.
 * @return static text "MAJOR.MINOR.PATCH", valid for the life of the process.
 *         Never NULL.
 * Thread-safety: any thread, any time.
 */
EDGEAUTH_API const char *edgeauth_version(int32_t *major_out, int32_t *minor_out,
                                          int32_t *patch_out);

/* ------------------------------------------------------------------------ */
/* Status codes (return values of fallible calls)                           */
/* ------------------------------------------------------------------------ */

/** Success. */
#define EDGEAUTH_OK 0
/** A required pointer is NULL, a length or `now` is out of range, or a
 *  name is not UTF-8. */
#define EDGEAUTH_ERR_INVALID_ARGUMENT (-1)
/** The configuration is not valid JSON, has an unknown member, or a value of
 *  the wrong type or out of range. The error text says which. */
#define EDGEAUTH_ERR_CONFIG (-2)
/** A key source could not be loaded (unreadable file, failed download,
 *  invalid key, missing secret), or no usable key remains. */
#define EDGEAUTH_ERR_KEYS (-3)
/** The requested value is absent (a claim the token does not carry, an
 *  identity without `exp`). */
#define EDGEAUTH_ERR_NOT_FOUND (-4)
/** Memory for a result could not be allocated. */
#define EDGEAUTH_ERR_NO_MEMORY (-5)
/** A failure inside the library that no input should cause; please report it. */
#define EDGEAUTH_ERR_INTERNAL (-6)
/** The shared verdict cache could not be opened (the directory cannot be
 *  created, LMDB refused it, or it is already open in this process with
 *  other settings). */
#define EDGEAUTH_ERR_CACHE (-7)

/**
 * A short text for a status code: "ok", "invalid argument", "invalid
 * configuration", "keys could not be loaded", "not found", "out of memory",
 * "internal error", "cache could not be opened".
 *
 * @return static text, valid for the life of the process. Never NULL; an
 *         unknown code gives "unknown status".
 * Thread-safety: any thread, any time.
 */
EDGEAUTH_API const char *edgeauth_status_string(int32_t status);

/* ------------------------------------------------------------------------ */
/* Verdict codes (the outcome of verifying one token)                       */
/* ------------------------------------------------------------------------ */

/*
 * 0 is a valid token; every positive code is one rejection reason. The
 * codes mirror EdgeAuth's reason codes (docs/reason-codes.md); the text form
 * from edgeauth_verdict_string() is the same string EdgeAuth uses in logs,
 * metrics and the CLI. Numbers are never reused or renumbered; new reasons
 * get new numbers, so treat an unknown positive code as "rejected".
 */
#define EDGEAUTH_VERDICT_VALID 0
#define EDGEAUTH_VERDICT_TOKEN_TOO_LARGE 1
#define EDGEAUTH_VERDICT_UNSECURED 2
#define EDGEAUTH_VERDICT_UNSUPPORTED_ALGORITHM 3
#define EDGEAUTH_VERDICT_ALGORITHM_NOT_ALLOWED 4
#define EDGEAUTH_VERDICT_UNSUPPORTED_CRITICAL 5
#define EDGEAUTH_VERDICT_WRONG_TYPE 6
#define EDGEAUTH_VERDICT_UNKNOWN_KEY 7
#define EDGEAUTH_VERDICT_KEY_ALGORITHM_MISMATCH 8
#define EDGEAUTH_VERDICT_BAD_SIGNATURE 9
#define EDGEAUTH_VERDICT_EXPIRED 10
#define EDGEAUTH_VERDICT_NOT_YET_VALID 11
#define EDGEAUTH_VERDICT_ISSUED_IN_FUTURE 12
#define EDGEAUTH_VERDICT_TOO_OLD 13
#define EDGEAUTH_VERDICT_MISSING_CLAIM 14
#define EDGEAUTH_VERDICT_INVALID_CLAIM 15
#define EDGEAUTH_VERDICT_WRONG_ISSUER 16
#define EDGEAUTH_VERDICT_WRONG_AUDIENCE 17
#define EDGEAUTH_VERDICT_REVOKED 18
#define EDGEAUTH_VERDICT_CLAIM_VALUE_NOT_ALLOWED 19
#define EDGEAUTH_VERDICT_KEYS_UNAVAILABLE 20

/* The token's bytes are not a well-formed compact JWT: 101…199. */
#define EDGEAUTH_VERDICT_MALFORMED_SEGMENT_COUNT 101
#define EDGEAUTH_VERDICT_MALFORMED_JSON_SERIALIZATION 102
#define EDGEAUTH_VERDICT_MALFORMED_WHITESPACE 103
#define EDGEAUTH_VERDICT_MALFORMED_BASE64_ALPHABET 104
#define EDGEAUTH_VERDICT_MALFORMED_BASE64_PADDING 105
#define EDGEAUTH_VERDICT_MALFORMED_BASE64_LENGTH 106
#define EDGEAUTH_VERDICT_MALFORMED_BASE64_NON_CANONICAL 107
#define EDGEAUTH_VERDICT_MALFORMED_EMPTY_SEGMENT 108
#define EDGEAUTH_VERDICT_MALFORMED_HEADER_NOT_OBJECT 109
#define EDGEAUTH_VERDICT_MALFORMED_PAYLOAD_NOT_OBJECT 110
#define EDGEAUTH_VERDICT_MALFORMED_INVALID_JSON 111
#define EDGEAUTH_VERDICT_MALFORMED_INVALID_UTF8 112
#define EDGEAUTH_VERDICT_MALFORMED_DUPLICATE_MEMBER 113
#define EDGEAUTH_VERDICT_MALFORMED_NESTING_TOO_DEEP 114
#define EDGEAUTH_VERDICT_MALFORMED_TOO_MANY_MEMBERS 115
#define EDGEAUTH_VERDICT_MALFORMED_MISSING_ALGORITHM 116
#define EDGEAUTH_VERDICT_MALFORMED_HEADER_PARAMETER_TYPE 117
#define EDGEAUTH_VERDICT_MALFORMED_UNENCODED_PAYLOAD 118
#define EDGEAUTH_VERDICT_MALFORMED_SIGNATURE_LENGTH 119

/** True for the codes of malformed tokens (101…199). */
#define EDGEAUTH_VERDICT_IS_MALFORMED(verdict) ((verdict) > 100 && (verdict) < 200)

/**
 * The stable text code of a verdict: "valid", "expired", "badSignature",
 * "malformed.segmentCount", … (docs/reason-codes.md).
 *
 * @return static text, valid for the life of the process. Never NULL; an
 *         unknown code gives "unknown".
 * Thread-safety: any thread, any time.
 */
EDGEAUTH_API const char *edgeauth_verdict_string(int32_t verdict);

/**
 * A one-line, operator-facing description of a verdict code, e.g. "the
 * signature does not verify with the configured key". For the description
 * of one particular rejection, with the values involved, see
 * edgeauth_explain().
 *
 * @return static text, valid for the life of the process. Never NULL.
 * Thread-safety: any thread, any time.
 */
EDGEAUTH_API const char *edgeauth_verdict_description(int32_t verdict);

/* ------------------------------------------------------------------------ */
/* Strings returned to the caller                                           */
/* ------------------------------------------------------------------------ */

/**
 * Releases a string the library returned through a `char **` parameter
 * (error messages, claim JSON, identity JSON, explanations).
 *
 * @param string  the string, or NULL (nothing happens).
 * Ownership: takes the string back; it must not be used afterwards and must
 *            not be passed to `free()`.
 * Thread-safety: any thread; each string is freed once.
 */
EDGEAUTH_API void edgeauth_string_free(char *string);

/* ------------------------------------------------------------------------ */
/* Verifier                                                                 */
/* ------------------------------------------------------------------------ */

/** A configured verifier: policy and keys. Opaque; immutable once created. */
typedef struct edgeauth_verifier edgeauth_verifier;

/**
 * Creates a verifier from a JSON configuration (see docs/c-api.md for every
 * member):
 *
 *     {
 *       "issuers": ["https://issuer.example/"],     or "anyIssuer": true
 *       "audiences": ["https://api.example"],       or "anyAudience": true
 *       "algorithms": ["RS256", "ES256"],           default: all supported
 *       "leeway": 30,
 *       "maxAge": 3600, "requiredType": "at+jwt", "requiredClaims": ["sub"],
 *       "requireExpiration": true,
 *       "limits": {"maxTokenBytes": 16384, "maxJSONDepth": 16,
 *                  "maxJSONMembers": 256},
 *       "cache": {"directory": "/var/cache/edgeauth", "mapSizeBytes": 1073741824,
 *                 "maxReaders": 256, "maxTTL": 600, "negativeTTL": 10},
 *       "keys": [ {"jwks": {"keys": [...]}}, {"jwksFile": "/path"},
 *                 {"jwksURL": "https://issuer.example/jwks.json"},
 *                 {"pemFile": "/path", "kid": "k1"},
 *                 {"hmacSecretFile": "/path"}, {"hmacSecretEnv": "NAME"} ]
 *     }
 *
 * Unknown members are errors, so a misspelt option never goes unnoticed.
 *
 * With "cache", verdicts are shared through an LMDB memory map with every
 * process that uses the same directory; the cache is opened during this
 * call. Verifiers of one process that name the same directory share one
 * open cache (their other cache settings must then be equal). Create
 * verifiers after fork(), never before: an open cache does not survive it.
 * The cache is used for every algorithm (a hit is cheaper than even an
 * HS256 verification).
 * Key files and environment variables are read during this call; a
 * `jwksURL` is downloaded during this call, which then blocks the calling
 * thread for up to 10 seconds per URL. Call it from an ordinary thread, not
 * from inside a Swift concurrency task (that case fails with
 * `EDGEAUTH_ERR_KEYS` rather than risk a deadlock).
 *
 * @param config_json, config_len  the configuration; borrowed for the call.
 * @param verifier_out  receives the new verifier on success, NULL on failure.
 *        Required.
 * @param error_out  optional. On failure receives a message naming the
 *        member and the problem (free it with edgeauth_string_free()); on
 *        success receives NULL. Keys that were skipped but did not cause a
 *        failure are reported by edgeauth_verifier_warning().
 * @return EDGEAUTH_OK, EDGEAUTH_ERR_INVALID_ARGUMENT (verifier_out NULL or a
 *         NULL config with a non-zero length), EDGEAUTH_ERR_CONFIG,
 *         EDGEAUTH_ERR_KEYS, EDGEAUTH_ERR_CACHE or EDGEAUTH_ERR_NO_MEMORY.
 * Ownership: the caller owns the verifier and releases it with
 *            edgeauth_verifier_free().
 * Thread-safety: any thread; verifiers are independent of each other.
 */
EDGEAUTH_API int32_t edgeauth_verifier_new(const uint8_t *config_json,
                                           size_t config_len,
                                           edgeauth_verifier **verifier_out,
                                           char **error_out);

/**
 * Creates a verifier from a configuration file, as `edgeauth serve` reads its
 * verifier's members (docs/configuration.md): JSON, or YAML when the name ends
 * in `.yaml` or `.yml`; `EDGEAUTH_*` environment variables override members,
 * as they do for `edgeauth serve`. Sections of other components (`server`,
 * `oauth`, `gateway`) are refused as unknown members: give the library a file
 * of its own. Keys are read and downloaded as by edgeauth_verifier_new().
 *
 * @param path  a NUL-terminated file name; borrowed for the call.
 * @return and ownership as edgeauth_verifier_new(); EDGEAUTH_ERR_CONFIG when
 *         the file cannot be read or is not a valid configuration (the
 *         message names the file and the member).
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_verifier_new_from_file(const char *path,
                                                     edgeauth_verifier **verifier_out,
                                                     char **error_out);

/**
 * Releases a verifier. Identities it produced stay valid: they do not refer
 * to the verifier.
 *
 * @param verifier  the verifier, or NULL (nothing happens).
 * Thread-safety: only once no other thread is using this verifier.
 */
EDGEAUTH_API void edgeauth_verifier_free(edgeauth_verifier *verifier);

/**
 * The number of verification keys the verifier uses now (remote key sets
 * change as they are refreshed).
 *
 * @return the count; 0 when verifier is NULL.
 * Thread-safety: any thread.
 */
EDGEAUTH_API size_t edgeauth_verifier_key_count(const edgeauth_verifier *verifier);

/**
 * The number of keys that were skipped while loading (an unsupported `kty`,
 * an RSA key shorter than 2048 bits, `"use": "enc"`, …).
 *
 * @return the count; 0 when verifier is NULL.
 * Thread-safety: any thread.
 */
EDGEAUTH_API size_t edgeauth_verifier_warning_count(const edgeauth_verifier *verifier);

/**
 * The message for one skipped key.
 *
 * @param index  0 ≤ index < edgeauth_verifier_warning_count().
 * @param len_out  optional; receives the length in bytes.
 * @return the message, owned by the verifier and valid until it is freed;
 *         NULL when verifier is NULL or index is out of range.
 * Thread-safety: any thread.
 */
EDGEAUTH_API const char *edgeauth_verifier_warning(const edgeauth_verifier *verifier,
                                                   size_t index, size_t *len_out);

/* Counters of the shared cache, for edgeauth_verifier_cache_statistic(). */
#define EDGEAUTH_CACHE_HITS 1          /* valid verdicts served from the cache */
#define EDGEAUTH_CACHE_NEGATIVE_HITS 2 /* rejections served from the cache */
#define EDGEAUTH_CACHE_MISSES 3        /* tokens verified in full */
#define EDGEAUTH_CACHE_STORES 4        /* verdicts written to the cache */
#define EDGEAUTH_CACHE_ERRORS 5        /* cache failures (each fell back to full verification) */
#define EDGEAUTH_CACHE_L1_HITS 6       /* verdicts served from this verifier's in-process
                                          L1 (not counted in the shared-cache counters) */
#define EDGEAUTH_CACHE_SKIPPED_STORES 7 /* verdicts not stored because the map was full */
#define EDGEAUTH_CACHE_EVICTIONS 8     /* verdicts evicted before their expiry to make room */
#define EDGEAUTH_CACHE_FILL_PERMILLE 9 /* how full the map is, in thousandths (host-wide) */

/**
 * One counter of the shared cache the verifier uses, counted since this
 * process opened it (verifiers of this process that share a cache directory
 * share the counters; EDGEAUTH_CACHE_L1_HITS is the verifier's own).
 *
 * @param statistic  one of the EDGEAUTH_CACHE_* counters.
 * @param value_out  required.
 * @return EDGEAUTH_OK, EDGEAUTH_ERR_NOT_FOUND (the verifier uses no cache)
 *         or EDGEAUTH_ERR_INVALID_ARGUMENT (NULL argument, unknown counter).
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_verifier_cache_statistic(const edgeauth_verifier *verifier,
                                                       int32_t statistic, uint64_t *value_out);

/* The state of the remote key sets (JWKS URLs, OIDC discovery), for
 * edgeauth_verifier_key_statistic(): health checks and metrics. */
#define EDGEAUTH_KEYS_REMOTE_SETS 1      /* remote key sets configured */
#define EDGEAUTH_KEYS_STALE_SETS 2       /* sets past their lifetime (refresh failing or
                                            pending), unavailable ones included */
#define EDGEAUTH_KEYS_UNAVAILABLE_SETS 3 /* sets older than keyRefresh.maxStaleness (or
                                            never fetched): their keys are not used */
#define EDGEAUTH_KEYS_OLDEST_AGE 4       /* seconds since the oldest set was fetched */
#define EDGEAUTH_KEYS_FETCHES 5          /* fetches this process made */
#define EDGEAUTH_KEYS_FETCH_FAILURES 6   /* of which failed */

/**
 * One figure about the verifier's remote key sets (0 for all of them when the
 * verifier has only fixed keys). A set is fetched by one process of the host
 * for all of them when the verifiers share a cache: the ages are shared, the
 * fetch counters are this process's own.
 *
 * @param statistic  one of the EDGEAUTH_KEYS_* figures.
 * @param value_out  required.
 * @return EDGEAUTH_OK or EDGEAUTH_ERR_INVALID_ARGUMENT (NULL argument, unknown figure).
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_verifier_key_statistic(const edgeauth_verifier *verifier,
                                                     int32_t statistic, uint64_t *value_out);

/**
 * Revokes one token on every process of the host that shares the verifier's
 * cache: from the next verification on, the token is rejected with
 * EDGEAUTH_VERDICT_REVOKED by every verifier with the same configuration, cached
 * or not, until `until`. The token itself is not stored: only its cache key (a
 * SHA-256 digest).
 *
 * @param verifier  required; must have a "cache".
 * @param token, token_len  the token bytes, borrowed for the call.
 * @param until  seconds since 1970-01-01 UTC; pick the token's `exp`.
 * @return EDGEAUTH_OK, EDGEAUTH_ERR_NOT_FOUND (the verifier has no cache),
 *         EDGEAUTH_ERR_INVALID_ARGUMENT (NULL verifier, NULL token with a
 *         non-zero length) or EDGEAUTH_ERR_CACHE (the cache refused the write).
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_verifier_revoke_token(const edgeauth_verifier *verifier,
                                                    const uint8_t *token, size_t token_len,
                                                    int64_t until);

/**
 * Revokes every token whose `jti` is `token_id` on every process of the host
 * that shares the verifier's cache directory (whatever their configuration),
 * until `until`.
 *
 * @param token_id, id_len  the `jti` as UTF-8 bytes; 1…511 bytes.
 * @return as edgeauth_verifier_revoke_token().
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_verifier_revoke_token_id(const edgeauth_verifier *verifier,
                                                       const uint8_t *token_id, size_t id_len,
                                                       int64_t until);

/* ------------------------------------------------------------------------ */
/* Verifying                                                                */
/* ------------------------------------------------------------------------ */

/** The verified user of a valid token. Opaque; immutable once created. */
typedef struct edgeauth_identity edgeauth_identity;

/**
 * Verifies one bearer token: structure, header, key, signature, then the
 * claims policy. With a cache, a token verified before (by this or another
 * process) is answered from it; expiry is checked again on every hit.
 *
 * @param verifier  required.
 * @param token, token_len  the token bytes, without the "Bearer " prefix;
 *        borrowed for the call. Tokens longer than the configured
 *        `limits.maxTokenBytes` are rejected (EDGEAUTH_VERDICT_TOKEN_TOO_LARGE)
 *        without their bytes being read.
 * @param now  the time to verify at, in seconds since 1970-01-01 UTC; 0 uses
 *        the system clock. Must be in 0…253402300799 (the year 9999).
 * @param verdict_out  required; receives EDGEAUTH_VERDICT_VALID or a
 *        rejection code when the call returns EDGEAUTH_OK.
 * @param identity_out  optional. For a valid token receives a new identity
 *        the caller releases with edgeauth_identity_free(); otherwise
 *        receives NULL. Pass NULL to skip building the identity.
 * @return EDGEAUTH_OK (the verdict says whether the token is valid),
 *         EDGEAUTH_ERR_INVALID_ARGUMENT (verifier or verdict_out NULL, a NULL
 *         token with a non-zero length, `now` out of range) or
 *         EDGEAUTH_ERR_NO_MEMORY. On an error *verdict_out and *identity_out
 *         are left unchanged.
 * Thread-safety: any thread; one verifier serves many threads at once.
 */
EDGEAUTH_API int32_t edgeauth_verify(const edgeauth_verifier *verifier,
                                     const uint8_t *token, size_t token_len,
                                     int64_t now, int32_t *verdict_out,
                                     edgeauth_identity **identity_out);

/** Called once a key refresh started by edgeauth_verify_nonblocking() ended. */
typedef void (*edgeauth_keys_ready)(void *context);

/**
 * Verifies like edgeauth_verify(), but never blocks the calling thread: for an
 * event loop (nginx's workers). When the token names a key the verifier does
 * not have and its remote key sets may publish it, the refresh starts on a
 * thread of the library, the verdict is EDGEAUTH_VERDICT_KEYS_UNAVAILABLE, and
 * *refreshing_out is true; `ready(context)` is then called once, from that
 * thread, when the refresh has ended (whatever its outcome), after which the
 * same call verifies with the keys it brought. Refreshes respect the key
 * sets' cool-down (docs/keys.md): within it nothing is fetched, and the
 * verdict is EDGEAUTH_VERDICT_UNKNOWN_KEY at once, as edgeauth_verify() would
 * answer, so a flood of tokens naming unknown keys is neither a flood of
 * downloads nor a stream of "retry later" answers.
 *
 * @param ready  optional; NULL when the caller does not wait for the keys.
 * @param context  passed to `ready`; borrowed until `ready` is called.
 * @param refreshing_out  optional; receives whether a refresh was started
 *        (and `ready` will be called).
 * @return as edgeauth_verify().
 * Thread-safety: any thread. `ready` runs on a thread of the library: post
 *            the work back to the caller's own thread from it.
 */
EDGEAUTH_API int32_t edgeauth_verify_nonblocking(const edgeauth_verifier *verifier,
                                                 const uint8_t *token, size_t token_len,
                                                 int64_t now, int32_t *verdict_out,
                                                 edgeauth_identity **identity_out,
                                                 edgeauth_keys_ready ready, void *context,
                                                 bool *refreshing_out);

/**
 * Verifies a token like edgeauth_verify() and describes the outcome for an
 * operator: "valid", or the verdict code and the rejection with the values
 * involved, e.g. "wrongAudience: aud is [\"account\"], expected one of
 * [\"https://api.example\"]". The
 * text never contains the token or a signature. Meant for logs and
 * diagnostics, not for the request path.
 *
 * @param explanation_out  required; receives the text (free it with
 *        edgeauth_string_free()) when the call returns EDGEAUTH_OK.
 * @return as edgeauth_verify(), plus EDGEAUTH_ERR_INVALID_ARGUMENT when
 *         explanation_out is NULL.
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_explain(const edgeauth_verifier *verifier,
                                      const uint8_t *token, size_t token_len,
                                      int64_t now, int32_t *verdict_out,
                                      char **explanation_out);

/* ------------------------------------------------------------------------ */
/* Identity                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Every `const char *` an identity returns is owned by the identity and
 * stays valid, unchanged, until edgeauth_identity_free(). The string, list
 * and requirement accessors never allocate and never fail on a valid
 * identity; they return NULL (or 0, or false) when the identity is NULL or
 * the value is absent. Only the `_json` functions allocate (their result is
 * the caller's).
 */

/**
 * Releases an identity and every string it returned.
 *
 * @param identity  the identity, or NULL (nothing happens).
 * Thread-safety: only once no other thread is using this identity.
 */
EDGEAUTH_API void edgeauth_identity_free(edgeauth_identity *identity);

/** The subject (`sub`); "" when the token has none. NULL only for a NULL
 *  identity. Thread-safety: any thread. */
EDGEAUTH_API const char *edgeauth_identity_subject(const edgeauth_identity *identity,
                                                   size_t *len_out);
/** The issuer (`iss`); "" when the token has none (possible only with
 *  "anyIssuer"). NULL only for a NULL identity. Thread-safety: any thread. */
EDGEAUTH_API const char *edgeauth_identity_issuer(const edgeauth_identity *identity,
                                                  size_t *len_out);
/** `email`, or NULL. Thread-safety: any thread. */
EDGEAUTH_API const char *edgeauth_identity_email(const edgeauth_identity *identity,
                                                 size_t *len_out);
/** `name`, or NULL. Thread-safety: any thread. */
EDGEAUTH_API const char *edgeauth_identity_name(const edgeauth_identity *identity,
                                                size_t *len_out);
/** `preferred_username`, or NULL. Thread-safety: any thread. */
EDGEAUTH_API const char *edgeauth_identity_username(const edgeauth_identity *identity,
                                                    size_t *len_out);
/** `picture`, or NULL. Thread-safety: any thread. */
EDGEAUTH_API const char *edgeauth_identity_picture(const edgeauth_identity *identity,
                                                   size_t *len_out);
/** The OAuth client (`client_id`, else `azp`), or NULL. Thread-safety: any
 *  thread. */
EDGEAUTH_API const char *edgeauth_identity_client_id(const edgeauth_identity *identity,
                                                     size_t *len_out);
/** `org_id`, or NULL. Thread-safety: any thread. */
EDGEAUTH_API const char *edgeauth_identity_organization(const edgeauth_identity *identity,
                                                        size_t *len_out);
/** `jti`, or NULL. Thread-safety: any thread. */
EDGEAUTH_API const char *edgeauth_identity_token_id(const edgeauth_identity *identity,
                                                    size_t *len_out);

/**
 * `exp`, in seconds since 1970-01-01 UTC.
 *
 * @param expires_at_out  required.
 * @return EDGEAUTH_OK, EDGEAUTH_ERR_NOT_FOUND (no `exp`; possible only with
 *         "requireExpiration": false) or EDGEAUTH_ERR_INVALID_ARGUMENT.
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_identity_expires_at(const edgeauth_identity *identity,
                                                  int64_t *expires_at_out);

/**
 * `iat`, in seconds since 1970-01-01 UTC.
 *
 * @param issued_at_out  required.
 * @return EDGEAUTH_OK, EDGEAUTH_ERR_NOT_FOUND or EDGEAUTH_ERR_INVALID_ARGUMENT.
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_identity_issued_at(const edgeauth_identity *identity,
                                                 int64_t *issued_at_out);

/*
 * Lists: roles (`roles`), permissions (`permissions`), scopes (`scope` split
 * on spaces, or an `scp` array) and audiences (`aud`). `_count` gives the
 * number of entries (0 for a NULL identity); the indexed accessor returns
 * entry `index` in token order, or NULL when index >= count.
 */
EDGEAUTH_API size_t edgeauth_identity_role_count(const edgeauth_identity *identity);
EDGEAUTH_API const char *edgeauth_identity_role(const edgeauth_identity *identity,
                                                size_t index, size_t *len_out);
EDGEAUTH_API size_t edgeauth_identity_permission_count(const edgeauth_identity *identity);
EDGEAUTH_API const char *edgeauth_identity_permission(const edgeauth_identity *identity,
                                                      size_t index, size_t *len_out);
EDGEAUTH_API size_t edgeauth_identity_scope_count(const edgeauth_identity *identity);
EDGEAUTH_API const char *edgeauth_identity_scope(const edgeauth_identity *identity,
                                                 size_t index, size_t *len_out);
EDGEAUTH_API size_t edgeauth_identity_audience_count(const edgeauth_identity *identity);
EDGEAUTH_API const char *edgeauth_identity_audience(const edgeauth_identity *identity,
                                                    size_t index, size_t *len_out);

/*
 * Requirement helpers: true when the identity has exactly this role,
 * permission or scope (byte-for-byte, case-sensitive). False for a NULL
 * identity, a NULL name with a non-zero length, or bytes that are not
 * UTF-8. The name is borrowed for the call. Thread-safety: any thread.
 */
EDGEAUTH_API bool edgeauth_identity_has_role(const edgeauth_identity *identity,
                                             const uint8_t *role, size_t role_len);
EDGEAUTH_API bool edgeauth_identity_has_permission(const edgeauth_identity *identity,
                                                   const uint8_t *permission,
                                                   size_t permission_len);
EDGEAUTH_API bool edgeauth_identity_has_scope(const edgeauth_identity *identity,
                                              const uint8_t *scope, size_t scope_len);

/**
 * One top-level claim of the token, as compact JSON text: `"ada"`, `42`,
 * `["a","b"]`, `{"roles":["user"]}` (object members sorted by name).
 *
 * @param name, name_len  the claim name (e.g. "realm_access"); borrowed.
 * @param json_out  required; receives the text on EDGEAUTH_OK (free it with
 *        edgeauth_string_free()), NULL otherwise.
 * @param len_out  optional; receives the length in bytes.
 * @return EDGEAUTH_OK, EDGEAUTH_ERR_NOT_FOUND (no such claim),
 *         EDGEAUTH_ERR_INVALID_ARGUMENT (NULL identity or json_out, NULL
 *         name with a non-zero length, name not UTF-8) or
 *         EDGEAUTH_ERR_NO_MEMORY.
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_identity_claim_json(const edgeauth_identity *identity,
                                                  const uint8_t *name, size_t name_len,
                                                  char **json_out, size_t *len_out);

/**
 * The claim at an RFC 6901 JSON pointer, as compact JSON text:
 * "/realm_access/roles" gives `["user"]`, "/resource_access/mcp-api/roles/0"
 * gives `"invoke"`. `~1` stands for `/` and `~0` for `~` inside a name; the
 * empty pointer gives the whole claims set.
 *
 * @return and ownership as edgeauth_identity_claim_json(); a pointer that
 *         does not start with "/" (and is not empty) is EDGEAUTH_ERR_NOT_FOUND.
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_identity_claim_pointer_json(const edgeauth_identity *identity,
                                                          const uint8_t *pointer,
                                                          size_t pointer_len,
                                                          char **json_out,
                                                          size_t *len_out);

/**
 * The whole identity as one JSON object (`id`, `issuer`, `audience`,
 * `roles`, `permissions`, `scopes`, `expiresAt`, … — absent values are
 * omitted), the same document `edgeauth verify` prints.
 *
 * @param json_out  required; receives the text on EDGEAUTH_OK (free it with
 *        edgeauth_string_free()).
 * @param len_out  optional; receives the length in bytes.
 * @return EDGEAUTH_OK, EDGEAUTH_ERR_INVALID_ARGUMENT or EDGEAUTH_ERR_NO_MEMORY.
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_identity_json(const edgeauth_identity *identity,
                                            char **json_out, size_t *len_out);

/* ------------------------------------------------------------------------ */
/* Requirements and challenges                                              */
/* ------------------------------------------------------------------------ */

/** The identity has everything the requirement lists. */
#define EDGEAUTH_REQUIREMENT_MET 0
/** A scope is missing: answer 403 with an `insufficient_scope` challenge. */
#define EDGEAUTH_REQUIREMENT_MISSING_SCOPE 1
/** Only roles or permissions are missing: answer 403; no token asked for
 * anew would have them. */
#define EDGEAUTH_REQUIREMENT_FORBIDDEN 2

/**
 * Checks an identity against a requirement written as words separated by
 * spaces: `scope:NAME`, `role:NAME`, `permission:NAME`, every one needed
 * (`scope:notes:read role:admin`; the name is what follows the first colon).
 *
 * @param requirement, requirement_len  the words, at most 65536 bytes;
 *        borrowed for the call. An empty requirement is met by every identity.
 * @param result_out  required; receives an EDGEAUTH_REQUIREMENT_* code.
 * @param scopes_out  optional. When the result is
 *        EDGEAUTH_REQUIREMENT_MISSING_SCOPE, receives every scope the
 *        requirement names, separated by spaces, for the challenge's `scope`
 *        (free it with edgeauth_string_free()); otherwise NULL.
 * @return EDGEAUTH_OK, EDGEAUTH_ERR_INVALID_ARGUMENT (NULL identity or
 *         result_out, a NULL requirement with a non-zero length, a length
 *         beyond 65536, a word
 *         without one of the three prefixes or without a name, bytes that
 *         are not UTF-8) or EDGEAUTH_ERR_NO_MEMORY.
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_identity_check(const edgeauth_identity *identity,
                                             const uint8_t *requirement,
                                             size_t requirement_len,
                                             int32_t *result_out, char **scopes_out);

/** For edgeauth_challenge(): a request without a bearer token. */
#define EDGEAUTH_CHALLENGE_MISSING_TOKEN (-1)
/** For edgeauth_challenge(): a valid token that lacks scopes. */
#define EDGEAUTH_CHALLENGE_INSUFFICIENT_SCOPE (-2)

/**
 * The `WWW-Authenticate` value `edgeauth serve` answers for a refused request
 * (RFC 6750 §3, RFC 9728 §5.1): `Bearer resource_metadata="…", scope="…"`
 * without a token; with `error="invalid_token"` and a description that
 * names the reason's general meaning (never the values involved) for a
 * rejection verdict; with `error="insufficient_scope"` for missing scopes.
 *
 * @param kind  EDGEAUTH_CHALLENGE_MISSING_TOKEN,
 *        EDGEAUTH_CHALLENGE_INSUFFICIENT_SCOPE, or a rejection verdict code.
 * @param resource_metadata  required, NUL-terminated: the protected-resource
 *        metadata URL.
 * @param scopes  optional, NUL-terminated: the scopes to name, separated by
 *        spaces (NULL or empty: no `scope` parameter).
 * @param challenge_out  required; receives the text (free it with
 *        edgeauth_string_free()).
 * @return EDGEAUTH_OK, EDGEAUTH_ERR_INVALID_ARGUMENT (a NULL pointer that is
 *         required, EDGEAUTH_VERDICT_VALID or an unknown code as `kind`, text
 *         that is not UTF-8) or EDGEAUTH_ERR_NO_MEMORY.
 * Thread-safety: any thread.
 */
EDGEAUTH_API int32_t edgeauth_challenge(int32_t kind, const char *resource_metadata,
                                        const char *scopes, char **challenge_out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EDGEAUTH_H */
