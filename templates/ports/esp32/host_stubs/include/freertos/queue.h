/* Host stub of ESP-IDF's freertos/queue.h: the handle type only. */
#ifndef ESP32_STUB_FREERTOS_QUEUE_H
#define ESP32_STUB_FREERTOS_QUEUE_H

typedef void *QueueHandle_t;

#endif /* ESP32_STUB_FREERTOS_QUEUE_H */
