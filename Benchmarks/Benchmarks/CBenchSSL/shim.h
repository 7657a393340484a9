#ifndef GATEWAY_BENCH_SSL_SHIM_H
#define GATEWAY_BENCH_SSL_SHIM_H
// OpenSSL for the benchmark's TLS client (the gateway's own CSSL module is not a product).
#include <openssl/err.h>
#include <openssl/ssl.h>
static inline long gw_bench_set_host_name(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }
#endif
