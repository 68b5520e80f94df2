// The system's OpenSSL (Debian's libssl-dev), seen by Swift through the
// Crypto module only. Linked statically: see Package.swift.
#ifndef FEDAGENT_COPENSSL_H
#define FEDAGENT_COPENSSL_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/ssl.h>

// Macros Swift cannot import.
static inline int copenssl_gcm_set_ivlen(void) { return EVP_CTRL_GCM_SET_IVLEN; }
static inline int copenssl_gcm_get_tag(void) { return EVP_CTRL_GCM_GET_TAG; }
static inline int copenssl_gcm_set_tag(void) { return EVP_CTRL_GCM_SET_TAG; }
static inline uint64_t copenssl_init_no_config(void) { return OPENSSL_INIT_NO_LOAD_CONFIG; }
static inline long copenssl_bio_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

// Calls whose C forms Swift cannot import (variadic, macros, structs on
// the stack). Each is a few libcrypto calls, nothing more.

// TLS (libssl): macros as functions.
static inline int copenssl_ctx_set_min_tls12(SSL_CTX *ctx) { return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); }
static inline int copenssl_set_sni(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
static inline int copenssl_set_verify_ip(SSL *ssl, const char *ip) { return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip); }
static inline X509 *copenssl_peer_certificate(const SSL *ssl) { return SSL_get1_peer_certificate(ssl); }
static inline int copenssl_verify_peer_flags(void) { return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT; }
static inline long copenssl_ctx_options(SSL_CTX *ctx) {
    // No renegotiation, no compression, no session tickets (nothing here
    // resumes sessions: tickets would be bytes and CPU for nothing); idle
    // connections give their record buffers back.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_num_tickets(ctx, 0);
    return (long)SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
}

/// A new ECDSA P-256 key, or NULL.
static inline EVP_PKEY *copenssl_ec_p256_generate(void) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
    EVP_PKEY *key = NULL;
    if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) == 1) {
        if (EVP_PKEY_keygen(ctx, &key) != 1) key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/// Adds an X.509 v3 extension in OpenSSL's configuration syntax
/// ("critical,CA:TRUE", "DNS:a,IP:127.0.0.1"); 1 on success.
static inline int copenssl_add_extension(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext) return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}
#endif
