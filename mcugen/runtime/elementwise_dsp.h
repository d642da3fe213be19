#ifndef MCUGEN_ELEMENTWISE_DSP_H
#define MCUGEN_ELEMENTWISE_DSP_H

#include "elementwise.h"
#include "mcugen_simd.h"

/* ADD and SUB on the Arm DSP extension: the arm-dsp variant of mcugen_add_s8 /
 * mcugen_sub_s8, with the same results (TFLM's arithmetic, every rounding kept).
 *
 * TFLM rescales each input to twice the larger input scale,
 *   x' = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul((x + offset) * 2^20, m), e),
 * and requantizes the sum (or difference) of the two the same way. For the input
 * with the larger scale ("big") m and e are exactly 1/2 and 0, so x' is
 * (x + offset) * 2^19 with no rounding at all: one shifted add. The other input
 * ("small") takes TFLM's two roundings in three instructions:
 *   SaturatingRoundingDoublingHighMul(v * 2^20, m) = floor((v * 2^21 * m + 2^31) / 2^32)
 *       is SMMLAR on v * 2^21 (|v| <= 255, so no overflow);
 *   RoundingDivideByPOT(r, e) = (r + 2^(e-1) - (v < 0)) >> e for e >= 1 (r < 0 only
 *       when v < 0, and r = 0 rounds to 0 either way), so 2^(e-1) - (v < 0) is that
 *       SMMLAR's accumulator, (v < 0) the sign of its operand.
 * The kernel holds the sum doubled, as the output's SMMLAR wants it (below 2^29 in
 * magnitude), and folds the output zero point in before the final shift (zero
 * point * 2^e in that SMMLAR's accumulator); then SSAT, and a SIMD clamp for a fused
 * activation narrower than int8. The generator works out the constants and checks
 * the whole formula against TFLM's arithmetic for all 65536 pairs of int8 inputs
 * before a layer takes this kernel. */
typedef struct {
    int32_t small_offset;     /* -small input zero point * 2^21 */
    int32_t small_multiplier; /* its TFLM multiplier (2^31 - 1 with shift 1 stands for an exact 1/2) */
    int32_t small_round;      /* 2^(small_shift - 1): RoundingDivideByPOT's half, SMMLAR's accumulator */
    int32_t small_shift;      /* TFLM's right shift e >= 1 */
    int32_t big_offset;       /* -big input zero point * 2^20, negated for small - big */
    int32_t form;             /* MCUGEN_ADD_DSP_SUM, _BIG_MINUS_SMALL or _SMALL_MINUS_BIG */
    int32_t output_multiplier;
    int32_t output_bias;  /* 2^(output_shift - 1) + output zero point * 2^output_shift */
    int32_t output_shift; /* TFLM's right shift e >= 1 */
    mcugen_act_range_t act;
    mcugen_broadcast_t bcast; /* stride1 is the small input's, stride2 the big one's; innermost steps 1 and 1 */
} mcugen_add_dsp_params_t;

/* ADD is big + small (form MCUGEN_ADD_DSP_SUM); SUB is input1 - input2, which is
 * big - small or small - big. */
#define MCUGEN_ADD_DSP_SUM 0
#define MCUGEN_ADD_DSP_BIG_MINUS_SMALL 1
#define MCUGEN_ADD_DSP_SMALL_MINUS_BIG 2

/* small and big are the layer's two inputs in that order: the generator passes them so. */
void mcugen_add_s8_dsp(const mcugen_add_dsp_params_t *p, const int8_t *small, const int8_t *big, int8_t *output);
void mcugen_sub_s8_dsp(const mcugen_add_dsp_params_t *p, const int8_t *small, const int8_t *big, int8_t *output);

#endif
