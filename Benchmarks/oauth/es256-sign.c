/* ES256 signatures per second on one core: the part of a token response no server can skip.
 *
 * Every access token EdgeAuth's authorization server issues is a JWT signed with its P-256 key
 * (ES256). This signs SIGNATURES signing inputs of INPUT_BYTES (default 450: the header and
 * payload of an access token in base64url) with OpenSSL, two ways:
 *   - a digest-sign context made for each signature (EVP_DigestSignInit, EVP_DigestSign);
 *   - one signing context prepared once, each input hashed with SHA-256 and its digest signed
 *     with EVP_PKEY_sign: how EdgeAuth signs, and the floor of OpenSSL's EVP interface.
 *
 * Usage: es256-sign [SIGNATURES] [INPUT_BYTES]
 * Prints one line per way: "<way>: <n> signatures in <s> s: <rate>/s, <µs> µs each"
 * Build: cc -O2 -o es256-sign es256-sign.c -lcrypto
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void fail(const char *what) {
    fprintf(stderr, "es256-sign: %s failed\n", what);
    exit(1);
}

static void report(const char *way, long count, double seconds) {
    printf("%s: %ld signatures in %.2f s: %.0f/s, %.1f µs each\n", way, count, seconds, count / seconds, seconds / count * 1e6);
}

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 20000;
    long input_bytes = argc > 2 ? atol(argv[2]) : 450;
    if (count < 1 || input_bytes < 1 || input_bytes > 65536) {
        fprintf(stderr, "usage: %s [SIGNATURES] [INPUT_BYTES (1-65536)]\n", argv[0]);
        return 2;
    }
    EVP_PKEY *key = EVP_EC_gen("P-256");
    EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    unsigned char *input = malloc((size_t)input_bytes);
    if (key == NULL || sha256 == NULL || input == NULL || RAND_bytes(input, (int)input_bytes) != 1) fail("setup");
    unsigned char signature[128];
    size_t length;

    double start = now();
    for (long i = 0; i < count; i++) {
        EVP_MD_CTX *context = EVP_MD_CTX_new();
        length = sizeof signature;
        if (context == NULL || EVP_DigestSignInit(context, NULL, EVP_sha256(), NULL, key) != 1
            || EVP_DigestSign(context, signature, &length, input, (size_t)input_bytes) != 1) fail("EVP_DigestSign");
        EVP_MD_CTX_free(context);
    }
    report("a context per signature", count, now() - start);

    EVP_PKEY_CTX *prepared = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (prepared == NULL || EVP_PKEY_sign_init(prepared) != 1) fail("EVP_PKEY_sign_init");
    unsigned char digest[32];
    unsigned int digest_length;
    start = now();
    for (long i = 0; i < count; i++) {
        length = sizeof signature;
        if (EVP_Digest(input, (size_t)input_bytes, digest, &digest_length, sha256, NULL) != 1
            || EVP_PKEY_sign(prepared, signature, &length, digest, digest_length) != 1) fail("EVP_PKEY_sign");
    }
    report("one prepared context (as EdgeAuth signs)", count, now() - start);

    EVP_PKEY_CTX_free(prepared);
    EVP_MD_free(sha256);
    EVP_PKEY_free(key);
    free(input);
    return 0;
}
