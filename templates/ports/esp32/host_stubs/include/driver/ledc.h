/* Host stub of ESP-IDF's driver/ledc.h: the timer and channel types that
 * esp32-camera's camera_config_t names (the camera makes XCLK with the LEDC). */
#ifndef ESP32_STUB_DRIVER_LEDC_H
#define ESP32_STUB_DRIVER_LEDC_H

typedef enum { LEDC_TIMER_0 = 0, LEDC_TIMER_1, LEDC_TIMER_2, LEDC_TIMER_3, LEDC_TIMER_MAX } ledc_timer_t;
typedef enum {
    LEDC_CHANNEL_0 = 0,
    LEDC_CHANNEL_1,
    LEDC_CHANNEL_2,
    LEDC_CHANNEL_3,
    LEDC_CHANNEL_4,
    LEDC_CHANNEL_5,
    LEDC_CHANNEL_6,
    LEDC_CHANNEL_7,
    LEDC_CHANNEL_MAX
} ledc_channel_t;

#endif /* ESP32_STUB_DRIVER_LEDC_H */
