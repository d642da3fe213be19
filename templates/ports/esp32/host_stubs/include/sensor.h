/* Host stub of esp32-camera's sensor.h: the pixel formats and frame sizes, named
 * and ordered as in espressif/esp32-camera 2.x (driver/include/sensor.h). */
#ifndef ESP32_STUB_SENSOR_H
#define ESP32_STUB_SENSOR_H

typedef enum {
    PIXFORMAT_RGB565,    /* 2 bytes per pixel */
    PIXFORMAT_YUV422,    /* 2 bytes per pixel */
    PIXFORMAT_YUV420,
    PIXFORMAT_GRAYSCALE, /* 1 byte per pixel */
    PIXFORMAT_JPEG,
    PIXFORMAT_RGB888,
    PIXFORMAT_RAW,
    PIXFORMAT_RGB444,
    PIXFORMAT_RGB555,
    PIXFORMAT_RAW8,
} pixformat_t;

typedef enum {
    FRAMESIZE_96X96,   /* 96x96 */
    FRAMESIZE_QQVGA,   /* 160x120 */
    FRAMESIZE_128X128, /* 128x128 */
    FRAMESIZE_QCIF,    /* 176x144 */
    FRAMESIZE_HQVGA,   /* 240x176 */
    FRAMESIZE_240X240, /* 240x240 */
    FRAMESIZE_QVGA,    /* 320x240 */
    FRAMESIZE_320X320, /* 320x320 */
    FRAMESIZE_CIF,     /* 400x296 */
    FRAMESIZE_HVGA,    /* 480x320 */
    FRAMESIZE_VGA,     /* 640x480 */
    FRAMESIZE_SVGA,    /* 800x600 */
    FRAMESIZE_XGA,     /* 1024x768 */
    FRAMESIZE_HD,      /* 1280x720 */
    FRAMESIZE_SXGA,    /* 1280x1024 */
    FRAMESIZE_UXGA,    /* 1600x1200 */
    FRAMESIZE_INVALID
} framesize_t;

#endif /* ESP32_STUB_SENSOR_H */
