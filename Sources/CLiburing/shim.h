#ifndef GATEWAY_CLIBURING_SHIM_H
#define GATEWAY_CLIBURING_SHIM_H
/* Include glibc headers before liburing.h: it defines _XOPEN_SOURCE, which would otherwise change
   fd_set's layout here and clash with the same headers in Foundation's Dispatch module. */
#include <sys/types.h>
#include <sys/select.h>
#include <signal.h>
#include <liburing.h>
#include <sys/mman.h>
#include <time.h>

/* IOSQE_* are macros over an enum that Swift does not import; re-export them as constants. */
enum {
    GW_IOSQE_IO_LINK = IOSQE_IO_LINK,
    GW_IOSQE_BUFFER_SELECT = IOSQE_BUFFER_SELECT,
    GW_IOSQE_CQE_SKIP_SUCCESS = IOSQE_CQE_SKIP_SUCCESS,
    GW_IOSQE_FIXED_FILE = IOSQE_FIXED_FILE,
};

/* io_uring_buf_ring's tail lives in a union with a flexible array; keep that in C. */
static inline struct io_uring_buf_ring *gw_buf_ring_setup(struct io_uring *ring, unsigned entries, int bgid, int *err) {
    size_t size = (size_t)entries * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) { *err = errno; return NULL; }
    struct io_uring_buf_ring *br = (struct io_uring_buf_ring *)mem;
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg = {0};
    reg.ring_addr = (unsigned long)(uintptr_t)br;
    reg.ring_entries = entries;
    reg.bgid = (unsigned short)bgid;
    int ret = io_uring_register_buf_ring(ring, &reg, 0);
    if (ret != 0) { munmap(mem, size); *err = -ret; return NULL; }
    *err = 0;
    return br;
}

static inline void gw_buf_ring_add(struct io_uring_buf_ring *br, void *addr, unsigned len, unsigned short bid,
                                   unsigned entries, int offset) {
    io_uring_buf_ring_add(br, addr, len, bid, io_uring_buf_ring_mask(entries), offset);
}

static inline void gw_buf_ring_advance(struct io_uring_buf_ring *br, int count) {
    io_uring_buf_ring_advance(br, count);
}

static inline unsigned long long gw_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static inline unsigned long long gw_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}
#endif
