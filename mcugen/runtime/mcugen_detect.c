/* mcugen runtime: detection heads (see mcugen_detect.h); mirrored by mcugen/detection.py. */

/* Every float32 product and sum is rounded on its own, as numpy does it: a fused
 * multiply-add (VFMA on a Cortex-M4F/M7) would round once and the boxes would differ
 * from the Python decoder's in their last bits. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#else
#pragma STDC FP_CONTRACT OFF
#endif

#include "mcugen_detect.h"

#define MCUGEN_DETECT_TABLE_INDEX(q) ((int)(q) + 128)
#define MCUGEN_YOLO_FIELDS 5 /* tx, ty, tw, th, objectness before the class logits */
#define MCUGEN_YOLO_V5_FIELDS 5 /* cx, cy, w, h, objectness before the class scores */
#define MCUGEN_YOLO_V8_FIELDS 4 /* cx, cy, w, h before the class scores */

static float mcugen_detect_clamp01(float v)
{
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

/* Where a score goes in a best-first list of `count`: after every equal score, so equal
 * scores keep the order they came in. Returns capacity when it does not make the list. */
static size_t mcugen_detect_rank(const float *first_score, size_t stride, size_t count, float score)
{
    size_t pos = count;
    while (pos > 0 && *(const float *)((const char *)first_score + (pos - 1) * stride) < score) {
        pos--;
    }
    return pos;
}

/* Inserts a box into a best-first list of at most capacity; returns the new count. */
static size_t mcugen_detect_insert_box(mcugen_box_t *boxes, size_t count, size_t capacity, const mcugen_box_t *box)
{
    size_t pos = mcugen_detect_rank(&boxes[0].score, sizeof(mcugen_box_t), count, box->score);
    size_t i;
    if (pos >= capacity) {
        return count;
    }
    if (count == capacity) {
        count--; /* the last box falls off */
    }
    for (i = count; i > pos; i--) {
        boxes[i] = boxes[i - 1];
    }
    boxes[pos] = *box;
    return count + 1;
}

/* ---- FOMO ---- */

int mcugen_detect_fomo(const mcugen_fomo_params_t *params, const int8_t *heat_map,
                       const mcugen_fomo_work_t *work, mcugen_box_t *boxes, size_t max_boxes)
{
    const int height = params->grid_height;
    const int width = params->grid_width;
    const int channels = params->num_classes + 1;
    const float fwidth = (float)width;
    const float fheight = (float)height;
    size_t count = 0;
    int c;
    for (c = 0; c < params->num_classes; c++) {
        const int8_t *scores = heat_map + c + 1; /* this class's score of cell i: scores[i * channels] */
        int cell;
        for (cell = 0; cell < height * width; cell++) {
            work->visited[cell] = 0;
        }
        for (cell = 0; cell < height * width; cell++) {
            int top, bottom, left, right, depth;
            int8_t best;
            mcugen_box_t box;
            if (work->visited[cell] || scores[cell * channels] < params->threshold_q) {
                continue;
            }
            /* Flood the blob: every cell is pushed once, so the stack needs height * width. */
            work->visited[cell] = 1;
            work->stack[0] = (uint16_t)cell;
            depth = 1;
            top = bottom = cell / width;
            left = right = cell % width;
            best = scores[cell * channels];
            while (depth > 0) {
                const int at = work->stack[--depth];
                const int y = at / width;
                const int x = at % width;
                int dy, dx;
                if (y < top) top = y;
                if (y > bottom) bottom = y;
                if (x < left) left = x;
                if (x > right) right = x;
                if (scores[at * channels] > best) best = scores[at * channels];
                for (dy = -1; dy <= 1; dy++) {
                    for (dx = -1; dx <= 1; dx++) {
                        const int ny = y + dy;
                        const int nx = x + dx;
                        int next;
                        if (ny < 0 || ny >= height || nx < 0 || nx >= width) {
                            continue;
                        }
                        next = ny * width + nx;
                        if (!work->visited[next] && scores[next * channels] >= params->threshold_q) {
                            work->visited[next] = 1;
                            work->stack[depth++] = (uint16_t)next;
                        }
                    }
                }
            }
            box.class_id = (uint16_t)c;
            box.score = params->score_of_q[MCUGEN_DETECT_TABLE_INDEX(best)];
            box.x = (float)left / fwidth;
            box.y = (float)top / fheight;
            box.w = (float)(right + 1 - left) / fwidth;
            box.h = (float)(bottom + 1 - top) / fheight;
            count = mcugen_detect_insert_box(boxes, count, max_boxes, &box);
        }
    }
    return (int)count;
}

/* ---- YOLO ---- */

/* Whether two candidates overlap by more than the threshold (intersection over union). */
static int mcugen_detect_iou_exceeds(const mcugen_detect_candidate_t *a, const mcugen_detect_candidate_t *b,
                                     float threshold)
{
    const float ix0 = a->x0 > b->x0 ? a->x0 : b->x0;
    const float iy0 = a->y0 > b->y0 ? a->y0 : b->y0;
    const float ix1 = a->x1 < b->x1 ? a->x1 : b->x1;
    const float iy1 = a->y1 < b->y1 ? a->y1 : b->y1;
    const float iw = ix1 - ix0;
    const float ih = iy1 - iy0;
    float inter, uni;
    if (iw <= 0.0f || ih <= 0.0f) {
        return 0;
    }
    inter = iw * ih;
    uni = a->area + b->area - inter;
    if (uni <= 0.0f) {
        return 0;
    }
    return inter / uni > threshold;
}

/* Inserts a candidate into the best-first buffer of at most capacity; returns the new count. */
static size_t mcugen_detect_keep_candidate(mcugen_detect_candidate_t *candidates, size_t found, size_t capacity,
                                           const mcugen_detect_candidate_t *cand)
{
    const size_t pos = mcugen_detect_rank(&candidates[0].score, sizeof(mcugen_detect_candidate_t), found,
                                          cand->score);
    size_t k;
    if (pos >= capacity) {
        return found;
    }
    if (found == capacity) {
        found--; /* the last candidate falls off */
    }
    for (k = found; k > pos; k--) {
        candidates[k] = candidates[k - 1];
    }
    candidates[pos] = *cand;
    return found + 1;
}

/* Greedy NMS, best first: the kept candidates move to the front of the buffer and
 * become the boxes. Returns how many. */
static int mcugen_detect_nms(mcugen_detect_candidate_t *candidates, size_t found, float iou_threshold,
                             mcugen_box_t *boxes, size_t max_boxes)
{
    size_t kept = 0;
    size_t i;
    for (i = 0; i < found && kept < max_boxes; i++) {
        const mcugen_detect_candidate_t cand = candidates[i];
        size_t k;
        int suppressed = 0;
        for (k = 0; k < kept && !suppressed; k++) {
            suppressed = candidates[k].class_id == cand.class_id &&
                         mcugen_detect_iou_exceeds(&candidates[k], &cand, iou_threshold);
        }
        if (suppressed) {
            continue;
        }
        candidates[kept] = cand;
        boxes[kept].class_id = cand.class_id;
        boxes[kept].score = cand.score;
        boxes[kept].x = cand.x0;
        boxes[kept].y = cand.y0;
        boxes[kept].w = cand.x1 - cand.x0;
        boxes[kept].h = cand.y1 - cand.y0;
        kept++;
    }
    return (int)kept;
}

int mcugen_detect_yolo(const mcugen_yolo_params_t *params, const int8_t *grid,
                       mcugen_detect_candidate_t *candidates, mcugen_box_t *boxes, size_t max_boxes)
{
    const int fields = MCUGEN_YOLO_FIELDS + params->num_classes;
    const float fwidth = (float)params->grid_width;
    const float fheight = (float)params->grid_height;
    const float *sig = params->sigmoid_of_q;
    const float *ex = params->exp_of_q;
    size_t found = 0;
    int r, c, a;
    for (r = 0; r < params->grid_height; r++) {
        for (c = 0; c < params->grid_width; c++) {
            for (a = 0; a < params->num_anchors; a++) {
                const int8_t *v = grid + ((r * params->grid_width + c) * params->num_anchors + a) * fields;
                mcugen_detect_candidate_t cand;
                float cx, cy, hw, hh;
                int j, best = 0;
                if (v[4] < params->threshold_q) {
                    continue;
                }
                for (j = 1; j < params->num_classes; j++) { /* the first of equal largest logits */
                    if (v[MCUGEN_YOLO_FIELDS + j] > v[MCUGEN_YOLO_FIELDS + best]) best = j;
                }
                cand.class_id = (uint16_t)best;
                cand.score = sig[MCUGEN_DETECT_TABLE_INDEX(v[4])];
                cx = ((float)c + sig[MCUGEN_DETECT_TABLE_INDEX(v[0])]) / fwidth;
                cy = ((float)r + sig[MCUGEN_DETECT_TABLE_INDEX(v[1])]) / fheight;
                hw = (params->anchor_half_sizes[2 * a] * ex[MCUGEN_DETECT_TABLE_INDEX(v[2])]) / fwidth;
                hh = (params->anchor_half_sizes[2 * a + 1] * ex[MCUGEN_DETECT_TABLE_INDEX(v[3])]) / fheight;
                cand.x0 = mcugen_detect_clamp01(cx - hw);
                cand.y0 = mcugen_detect_clamp01(cy - hh);
                cand.x1 = mcugen_detect_clamp01(cx + hw);
                cand.y1 = mcugen_detect_clamp01(cy + hh);
                cand.area = (cand.x1 - cand.x0) * (cand.y1 - cand.y0);
                found = mcugen_detect_keep_candidate(candidates, found, params->max_candidates, &cand);
            }
        }
    }
    return mcugen_detect_nms(candidates, found, params->iou_threshold, boxes, max_boxes);
}

int mcugen_detect_yolo_flat(const mcugen_yolo_flat_params_t *params, const int8_t *output,
                            mcugen_detect_candidate_t *candidates, mcugen_box_t *boxes, size_t max_boxes)
{
    const int is_v5 = params->layout == MCUGEN_YOLO_LAYOUT_V5;
    const size_t first_class = is_v5 ? MCUGEN_YOLO_V5_FIELDS : MCUGEN_YOLO_V8_FIELDS;
    /* Where value f of candidate i is: v5 keeps a candidate's values together, v8 each
     * value's N candidates together. */
    const size_t candidate_step = is_v5 ? first_class + params->num_classes : 1;
    const size_t value_step = is_v5 ? 1 : params->num_candidates;
    const float *value = params->value_of_q;
    const float half = 0.5f;
    size_t found = 0;
    uint32_t i;
    for (i = 0; i < params->num_candidates; i++) {
        const int8_t *v = output + (size_t)i * candidate_step;
        mcugen_detect_candidate_t cand;
        float cx, cy, hw, hh;
        int8_t best_q;
        int j, best = 0;
        if (is_v5 && v[4 * value_step] < params->threshold_q) {
            continue; /* objectness first: most candidates stop here */
        }
        best_q = v[first_class * value_step];
        for (j = 1; j < params->num_classes; j++) { /* the first of equal largest class scores */
            const int8_t q = v[(first_class + (size_t)j) * value_step];
            if (q > best_q) {
                best_q = q;
                best = j;
            }
        }
        if (is_v5) {
            /* Ultralytics' conf = objectness * class score */
            cand.score = value[MCUGEN_DETECT_TABLE_INDEX(v[4 * value_step])] * value[MCUGEN_DETECT_TABLE_INDEX(best_q)];
            if (!(cand.score >= params->score_threshold)) {
                continue;
            }
        } else {
            if (best_q < params->threshold_q) {
                continue;
            }
            cand.score = value[MCUGEN_DETECT_TABLE_INDEX(best_q)];
        }
        cand.class_id = (uint16_t)best;
        cx = value[MCUGEN_DETECT_TABLE_INDEX(v[0])];
        cy = value[MCUGEN_DETECT_TABLE_INDEX(v[value_step])];
        hw = value[MCUGEN_DETECT_TABLE_INDEX(v[2 * value_step])] * half;
        hh = value[MCUGEN_DETECT_TABLE_INDEX(v[3 * value_step])] * half;
        cand.x0 = mcugen_detect_clamp01((cx - hw) / params->x_divisor);
        cand.y0 = mcugen_detect_clamp01((cy - hh) / params->y_divisor);
        cand.x1 = mcugen_detect_clamp01((cx + hw) / params->x_divisor);
        cand.y1 = mcugen_detect_clamp01((cy + hh) / params->y_divisor);
        if (cand.x1 < cand.x0) cand.x1 = cand.x0; /* a negative width or height (quantization noise) is 0 */
        if (cand.y1 < cand.y0) cand.y1 = cand.y0;
        cand.area = (cand.x1 - cand.x0) * (cand.y1 - cand.y0);
        found = mcugen_detect_keep_candidate(candidates, found, params->max_candidates, &cand);
    }
    return mcugen_detect_nms(candidates, found, params->iou_threshold, boxes, max_boxes);
}

/* ---- SSD (TFLite_Detection_PostProcess) ---- */

int mcugen_detect_ssd(const mcugen_ssd_params_t *params, const float *rects, const float *classes,
                      const float *scores, const float *count, mcugen_box_t *boxes, size_t max_boxes)
{
    const float n = (float)params->max_detections;
    /* (int) of a float beyond int's range is undefined: clamp first. */
    const int rows = !(count[0] > 0.0f) ? 0 : (count[0] > n ? params->max_detections : (int)count[0]);
    size_t found = 0;
    int i;
    for (i = 0; i < rows; i++) {
        const float *rect = rects + 4 * i;
        float ymin, xmin, ymax, xmax;
        mcugen_box_t box;
        if (!(scores[i] >= params->score_threshold)) {
            continue;
        }
        ymin = mcugen_detect_clamp01(rect[0]);
        xmin = mcugen_detect_clamp01(rect[1]);
        ymax = mcugen_detect_clamp01(rect[2]);
        xmax = mcugen_detect_clamp01(rect[3]);
        if (xmax < xmin) xmax = xmin;
        if (ymax < ymin) ymax = ymin;
        box.class_id = !(classes[i] > 0.0f) ? 0 : (classes[i] > 65535.0f ? 65535 : (uint16_t)classes[i]);
        box.score = scores[i];
        box.x = xmin;
        box.y = ymin;
        box.w = xmax - xmin;
        box.h = ymax - ymin;
        found = mcugen_detect_insert_box(boxes, found, max_boxes, &box);
    }
    return (int)found;
}
