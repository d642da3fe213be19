/* mcugen_simd.h checked two ways on random and edge operands:
 *  - each intrinsic's portable C (port_*) against the instruction (nat_*), on a
 *    core that has them (on the host both are the portable C);
 *  - both requantizations against mcugen_requantize, TFLite Micro's arithmetic.
 * Prints one summary line; exits non-zero on any mismatch. Runs on the host and,
 * through semihosting (tests/c/semihost_start.c), on the emulated boards. */
#include "mcugen_simd.h"

void simd_check_print(const char *text);

#define DECLARE(prefix)                                                                    \
    uint32_t prefix##sxtb16(uint32_t);                                                     \
    uint32_t prefix##sxtb16_ror8(uint32_t);                                                \
    uint32_t prefix##sxtab16(uint32_t, uint32_t);                                          \
    uint32_t prefix##sxtab16_ror8(uint32_t, uint32_t);                                     \
    uint32_t prefix##smlad(uint32_t, uint32_t, uint32_t);                                  \
    uint32_t prefix##smlabb(uint32_t, uint32_t, uint32_t);                                 \
    uint32_t prefix##smlabt(uint32_t, uint32_t, uint32_t);                                 \
    uint32_t prefix##pkhbt16(uint32_t, uint32_t);                                          \
    int32_t prefix##ssat8(int32_t);                                                        \
    int32_t prefix##requantize_dsp(uint32_t, const mcugen_requant_dsp_t *);                \
    int32_t prefix##requantize_dsp_merged(uint32_t, const mcugen_requant_dsp_t *);         \
    uint32_t prefix##max_s8x4(uint32_t, uint32_t);                                         \
    uint32_t prefix##min_s8x4(uint32_t, uint32_t);                                         \
    uint32_t prefix##sadd16(uint32_t, uint32_t);                                           \
    int32_t prefix##smmlar(int32_t, int32_t, int32_t);                                     \
    int prefix##native(void);
DECLARE(nat_)
DECLARE(port_)

static uint32_t state = 0x9E3779B9u;
static uint32_t next(void)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

/* Operands that find edge cases more often than uniform words do. */
static uint32_t operand(void)
{
    static const uint32_t edges[] = {0u, 1u, 0x7Fu, 0x80u, 0xFFu, 0x7FFFu, 0x8000u, 0xFFFFu, 0x7FFFFFFFu,
                                     0x80000000u, 0xFFFFFFFFu, 0x80808080u, 0x7F7F7F7Fu, 0x80007FFFu};
    const uint32_t pick = next();
    if ((pick & 7u) == 0) {
        return edges[(pick >> 3) % (sizeof edges / sizeof edges[0])];
    }
    return next();
}

static unsigned long mismatches, cases;
static const char *first_bad = 0;

static void same(const char *what, uint32_t want, uint32_t got)
{
    ++cases;
    if (want != got) {
        if (!first_bad) {
            first_bad = what;
        }
        ++mismatches;
    }
}

static void put_number(char **out, unsigned long v)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) {
        *(*out)++ = digits[--n];
    }
}

static void put_text(char **out, const char *s)
{
    while (*s) {
        *(*out)++ = *s++;
    }
}

int simd_check_main(unsigned long rounds)
{
    for (unsigned long i = 0; i < rounds; ++i) {
        const uint32_t a = operand(), b = operand(), c = operand();
        same("sxtb16", nat_sxtb16(a), port_sxtb16(a));
        same("sxtb16_ror8", nat_sxtb16_ror8(a), port_sxtb16_ror8(a));
        same("sxtab16", nat_sxtab16(a, b), port_sxtab16(a, b));
        same("sxtab16_ror8", nat_sxtab16_ror8(a, b), port_sxtab16_ror8(a, b));
        same("smlad", nat_smlad(a, b, c), port_smlad(a, b, c));
        same("smlabb", nat_smlabb(a, b, c), port_smlabb(a, b, c));
        same("smlabt", nat_smlabt(a, b, c), port_smlabt(a, b, c));
        same("pkhbt16", nat_pkhbt16(a, b), port_pkhbt16(a, b));
        same("ssat8", (uint32_t)nat_ssat8((int32_t)a >> (b & 31u)), (uint32_t)port_ssat8((int32_t)a >> (b & 31u)));
        same("max_s8x4", nat_max_s8x4(a, b), port_max_s8x4(a, b));
        same("min_s8x4", nat_min_s8x4(a, b), port_min_s8x4(a, b));
        same("max_s8x4 (equal lanes)", nat_max_s8x4(a, a ^ (b & 0xFF00FF00u)), port_max_s8x4(a, a ^ (b & 0xFF00FF00u)));
        same("sadd16", nat_sadd16(a, b), port_sadd16(a, b));
        same("smmlar", (uint32_t)nat_smmlar((int32_t)a, (int32_t)b, (int32_t)c),
             (uint32_t)port_smmlar((int32_t)a, (int32_t)b, (int32_t)c));

        /* TFLM's (multiplier, shift): m in [2^30, 2^31) or 0, shift in [-31, 31] */
        int32_t m = (int32_t)(0x40000000u | (next() & 0x3FFFFFFFu));
        const uint32_t kind = next() % 16u;
        if (kind == 0) {
            m = 0x7FFFFFFF;
        } else if (kind == 1) {
            m = 0x40000000;
        } else if (kind == 2) {
            m = 0;
        }
        int32_t shift = (int32_t)(next() % 40u) - 31;
        if (shift > 8 && (next() & 1u)) {
            shift = -shift; /* mostly right shifts, as real layers have */
        }
        const mcugen_requant_dsp_t rq = {m, 0, (int8_t)(shift > 0 ? shift : 0), (int8_t)(shift > 0 ? 0 : -shift)};
        int32_t want = mcugen_requantize((int32_t)a, m, shift);
#ifdef SIMD_CHECK_BROKEN
        want += (a & 255u) == 0; /* a planted error the check must find */
#endif
        same("requantize_dsp (native)", (uint32_t)want, (uint32_t)nat_requantize_dsp(a, &rq));
        same("requantize_dsp (portable)", (uint32_t)want, (uint32_t)port_requantize_dsp(a, &rq));
        if (rq.right >= 2) {
            same("requantize_dsp_merged (native)", (uint32_t)want, (uint32_t)nat_requantize_dsp_merged(a, &rq));
            same("requantize_dsp_merged (portable)", (uint32_t)want, (uint32_t)port_requantize_dsp_merged(a, &rq));
        }
    }
    char line[160];
    char *out = line;
    put_text(&out, "simd-check: ");
    put_text(&out, nat_native() ? "instructions" : "portable C");
    put_text(&out, " vs portable C, ");
    put_number(&out, cases);
    put_text(&out, " cases, ");
    put_number(&out, mismatches);
    put_text(&out, " mismatches");
    if (first_bad) {
        put_text(&out, ", first in ");
        put_text(&out, first_bad);
    }
    put_text(&out, "\n");
    *out = 0;
    simd_check_print(line);
    return mismatches != 0;
}
