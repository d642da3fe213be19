/* mcugen runtime: the Arm DSP (SIMD32) instructions the arm-dsp kernels use.
 *
 * On a core with the DSP extension (Cortex-M4, M7, M33 with DSP: __ARM_FEATURE_DSP)
 * each function is the one instruction it names. Everywhere else it is a portable
 * C99 implementation of exactly the same arithmetic, so the arm-dsp kernels compile
 * and are tested on the host bit for bit; tests/test_simd.py runs both against each
 * other on the emulated boards.
 *
 * Values are plain uint32_t words: two signed 16-bit halves ("bottom" = bits 0-15,
 * "top" = bits 16-31) or four int8 lanes. Sums wrap modulo 2^32, as the instructions do.
 */
#ifndef MCUGEN_SIMD_H
#define MCUGEN_SIMD_H

#include "mcugen_common.h"

/* MCUGEN_SIMD_PORTABLE forces the portable C even where the instructions exist
 * (tests/c/simd_check compares the two on the emulated boards). */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(MCUGEN_SIMD_PORTABLE)
#define MCUGEN_SIMD_NATIVE 1
#else
#define MCUGEN_SIMD_NATIVE 0
#endif

/* The small per-output helpers must inline into the kernels' loops even where GCC's
 * -O2 size heuristics would call them (a call costs more than the helper). */
#if defined(__GNUC__) || defined(__clang__)
#define MCUGEN_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define MCUGEN_ALWAYS_INLINE inline
#endif

/* GCC's first instruction-scheduling pass hoists every load of an unrolled
 * multiply-accumulate loop to its top, needs more than the core's registers and
 * spills to the stack (about 1.8 instructions per MAC instead of 1.1, measured).
 * The kernels' loops are written in register-friendly order; this keeps it. */
#if defined(__GNUC__) && !defined(__clang__) && MCUGEN_SIMD_NATIVE
#define MCUGEN_KEEP_ORDER __attribute__((optimize("no-schedule-insns")))
#else
#define MCUGEN_KEEP_ORDER
#endif

/* For a kernel's set-up code, which runs per layer or per channel, not per MAC:
 * compiled for size (the inner loops it calls keep -O2). */
#if defined(__GNUC__) && !defined(__clang__)
#define MCUGEN_COLD_FOR_SIZE __attribute__((optimize("Os")))
#else
#define MCUGEN_COLD_FOR_SIZE
#endif

#if MCUGEN_SIMD_NATIVE

/* SXTB16: sign-extend bytes 0 and 2 into the bottom and top halves. */
static inline uint32_t mcugen_sxtb16(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}

/* SXTB16 ROR #8: bytes 1 and 3. GCC does not fold a rotate into SXTB16 by itself. */
static inline uint32_t mcugen_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* SXTAB16: add (bytes 0 and 2 of x, sign-extended) to the halves of a. */
static inline uint32_t mcugen_sxtab16(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* SXTAB16 ROR #8: the same with bytes 1 and 3 of x. */
static inline uint32_t mcugen_sxtab16_ror8(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* SMLAD: acc + bottom(a) * bottom(b) + top(a) * top(b). */
static inline uint32_t mcugen_smlad(uint32_t a, uint32_t b, uint32_t acc)
{
    uint32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* SMLABB / SMLABT: acc + bottom(a) * bottom(b), acc + bottom(a) * top(b). */
static inline uint32_t mcugen_smlabb(uint32_t a, uint32_t b, uint32_t acc)
{
    uint32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

static inline uint32_t mcugen_smlabt(uint32_t a, uint32_t b, uint32_t acc)
{
    uint32_t r;
    __asm__("smlabt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* PKHBT: bottom half of a, top half of (b << 16). */
static inline uint32_t mcugen_pkhbt16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* SSAT #8: clamp to [-128, 127]. */
static inline int32_t mcugen_ssat8(int32_t x)
{
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(x));
    return r;
}

#else /* portable C: the same results on any C99 compiler */

static inline int32_t mcugen_simd_bottom(uint32_t x)
{
    return (int32_t)(int16_t)(uint16_t)(x & 0xFFFFu);
}

static inline int32_t mcugen_simd_top(uint32_t x)
{
    return (int32_t)(int16_t)(uint16_t)(x >> 16);
}

static inline uint32_t mcugen_simd_byte(uint32_t x, int lane)
{
    return (uint32_t)(int32_t)(int8_t)(uint8_t)((x >> (8 * lane)) & 0xFFu);
}

static inline uint32_t mcugen_simd_pack(uint32_t bottom, uint32_t top)
{
    return (bottom & 0xFFFFu) | (top << 16);
}

static inline uint32_t mcugen_sxtb16(uint32_t x)
{
    return mcugen_simd_pack(mcugen_simd_byte(x, 0), mcugen_simd_byte(x, 2));
}

static inline uint32_t mcugen_sxtb16_ror8(uint32_t x)
{
    return mcugen_simd_pack(mcugen_simd_byte(x, 1), mcugen_simd_byte(x, 3));
}

static inline uint32_t mcugen_sxtab16(uint32_t a, uint32_t x)
{
    return mcugen_simd_pack((a & 0xFFFFu) + mcugen_simd_byte(x, 0), (a >> 16) + mcugen_simd_byte(x, 2));
}

static inline uint32_t mcugen_sxtab16_ror8(uint32_t a, uint32_t x)
{
    return mcugen_simd_pack((a & 0xFFFFu) + mcugen_simd_byte(x, 1), (a >> 16) + mcugen_simd_byte(x, 3));
}

static inline uint32_t mcugen_smlad(uint32_t a, uint32_t b, uint32_t acc)
{
    /* Each product of two int16 fits int32; the sums wrap like the instruction's. */
    return acc + (uint32_t)(mcugen_simd_bottom(a) * mcugen_simd_bottom(b)) +
           (uint32_t)(mcugen_simd_top(a) * mcugen_simd_top(b));
}

static inline uint32_t mcugen_smlabb(uint32_t a, uint32_t b, uint32_t acc)
{
    return acc + (uint32_t)(mcugen_simd_bottom(a) * mcugen_simd_bottom(b));
}

static inline uint32_t mcugen_smlabt(uint32_t a, uint32_t b, uint32_t acc)
{
    return acc + (uint32_t)(mcugen_simd_bottom(a) * mcugen_simd_top(b));
}

static inline uint32_t mcugen_pkhbt16(uint32_t a, uint32_t b)
{
    return (a & 0xFFFFu) | (b << 16);
}

static inline int32_t mcugen_ssat8(int32_t x)
{
    return x < -128 ? -128 : (x > 127 ? 127 : x);
}

#endif

/* Little-endian word and double-word reads of int8/int16 data that is only as
 * aligned as its element type: memcpy compiles to one LDR / LDRD on Cortex-M
 * (unaligned access is allowed there) and keeps strict-aliasing rules intact. */
static inline uint32_t mcugen_read_u32(const void *p)
{
    uint32_t v;
    const uint8_t *b = (const uint8_t *)p;
#if defined(__GNUC__) || defined(__clang__)
    __builtin_memcpy(&v, b, 4);
#else
    v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
#endif
    return v;
}

static inline void mcugen_write_u32(void *p, uint32_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    __builtin_memcpy(p, &v, 4);
#else
    uint8_t *b = (uint8_t *)p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
#endif
}


/* ---- More SIMD32 / load-store forms (the arm-dsp depthwise kernel's inner loops) ----
 *
 * The multiplies pick other halves than SMLABB / SMLABT above; SMMLAR is the
 * rounding high multiply-accumulate; the LDRD / STRD forms advance their pointer in
 * the same instruction (GCC does not form post-indexed LDRD / STRD by itself, and an
 * extra ADD per pointer per iteration is a large share of a short loop). The
 * pointers must be word aligned, as LDRD / STRD require. */
typedef struct {
    uint32_t word[2];
} mcugen_u32x2_t;

#if MCUGEN_SIMD_NATIVE

/* SMLATB / SMLATT: acc + top(a) * bottom(b), acc + top(a) * top(b). */
static inline uint32_t mcugen_smlatb(uint32_t a, uint32_t b, uint32_t acc)
{
    uint32_t r;
    __asm__("smlatb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

static inline uint32_t mcugen_smlatt(uint32_t a, uint32_t b, uint32_t acc)
{
    uint32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* SMMLAR: the top word of acc * 2^32 + a * b + 2^31 (the product's high half, rounded, plus acc). */
static inline int32_t mcugen_smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* PKHTB: top half of a, bottom half = top half of b (b >> 16). */
static inline uint32_t mcugen_pkhtb16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* LDRD first, second, [*p], #4 (or #8): the words p[0] and p[1]; *p then advances by one (two) words. */
static inline void mcugen_ldrd_post4(const uint32_t **p, uint32_t *first, uint32_t *second)
{
    const uint32_t *q = *p;
    uint32_t a, b;
    __asm__("ldrd %0, %1, [%2], #4" : "=&r"(a), "=&r"(b), "+r"(q) : "m"(*(const mcugen_u32x2_t *)q));
    *first = a;
    *second = b;
    *p = q;
}

static inline void mcugen_ldrd_post8(const uint32_t **p, uint32_t *first, uint32_t *second)
{
    const uint32_t *q = *p;
    uint32_t a, b;
    __asm__("ldrd %0, %1, [%2], #8" : "=&r"(a), "=&r"(b), "+r"(q) : "m"(*(const mcugen_u32x2_t *)q));
    *first = a;
    *second = b;
    *p = q;
}

/* STRD first, second, [*p], #8: p[0] = first, p[1] = second; *p then advances by two words. */
static inline void mcugen_strd_post8(uint32_t **p, uint32_t first, uint32_t second)
{
    uint32_t *q = *p;
    __asm__("strd %2, %3, [%0], #8" : "+r"(q), "=m"(*(mcugen_u32x2_t *)q) : "r"(first), "r"(second));
    *p = q;
}

#else /* portable C */

static inline uint32_t mcugen_smlatb(uint32_t a, uint32_t b, uint32_t acc)
{
    return acc + (uint32_t)(mcugen_simd_top(a) * mcugen_simd_bottom(b));
}

static inline uint32_t mcugen_smlatt(uint32_t a, uint32_t b, uint32_t acc)
{
    return acc + (uint32_t)(mcugen_simd_top(a) * mcugen_simd_top(b));
}

static inline int32_t mcugen_smmlar(int32_t a, int32_t b, int32_t acc)
{
    /* Modulo 2^64, like the instruction; its top word is the result. */
    const uint64_t sum = ((uint64_t)(uint32_t)acc << 32) + (uint64_t)((int64_t)a * b) + 0x80000000u;
    return (int32_t)(uint32_t)(sum >> 32);
}

static inline uint32_t mcugen_pkhtb16(uint32_t a, uint32_t b)
{
    return (a & 0xFFFF0000u) | (b >> 16);
}

static inline void mcugen_ldrd_post4(const uint32_t **p, uint32_t *first, uint32_t *second)
{
    *first = (*p)[0];
    *second = (*p)[1];
    *p += 1;
}

static inline void mcugen_ldrd_post8(const uint32_t **p, uint32_t *first, uint32_t *second)
{
    *first = (*p)[0];
    *second = (*p)[1];
    *p += 2;
}

static inline void mcugen_strd_post8(uint32_t **p, uint32_t first, uint32_t second)
{
    (*p)[0] = first;
    (*p)[1] = second;
    *p += 2;
}

#endif

/* ---- Two int16 lanes added at once (the average pool's partial sums) ---- */
#if MCUGEN_SIMD_NATIVE

/* SADD16: each half of a plus the same half of b, modulo 2^16 (no carry between
 * the halves; the GE flags it sets are not used). */
static inline uint32_t mcugen_sadd16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("sadd16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

#else /* portable C */

static inline uint32_t mcugen_sadd16(uint32_t a, uint32_t b)
{
    return (((a & 0xFFFFu) + (b & 0xFFFFu)) & 0xFFFFu) | (((a >> 16) + (b >> 16)) << 16);
}

#endif

/* ---- Four int8 lanes compared at once (pooling, clamps) ----
 *
 * SSUB8 sets one GE flag per byte lane (a - b >= 0) and SEL then picks each lane
 * from its first or second operand by those flags. SEL depends on the flags the
 * SSUB8 just set, so the pair is one asm block: nothing (the compiler's code
 * included) can come between them. */
#if MCUGEN_SIMD_NATIVE

/* The lane-wise signed maximum of a and b. */
static inline uint32_t mcugen_max_s8x4(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b));
    return r;
}

/* The lane-wise signed minimum of a and b. */
static inline uint32_t mcugen_min_s8x4(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %2, %1" : "=&r"(r) : "r"(a), "r"(b));
    return r;
}

#else /* portable C */

static inline uint32_t mcugen_max_s8x4(uint32_t a, uint32_t b)
{
    uint32_t r = 0;
    for (int lane = 0; lane < 4; ++lane) {
        const uint32_t x = mcugen_simd_byte(a, lane), y = mcugen_simd_byte(b, lane);
        r |= (((int32_t)x >= (int32_t)y ? x : y) & 0xFFu) << (8 * lane);
    }
    return r;
}

static inline uint32_t mcugen_min_s8x4(uint32_t a, uint32_t b)
{
    uint32_t r = 0;
    for (int lane = 0; lane < 4; ++lane) {
        const uint32_t x = mcugen_simd_byte(a, lane), y = mcugen_simd_byte(b, lane);
        r |= (((int32_t)x >= (int32_t)y ? y : x) & 0xFFu) << (8 * lane);
    }
    return r;
}

#endif

/* ---- Requantization: TFLite Micro's arithmetic with its constants precomputed ----
 *
 * TFLM's MultiplyByQuantizedMultiplier is SaturatingRoundingDoublingHighMul, which
 * is floor((x * m + 2^30) / 2^31) (it rounds half up; it never saturates since m is
 * never INT32_MIN), then RoundingDivideByPOT by e, which rounds half away from zero.
 * tests/test_simd.py checks both functions below against mcugen_requantize (the
 * portable kernels' copy of TFLM's code) on edge and random operands. */
typedef struct {
    int32_t multiplier; /* m, TFLM's quantized multiplier in [2^30, 2^31), or 0 */
    int32_t bias;       /* the channel's int32 bias, plus whatever the kernel folds into it */
    int8_t left;        /* max(shift, 0) */
    int8_t right;       /* e = max(-shift, 0) */
} mcugen_requant_dsp_t;

/* Any channel: SMLAL on a preset accumulator, then TFLM's rounding divide. */
static MCUGEN_ALWAYS_INLINE int32_t mcugen_requantize_dsp(uint32_t acc, const mcugen_requant_dsp_t *rq)
{
    const int32_t x = (int32_t)(acc << rq->left); /* wraps like TFLM's x * (1 << left) */
    const int64_t p = (int64_t)x * rq->multiplier + ((int64_t)1 << 30);
    const int32_t r = (int32_t)(p >> 31); /* arithmetic: floor */
    const int32_t mask = (int32_t)((1u << rq->right) - 1u);
    const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)r >> 31);
    return (r >> rq->right) + ((r & mask) > threshold ? 1 : 0);
}

/* A channel with e >= 2, where the two roundings merge into one 64-bit sum (what
 * most convolution layers have). For r >= 0 the result is
 * floor((x * m + 2^30 + 2^(30+e)) / 2^(31+e)); RoundingDivideByPOT rounds r < 0
 * one below that at ties, -2^31 in the same sum. r < 0 exactly when x < 0 (or r is
 * 0, which rounds to 0 either way), so the addend is (2^(e-2) + s, 2^30 | sign bit)
 * with s = -1 for negative x, and the high word of the SMLAL, shifted by e - 1, is
 * the result. |x * m| < 2^62: no overflow anywhere. */
static int32_t mcugen_requantize_dsp_wide(uint32_t acc, const mcugen_requant_dsp_t *rq)
{
    const uint32_t x = acc << rq->left;
    const uint32_t lo = 0x40000000u | (x & 0x80000000u);
    const uint32_t hi = (1u << (rq->right - 2)) + (uint32_t)((int32_t)x >> 31);
    const int64_t t = (int64_t)(((uint64_t)hi << 32) | lo) + (int64_t)(int32_t)x * rq->multiplier;
    return (int32_t)(t >> 32) >> (rq->right - 1);
}

/* The same in four instructions for |x| < 2^30 (every accumulator a real layer
 * makes; larger ones take mcugen_requantize_dsp_wide). Doubling the sum above
 * makes its low word exactly 2^31, which is SMMLAR's own rounding constant:
 * q = (SMMLAR(2x, m, 2^(e-1) + s)) >> e. */
static MCUGEN_ALWAYS_INLINE int32_t mcugen_requantize_dsp_merged(uint32_t acc, const mcugen_requant_dsp_t *rq)
{
    const int32_t x = (int32_t)(acc << rq->left);
    if ((int32_t)((uint32_t)x + 0x40000000u) < 0) { /* |x| >= 2^30: 2x would not fit */
        return mcugen_requantize_dsp_wide(acc, rq);
    }
    const int32_t c = (int32_t)(1u << (rq->right - 1)) + (x >> 31);
    return mcugen_smmlar(x * 2, rq->multiplier, c) >> rq->right;
}

#endif /* MCUGEN_SIMD_H */
