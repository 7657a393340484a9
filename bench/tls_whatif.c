// tls_whatif: measures two changes to the gateway's TLS setup without rebuilding it, by LD_PRELOAD
// (the gateway links the system's libssl dynamically). Used for docs/BENCHMARKS.md "Issue 13: TLS";
// once the gateway does both itself, this file has no further use.
//
//   TLS_WHATIF_RENEW=1            the session-ticket key callback's 1 ("ticket opened with the current
//                                 key") becomes 2 ("renew"), so OpenSSL sends a fresh ticket after every
//                                 TLS 1.3 resumption, as nginx and HAProxy do
//   TLS_WHATIF_RELEASE_BUFFERS=1  SSL_MODE_RELEASE_BUFFERS on every SSL_CTX, as nginx and HAProxy set:
//                                 an idle connection gives its record buffers back
//
// Build and use:
//   cc -O2 -shared -fPIC -o /tmp/tls_whatif.so bench/tls_whatif.c -ldl
//   printf '#!/bin/sh\nexport TLS_WHATIF_RENEW=1 TLS_WHATIF_RELEASE_BUFFERS=1 LD_PRELOAD=/tmp/tls_whatif.so\nexec %s "$@"\n'
//       "$PWD/.build-bench/release/gateway" >/tmp/gateway-whatif && chmod +x /tmp/gateway-whatif
//   (one command line: the printf's arguments continue on the second)
//   GATEWAY_BIN=/tmp/gateway-whatif bench/run.sh --scenario https

#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/ssl.h>
#include <stdlib.h>

typedef int (*ticket_key_callback)(SSL *, unsigned char *, unsigned char *, EVP_CIPHER_CTX *, EVP_MAC_CTX *,
                                   int);

// The gateway installs one callback for every context; it is kept here and wrapped.
static ticket_key_callback wrapped;

static int renewing(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac,
                    int encrypt) {
    int result = wrapped(ssl, name, iv, cipher, mac, encrypt);
    return !encrypt && result == 1 ? 2 : result;
}

int SSL_CTX_set_tlsext_ticket_key_evp_cb(SSL_CTX *context, ticket_key_callback callback) {
    int (*real)(SSL_CTX *, ticket_key_callback) = dlsym(RTLD_NEXT, "SSL_CTX_set_tlsext_ticket_key_evp_cb");
    if (getenv("TLS_WHATIF_RENEW") && callback) {
        wrapped = callback;
        return real(context, renewing);
    }
    return real(context, callback);
}

SSL_CTX *SSL_CTX_new(const SSL_METHOD *method) {
    SSL_CTX *(*real)(const SSL_METHOD *) = dlsym(RTLD_NEXT, "SSL_CTX_new");
    SSL_CTX *context = real(method);
    if (context && getenv("TLS_WHATIF_RELEASE_BUFFERS")) SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS);
    return context;
}
