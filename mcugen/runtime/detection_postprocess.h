#ifndef MCUGEN_DETECTION_POSTPROCESS_H
#define MCUGEN_DETECTION_POSTPROCESS_H

#include "mcugen_common.h"

/* TFLite_Detection_PostProcess, the last op of SSD detectors, as TensorFlow Lite
 * Micro's detection_postprocess.cc computes it, float32 in and out:
 *
 * 1. decode each box encoding (y, x, h, w) against its anchor (ycenter, xcenter,
 *    h, w) into corners (ymin, xmin, ymax, xmax), in double as TFLM does;
 * 2. non-max suppression: boxes at or above the score threshold in decreasing
 *    score (equal scores: lower box index first), each box dropping the later ones
 *    it overlaps by more than the IoU threshold; either over each box's best
 *    class (fast) or class by class, then merged (regular);
 * 3. outputs: boxes [slots][4], classes [slots] and scores [slots] (the class index
 *    without the background column), the number of detections [1]. Slots past the
 *    detections are zero (TFLM leaves them as they were).
 *
 * The working memory is one scratch block of the arena, laid out at compile time
 * (mcugen/codegen/ops/detection_postprocess.py): byte offsets below. */
typedef struct {
    float y;
    float x;
    float h;
    float w;
} mcugen_box_scales_t;

typedef struct {
    int32_t decoded_boxes;  /* float[num_boxes][4]: corners of every box */
    int32_t box_scores;     /* float[num_boxes]: each box's best class (fast) or one class's column (regular) */
    int32_t candidates;     /* int32[num_boxes]: boxes above the score threshold, sorted */
    int32_t sort_buffer;    /* int32[num_boxes]: the merge sort's other half */
    int32_t active;         /* uint8[num_boxes]: candidates not suppressed yet */
    int32_t selected;       /* int32[selected_capacity]: boxes one suppression kept */
    int32_t class_order;    /* int32[num_classes]: fast NMS, one box's classes by score */
    int32_t merged_indices; /* int32[max_detections + selected_capacity]: regular NMS, score-column indices */
    int32_t merged_scores;  /* float[max_detections + selected_capacity]: regular NMS, their scores */
} mcugen_detection_scratch_t;

typedef struct {
    int32_t num_boxes;
    int32_t box_stride;       /* floats from one box encoding to the next (4 or more) */
    int32_t num_classes;      /* without the background class */
    int32_t score_stride;     /* score columns per box: num_classes, plus one with a background class */
    int32_t label_offset;     /* 1 with a background column (column 0), else 0 */
    int32_t max_detections;
    int32_t classes_per_detection; /* fast NMS: min(max_classes_per_detection, num_classes) */
    int32_t detections_per_class;  /* regular NMS */
    int32_t use_regular_nms;
    int32_t output_slots;     /* detections each output holds */
    float score_threshold;
    float iou_threshold;
    mcugen_box_scales_t scale;
    mcugen_detection_scratch_t scratch;
} mcugen_detection_postprocess_params_t;

void mcugen_detection_postprocess_f32(const mcugen_detection_postprocess_params_t *p, const float *box_encodings,
                                      const float *class_scores, const float *anchors, float *out_boxes,
                                      float *out_classes, float *out_scores, float *out_count, uint8_t *scratch);

#endif
