/* Randomized check: mcugen_depthwise_conv_s8_dsp (input offset folded into the bias,
 * padded taps reading the input zero point) against the portable
 * mcugen_depthwise_conv_s8 (input offset added per tap, padded taps skipped), which
 * the Python tests hold bit-exact with TFLite Micro.
 *
 *   depthwise_dsp_check [cases [seed]]
 *
 * Every buffer is allocated at its exact size, so a sanitizer build catches any read
 * or write outside the tensors or the scratch the header's rule promises; the scratch
 * starts out filled with junk, so a value read before it is written shows up as a
 * mismatch. Exit status 0 when every case agrees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depthwise_conv.h"
#include "depthwise_conv_dsp.h"

static uint64_t rng_state;

static uint32_t rng_next(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Uniform in [lo, hi]. */
static int32_t rng_range(int32_t lo, int32_t hi)
{
    return lo + (int32_t)(rng_next() % (uint32_t)(hi - lo + 1));
}

static int rng_percent(int percent)
{
    return rng_range(0, 99) < percent;
}

static int32_t min32(int32_t a, int32_t b)
{
    return a < b ? a : b;
}

static void *alloc_or_die(size_t bytes)
{
    void *p = malloc(bytes > 0 ? bytes : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* The scratch, 16-byte aligned as the kernel's contract says. Where malloc already
 * aligns (glibc) the block is exactly the promised size, so a sanitizer sees any
 * overrun; elsewhere (newlib on the emulated boards) it is aligned by hand. */
static int16_t *alloc_scratch(size_t bytes, void **block)
{
    void *p = alloc_or_die(bytes);
    if (((uintptr_t)p & 15u) != 0) {
        free(p);
        p = alloc_or_die(bytes + 15);
        *block = p;
        return (int16_t *)(void *)((char *)p + ((16u - ((uintptr_t)p & 15u)) & 15u));
    }
    *block = p;
    return p;
}

typedef struct {
    int32_t batches, in_h, in_w, channels;
    int32_t filter_h, filter_w, stride_h, stride_w, pad_h, pad_w, out_h, out_w;
    int32_t input_zero_point, output_zero_point;
    mcugen_act_range_t act;
} shape_t;

/* Output size for padding `pad` before the image and whatever the rest needs after
 * it; TFLM's SAME and VALID are special cases of it. */
static void pick_geometry(shape_t *s)
{
    const int kind = rng_range(0, 3);
    /* SAME: out = ceil(in / stride), pad = total / 2. */
    if (kind == 0) {
        s->out_h = (s->in_h + s->stride_h - 1) / s->stride_h;
        s->out_w = (s->in_w + s->stride_w - 1) / s->stride_w;
        const int32_t total_h = (s->out_h - 1) * s->stride_h + s->filter_h - s->in_h;
        const int32_t total_w = (s->out_w - 1) * s->stride_w + s->filter_w - s->in_w;
        s->pad_h = total_h > 0 ? total_h / 2 : 0;
        s->pad_w = total_w > 0 ? total_w / 2 : 0;
        return;
    }
    /* VALID, when the filter fits. */
    if (kind == 1 && s->in_h >= s->filter_h && s->in_w >= s->filter_w) {
        s->pad_h = 0;
        s->pad_w = 0;
        s->out_h = (s->in_h - s->filter_h) / s->stride_h + 1;
        s->out_w = (s->in_w - s->filter_w) / s->stride_w + 1;
        return;
    }
    /* Any padding in [0, filter - 1] before, the same or less after (so windows may
     * also lie wholly in the padding when the image is small). */
    s->pad_h = rng_range(0, s->filter_h - 1);
    s->pad_w = rng_range(0, s->filter_w - 1);
    const int32_t span_h = s->in_h + 2 * s->pad_h - s->filter_h;
    const int32_t span_w = s->in_w + 2 * s->pad_w - s->filter_w;
    s->out_h = span_h >= 0 ? span_h / s->stride_h + 1 : 1;
    s->out_w = span_w >= 0 ? span_w / s->stride_w + 1 : 1;
}

static void pick_shape(shape_t *s)
{
    s->batches = rng_percent(10) ? 2 : 1;
    const int c_kind = rng_range(0, 9);
    s->channels = c_kind < 3 ? 4 * rng_range(1, 25) : (c_kind < 5 ? rng_range(1, 7) : rng_range(1, 100));
    const int f_kind = rng_range(0, 19);
    if (f_kind < 10) {
        s->filter_h = 3;
        s->filter_w = 3;
    } else if (f_kind == 10) {
        s->filter_h = 10;
        s->filter_w = 8;
    } else if (f_kind == 11) {
        s->filter_h = 5;
        s->filter_w = 5;
    } else {
        s->filter_h = rng_range(1, 5);
        s->filter_w = rng_range(1, 5);
    }
    s->stride_h = rng_percent(70) ? rng_range(1, 2) : 3;
    s->stride_w = rng_percent(40) ? s->stride_h : (rng_percent(70) ? rng_range(1, 2) : 3);
    s->in_h = rng_range(1, 40);
    s->in_w = rng_range(1, 40);
    /* Keep one case's work modest: big images get fewer channels. */
    while (s->in_h * s->in_w * s->channels > 60000 && s->channels > 1) {
        s->channels = (s->channels + 1) / 2;
    }
    pick_geometry(s);
    s->input_zero_point = rng_percent(15) ? -128 : rng_range(-128, 127);
    s->output_zero_point = rng_percent(15) ? -128 : rng_range(-128, 127);
    const int a_kind = rng_range(0, 3);
    if (a_kind == 0) {
        s->act.min = -128;
        s->act.max = 127;
    } else if (a_kind == 1) { /* ReLU */
        s->act.min = s->output_zero_point;
        s->act.max = 127;
    } else if (a_kind == 2) { /* ReLU6-like */
        s->act.min = s->output_zero_point;
        s->act.max = min32(127, s->output_zero_point + rng_range(0, 255));
    } else {
        s->act.min = rng_range(-128, 127);
        s->act.max = rng_range(s->act.min, 127);
    }
}

static int32_t pick_bias(int32_t reach)
{
    switch (rng_range(0, 5)) {
    case 0:
        return rng_range(-4096, 4096);
    case 1:
        return rng_range(-(1 << 20), 1 << 20);
    case 2: /* anything: the accumulator may wrap */
        return (int32_t)rng_next();
    case 3: { /* around the fast path's limit |bias| + reach < 2^30 */
        const int32_t edge = (1 << 30) - reach;
        const int32_t b = edge + rng_range(-3, 3);
        return rng_percent(50) ? b : -b;
    }
    default:
        return rng_range(-100000, 100000);
    }
}

static void pick_requant(mcugen_requant_t *rq)
{
    rq->multiplier = rng_percent(3) ? 0 : (int32_t)((1u << 30) + (rng_next() & ((1u << 30) - 1)));
    if (rng_percent(3)) {
        rq->multiplier = 1 << 30; /* the smallest: exact-half ties are common */
    }
    const int kind = rng_range(0, 9);
    rq->shift = kind < 7 ? rng_range(-10, 2) : (kind < 9 ? rng_range(-31, -11) : 0);
}

static void print_shape(const shape_t *s)
{
    fprintf(stderr,
            "n=%d in=%dx%dx%d filter=%dx%d stride=%dx%d pad=%d,%d out=%dx%d zp=%d,%d act=[%d,%d]\n",
            (int)s->batches, (int)s->in_h, (int)s->in_w, (int)s->channels, (int)s->filter_h, (int)s->filter_w,
            (int)s->stride_h, (int)s->stride_w, (int)s->pad_h, (int)s->pad_w, (int)s->out_h, (int)s->out_w,
            (int)s->input_zero_point, (int)s->output_zero_point, (int)s->act.min, (int)s->act.max);
}

/* One random case; returns 0 when both kernels agree. */
static int run_case(int index, long *outputs_checked)
{
    shape_t s;
    pick_shape(&s);
    const int32_t C = s.channels;
    const int32_t taps = s.filter_h * s.filter_w;
    const size_t in_size = (size_t)s.batches * s.in_h * s.in_w * C;
    const size_t out_size = (size_t)s.batches * s.out_h * s.out_w * C;

    int8_t *input = alloc_or_die(in_size);
    int8_t *filter = alloc_or_die((size_t)taps * C);
    int32_t *bias = alloc_or_die(sizeof(int32_t) * C);
    mcugen_requant_t *rq = alloc_or_die(sizeof(mcugen_requant_t) * C);
    mcugen_requant_dsp_t *channels = alloc_or_die(sizeof(mcugen_requant_dsp_t) * C);
    int8_t *want = alloc_or_die(out_size);
    int8_t *got = alloc_or_die(out_size);

    const int small_inputs = rng_percent(10);
    for (size_t i = 0; i < in_size; ++i) {
        input[i] = (int8_t)(small_inputs ? rng_range(-2, 2) : rng_range(-128, 127));
    }
    const int weight_kind = rng_range(0, 3);
    for (int32_t i = 0; i < taps * C; ++i) {
        filter[i] = (int8_t)(weight_kind == 0 ? rng_range(-3, 3) : (weight_kind == 1 ? -128 + rng_range(0, 1) * 255
                                                                                     : rng_range(-128, 127)));
    }
    const int32_t input_offset = -s.input_zero_point;
    for (int32_t c = 0; c < C; ++c) {
        int32_t abs_sum = 0, sum = 0;
        for (int32_t t = 0; t < taps; ++t) {
            const int32_t w = filter[t * C + c];
            abs_sum += w < 0 ? -w : w;
            sum += w;
        }
        bias[c] = pick_bias(128 * abs_sum);
        pick_requant(&rq[c]);
        /* What the generator does: fold the input offset into the bias (wrapping). */
        memset(&channels[c], 0, sizeof channels[c]);
        channels[c].multiplier = rq[c].multiplier;
        channels[c].left = (int8_t)(rq[c].shift > 0 ? rq[c].shift : 0);
        channels[c].right = (int8_t)(rq[c].shift > 0 ? 0 : -rq[c].shift);
        channels[c].bias = (int32_t)((uint32_t)bias[c] + (uint32_t)input_offset * (uint32_t)sum);
    }

    mcugen_depthwise_conv_params_t ref;
    ref.input = (mcugen_dims_t){s.batches, s.in_h, s.in_w, C};
    ref.output = (mcugen_dims_t){s.batches, s.out_h, s.out_w, C};
    ref.filter_h = s.filter_h;
    ref.filter_w = s.filter_w;
    ref.depth_multiplier = 1;
    ref.stride_h = s.stride_h;
    ref.stride_w = s.stride_w;
    ref.dilation_h = 1;
    ref.dilation_w = 1;
    ref.pad_h = s.pad_h;
    ref.pad_w = s.pad_w;
    ref.input_offset = input_offset;
    ref.output_offset = s.output_zero_point;
    ref.act = s.act;
    ref.requant = rq;
    ref.per_channel = 1;
    ref.output_stride = C;

    mcugen_depthwise_conv_dsp_params_t dsp;
    dsp.input = ref.input;
    dsp.output = ref.output;
    dsp.filter_h = s.filter_h;
    dsp.filter_w = s.filter_w;
    dsp.stride_h = s.stride_h;
    dsp.stride_w = s.stride_w;
    dsp.pad_h = s.pad_h;
    dsp.pad_w = s.pad_w;
    dsp.input_zero_point = s.input_zero_point;
    dsp.output_offset = s.output_zero_point;
    dsp.act = s.act;
    dsp.channels = channels;
    dsp.output_stride = C;
    /* As the generator sets it: the general paths only where the layer needs them. */
    dsp.general = mcugen_depthwise_conv_dsp_needs_general(&dsp) ? &mcugen_depthwise_conv_dsp_general : NULL;

    const int32_t scratch_bytes = mcugen_depthwise_conv_dsp_scratch_bytes(&dsp);
    void *scratch_block;
    int16_t *scratch = alloc_scratch((size_t)scratch_bytes, &scratch_block);
    memset(scratch, 0xA5, (size_t)scratch_bytes);
    memset(want, 0x5A, out_size);
    memset(got, 0x3C, out_size);

    mcugen_depthwise_conv_s8(&ref, input, filter, bias, want);
    mcugen_depthwise_conv_s8_dsp(&dsp, input, filter, got, scratch);

    int status = 0;
    for (size_t i = 0; i < out_size && status == 0; ++i) {
        if (want[i] != got[i]) {
            const int32_t c = (int32_t)(i % (size_t)C);
            fprintf(stderr, "case %d: output %zu (channel %d) want %d got %d; multiplier %d shift %d bias %d\n", index,
                    i, (int)c, want[i], got[i], (int)rq[c].multiplier, (int)rq[c].shift, (int)bias[c]);
            print_shape(&s);
            status = 1;
        }
    }
    *outputs_checked += (long)out_size;

    /* The same layer writing one channel slice of a wider image (a concatenation made
     * in place): every value where the stride puts it, and the bytes between untouched. */
    const int32_t stride = C + 1 + index % 5;
    const size_t pixels = out_size / (size_t)C;
    int8_t *wide = (int8_t *)malloc(pixels * (size_t)stride);
    memset(wide, 0x77, pixels * (size_t)stride);
    dsp.output_stride = stride;
    mcugen_depthwise_conv_s8_dsp(&dsp, input, filter, wide, scratch);
    for (size_t px = 0; px < pixels && status == 0; ++px) {
        for (int32_t k = 0; k < stride && status == 0; ++k) {
            const int8_t expect = k < C ? want[px * (size_t)C + (size_t)k] : (int8_t)0x77;
            if (wide[px * (size_t)stride + (size_t)k] != expect) {
                fprintf(stderr, "case %d: output stride %d, pixel %zu byte %d: want %d got %d\n", index, (int)stride,
                        px, (int)k, expect, wide[px * (size_t)stride + (size_t)k]);
                print_shape(&s);
                status = 1;
            }
        }
    }
    free(wide);

    free(scratch_block);
    free(got);
    free(want);
    free(channels);
    free(rq);
    free(bias);
    free(filter);
    free(input);
    return status;
}

/* The worked examples in depthwise_conv_dsp.h's scratch rule. */
static int check_scratch_examples(void)
{
    mcugen_depthwise_conv_dsp_params_t p;
    memset(&p, 0, sizeof p);
    p.filter_h = 3;
    p.filter_w = 3;
    p.stride_h = 1;
    p.stride_w = 1;
    p.input = (mcugen_dims_t){1, 48, 48, 16};
    p.output = (mcugen_dims_t){1, 48, 48, 16};
    p.pad_h = 1;
    p.pad_w = 1;
    const int32_t same = mcugen_depthwise_conv_dsp_scratch_bytes(&p);
    p.stride_h = 2;
    p.stride_w = 2;
    p.input = (mcugen_dims_t){1, 49, 49, 48};
    p.output = (mcugen_dims_t){1, 24, 24, 48};
    p.pad_h = 0;
    p.pad_w = 0;
    const int32_t valid = mcugen_depthwise_conv_dsp_scratch_bytes(&p);
    p.stride_h = 1;
    p.stride_w = 1;
    p.input = (mcugen_dims_t){1, 25, 5, 64};
    p.output = (mcugen_dims_t){1, 25, 5, 64};
    p.pad_h = 1;
    p.pad_w = 1;
    const int32_t tall = mcugen_depthwise_conv_dsp_scratch_bytes(&p);
    if (same != 5904 || valid != 7776 || tall != 2384) {
        fprintf(stderr, "scratch rule examples: got %d, %d and %d; the header says 5904, 7776 and 2384\n",
                (int)same, (int)valid, (int)tall);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const int cases = argc > 1 ? atoi(argv[1]) : 3000;
    rng_state = argc > 2 ? (uint64_t)strtoull(argv[2], NULL, 0) : 1;
    int failures = check_scratch_examples();
    long outputs = 0;
    for (int i = 0; i < cases && failures < 5; ++i) {
        failures += run_case(i, &outputs);
    }
    printf("%d cases, %ld outputs, %d failing\n", cases, outputs, failures);
    return failures == 0 ? 0 : 1;
}
