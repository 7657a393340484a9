// tls_connect: a new TLS connection per request, for bench/run.sh's https scenario.
//
// wrk and h2load both resume TLS sessions when they reconnect (wrk's SSL_clear keeps the session), so
// neither can measure full handshakes. This client keeps CONNECTIONS connections in flight from one
// thread (epoll, non-blocking): each connects, handshakes, sends one "GET PATH HTTP/1.1" with
// "Connection: close", reads the response, sends close_notify and closes, then the slot starts over.
// Without --resume every handshake is a full one (no session is ever offered); with --resume each slot
// offers the session (TLS 1.3 ticket or TLS 1.2 session) its previous connection ended with.
//
// It prints the lines of wrk's output that bench/run.sh parses ("N requests in", the latency
// distribution, "Non-2xx or 3xx responses", "Socket errors", "Requests/sec"), plus how many handshakes
// resumed and what was negotiated. Like wrk it does not verify the certificate chain (the server's
// handshake signature is still checked). Only loopback targets are accepted.
//
// Build: cc -O2 -o tls_connect bench/tls_connect.c -lssl -lcrypto
// Usage: tls_connect -p PORT [-h HOST] [-c CONNECTIONS] [-d SECONDS | -n COUNT] [--resume] [--path /]
//                    [--sni NAME] [--timeout SECONDS]

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { CONNECTING, HANDSHAKING, WRITING, READING };
enum error_kind { ERR_CONNECT, ERR_READ, ERR_WRITE, ERR_TIMEOUT, ERR_KINDS };

struct slot {
    int fd;
    enum state state;
    SSL *ssl;
    SSL_SESSION *session;  // offered on the next connection (--resume only)
    double started;        // when connect() was called
    size_t request_sent;
    char response[8192];
    size_t response_length;
};

static const char *host = "127.0.0.1";
static int port;
static const char *sni;
static const char *path = "/";
static int resume;
static double timeout_seconds = 10;
static SSL_CTX *context;
static int epoll_fd;
static char request[512];
static size_t request_length;
static struct sockaddr_in address;

static long long completed, non2xx, resumed, bytes_read;
static long long errors[ERR_KINDS];
static uint32_t *latencies;  // microseconds, one per completed request
static size_t latencies_capacity;
static char negotiated[160];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *message) {
    fprintf(stderr, "tls_connect: %s\n", message);
    exit(2);
}

static void record_latency(double seconds) {
    if ((size_t)completed >= latencies_capacity) {
        latencies_capacity = latencies_capacity ? latencies_capacity * 2 : 1 << 16;
        latencies = realloc(latencies, latencies_capacity * sizeof *latencies);
        if (!latencies) die("out of memory");
    }
    latencies[completed] = (uint32_t)(seconds * 1e6);
}

// Closes the slot's connection, keeping the session for the next one when resuming.
static void close_slot(struct slot *s, int clean) {
    if (s->ssl) {
        if (clean) {
            if (resume) {
                SSL_SESSION *next = SSL_get1_session(s->ssl);
                // A TLS 1.3 session is only worth offering when it came with a ticket.
                if (next && SSL_SESSION_is_resumable(next)) {
                    if (s->session) SSL_SESSION_free(s->session);
                    s->session = next;
                } else if (next) {
                    SSL_SESSION_free(next);
                }
            }
            SSL_shutdown(s->ssl);  // sends close_notify; does not wait for the peer's
        }
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0) {
        close(s->fd);  // also removes it from the epoll set
        s->fd = -1;
    }
}

static void fail(struct slot *s, enum error_kind kind) {
    errors[kind]++;
    if (s->session && kind != ERR_TIMEOUT) {
        // A session the server refused must not be offered forever.
        SSL_SESSION_free(s->session);
        s->session = NULL;
    }
    close_slot(s, 0);
}

static void watch(struct slot *s, uint32_t events, int op) {
    struct epoll_event event = {.events = events, .data.ptr = s};
    if (epoll_ctl(epoll_fd, op, s->fd, &event) != 0) die("epoll_ctl failed");
}

static void start_slot(struct slot *s) {
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) die("socket() failed (open-file limit?)");
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->started = now();
    s->request_sent = 0;
    s->response_length = 0;
    s->state = CONNECTING;
    if (connect(s->fd, (struct sockaddr *)&address, sizeof address) != 0 && errno != EINPROGRESS) {
        errors[ERR_CONNECT]++;
        close(s->fd);
        s->fd = -1;
        return;
    }
    watch(s, EPOLLOUT, EPOLL_CTL_ADD);
}

// The response is complete once the head and Content-Length bytes of body are in (or at EOF without one).
static int response_complete(struct slot *s, int at_eof, int *status) {
    s->response[s->response_length < sizeof s->response ? s->response_length : sizeof s->response - 1] = 0;
    char *head_end = strstr(s->response, "\r\n\r\n");
    if (!head_end) return 0;
    if (sscanf(s->response, "HTTP/1.%*d %d", status) != 1) *status = 0;
    size_t head_length = (size_t)(head_end - s->response) + 4;
    const char *line = strcasestr(s->response, "\r\ncontent-length:");
    if (line && line < head_end) {
        long length = strtol(line + 17, NULL, 10);
        return s->response_length >= head_length + (size_t)length;
    }
    return at_eof;
}

static void finish(struct slot *s, int status, int counting) {
    if (counting) {
        record_latency(now() - s->started);
        completed++;
        if (status < 200 || status > 399) non2xx++;
        if (SSL_session_reused(s->ssl)) resumed++;
        bytes_read += (long long)s->response_length;
        if (!negotiated[0]) {
            int group = SSL_get_negotiated_group(s->ssl);
            const char *group_name = group ? OBJ_nid2sn(group & ~TLSEXT_nid_unknown) : "?";
            snprintf(negotiated, sizeof negotiated, "%s %s %s", SSL_get_version(s->ssl),
                     SSL_get_cipher_name(s->ssl), group_name ? group_name : "?");
        }
    }
    close_slot(s, 1);
}

// Advances a slot as far as it can go without blocking.
static void step(struct slot *s, int counting) {
    for (;;) {
        int result, error;
        switch (s->state) {
        case CONNECTING: {
            int so_error = 0;
            socklen_t length = sizeof so_error;
            getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &so_error, &length);
            if (so_error) return fail(s, ERR_CONNECT);
            s->ssl = SSL_new(context);
            if (!s->ssl) die("SSL_new failed");
            SSL_set_fd(s->ssl, s->fd);
            SSL_set_tlsext_host_name(s->ssl, (char *)(sni ? sni : host));  // OpenSSL copies it
            if (resume && s->session) SSL_set_session(s->ssl, s->session);
            s->state = HANDSHAKING;
            continue;
        }
        case HANDSHAKING:
            result = SSL_connect(s->ssl);
            if (result == 1) {
                s->state = WRITING;
                continue;
            }
            error = SSL_get_error(s->ssl, result);
            if (error == SSL_ERROR_WANT_READ) return watch(s, EPOLLIN, EPOLL_CTL_MOD);
            if (error == SSL_ERROR_WANT_WRITE) return watch(s, EPOLLOUT, EPOLL_CTL_MOD);
            return fail(s, ERR_CONNECT);
        case WRITING:
            result = SSL_write(s->ssl, request + s->request_sent, (int)(request_length - s->request_sent));
            if (result > 0) {
                s->request_sent += (size_t)result;
                if (s->request_sent == request_length) s->state = READING;
                continue;
            }
            error = SSL_get_error(s->ssl, result);
            if (error == SSL_ERROR_WANT_READ) return watch(s, EPOLLIN, EPOLL_CTL_MOD);
            if (error == SSL_ERROR_WANT_WRITE) return watch(s, EPOLLOUT, EPOLL_CTL_MOD);
            return fail(s, ERR_WRITE);
        case READING: {
            int status = 0;
            size_t room = sizeof s->response - 1 - s->response_length;
            if (room == 0) return fail(s, ERR_READ);
            result = SSL_read(s->ssl, s->response + s->response_length, (int)room);
            if (result > 0) {
                s->response_length += (size_t)result;
                if (response_complete(s, 0, &status)) return finish(s, status, counting);
                continue;
            }
            error = SSL_get_error(s->ssl, result);
            if (error == SSL_ERROR_WANT_READ) return watch(s, EPOLLIN, EPOLL_CTL_MOD);
            if (error == SSL_ERROR_WANT_WRITE) return watch(s, EPOLLOUT, EPOLL_CTL_MOD);
            if (response_complete(s, 1, &status)) return finish(s, status, counting);
            return fail(s, ERR_READ);
        }
        }
    }
}

static int compare_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double percentile_ms(double p) {
    if (!completed) return 0;
    size_t index = (size_t)(p / 100.0 * (double)(completed - 1) + 0.5);
    return latencies[index] / 1000.0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: tls_connect -p PORT [-h HOST] [-c CONNECTIONS] [-d SECONDS | -n COUNT] [--resume]\n"
            "                   [--path /] [--sni NAME] [--timeout SECONDS]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int connections = 16;
    double duration = 6;
    long long count = 0;  // 0: run for the duration
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--resume")) { resume = 1; continue; }
        if (!value) usage();
        if (!strcmp(a, "-p")) port = atoi(value);
        else if (!strcmp(a, "-h")) host = value;
        else if (!strcmp(a, "-c")) connections = atoi(value);
        else if (!strcmp(a, "-d")) duration = atof(value);
        else if (!strcmp(a, "-n")) count = atoll(value);
        else if (!strcmp(a, "--path")) path = value;
        else if (!strcmp(a, "--sni")) sni = value;
        else if (!strcmp(a, "--timeout")) timeout_seconds = atof(value);
        else usage();
        i++;
    }
    if (port <= 0 || port > 65535 || connections < 1 || duration <= 0) usage();
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) die("HOST must be an IPv4 literal");
    if ((ntohl(address.sin_addr.s_addr) >> 24) != 127) die("only loopback targets are allowed");
    if (count > 0 && connections > count) connections = (int)count;

    context = SSL_CTX_new(TLS_client_method());
    if (!context) die("SSL_CTX_new failed");
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    // Sessions are kept per slot by hand; OpenSSL's own client cache is not used.
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    request_length = (size_t)snprintf(request, sizeof request,
                                      "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: tls_connect\r\n"
                                      "Connection: close\r\n\r\n",
                                      path, host, port);

    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    struct slot *slots = calloc((size_t)connections, sizeof *slots);
    if (!slots || epoll_fd < 0) die("setup failed");
    double start = now(), deadline = start + duration;
    for (int i = 0; i < connections; i++) {
        slots[i].fd = -1;
        start_slot(&slots[i]);
    }
    struct epoll_event events[256];
    long long started = connections;
    for (;;) {
        double t = now();
        if (count == 0 && t >= deadline) break;
        if (count > 0 && completed + errors[ERR_CONNECT] + errors[ERR_READ] + errors[ERR_WRITE] +
                                 errors[ERR_TIMEOUT] >= count)
            break;
        int ready = epoll_wait(epoll_fd, events, 256, 50);
        if (ready < 0 && errno != EINTR) die("epoll_wait failed");
        for (int i = 0; i < ready; i++) step(events[i].data.ptr, 1);
        t = now();
        for (int i = 0; i < connections; i++) {
            struct slot *s = &slots[i];
            if (s->fd >= 0 && t - s->started > timeout_seconds) fail(s, ERR_TIMEOUT);
            if (s->fd < 0 && (count == 0 ? t < deadline : started < count)) {
                start_slot(s);
                started++;
            }
        }
    }
    double elapsed = now() - start;
    for (int i = 0; i < connections; i++) {
        close_slot(&slots[i], 0);  // in flight at the end: not counted, as wrk does
        if (slots[i].session) SSL_SESSION_free(slots[i].session);
    }

    if (completed) qsort(latencies, (size_t)completed, sizeof *latencies, compare_u32);
    printf("Running %.0fs test @ https://%s:%d%s (%s)\n", elapsed, host, port, path,
           resume ? "sessions resumed" : "full handshakes");
    printf("  %d connections in flight, a new TLS connection per request\n", connections);
    printf("  Latency Distribution (connect to last response byte)\n");
    static const double marks[] = {50, 75, 90, 99};
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
        printf("     %.0f%%  %.2fms\n", marks[i], percentile_ms(marks[i]));
    printf("  %lld requests in %.2fs, %lld bytes read\n", completed, elapsed, bytes_read);
    if (non2xx) printf("  Non-2xx or 3xx responses: %lld\n", non2xx);
    long long error_total = errors[ERR_CONNECT] + errors[ERR_READ] + errors[ERR_WRITE] + errors[ERR_TIMEOUT];
    if (error_total)
        printf("  Socket errors: connect %lld, read %lld, write %lld, timeout %lld\n", errors[ERR_CONNECT],
               errors[ERR_READ], errors[ERR_WRITE], errors[ERR_TIMEOUT]);
    printf("Requests/sec: %.2f\n", elapsed > 0 ? (double)completed / elapsed : 0);
    printf("Resumed: %lld of %lld\n", resumed, completed);
    printf("Negotiated: %s\n", negotiated[0] ? negotiated : "nothing");
    return completed > 0 ? 0 : 1;
}
