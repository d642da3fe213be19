#include "pad_dsp.h"

/* The up to three bytes before dst's next word boundary (or all n, if fewer), by
 * bit tests rather than a loop: GCC would make a loop a memset / memcpy call. */
static int32_t head_bytes(const void *dst, int32_t n)
{
    const int32_t head = (int32_t)((0u - (uint32_t)(uintptr_t)dst) & 3u);
    return head < n ? head : n;
}

static void fill_few(int8_t *dst, int32_t n, uint32_t word)
{
    if (n & 1) {
        *dst++ = (int8_t)word;
    }
    if (n & 2) {
        dst[0] = (int8_t)word;
        dst[1] = (int8_t)word;
    }
}

static void copy_few(int8_t *dst, const int8_t *src, int32_t n)
{
    if (n & 1) {
        *dst++ = *src++;
    }
    if (n & 2) {
        dst[0] = src[0];
        dst[1] = src[1];
    }
}

/* n bytes of the pad value; word holds it in all four bytes. */
static void fill(int8_t *dst, int32_t n, uint32_t word)
{
    const int32_t head = head_bytes(dst, n);
    fill_few(dst, head, word);
    n -= head;
    uint32_t *w = (uint32_t *)(void *)(dst + head);
    for (; n >= 32; n -= 32) {
        mcugen_strd_post8(&w, word, word);
        mcugen_strd_post8(&w, word, word);
        mcugen_strd_post8(&w, word, word);
        mcugen_strd_post8(&w, word, word);
    }
    for (; n >= 4; n -= 4) {
        *w++ = word;
    }
    fill_few((int8_t *)w, n, word);
}

/* n bytes from src to dst. */
static void copy(int8_t *dst, const int8_t *src, int32_t n)
{
    const int32_t head = head_bytes(dst, n);
    copy_few(dst, src, head);
    n -= head;
    src += head;
    uint32_t *w = (uint32_t *)(void *)(dst + head);
    if (((uintptr_t)src & 3u) == 0) { /* both word aligned: LDRD / STRD */
        const uint32_t *s = (const uint32_t *)(const void *)src;
        for (; n >= 32; n -= 32) {
            uint32_t a, b, c, d, e, f, g, h;
            mcugen_ldrd_post8(&s, &a, &b);
            mcugen_ldrd_post8(&s, &c, &d);
            mcugen_ldrd_post8(&s, &e, &f);
            mcugen_ldrd_post8(&s, &g, &h);
            mcugen_strd_post8(&w, a, b);
            mcugen_strd_post8(&w, c, d);
            mcugen_strd_post8(&w, e, f);
            mcugen_strd_post8(&w, g, h);
        }
        src = (const int8_t *)s;
    }
    for (; n >= 4; n -= 4, src += 4) {
        *w++ = mcugen_read_u32(src);
    }
    copy_few((int8_t *)w, src, n);
}

static int inside(const mcugen_pad_dsp_params_t *p, int32_t dim, int32_t i)
{
    return i >= p->before[dim] && i < p->before[dim] + p->in_shape[dim];
}

void mcugen_pad_s8_dsp(const mcugen_pad_dsp_params_t *p, const int8_t *input, int8_t *output)
{
    const uint32_t word = 0x01010101u * (uint8_t)p->pad_value;
    const int32_t row = p->out_shape[4];
    const int32_t left = p->before[4];
    const int32_t n = p->in_shape[4];
    const int32_t right = row - left - n;
    for (int32_t i0 = 0; i0 < p->out_shape[0]; ++i0) {
        const int in0 = inside(p, 0, i0);
        for (int32_t i1 = 0; i1 < p->out_shape[1]; ++i1) {
            const int in1 = in0 && inside(p, 1, i1);
            for (int32_t i2 = 0; i2 < p->out_shape[2]; ++i2) {
                const int in2 = in1 && inside(p, 2, i2);
                /* runs of whole padding rows are one fill */
                int32_t i3 = 0;
                while (i3 < p->out_shape[3]) {
                    if (in2 && inside(p, 3, i3)) {
                        fill(output, left, word);
                        copy(output + left, input, n);
                        fill(output + left + n, right, word);
                        input += n;
                        output += row;
                        ++i3;
                    } else {
                        int32_t end = i3 + 1;
                        while (end < p->out_shape[3] && !(in2 && inside(p, 3, end))) {
                            ++end;
                        }
                        fill(output, (end - i3) * row, word);
                        output += (end - i3) * row;
                        i3 = end;
                    }
                }
            }
        }
    }
}
