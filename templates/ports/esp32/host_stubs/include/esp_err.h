/* Host stub of ESP-IDF's esp_err.h: the error type and the codes mcugen's ESP32
 * port and the other stubs use (values as in ESP-IDF v5). Not ESP-IDF code. */
#ifndef ESP32_STUB_ESP_ERR_H
#define ESP32_STUB_ESP_ERR_H

typedef int esp_err_t;

#define ESP_OK 0
#define ESP_FAIL (-1)
#define ESP_ERR_NO_MEM 0x101
#define ESP_ERR_INVALID_ARG 0x102
#define ESP_ERR_INVALID_STATE 0x103
#define ESP_ERR_NOT_SUPPORTED 0x106
#define ESP_ERR_TIMEOUT 0x107

#endif /* ESP32_STUB_ESP_ERR_H */
