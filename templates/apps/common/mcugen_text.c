/* See mcugen_text.h. */
#include "mcugen_text.h"

void mcugen_text_init(mcugen_text_t *t)
{
    t->length = 0;
    t->text[0] = '\0';
}

static void put_char(mcugen_text_t *t, char c)
{
    if (t->length + 1u < MCUGEN_TEXT_MAX) {
        t->text[t->length++] = c;
        t->text[t->length] = '\0';
    }
}

void mcugen_text_str(mcugen_text_t *t, const char *s)
{
    while (*s) {
        put_char(t, *s++);
    }
}

void mcugen_text_u64(mcugen_text_t *t, uint64_t v)
{
    char digits[20];
    unsigned n = 0;
    do {
        digits[n++] = (char)('0' + (unsigned)(v % 10u));
        v /= 10u;
    } while (v != 0 && n < sizeof digits);
    while (n > 0) {
        put_char(t, digits[--n]);
    }
}

void mcugen_text_i64(mcugen_text_t *t, int64_t v)
{
    if (v < 0) {
        put_char(t, '-');
        mcugen_text_u64(t, (uint64_t)(-(v + 1)) + 1u);
    } else {
        mcugen_text_u64(t, (uint64_t)v);
    }
}

void mcugen_text_fixed3(mcugen_text_t *t, float v)
{
    if (v != v) { /* NaN */
        mcugen_text_str(t, "nan");
        return;
    }
    if (v < 0.0f) {
        put_char(t, '-');
        v = -v;
    }
    if (v > 1.0e15f) {
        mcugen_text_str(t, "inf");
        return;
    }
    uint64_t thousandths = (uint64_t)(v * 1000.0f + 0.5f);
    mcugen_text_u64(t, thousandths / 1000u);
    put_char(t, '.');
    unsigned frac = (unsigned)(thousandths % 1000u);
    put_char(t, (char)('0' + frac / 100u));
    put_char(t, (char)('0' + frac / 10u % 10u));
    put_char(t, (char)('0' + frac % 10u));
}
