/* Every float step here is the one TFLM's detection_postprocess.cc takes, in the same
 * order and width: the decoding in double, then rounded once to float; the IoU in
 * float. A compiler that fuses a*b+c into one fused multiply-add (GCC does by default
 * outside ISO C mode, and Cortex-M7 has the instruction) rounds once where TFLM rounds
 * twice, so contraction is off for this file. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "detection_postprocess.h"

#include <math.h>
#include <string.h>

typedef struct {
    float ymin;
    float xmin;
    float ymax;
    float xmax;
} corner_box_t;

/* The working buffers, from the params' byte offsets into the scratch block. */
typedef struct {
    corner_box_t *boxes;
    float *box_scores;
    int32_t *candidates;
    int32_t *sort_buffer;
    uint8_t *active;
    int32_t *selected;
    int32_t *class_order;
    int32_t *merged_indices;
    float *merged_scores;
} work_t;

static work_t work_buffers(const mcugen_detection_scratch_t *s, uint8_t *scratch)
{
    work_t w;
    w.boxes = (corner_box_t *)(void *)(scratch + s->decoded_boxes);
    w.box_scores = (float *)(void *)(scratch + s->box_scores);
    w.candidates = (int32_t *)(void *)(scratch + s->candidates);
    w.sort_buffer = (int32_t *)(void *)(scratch + s->sort_buffer);
    w.active = scratch + s->active;
    w.selected = (int32_t *)(void *)(scratch + s->selected);
    w.class_order = (int32_t *)(void *)(scratch + s->class_order);
    w.merged_indices = (int32_t *)(void *)(scratch + s->merged_indices);
    w.merged_scores = (float *)(void *)(scratch + s->merged_scores);
    return w;
}

/* DecodeCenterSizeBoxes. Returns 0 when a box is empty or inverted (ymin >= ymax or
 * xmin >= xmax): TFLM's ValidateBoxes then fails the whole invocation. */
static int decode_boxes(const mcugen_detection_postprocess_params_t *p, const float *encodings,
                        const float *anchors, corner_box_t *boxes)
{
    const double scale_y = (double)p->scale.y, scale_x = (double)p->scale.x;
    const double scale_h = (double)p->scale.h, scale_w = (double)p->scale.w;
    int valid = 1;
    for (int32_t i = 0; i < p->num_boxes; ++i) {
        const float *e = encodings + i * p->box_stride;
        const float *a = anchors + 4 * i; /* ycenter, xcenter, h, w */
        const float ycenter = (float)((double)e[0] / scale_y * (double)a[2] + (double)a[0]);
        const float xcenter = (float)((double)e[1] / scale_x * (double)a[3] + (double)a[1]);
        const float half_h = (float)(0.5 * exp((double)e[2] / scale_h) * (double)a[2]);
        const float half_w = (float)(0.5 * exp((double)e[3] / scale_w) * (double)a[3]);
        boxes[i].ymin = ycenter - half_h;
        boxes[i].xmin = xcenter - half_w;
        boxes[i].ymax = ycenter + half_h;
        boxes[i].xmax = xcenter + half_w;
        if (boxes[i].ymin >= boxes[i].ymax || boxes[i].xmin >= boxes[i].xmax) {
            valid = 0;
        }
    }
    return valid;
}

/* std::max<float> and std::min<float>, NaN handling included. */
static float max_f(float a, float b) { return a < b ? b : a; }
static float min_f(float a, float b) { return b < a ? b : a; }

/* ComputeIntersectionOverUnion, in float as TFLM computes it. */
static float intersection_over_union(const corner_box_t *i, const corner_box_t *j)
{
    const float area_i = (i->ymax - i->ymin) * (i->xmax - i->xmin);
    const float area_j = (j->ymax - j->ymin) * (j->xmax - j->xmin);
    if (area_i <= 0 || area_j <= 0) {
        return 0.0f;
    }
    const float ymin = max_f(i->ymin, j->ymin);
    const float xmin = max_f(i->xmin, j->xmin);
    const float ymax = min_f(i->ymax, j->ymax);
    const float xmax = min_f(i->xmax, j->xmax);
    const float intersection = max_f(ymax - ymin, 0.0f) * max_f(xmax - xmin, 0.0f);
    return intersection / (area_i + area_j - intersection);
}

/* Sorts box indices by decreasing score, equal scores keeping their order (a stable
 * bottom-up merge sort): the order TFLM's DecreasingArgSort gives, which is stable too
 * (insertion sort on short runs, merges that take the right run only when strictly
 * greater), so any stable sort gives the same permutation. */
static void sort_by_decreasing_score(int32_t *indices, int32_t *buffer, int32_t count, const float *scores)
{
    int32_t *from = indices, *to = buffer;
    for (int32_t width = 1; width < count; width *= 2) {
        for (int32_t lo = 0; lo < count; lo += 2 * width) {
            const int32_t mid = lo + width < count ? lo + width : count;
            const int32_t hi = lo + 2 * width < count ? lo + 2 * width : count;
            int32_t left = lo, right = mid;
            for (int32_t k = lo; k < hi; ++k) {
                if (left >= mid || (right < hi && scores[from[right]] > scores[from[left]])) {
                    to[k] = from[right++];
                } else {
                    to[k] = from[left++];
                }
            }
        }
        int32_t *swap = from;
        from = to;
        to = swap;
    }
    if (from != indices) {
        memcpy(indices, from, (size_t)count * sizeof(int32_t));
    }
}

/* NonMaxSuppressionSingleClassHelper: the boxes kept from `scores` (one per box), at
 * most `max_kept`, best first. */
static int32_t suppress(const mcugen_detection_postprocess_params_t *p, const work_t *w, const float *scores,
                        int32_t max_kept)
{
    int32_t count = 0;
    for (int32_t i = 0; i < p->num_boxes; ++i) {
        if (scores[i] >= p->score_threshold) {
            w->candidates[count++] = i;
        }
    }
    sort_by_decreasing_score(w->candidates, w->sort_buffer, count, scores);
    const int32_t wanted = count < max_kept ? count : max_kept;
    int32_t kept = 0;
    int32_t active = count;
    memset(w->active, 1, (size_t)count);
    for (int32_t i = 0; i < count; ++i) {
        if (active == 0 || kept >= wanted) {
            break;
        }
        if (!w->active[i]) {
            continue;
        }
        const corner_box_t *best = &w->boxes[w->candidates[i]];
        w->selected[kept++] = w->candidates[i];
        w->active[i] = 0;
        active--;
        for (int32_t j = i + 1; j < count; ++j) {
            if (w->active[j] && intersection_over_union(best, &w->boxes[w->candidates[j]]) > p->iou_threshold) {
                w->active[j] = 0;
                active--;
            }
        }
    }
    return kept;
}

/* Does (value a, position ia) come before (value b, position ib) in TFLM's
 * DecreasingPartialArgSort? Higher values first, equal ones by position. */
static int ranks_before(float a, int32_t ia, float b, int32_t ib)
{
    return a > b || (!(b > a) && ia < ib);
}

static void write_detection(float *out_boxes, float *out_classes, float *out_scores, int32_t slot,
                            const corner_box_t *box, int32_t class_index, float score)
{
    out_boxes[4 * slot + 0] = box->ymin;
    out_boxes[4 * slot + 1] = box->xmin;
    out_boxes[4 * slot + 2] = box->ymax;
    out_boxes[4 * slot + 3] = box->xmax;
    out_classes[slot] = (float)class_index;
    out_scores[slot] = score;
}

/* NonMaxSuppressionMultiClassFastHelper: one suppression over each box's best class
 * score, then each kept box's top classes_per_detection classes. */
static int32_t fast_nms(const mcugen_detection_postprocess_params_t *p, const work_t *w, const float *scores,
                        float *out_boxes, float *out_classes, float *out_scores)
{
    for (int32_t row = 0; row < p->num_boxes; ++row) {
        const float *box_scores = scores + row * p->score_stride + p->label_offset;
        float best = box_scores[0];
        for (int32_t c = 1; c < p->num_classes; ++c) {
            if (box_scores[c] > best) {
                best = box_scores[c];
            }
        }
        w->box_scores[row] = best;
    }
    const int32_t kept = suppress(p, w, w->box_scores, p->max_detections);
    int32_t slot = 0;
    for (int32_t i = 0; i < kept; ++i) {
        const int32_t box = w->selected[i];
        const float *box_scores = scores + box * p->score_stride + p->label_offset;
        /* The first classes_per_detection of the classes by score, as std::partial_sort
         * leaves them (its order is total: ties go by class index). */
        for (int32_t c = 0; c < p->num_classes; ++c) {
            w->class_order[c] = c;
        }
        for (int32_t col = 0; col < p->classes_per_detection; ++col) {
            int32_t best = col;
            for (int32_t c = col + 1; c < p->num_classes; ++c) {
                const int32_t a = w->class_order[c], b = w->class_order[best];
                if (ranks_before(box_scores[a], a, box_scores[b], b)) {
                    best = c;
                }
            }
            const int32_t chosen = w->class_order[best];
            w->class_order[best] = w->class_order[col];
            w->class_order[col] = chosen;
            write_detection(out_boxes, out_classes, out_scores, slot++, &w->boxes[box], chosen,
                            box_scores[chosen]);
        }
    }
    return slot;
}

/* NonMaxSuppressionMultiClassRegularHelper: a suppression per class; after each, the
 * kept boxes join the best so far, and the best max_detections of them stay, in the
 * order of TFLM's partial sort (by score, ties by their place in the merged list:
 * a stable insertion sort gives exactly that). */
static int32_t regular_nms(const mcugen_detection_postprocess_params_t *p, const work_t *w, const float *scores,
                           float *out_boxes, float *out_classes, float *out_scores)
{
    int32_t merged = 0;
    for (int32_t col = 0; col < p->num_classes; ++col) {
        for (int32_t row = 0; row < p->num_boxes; ++row) {
            w->box_scores[row] = scores[row * p->score_stride + col + p->label_offset];
        }
        const int32_t kept = suppress(p, w, w->box_scores, p->detections_per_class);
        int32_t total = merged;
        for (int32_t i = 0; i < kept; ++i) {
            w->merged_indices[total] = w->selected[i] * p->score_stride + col + p->label_offset;
            w->merged_scores[total] = w->box_scores[w->selected[i]];
            total++;
        }
        for (int32_t i = 1; i < total; ++i) {
            const int32_t index = w->merged_indices[i];
            const float score = w->merged_scores[i];
            int32_t j = i;
            while (j > 0 && score > w->merged_scores[j - 1]) {
                w->merged_indices[j] = w->merged_indices[j - 1];
                w->merged_scores[j] = w->merged_scores[j - 1];
                j--;
            }
            w->merged_indices[j] = index;
            w->merged_scores[j] = score;
        }
        merged = total < p->max_detections ? total : p->max_detections;
    }
    for (int32_t slot = 0; slot < merged; ++slot) {
        const int32_t box = w->merged_indices[slot] / p->score_stride;
        const int32_t class_index = w->merged_indices[slot] - box * p->score_stride - p->label_offset;
        write_detection(out_boxes, out_classes, out_scores, slot, &w->boxes[box], class_index,
                        w->merged_scores[slot]);
    }
    return merged;
}

void mcugen_detection_postprocess_f32(const mcugen_detection_postprocess_params_t *p, const float *box_encodings,
                                      const float *class_scores, const float *anchors, float *out_boxes,
                                      float *out_classes, float *out_scores, float *out_count, uint8_t *scratch)
{
    const work_t w = work_buffers(&p->scratch, scratch);
    memset(out_boxes, 0, (size_t)p->output_slots * 4 * sizeof(float));
    memset(out_classes, 0, (size_t)p->output_slots * sizeof(float));
    memset(out_scores, 0, (size_t)p->output_slots * sizeof(float));
    int32_t detections = 0;
    /* An inverted box makes TFLM fail the invocation; here it leaves no detections. */
    if (decode_boxes(p, box_encodings, anchors, w.boxes)) {
        detections = p->use_regular_nms ? regular_nms(p, &w, class_scores, out_boxes, out_classes, out_scores)
                                        : fast_nms(p, &w, class_scores, out_boxes, out_classes, out_scores);
    }
    out_count[0] = (float)detections;
}
