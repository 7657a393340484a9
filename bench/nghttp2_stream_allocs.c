/* How many allocations libnghttp2 makes per HTTP/2 stream on the server side, with the options and
   callbacks the gateway uses (no auto window update, stream user data, a data provider, one response
   of 3 fields and a small body), counted through a custom nghttp2_mem. The gateway's own per-stream
   work is gated by Benchmarks/ (h2c-proxied-GET-stream); the package-benchmark malloc counter does not
   see C libraries' allocations, hence this. Build and run:
     cc -O2 bench/nghttp2_stream_allocs.c -o /tmp/nghttp2_stream_allocs -lnghttp2 && /tmp/nghttp2_stream_allocs */
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long count = 0;
static int counting = 0;
static void *m(size_t n, void *u) { if (counting) count++; return malloc(n); }
static void fr(void *p, void *u) { free(p); }
static void *c(size_t a, size_t b, void *u) { if (counting) count++; return calloc(a, b); }
static void *r(void *p, size_t n, void *u) { if (counting) count++; return realloc(p, n); }
static nghttp2_mem counted = {NULL, m, fr, c, r};

static unsigned char wire[1 << 20];
static size_t wire_len;

static ssize_t body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                    nghttp2_data_source *src, void *u) {
  memcpy(buf, "hello", 5);
  *flags |= NGHTTP2_DATA_FLAG_EOF;
  return 5;
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *f, void *u) {
  if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST &&
      (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    nghttp2_nv nv[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
                       {(uint8_t *)"content-type", (uint8_t *)"text/plain", 12, 10, 0},
                       {(uint8_t *)"x-request-id", (uint8_t *)"0123456789abcdef0123456789abcdef", 12, 32, 0}};
    nghttp2_data_provider p = {{0}, body};
    nghttp2_submit_response(s, f->hd.stream_id, nv, 3, &p);
  }
  return 0;
}
static int on_begin(nghttp2_session *s, const nghttp2_frame *f, void *u) {
  nghttp2_session_set_stream_user_data(s, f->hd.stream_id, (void *)1);
  return 0;
}
static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *n, size_t nl, const uint8_t *v,
                     size_t vl, uint8_t fl, void *u) { return 0; }
static int on_data(nghttp2_session *s, uint8_t fl, int32_t id, const uint8_t *d, size_t l, void *u) {
  nghttp2_session_consume(s, id, l);
  return 0;
}

/* Moves everything `from` wants to send into `to`. */
static void pump(nghttp2_session *from, nghttp2_session *to) {
  const uint8_t *data;
  ssize_t n;
  wire_len = 0;
  while ((n = nghttp2_session_mem_send(from, &data)) > 0) { memcpy(wire + wire_len, data, n); wire_len += n; }
  if (wire_len) nghttp2_session_mem_recv(to, wire, wire_len);
}

int main(void) {
  nghttp2_session_callbacks *server_cb, *client_cb;
  nghttp2_session_callbacks_new(&server_cb);
  nghttp2_session_callbacks_set_on_frame_recv_callback(server_cb, on_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(server_cb, on_begin);
  nghttp2_session_callbacks_set_on_header_callback(server_cb, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(server_cb, on_data);
  nghttp2_session_callbacks_new(&client_cb);
  nghttp2_option *option;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_no_closed_streams(option, 1);
  nghttp2_session *server, *client;
  nghttp2_session_server_new3(&server, server_cb, NULL, option, &counted);
  nghttp2_session_client_new(&client, client_cb, NULL);
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 128}};
  nghttp2_submit_settings(server, 0, settings, 1);
  nghttp2_submit_settings(client, 0, NULL, 0);
  nghttp2_nv request[] = {{(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
                          {(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0},
                          {(uint8_t *)":path", (uint8_t *)"/api/v1/users/42?fields=name", 5, 28, 0},
                          {(uint8_t *)":authority", (uint8_t *)"api.example.com", 10, 15, 0},
                          {(uint8_t *)"user-agent", (uint8_t *)"bench/1.0", 10, 9, 0},
                          {(uint8_t *)"accept", (uint8_t *)"application/json", 6, 16, 0}};
  for (int round = 0; round < 2; round++) {
    counting = round;
    count = 0;
    for (int i = 0; i < 1000; i++) {
      nghttp2_submit_request(client, NULL, request, 6, NULL, NULL);
      pump(client, server);
      pump(server, client);
      pump(client, server); /* WINDOW_UPDATE and ACKs */
    }
    if (round) printf("nghttp2 server allocations per stream: %.2f\n", count / 1000.0);
  }
  return 0;
}
