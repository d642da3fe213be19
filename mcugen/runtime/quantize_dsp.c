#include "quantize_dsp.h"

/* Every value through the table: four per word, then the last few one by one. */
static void lookup(const mcugen_requantize_dsp_params_t *p, const uint8_t *input, uint8_t *output)
{
    const uint8_t *const table = p->table;
    const int32_t n = p->size;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t x = mcugen_read_u32(input + i);
        const uint32_t y = (uint32_t)table[x & 0xFFu] | ((uint32_t)table[(x >> 8) & 0xFFu] << 8) |
                           ((uint32_t)table[(x >> 16) & 0xFFu] << 16) | ((uint32_t)table[x >> 24] << 24);
        mcugen_write_u32(output + i, y);
    }
    for (; i < n; ++i) {
        output[i] = table[input[i]];
    }
}

void mcugen_requantize_s8_s8_dsp(const mcugen_requantize_dsp_params_t *p, const int8_t *input, int8_t *output)
{
    lookup(p, (const uint8_t *)input, (uint8_t *)output);
}

void mcugen_requantize_s8_u8_dsp(const mcugen_requantize_dsp_params_t *p, const int8_t *input, uint8_t *output)
{
    lookup(p, (const uint8_t *)input, output);
}

void mcugen_requantize_u8_s8_dsp(const mcugen_requantize_dsp_params_t *p, const uint8_t *input, int8_t *output)
{
    lookup(p, input, (uint8_t *)output);
}
