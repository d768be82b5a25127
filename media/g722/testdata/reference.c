/* The reference for g722_test.go: SpanDSP's G.722 (ITU-T conformant)
 * encodes 16 kHz 16-bit samples read from stdin to stdout, or with -d
 * decodes G.722 bytes to samples. Built and run by the test with gcc and
 * libspandsp-dev. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <tiffio.h>
#include <spandsp.h>

int main(int argc, char **argv) {
    int decode = argc > 1 && strcmp(argv[1], "-d") == 0;
    if (decode) {
        g722_decode_state_t *s = g722_decode_init(NULL, 64000, 0);
        uint8_t in[160];
        int16_t out[320];
        size_t n;
        while ((n = fread(in, 1, sizeof in, stdin)) > 0) {
            int samples = g722_decode(s, out, in, (int) n);
            fwrite(out, sizeof out[0], (size_t) samples, stdout);
        }
    } else {
        g722_encode_state_t *s = g722_encode_init(NULL, 64000, 0);
        int16_t in[320];
        uint8_t out[160];
        size_t n;
        while ((n = fread(in, sizeof in[0], 320, stdin)) > 0) {
            int bytes = g722_encode(s, out, in, (int) n);
            fwrite(out, 1, (size_t) bytes, stdout);
        }
    }
    return 0;
}
