/* mcugen runtime: detection heads, a detector's raw outputs -> boxes, best score first.
 *
 * The exact C twin of mcugen/detection.py: the same float32 operations in the same
 * order, every sigmoid/exp a table mcugen computed at generate time, thresholds in the
 * int8 domain. Equal scores keep the order the candidates were made in (FOMO: class,
 * then cell in row-major order; YOLO grid: cell, then anchor; YOLO v5/v8: candidate
 * index). No allocation: the caller owns every buffer.
 */
#ifndef MCUGEN_DETECT_H
#define MCUGEN_DETECT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MCUGEN_BOX_DEFINED
#define MCUGEN_BOX_DEFINED
/* One detection. x, y: top-left corner; w, h: size; all as fractions (0..1) of the
 * model's input image. class_id indexes the model's classes, background excluded. */
typedef struct {
    uint16_t class_id;
    float score;
    float x, y, w, h;
} mcugen_box_t;
#endif

/* Scores and positions of the int8 value q are table[q + 128]. */
#define MCUGEN_DETECT_TABLE_SIZE 256

/* FOMO: a [1,H,W,1+C] int8 heat map (channel 0 background). Per class, 8-connected blobs
 * of cells at or above the threshold; one box per blob (its cells' bounding rectangle),
 * scored by its best cell. */
typedef struct {
    uint16_t grid_height;
    uint16_t grid_width;
    uint16_t num_classes;       /* channels after the background one */
    int16_t threshold_q;        /* a cell is on when its int8 class score >= this (128: never) */
    const float *score_of_q;    /* MCUGEN_DETECT_TABLE_SIZE entries: the dequantized score */
} mcugen_fomo_params_t;

/* FOMO's working memory: grid_height * grid_width entries each. */
typedef struct {
    uint8_t *visited;
    uint16_t *stack;
} mcugen_fomo_work_t;

/* YOLOv2-style grid [1,S,S,A*(5+C)]: per anchor tx, ty, tw, th, objectness, C class logits. */
typedef struct {
    uint16_t grid_height;
    uint16_t grid_width;
    uint16_t num_anchors;
    uint16_t num_classes;
    int16_t threshold_q;            /* objectness int8 >= this is a candidate (128: never) */
    const float *sigmoid_of_q;      /* MCUGEN_DETECT_TABLE_SIZE entries */
    const float *exp_of_q;          /* MCUGEN_DETECT_TABLE_SIZE entries, finite */
    const float *anchor_half_sizes; /* per anchor: half width, half height, in grid cells */
    float iou_threshold;            /* a box overlapping a better one of its class by more is dropped */
    uint16_t max_candidates;        /* the best candidates kept for NMS (the candidates buffer's size) */
} mcugen_yolo_params_t;

/* Ultralytics' flat exports, boxes already decoded (sigmoid applied). */
typedef enum {
    MCUGEN_YOLO_LAYOUT_V5 = 5, /* YOLOv5 [1,N,5+C]: per candidate cx, cy, w, h, objectness, C class scores */
    MCUGEN_YOLO_LAYOUT_V8 = 8  /* YOLOv8/YOLO11 [1,4+C,N]: per value, all N candidates' (cx, cy, w, h, C scores) */
} mcugen_yolo_layout_t;

/* A flat YOLO output. v5: a candidate needs objectness >= threshold_q, then objectness *
 * best class score >= score_threshold (Ultralytics' non_max_suppression); v8: the best
 * class score >= threshold_q. Boxes are (cx, cy, w, h) divided by the divisors. */
typedef struct {
    mcugen_yolo_layout_t layout;
    uint32_t num_candidates;        /* N */
    uint16_t num_classes;
    int16_t threshold_q;            /* v5: objectness, v8: best class score; int8 >= this (128: never) */
    float score_threshold;          /* v5: objectness * best class score must reach this too */
    const float *value_of_q;        /* MCUGEN_DETECT_TABLE_SIZE entries: (q - zero point) * scale */
    float x_divisor;                /* 1 for boxes in fractions of the image, else its width in pixels */
    float y_divisor;                /* 1, or the image's height in pixels */
    float iou_threshold;            /* a box overlapping a better one of its class by more is dropped */
    uint16_t max_candidates;        /* the best candidates kept for NMS (the candidates buffer's size) */
} mcugen_yolo_flat_params_t;

/* A YOLO candidate before NMS: its corners (clamped to the image) and area. */
typedef struct {
    float x0, y0, x1, y1;
    float area;
    float score;
    uint16_t class_id;
} mcugen_detect_candidate_t;

/* TFLite_Detection_PostProcess's float32 outputs: boxes [N,4] (ymin, xmin, ymax, xmax),
 * classes [N], scores [N], count [1]. */
typedef struct {
    uint16_t max_detections;    /* N */
    float score_threshold;      /* a detection scoring at least this is a box */
} mcugen_ssd_params_t;

/* Each writes at most max_boxes boxes, best first, and returns how many. */
int mcugen_detect_fomo(const mcugen_fomo_params_t *params, const int8_t *heat_map,
                       const mcugen_fomo_work_t *work, mcugen_box_t *boxes, size_t max_boxes);
int mcugen_detect_yolo(const mcugen_yolo_params_t *params, const int8_t *grid,
                       mcugen_detect_candidate_t *candidates, mcugen_box_t *boxes, size_t max_boxes);
int mcugen_detect_yolo_flat(const mcugen_yolo_flat_params_t *params, const int8_t *output,
                            mcugen_detect_candidate_t *candidates, mcugen_box_t *boxes, size_t max_boxes);
int mcugen_detect_ssd(const mcugen_ssd_params_t *params, const float *rects, const float *classes,
                      const float *scores, const float *count, mcugen_box_t *boxes, size_t max_boxes);

#ifdef __cplusplus
}
#endif

#endif /* MCUGEN_DETECT_H */
