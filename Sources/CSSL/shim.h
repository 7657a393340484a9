#ifndef GATEWAY_CSSL_SHIM_H
#define GATEWAY_CSSL_SHIM_H
// OpenSSL 3 through Swift: most of the SSL_CTX/SSL setters are macros over *_ctrl calls, which Swift
// cannot import, so each one the gateway uses is wrapped here as a static inline function.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static inline long gw_ssl_ctx_set_min_proto(SSL_CTX *ctx, int version) { return SSL_CTX_set_min_proto_version(ctx, version); }
static inline long gw_ssl_ctx_set_max_proto(SSL_CTX *ctx, int version) { return SSL_CTX_set_max_proto_version(ctx, version); }
static inline long gw_ssl_ctx_set_session_cache_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_session_cache_mode(ctx, mode); }
static inline long gw_ssl_ctx_sess_set_cache_size(SSL_CTX *ctx, long size) { return SSL_CTX_sess_set_cache_size(ctx, size); }
static inline long gw_ssl_ctx_add1_chain_cert(SSL_CTX *ctx, X509 *cert) { return SSL_CTX_add1_chain_cert(ctx, cert); }
static inline long gw_ssl_set_host_name(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }
static inline long gw_bio_pending(BIO *bio) { return (long)BIO_ctrl_pending(bio); }
static inline long gw_bio_set_mem_eof_return(BIO *bio, int value) { return BIO_set_mem_eof_return(bio, value); }

static inline uint64_t gw_ssl_op_no_renegotiation(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t gw_ssl_op_no_compression(void) { return SSL_OP_NO_COMPRESSION; }
static inline uint64_t gw_ssl_op_cipher_server_preference(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline uint64_t gw_ssl_op_no_ticket(void) { return SSL_OP_NO_TICKET; }

static inline unsigned long gw_xn_flag_rfc2253(void) { return XN_FLAG_RFC2253; }

#endif
