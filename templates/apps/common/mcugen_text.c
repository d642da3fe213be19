/* See mcugen_text.h. */
#include "mcugen_text.h"

#include <string.h>

#include "mcugen_board.h"

void mcugen_text_init(mcugen_text_t *t)
{
    t->length = 0;
}

void mcugen_text_flush(mcugen_text_t *t)
{
    if (t->length > 0) {
        mcugen_board_write((const uint8_t *)t->data, t->length);
        t->length = 0;
    }
}

void mcugen_text_char(mcugen_text_t *t, char c)
{
    if (t->length == sizeof t->data) {
        mcugen_text_flush(t);
    }
    t->data[t->length++] = c;
}

void mcugen_text_str(mcugen_text_t *t, const char *s)
{
    while (*s) {
        mcugen_text_char(t, *s++);
    }
}

void mcugen_text_u64(mcugen_text_t *t, uint64_t v)
{
    char digits[20]; /* 2^64 - 1 has 20 decimal digits */
    unsigned n = 0;
    do {
        digits[n++] = (char)('0' + (unsigned)(v % 10u));
        v /= 10u;
    } while (v != 0 && n < sizeof digits);
    while (n > 0) {
        mcugen_text_char(t, digits[--n]);
    }
}

void mcugen_text_i64(mcugen_text_t *t, int64_t v)
{
    if (v < 0) {
        mcugen_text_char(t, '-');
        mcugen_text_u64(t, (uint64_t)(-(v + 1)) + 1u);
    } else {
        mcugen_text_u64(t, (uint64_t)v);
    }
}

void mcugen_text_hex_byte(mcugen_text_t *t, uint8_t byte)
{
    static const char hex_digits[] = "0123456789abcdef";
    mcugen_text_char(t, hex_digits[byte >> 4]);
    mcugen_text_char(t, hex_digits[byte & 0x0Fu]);
}

/* A float times 1000 is exact in a double (24 + 10 significant bits < 53), so the
 * tie test below is exact too. */
void mcugen_text_fixed3(mcugen_text_t *t, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits); /* the sign bit: printf writes -0.000 for -0.0 too */
    int negative = (bits >> 31) != 0u;
    if (v != v) {
        mcugen_text_str(t, "nan");
        return;
    }
    double scaled = negative ? -(double)v * 1000.0 : (double)v * 1000.0;
    if (!(scaled < 9.0e18)) { /* beyond uint64_t */
        mcugen_text_str(t, negative ? "-inf" : "inf");
        return;
    }
    uint64_t milli = (uint64_t)scaled;
    double fraction = scaled - (double)milli;
    if (fraction > 0.5 || (fraction == 0.5 && (milli & 1u) != 0u)) {
        milli += 1u;
    }
    if (negative) {
        mcugen_text_char(t, '-');
    }
    mcugen_text_u64(t, milli / 1000u);
    mcugen_text_char(t, '.');
    mcugen_text_char(t, (char)('0' + (unsigned)(milli / 100u % 10u)));
    mcugen_text_char(t, (char)('0' + (unsigned)(milli / 10u % 10u)));
    mcugen_text_char(t, (char)('0' + (unsigned)(milli % 10u)));
}
