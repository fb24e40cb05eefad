#ifndef EDGEAUTH_COPENSSL_SHIM_H
#define EDGEAUTH_COPENSSL_SHIM_H
// Only the OpenSSL 3 interfaces EdgeAuthCrypto uses; deprecated APIs stay hidden.
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

// SHA-256 of two buffers without EVP, for cache keys: in OpenSSL 3.0 every
// EVP_DigestInit_ex2 allocates a provider context, and the cache path hashes every
// token. The low-level functions are deprecated but exported by libcrypto 3; they
// are declared here by hand because OPENSSL_NO_DEPRECATED hides them, with the
// context (SHA256_CTX, 112 bytes) in an aligned 128-byte buffer.
int SHA256_Init(void *context);
int SHA256_Update(void *context, const void *data, size_t length);
int SHA256_Final(unsigned char *digest, void *context);

static inline int edgeauth_sha256(const void *a, size_t a_length, const void *b, size_t b_length, unsigned char *digest) {
    _Alignas(16) unsigned char context[128];
    return SHA256_Init(context) == 1 && SHA256_Update(context, a, a_length) == 1
        && SHA256_Update(context, b, b_length) == 1 && SHA256_Final(digest, context) == 1;
}

// Function-like and composite macros Swift cannot import, as constants.
static const int edgeauth_evp_pkey_public_key = EVP_PKEY_PUBLIC_KEY;
static const int edgeauth_evp_pkey_keypair = EVP_PKEY_KEYPAIR;
static const int edgeauth_evp_pkey_ed25519 = EVP_PKEY_ED25519;
static const int edgeauth_evp_pkey_rsa = EVP_PKEY_RSA;
static const int edgeauth_evp_pkey_rsa_pss = EVP_PKEY_RSA_PSS;
static const int edgeauth_evp_pkey_ec = EVP_PKEY_EC;
static const int edgeauth_rsa_pkcs1_padding = RSA_PKCS1_PADDING;
static const int edgeauth_rsa_pkcs1_pss_padding = RSA_PKCS1_PSS_PADDING;
static const int edgeauth_rsa_pss_saltlen_digest = RSA_PSS_SALTLEN_DIGEST;
#endif
