/* Host stub of ESP-IDF's freertos/FreeRTOS.h: only the tick type and the timeout
 * macros (configTICK_RATE_HZ is ESP-IDF's default, CONFIG_FREERTOS_HZ=100). */
#ifndef ESP32_STUB_FREERTOS_H
#define ESP32_STUB_FREERTOS_H

#include <stdint.h>

typedef uint32_t TickType_t;
#define portMAX_DELAY ((TickType_t)0xffffffffUL)
#define configTICK_RATE_HZ 100u
#define portTICK_PERIOD_MS ((TickType_t)1000u / configTICK_RATE_HZ)
#define pdMS_TO_TICKS(ms) ((TickType_t)(((TickType_t)(ms) * (TickType_t)configTICK_RATE_HZ) / (TickType_t)1000u))

#endif /* ESP32_STUB_FREERTOS_H */
