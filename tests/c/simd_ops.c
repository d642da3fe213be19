/* Each mcugen_simd.h operation behind a plain function, compiled twice by
 * tests/test_simd.py: once as the instructions (prefix nat_) and once with
 * MCUGEN_SIMD_PORTABLE (prefix port_), so simd_check.c can compare them. */
#include "mcugen_simd.h"

#define NAME_(prefix, op) prefix##op
#define NAME(prefix, op) NAME_(prefix, op)

uint32_t NAME(SIMD_PREFIX, sxtb16)(uint32_t x) { return mcugen_sxtb16(x); }
uint32_t NAME(SIMD_PREFIX, sxtb16_ror8)(uint32_t x) { return mcugen_sxtb16_ror8(x); }
uint32_t NAME(SIMD_PREFIX, sxtab16)(uint32_t a, uint32_t x) { return mcugen_sxtab16(a, x); }
uint32_t NAME(SIMD_PREFIX, sxtab16_ror8)(uint32_t a, uint32_t x) { return mcugen_sxtab16_ror8(a, x); }
uint32_t NAME(SIMD_PREFIX, smlad)(uint32_t a, uint32_t b, uint32_t acc) { return mcugen_smlad(a, b, acc); }
uint32_t NAME(SIMD_PREFIX, smlabb)(uint32_t a, uint32_t b, uint32_t acc) { return mcugen_smlabb(a, b, acc); }
uint32_t NAME(SIMD_PREFIX, smlabt)(uint32_t a, uint32_t b, uint32_t acc) { return mcugen_smlabt(a, b, acc); }
uint32_t NAME(SIMD_PREFIX, pkhbt16)(uint32_t a, uint32_t b) { return mcugen_pkhbt16(a, b); }
int32_t NAME(SIMD_PREFIX, ssat8)(int32_t x) { return mcugen_ssat8(x); }
int32_t NAME(SIMD_PREFIX, requantize_dsp)(uint32_t acc, const mcugen_requant_dsp_t *rq)
{
    return mcugen_requantize_dsp(acc, rq);
}
int32_t NAME(SIMD_PREFIX, requantize_dsp_merged)(uint32_t acc, const mcugen_requant_dsp_t *rq)
{
    return mcugen_requantize_dsp_merged(acc, rq);
}
uint32_t NAME(SIMD_PREFIX, max_s8x4)(uint32_t a, uint32_t b) { return mcugen_max_s8x4(a, b); }
uint32_t NAME(SIMD_PREFIX, min_s8x4)(uint32_t a, uint32_t b) { return mcugen_min_s8x4(a, b); }
uint32_t NAME(SIMD_PREFIX, sadd16)(uint32_t a, uint32_t b) { return mcugen_sadd16(a, b); }
int32_t NAME(SIMD_PREFIX, smmlar)(int32_t a, int32_t b, int32_t acc) { return mcugen_smmlar(a, b, acc); }
int NAME(SIMD_PREFIX, native)(void) { return MCUGEN_SIMD_NATIVE; }
