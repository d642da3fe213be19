/* Host stub of ESP-IDF's esp_timer.h: microseconds since boot, 64 bits. */
#ifndef ESP32_STUB_ESP_TIMER_H
#define ESP32_STUB_ESP_TIMER_H

#include <stdint.h>

int64_t esp_timer_get_time(void);

#endif /* ESP32_STUB_ESP_TIMER_H */
