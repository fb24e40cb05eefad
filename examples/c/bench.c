/*
 * bench: libedgeauth through its C ABI, as a C server calls it.
 *
 *   bench BENCH_DATA_DIR CACHE_DIR
 *
 * Per algorithm (the Auth0-shaped tokens of bench-data): edgeauth_verify +
 * edgeauth_identity_free with no cache (full verification), with the shared
 * LMDB cache and no L1 (every call an LMDB hit), and with the in-process L1
 * (every call an L1 hit); and a cache miss that stores its verdict (the write
 * cost is its time minus the uncached one). For each: the median time per call over 31 batches
 * and the heap allocations per call, counted by the malloc family defined in
 * this file (they stand in for glibc's in the whole process, the library
 * included).
 *
 * Then the aggregate throughput of cached verifications with 1 and 2 worker
 * processes (each creates its own verifier after fork(), as a pre-forked
 * server does) over the same cache directory.
 *
 * Output is Markdown, for docs/benchmarks.md. Built with -O2 by `make bench`.
 */
#define _GNU_SOURCE
#include <edgeauth.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOW INT64_C(1764003600)

/* ---- counting allocator ---------------------------------------------------- */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_ulong allocations;

void *malloc(size_t size) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __libc_malloc(size);
}
void *calloc(size_t count, size_t size) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __libc_calloc(count, size);
}
void *realloc(void *pointer, size_t size) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __libc_realloc(pointer, size);
}
int posix_memalign(void **out, size_t alignment, size_t size) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  void *pointer = __libc_memalign(alignment, size);
  if (pointer == NULL) return ENOMEM;
  *out = pointer;
  return 0;
}
void *aligned_alloc(size_t alignment, size_t size) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __libc_memalign(alignment, size);
}
void *memalign(size_t alignment, size_t size) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __libc_memalign(alignment, size);
}

/* ---- helpers --------------------------------------------------------------- */

static const char *data_dir;
static const char *cache_dir;

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint8_t *read_token(const char *name, size_t *len_out) {
  char path[4096];
  snprintf(path, sizeof path, "%s/tokens/%s.jwt", data_dir, name);
  FILE *file = fopen(path, "rb");
  if (file == NULL) { perror(path); exit(2); }
  static uint8_t buffer[8][16384];
  static int next;
  uint8_t *bytes = buffer[next++ % 8];
  size_t len = fread(bytes, 1, sizeof buffer[0], file);
  fclose(file);
  while (len > 0 && (bytes[len - 1] == '\n' || bytes[len - 1] == '\r')) len--;
  *len_out = len;
  return bytes;
}

/* cache: 0 none, 1 LMDB without L1, 2 LMDB with L1. Verifiers with different
 * leeways have different cache namespaces: a token verified by one is a miss
 * for the others. */
static edgeauth_verifier *make_verifier_with_leeway(int cache, int leeway) {
  char config[8192];
  int n = snprintf(config, sizeof config,
                   "{\"issuers\": [\"https://edgeauth-bench.us.auth0.com/\"],"
                   " \"audiences\": [\"https://api.edgeauth.test\"], \"leeway\": %d,"
                   " \"keys\": [{\"jwksFile\": \"%s/jwks.json\"}, {\"hmacSecretFile\": \"%s/keys/hmac.secret\"}]%s%s%s}",
                   leeway, data_dir, data_dir, cache ? ", \"cache\": {\"directory\": \"" : "", cache ? cache_dir : "",
                   cache == 1 ? "\", \"l1Entries\": 0}" : cache == 2 ? "\"}" : "");
  if (n < 0 || (size_t)n >= sizeof config) exit(2);
  edgeauth_verifier *verifier = NULL;
  char *error = NULL;
  int32_t status = edgeauth_verifier_new((const uint8_t *)config, (size_t)n, &verifier, &error);
  if (status != EDGEAUTH_OK) {
    fprintf(stderr, "edgeauth_verifier_new: %s: %s\n", edgeauth_status_string(status), error);
    exit(1);
  }
  return verifier;
}

static edgeauth_verifier *make_verifier(int cache) { return make_verifier_with_leeway(cache, 30); }

/* One verification as a server makes it: verify, read the subject, release. */
static void verify_once(const edgeauth_verifier *verifier, const uint8_t *token, size_t len) {
  int32_t verdict = -1;
  edgeauth_identity *identity = NULL;
  if (edgeauth_verify(verifier, token, len, NOW, &verdict, &identity) != EDGEAUTH_OK || verdict != EDGEAUTH_VERDICT_VALID) {
    fprintf(stderr, "verification failed: %s\n", edgeauth_verdict_string(verdict));
    exit(1);
  }
  if (edgeauth_identity_subject(identity, NULL) == NULL) exit(1);
  edgeauth_identity_free(identity);
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median ns per call over 31 batches sized to about 20 ms each, and allocations per call. */
static void measure(const char *label, const edgeauth_verifier *verifier, const uint8_t *token, size_t len) {
  for (int i = 0; i < 100; i++) verify_once(verifier, token, len); /* warm up, fill the caches */
  double start = seconds();
  long calibration = 0;
  while (seconds() - start < 0.02) { verify_once(verifier, token, len); calibration++; }
  long batch = calibration > 10 ? calibration : 10;
  enum { BATCHES = 31 };
  double per_call[BATCHES];
  unsigned long allocated = 0;
  for (int b = 0; b < BATCHES; b++) {
    unsigned long before = atomic_load(&allocations);
    double t0 = seconds();
    for (long i = 0; i < batch; i++) verify_once(verifier, token, len);
    per_call[b] = (seconds() - t0) / (double)batch * 1e9;
    allocated += atomic_load(&allocations) - before;
  }
  qsort(per_call, BATCHES, sizeof per_call[0], compare_doubles);
  printf("| %s | %.0f | %.2f |\n", label, per_call[BATCHES / 2], (double)allocated / (double)(BATCHES * batch));
}

/* A miss that stores: the first verification of `token` by each of 101 verifiers
 * whose namespaces differ (full verification + one LMDB write transaction). Each
 * verifier first verifies `warm` (same key and algorithm, another issuer), so its
 * OpenSSL contexts exist and only the miss is timed. */
static void measure_miss_and_store(const char *label, const uint8_t *token, size_t len, const uint8_t *warm, size_t warm_len) {
  enum { VERIFIERS = 101 };
  double per_call[VERIFIERS];
  unsigned long allocated = 0;
  for (int i = 0; i < VERIFIERS; i++) {
    edgeauth_verifier *verifier = make_verifier_with_leeway(1, 100 + i);
    int32_t verdict = -1;
    /* Rejected for its issuer, after the signature check that sets up the contexts. */
    if (edgeauth_verify(verifier, warm, warm_len, NOW, &verdict, NULL) != EDGEAUTH_OK) exit(1);
    unsigned long before = atomic_load(&allocations);
    double t0 = seconds();
    verify_once(verifier, token, len);
    per_call[i] = (seconds() - t0) * 1e9;
    allocated += atomic_load(&allocations) - before;
    edgeauth_verifier_free(verifier);
  }
  qsort(per_call, VERIFIERS, sizeof per_call[0], compare_doubles);
  printf("| %s | %.0f | %.2f |\n", label, per_call[VERIFIERS / 2], (double)allocated / VERIFIERS);
}

/* Cached verifications per second summed over `workers` processes running for `duration` seconds. */
static double throughput(int workers, int cache, const uint8_t *token, size_t len, double duration) {
  int pipes[2];
  if (pipe(pipes) != 0) { perror("pipe"); exit(2); }
  for (int w = 0; w < workers; w++) {
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) {
      close(pipes[0]);
      /* Verifiers are created after fork(): an open cache must not cross it. */
      edgeauth_verifier *verifier = make_verifier(cache);
      for (int i = 0; i < 1000; i++) verify_once(verifier, token, len);
      long count = 0;
      double start = seconds(), elapsed = 0;
      while ((elapsed = seconds() - start) < duration) {
        for (int i = 0; i < 256; i++) verify_once(verifier, token, len);
        count += 256;
      }
      double rate = (double)count / elapsed;
      if (write(pipes[1], &rate, sizeof rate) != (ssize_t)sizeof rate) _exit(1);
      edgeauth_verifier_free(verifier);
      _exit(0);
    }
  }
  close(pipes[1]);
  double total = 0, rate = 0;
  for (int w = 0; w < workers; w++) {
    if (read(pipes[0], &rate, sizeof rate) != (ssize_t)sizeof rate) { fprintf(stderr, "a worker failed\n"); exit(1); }
    total += rate;
  }
  close(pipes[0]);
  for (int w = 0; w < workers; w++) wait(NULL);
  return total;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s BENCH_DATA_DIR CACHE_DIR\n", argv[0]);
    return 2;
  }
  data_dir = argv[1];
  cache_dir = argv[2];
  static const char *const algorithms[] = {"es256", "rs256", "eddsa", "hs256"};

  edgeauth_verifier *uncached = make_verifier(0);
  edgeauth_verifier *lmdb = make_verifier(1);
  edgeauth_verifier *l1 = make_verifier(2);
  printf("| C ABI: edgeauth_verify + edgeauth_identity_free | ns per call (median) | heap allocations per call |\n");
  printf("|---|---:|---:|\n");
  for (size_t a = 0; a < sizeof algorithms / sizeof algorithms[0]; a++) {
    char name[64], label[128];
    snprintf(name, sizeof name, "auth0-%s", algorithms[a]);
    size_t len = 0;
    const uint8_t *token = read_token(name, &len);
    snprintf(label, sizeof label, "uncached %s", algorithms[a]);
    measure(label, uncached, token, len);
    snprintf(label, sizeof label, "LMDB hit %s", algorithms[a]);
    measure(label, lmdb, token, len);
    snprintf(label, sizeof label, "L1 hit %s", algorithms[a]);
    measure(label, l1, token, len);
  }
  {
    size_t len = 0, warm_len = 0;
    const uint8_t *token = read_token("auth0-hs256", &len);
    const uint8_t *warm = read_token("keycloak-hs256", &warm_len);
    measure_miss_and_store("miss + store hs256 (full verification and one LMDB write)", token, len, warm, warm_len);
  }
  edgeauth_verifier_free(uncached);
  edgeauth_verifier_free(lmdb);
  edgeauth_verifier_free(l1);

  size_t len = 0;
  const uint8_t *token = read_token("auth0-es256", &len);
  printf("\n| cached ES256 verifications, all processes together | 1 process | 2 processes | 2 ÷ 1 |\n");
  printf("|---|---:|---:|---:|\n");
  for (int cache = 1; cache <= 2; cache++) {
    double one = throughput(1, cache, token, len, 2.0);
    double two = throughput(2, cache, token, len, 2.0);
    printf("| %s | %.0f /s | %.0f /s | %.2f |\n", cache == 1 ? "LMDB hits (no L1)" : "L1 hits", one, two, two / one);
  }
  return 0;
}
