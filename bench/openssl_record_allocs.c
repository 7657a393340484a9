/* How many allocations OpenSSL 3 makes per record it seals or opens, with two sessions over memory BIOs
   as the gateway uses them (counted through CRYPTO_set_mem_functions). Build and run:
     openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem -days 2 -subj /CN=x
     cc -O2 bench/openssl_record_allocs.c -o /tmp/openssl_record_allocs -lssl -lcrypto && /tmp/openssl_record_allocs [tls12]
   Each exchange is one request record one way and one response record back. */
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static long count = 0; static int counting = 0;
static void *m(size_t n, const char *f, int l) { if (counting) { count++; } return malloc(n); }
static void *r(void *p, size_t n, const char *f, int l) { if (counting) { count++; } return realloc(p, n); }
static void fr(void *p, const char *f, int l) { free(p); }
static void move(BIO *from, BIO *to) { char buf[65536]; int n; while ((n = BIO_read(from, buf, sizeof buf)) > 0) BIO_write(to, buf, n); }
int main(int argc, char **argv) {
  CRYPTO_set_mem_functions(m, r, fr);
  SSL_CTX *sc = SSL_CTX_new(TLS_server_method()), *cc = SSL_CTX_new(TLS_client_method());
  SSL_CTX_use_certificate_file(sc, "c.pem", SSL_FILETYPE_PEM); SSL_CTX_use_PrivateKey_file(sc, "k.pem", SSL_FILETYPE_PEM);
  if (argc > 1) SSL_CTX_set_max_proto_version(sc, TLS1_2_VERSION);
  SSL *s = SSL_new(sc), *c = SSL_new(cc);
  BIO *si = BIO_new(BIO_s_mem()), *so = BIO_new(BIO_s_mem()), *ci = BIO_new(BIO_s_mem()), *co = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(si, -1); BIO_set_mem_eof_return(ci, -1);
  SSL_set_bio(s, si, so); SSL_set_bio(c, ci, co); SSL_set_accept_state(s); SSL_set_connect_state(c);
  for (int i = 0; i < 10; i++) { SSL_do_handshake(c); move(co, si); SSL_do_handshake(s); move(so, ci); }
  char buf[70000]; size_t got;
  for (int round = 0; round < 2; round++) {
    counting = round; count = 0;
    for (int i = 0; i < 1000; i++) {
      size_t w; SSL_write_ex(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, &w); move(co, si);
      SSL_read_ex(s, buf, sizeof buf, &got);
      SSL_write_ex(s, buf, 300, &w); move(so, ci); SSL_read_ex(c, buf, sizeof buf, &got);
    }
    if (round) printf("allocations per exchange: %.2f\n", count / 1000.0);
  }
}
