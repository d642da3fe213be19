/* Host stub of ESP-IDF v5's esp_cpu.h: the current core's cycle counter (CCOUNT on
 * Xtensa), 32 bits, wrapping. The stub derives it from the host's monotonic clock
 * at ESP32_STUB_CPU_MHZ (esp32_stub.h: start value and virtual time). */
#ifndef ESP32_STUB_ESP_CPU_H
#define ESP32_STUB_ESP_CPU_H

#include <stdint.h>

typedef uint32_t esp_cpu_cycle_count_t;

esp_cpu_cycle_count_t esp_cpu_get_cycle_count(void);

#endif /* ESP32_STUB_ESP_CPU_H */
