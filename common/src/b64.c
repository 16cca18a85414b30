/* b64: URL-safe Base64 and base32 codecs; see b64.h. */
#include "b64.h"

#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

size_t
b64url_encoded_len(size_t n, bool pad)
{
    if (pad)
        return (n + 2) / 3 * 4;
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t
b64url_encode(const unsigned char *in, size_t n, bool pad, char *out, size_t cap)
{
    size_t need = b64url_encoded_len(n, pad), o = 0;

    if (cap == 0)
        return 0;
    out[0] = '\0';
    if (need + 1 > cap || need == 0)
        return 0;
    for (size_t i = 0; i < n; i += 3) {
        size_t left = n - i;
        unsigned v = (unsigned)in[i] << 16;

        if (left > 1)
            v |= (unsigned)in[i + 1] << 8;
        if (left > 2)
            v |= in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        if (left > 1)
            out[o++] = b64_alphabet[(v >> 6) & 63];
        else if (pad)
            out[o++] = '=';
        if (left > 2)
            out[o++] = b64_alphabet[v & 63];
        else if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

int
b64url_decode(const char *in, size_t len, b64_padding pad, unsigned char *out, size_t cap,
              size_t *outlen)
{
    size_t npad = 0, nchars, o = 0;
    unsigned acc = 0;
    int bits = 0;

    while (npad < len && npad < 2 && in[len - 1 - npad] == '=')
        npad++;
    if (npad > 0 && pad == B64_PAD_FORBIDDEN)
        return -1;
    if ((npad > 0 || pad == B64_PAD_REQUIRED) && len % 4 != 0)
        return -1;
    nchars = len - npad;
    if (nchars % 4 == 1)
        return -1; /* 6 bits cannot end a byte */
    for (size_t i = 0; i < nchars; i++) {
        int v = b64_value((unsigned char)in[i]);

        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return -1; /* non-zero unused bits: not the canonical text */
    *outlen = o;
    return 0;
}

int
b64_base32_decode(const char *in, unsigned char *out, size_t cap, size_t *outlen)
{
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    bool padding = false;

    for (const char *p = in; *p; p++) {
        unsigned char c = (unsigned char)*p;
        int v;

        if (c == ' ')
            continue;
        if (c == '=') {
            padding = true;
            continue;
        }
        if (padding)
            return -1; /* data after padding */
        if (c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 'a' + 'A');
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= '2' && c <= '7')
            v = c - '2' + 26;
        else
            return -1;
        acc = ((acc << 5) | (unsigned)v) & 0xffff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    *outlen = o;
    return o > 0 ? 0 : -1;
}
