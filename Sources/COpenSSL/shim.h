// The system's OpenSSL (Debian's libssl-dev), seen by Swift through the
// Crypto module only. Linked statically: see Package.swift.
#ifndef FEDAGENT_COPENSSL_H
#define FEDAGENT_COPENSSL_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/err.h>

// Macros Swift cannot import.
static inline int copenssl_gcm_set_ivlen(void) { return EVP_CTRL_GCM_SET_IVLEN; }
static inline int copenssl_gcm_get_tag(void) { return EVP_CTRL_GCM_GET_TAG; }
static inline int copenssl_gcm_set_tag(void) { return EVP_CTRL_GCM_SET_TAG; }
static inline uint64_t copenssl_init_no_config(void) { return OPENSSL_INIT_NO_LOAD_CONFIG; }
#endif
