#ifndef EDGEAUTH_BENCH_CLIBCRYPTO_H
#define EDGEAUTH_BENCH_CLIBCRYPTO_H

/* The system libcrypto (OpenSSL 3), for the raw-OpenSSL baseline benchmarks. */
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* Macros Swift does not import as values. */
static const int edgeauth_bench_rsa_pkcs1_padding = RSA_PKCS1_PADDING;
static const int edgeauth_bench_rsa_pss_padding = RSA_PKCS1_PSS_PADDING;
static const int edgeauth_bench_rsa_pss_saltlen_digest = RSA_PSS_SALTLEN_DIGEST;

#endif
