#ifndef GATEWAY_CEPOLL_SHIM_H
#define GATEWAY_CEPOLL_SHIM_H
/* Glibc's Swift module does not export <sys/epoll.h> or accept4 (a _GNU_SOURCE extension); the epoll
   engine needs both. <sys/socket.h> is left out: its names would clash with the Glibc module's. */
#include <sys/epoll.h>

/* accept4(2) under a name of our own, so no declaration here competes with glibc's. */
extern int gw_accept4(int fd, void *address, void *length, int flags) __asm__("accept4");

/* gettid(2) (glibc 2.30+, also _GNU_SOURCE), for per-thread scheduling priority. */
extern int gw_gettid(void) __asm__("gettid");
#endif
