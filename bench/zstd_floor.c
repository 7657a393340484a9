/* What zstd alone costs per access-log line, without the gateway: compresses a file of lines in
   one-shot frames of FRAME_KB (default 1024, the logger's frame size), each copied into a fresh
   buffer first as the logger's freshly formatted lines are, with the checksum on as the logger sets it.
   Build and run: bench/zstd_floor.sh (prints ns per line and the compression ratio per level). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE LEVEL [FRAME_KB]\n", argv[0]);
        return 2;
    }
    FILE *file = fopen(argv[1], "rb");
    if (!file) { perror(argv[1]); return 1; }
    fseek(file, 0, SEEK_END);
    size_t size = (size_t)ftell(file);
    fseek(file, 0, SEEK_SET);
    char *input = malloc(size);
    if (fread(input, 1, size, file) != size) { perror("read"); return 1; }
    fclose(file);
    int level = atoi(argv[2]);
    size_t frame = (size_t)(argc > 3 ? atoi(argv[3]) : 1024) << 10;
    size_t lines = 0;
    for (size_t i = 0; i < size; i++) lines += input[i] == '\n';
    char *hot = malloc(frame);
    size_t bound = ZSTD_compressBound(frame);
    char *output = malloc(bound);
    ZSTD_CCtx *context = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
    size_t compressed = 0, used = 0;
    double started = now();
    for (int round = 0; round < 3; round++) {
        for (size_t offset = 0; offset + frame <= size; offset += frame) {
            memcpy(hot, input + offset, frame);
            size_t written = ZSTD_compress2(context, output, bound, hot, frame);
            if (ZSTD_isError(written)) { fprintf(stderr, "%s\n", ZSTD_getErrorName(written)); return 1; }
            compressed += written;
            used += frame;
        }
    }
    double elapsed = now() - started;
    double linesUsed = (double)lines * used / size;
    printf("zstd %d, %zu KiB frames: %.0f ns per line, %.2fx\n", level, frame >> 10,
           elapsed * 1e9 / linesUsed, (double)used / compressed);
    return 0;
}
