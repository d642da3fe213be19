/* mcugen runtime: types and fixed-point arithmetic shared by every kernel.
 *
 * The requantization here follows TensorFlow Lite Micro's reference kernels
 * (double rounding: a saturating rounding doubling high multiply, then a
 * rounding right shift), so the generated code matches TFLM bit for bit.
 * Portable C99; no allocation, no library calls beyond <math.h> in float edges.
 */
#ifndef MCUGEN_COMMON_H
#define MCUGEN_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define MCUGEN_ALIGNED(n) __attribute__((aligned(n)))
#else
#define MCUGEN_ALIGNED(n)
#endif

/* Per-layer profiling hooks: the benchmark agent builds with MCUGEN_PROFILE
 * and supplies them (reading the board's counter); elsewhere they cost nothing. */
#ifdef MCUGEN_PROFILE
void mcugen_profile_layer_begin(int index);
void mcugen_profile_layer_end(int index);
#define MCUGEN_LAYER_BEGIN(index) mcugen_profile_layer_begin(index)
#define MCUGEN_LAYER_END(index) mcugen_profile_layer_end(index)
#endif
#ifndef MCUGEN_LAYER_BEGIN
#define MCUGEN_LAYER_BEGIN(index) ((void)0)
#endif
#ifndef MCUGEN_LAYER_END
#define MCUGEN_LAYER_END(index) ((void)0)
#endif

/* NHWC tensor dimensions. Lower-rank tensors use leading 1s. */
typedef struct {
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} mcugen_dims_t;

/* The clamp a fused activation applies, in the output's quantized domain. */
typedef struct {
    int32_t min;
    int32_t max;
} mcugen_act_range_t;

/* One requantization: real_multiplier ~= multiplier * 2^(shift - 31). */
typedef struct {
    int32_t multiplier;
    int32_t shift;
} mcugen_requant_t;

static inline int32_t mcugen_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* gemmlowp's SaturatingRoundingDoublingHighMul: (a * b * 2) >> 32, rounded. */
static inline int32_t mcugen_sat_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* gemmlowp's RoundingDivideByPOT: x / 2^exponent, rounding half away from zero. */
static inline int32_t mcugen_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM's MultiplyByQuantizedMultiplier (double-rounding build). The left shift
 * wraps like TFLM's int32 multiply does; done on uint32 to stay defined C. */
static inline int32_t mcugen_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    int32_t left = shift > 0 ? shift : 0;
    int32_t right = shift > 0 ? 0 : -shift;
    int32_t shifted = (int32_t)((uint32_t)x << left);
    return mcugen_rounding_divide_by_pot(mcugen_sat_rounding_doubling_high_mul(shifted, multiplier), right);
}

/* The first and one-past-last filter taps t in [0, taps) whose input coordinate
 * origin + t * dilation lands inside [0, size). Convolutions compute it once per
 * output row or column, so their inner loops need no bounds checks or divisions. */
static inline void mcugen_valid_taps(int32_t origin, int32_t dilation, int32_t taps, int32_t size,
                                     int32_t *first, int32_t *end)
{
    int32_t t0 = 0;
    while (t0 < taps && origin + t0 * dilation < 0) {
        ++t0;
    }
    int32_t t1 = taps;
    while (t1 > t0 && origin + (t1 - 1) * dilation >= size) {
        --t1;
    }
    *first = t0;
    *end = t1;
}

#endif /* MCUGEN_COMMON_H */
