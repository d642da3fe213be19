/* Host stubs of the ESP-IDF v5 and esp32-camera calls that mcugen's ESP32 board
 * layer (templates/ports/esp32/mcugen_board_esp32.c) makes, written from their
 * documented signatures and behaviour, so that the board layer, the agent, the
 * applications and the model run natively on this machine. Not ESP-IDF code, and
 * not an emulator: no register, interrupt, DMA or FreeRTOS task exists here.
 *
 *   program --port N   the UART (or USB Serial/JTAG) link is a TCP socket on
 *                      127.0.0.1:N (0: any free port); prints "mcugen host agent
 *                      listening on 127.0.0.1:PORT" (as mcugen.host_agent expects)
 *                      and waits for the first client before app_main(), as a board
 *                      powered up with its USB-serial adapter already connected
 *   program --stdio    the link is stdin/stdout; exits at end of input
 *
 * A client that goes away is like an unplugged adapter: bytes written meanwhile
 * are lost, and reads wait for the next client. See esp32_stub.h for what tests can
 * read back and the environment variables.
 */
#define _POSIX_C_SOURCE 200809L

#include "esp32_stub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver/gpio.h"
#include "driver/uart.h"
#include "driver/usb_serial_jtag.h"
#include "esp_camera.h"
#include "esp_cpu.h"
#include "esp_err.h"
#include "esp_timer.h"
#include "mcugen_host_link.h"

void app_main(void);

static void stub_die(const char *what)
{
    fprintf(stderr, "esp32 stub: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(2);
}

/* ---- the link: a socket or stdin/stdout (templates/ports/host/mcugen_host_link.c) ---- */

static int link_read(uint8_t *buf, size_t length, size_t want, int timeout_ms)
{
    return (int)mcugen_host_link_read(buf, length, want, timeout_ms);
}

static void link_write(const uint8_t *data, size_t length)
{
    mcugen_host_link_write(data, length);
}

static int ticks_to_ms(uint32_t ticks)
{
    if (ticks == portMAX_DELAY) {
        return -1;
    }
    uint64_t ms = (uint64_t)ticks * 1000u / configTICK_RATE_HZ;
    return ms > 60000u ? 60000 : (int)ms;
}

/* ---- UART (driver/uart.h) ---- */

static int uart_installed_port = -1;
static int uart_rx_buffer = -1;
static int uart_baud = -1;

esp_err_t uart_driver_install(uart_port_t uart_num, int rx_buffer_size, int tx_buffer_size, int queue_size,
                              QueueHandle_t *uart_queue, int intr_alloc_flags)
{
    (void)intr_alloc_flags;
    if (uart_num < 0 || uart_num >= UART_NUM_MAX || uart_installed_port >= 0) {
        return ESP_FAIL; /* a bad port, or the driver is installed already */
    }
    if (rx_buffer_size <= UART_HW_FIFO_LEN(uart_num) ||
        (tx_buffer_size != 0 && tx_buffer_size <= UART_HW_FIFO_LEN(uart_num))) {
        return ESP_FAIL; /* documented: RX > FIFO length; TX 0 or > FIFO length */
    }
    if (queue_size != 0 || uart_queue != NULL) {
        return ESP_ERR_NOT_SUPPORTED; /* the stub has no event queue */
    }
    uart_installed_port = uart_num;
    uart_rx_buffer = rx_buffer_size;
    return ESP_OK;
}

esp_err_t uart_param_config(uart_port_t uart_num, const uart_config_t *uart_config)
{
    if (uart_config == NULL || uart_num < 0 || uart_num >= UART_NUM_MAX || uart_config->baud_rate <= 0) {
        return ESP_ERR_INVALID_ARG;
    }
    if (uart_config->data_bits != UART_DATA_8_BITS || uart_config->parity != UART_PARITY_DISABLE ||
        uart_config->stop_bits != UART_STOP_BITS_1 || uart_config->flow_ctrl != UART_HW_FLOWCTRL_DISABLE) {
        return ESP_ERR_NOT_SUPPORTED; /* the link is 8N1 without flow control */
    }
    uart_baud = uart_config->baud_rate;
    return ESP_OK;
}

/* Documented: blocks until `length` bytes were read or the timeout expired. */
int uart_read_bytes(uart_port_t uart_num, void *buf, uint32_t length, TickType_t ticks_to_wait)
{
    if (uart_num != uart_installed_port || buf == NULL) {
        return -1;
    }
    if (uart_num != UART_NUM_0) {
        return 0; /* only UART0 has the host attached */
    }
    return link_read((uint8_t *)buf, length, length, ticks_to_ms(ticks_to_wait));
}

int uart_write_bytes(uart_port_t uart_num, const void *src, size_t size)
{
    if (uart_num != uart_installed_port || src == NULL) {
        return -1;
    }
    if (uart_num == UART_NUM_0) {
        link_write((const uint8_t *)src, size);
    }
    return (int)size;
}

/* ---- USB Serial/JTAG (driver/usb_serial_jtag.h) ---- */

static int usj_installed;

esp_err_t usb_serial_jtag_driver_install(usb_serial_jtag_driver_config_t *config)
{
    if (config == NULL || config->tx_buffer_size == 0 || config->rx_buffer_size == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    if (usj_installed) {
        return ESP_ERR_INVALID_STATE;
    }
    usj_installed = 1;
    return ESP_OK;
}

/* Returns what has arrived, up to length; waits for the first byte at most ticks. */
int usb_serial_jtag_read_bytes(void *buf, uint32_t length, uint32_t ticks_to_wait)
{
    if (!usj_installed || buf == NULL || length == 0) {
        return 0;
    }
    return link_read((uint8_t *)buf, length, 1, ticks_to_ms(ticks_to_wait));
}

int usb_serial_jtag_write_bytes(const void *src, size_t size, uint32_t ticks_to_wait)
{
    (void)ticks_to_wait;
    if (!usj_installed || src == NULL) {
        return 0;
    }
    link_write((const uint8_t *)src, size);
    return (int)size;
}

/* ---- GPIO (driver/gpio.h) ---- */

static int gpio_levels[GPIO_NUM_MAX];
static int gpio_modes[GPIO_NUM_MAX];
static int gpio_ready;
static unsigned gpio_invalid;

static void gpio_setup(void)
{
    if (!gpio_ready) {
        for (int i = 0; i < GPIO_NUM_MAX; ++i) {
            gpio_levels[i] = -1;
            gpio_modes[i] = -1;
        }
        gpio_ready = 1;
    }
}

esp_err_t gpio_reset_pin(gpio_num_t gpio_num)
{
    gpio_setup();
    if (!GPIO_IS_VALID_GPIO(gpio_num)) {
        ++gpio_invalid;
        return ESP_ERR_INVALID_ARG;
    }
    gpio_modes[gpio_num] = -1; /* GPIO function, input and output disabled, pull-up on */
    return ESP_OK;
}

esp_err_t gpio_set_direction(gpio_num_t gpio_num, gpio_mode_t mode)
{
    gpio_setup();
    if (!GPIO_IS_VALID_GPIO(gpio_num) || ((mode & GPIO_MODE_OUTPUT) && !GPIO_IS_VALID_OUTPUT_GPIO(gpio_num))) {
        ++gpio_invalid;
        return ESP_ERR_INVALID_ARG;
    }
    gpio_modes[gpio_num] = (int)mode;
    return ESP_OK;
}

esp_err_t gpio_set_level(gpio_num_t gpio_num, uint32_t level)
{
    gpio_setup();
    if (!GPIO_IS_VALID_OUTPUT_GPIO(gpio_num)) {
        ++gpio_invalid;
        return ESP_ERR_INVALID_ARG;
    }
    gpio_levels[gpio_num] = level ? 1 : 0;
    return ESP_OK;
}

int esp32_stub_gpio_level(int pin)
{
    gpio_setup();
    return GPIO_IS_VALID_GPIO(pin) ? gpio_levels[pin] : -1;
}

int esp32_stub_gpio_mode(int pin)
{
    gpio_setup();
    return GPIO_IS_VALID_GPIO(pin) ? gpio_modes[pin] : -1;
}

unsigned esp32_stub_gpio_invalid_calls(void)
{
    return gpio_invalid;
}

int esp32_stub_uart_port(void)
{
    return uart_installed_port;
}

int esp32_stub_uart_rx_buffer(void)
{
    return uart_rx_buffer;
}

int esp32_stub_uart_baud(void)
{
    return uart_baud;
}

int esp32_stub_usb_serial_jtag_installed(void)
{
    return usj_installed;
}

/* ---- time: CCOUNT (esp_cpu.h) and esp_timer, one clock ---- */

static uint64_t time_start_ns;
static uint64_t time_virtual_ns;
static uint32_t ccount_start;

static uint64_t host_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t since_boot_ns(void)
{
    return host_ns() - time_start_ns + time_virtual_ns;
}

esp_cpu_cycle_count_t esp_cpu_get_cycle_count(void)
{
    /* ns * MHz / 1000, exact modulo 2^32 (the product stays below 2^64 for 70 years). */
    return (esp_cpu_cycle_count_t)(ccount_start + (uint32_t)(since_boot_ns() * ESP32_STUB_CPU_MHZ / 1000u));
}

int64_t esp_timer_get_time(void)
{
    return (int64_t)(since_boot_ns() / 1000u);
}

void esp32_stub_advance_us(int64_t us)
{
    if (us > 0) {
        time_virtual_ns += (uint64_t)us * 1000u;
    }
}

/* ---- camera (esp_camera.h) ---- */

static const struct {
    uint16_t width;
    uint16_t height;
} stub_resolution[FRAMESIZE_INVALID] = {
    {96, 96},   {160, 120}, {128, 128}, {176, 144},  {240, 176},  {240, 240},  {320, 240},  {320, 320},
    {400, 296}, {480, 320}, {640, 480}, {800, 600},  {1024, 768}, {1280, 720}, {1280, 1024}, {1600, 1200},
};

static camera_config_t cam_config;
static unsigned cam_inits, cam_gets, cam_returns, cam_violations;
static int cam_ready;
static int cam_out; /* the frame buffer is with the application */
static camera_fb_t cam_fb;
static uint8_t *cam_buf;
static size_t cam_buf_len;
static size_t cam_served;

static const char *stub_camera_mode(void)
{
    const char *mode = getenv("MCUGEN_ESP32_STUB_CAMERA");
    return mode ? mode : "";
}

static int bytes_per_pixel(pixformat_t format)
{
    switch (format) {
    case PIXFORMAT_GRAYSCALE:
        return 1;
    case PIXFORMAT_RGB565:
    case PIXFORMAT_YUV422:
        return 2;
    default:
        return 0;
    }
}

esp_err_t esp_camera_init(const camera_config_t *config)
{
    ++cam_inits;
    if (config == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (cam_ready) {
        return ESP_ERR_INVALID_STATE; /* documented: can only be called once */
    }
    cam_config = *config;
    if (strcmp(stub_camera_mode(), "absent") == 0) {
        return ESP_ERR_CAMERA_NOT_DETECTED;
    }
    if ((unsigned)config->frame_size >= (unsigned)FRAMESIZE_INVALID) {
        return ESP_ERR_CAMERA_FAILED_TO_SET_FRAME_SIZE;
    }
    int bpp = bytes_per_pixel(config->pixel_format);
    if (bpp == 0) {
        return ESP_ERR_CAMERA_FAILED_TO_SET_OUT_FORMAT; /* the stub sensor (an OV2640) gives these three */
    }
    if (config->fb_count < 1) {
        return ESP_ERR_INVALID_ARG;
    }
    size_t w = stub_resolution[config->frame_size].width, h = stub_resolution[config->frame_size].height;
    const char *path = getenv("MCUGEN_ESP32_STUB_FRAME");
    if (path != NULL && *path != '\0') {
        FILE *f = fopen(path, "rb");
        long size = -1;
        if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) {
            stub_die("MCUGEN_ESP32_STUB_FRAME");
        }
        cam_buf_len = (size_t)size;
        cam_buf = malloc(cam_buf_len);
        if (cam_buf == NULL || fread(cam_buf, 1, cam_buf_len, f) != cam_buf_len) {
            stub_die("reading MCUGEN_ESP32_STUB_FRAME");
        }
        fclose(f);
    } else {
        cam_buf_len = w * h * (size_t)bpp;
        cam_buf = malloc(cam_buf_len);
        if (cam_buf == NULL) {
            return ESP_ERR_NO_MEM;
        }
    }
    cam_fb.width = w;
    cam_fb.height = h;
    cam_fb.format = config->pixel_format;
    cam_ready = 1;
    return ESP_OK;
}

camera_fb_t *esp_camera_fb_get(void)
{
    if (!cam_ready) {
        return NULL;
    }
    if (cam_out && cam_config.fb_count == 1) {
        ++cam_violations; /* the one buffer is still out: the driver would time out */
        return NULL;
    }
    if (strcmp(stub_camera_mode(), "timeout") == 0) {
        return NULL;
    }
    ++cam_gets;
    if (getenv("MCUGEN_ESP32_STUB_FRAME") == NULL) {
        for (size_t i = 0; i < cam_buf_len; ++i) {
            cam_buf[i] = (uint8_t)(i * 31u + cam_gets * 7u);
        }
    }
    cam_fb.buf = cam_buf;
    cam_fb.len = cam_buf_len;
    cam_fb.timestamp.tv_sec = (long)(since_boot_ns() / 1000000000u);
    cam_fb.timestamp.tv_usec = (long)(since_boot_ns() / 1000u % 1000000u);
    cam_served = cam_buf_len;
    cam_out = 1;
    return &cam_fb;
}

void esp_camera_fb_return(camera_fb_t *fb)
{
    if (fb != &cam_fb || !cam_out) {
        fprintf(stderr, "esp32 stub: esp_camera_fb_return of a frame buffer that is not out\n");
        abort();
    }
    ++cam_returns;
    cam_out = 0;
    fb->buf = NULL; /* the application must not use it any more */
}

const camera_config_t *esp32_stub_camera_config(void)
{
    return cam_inits ? &cam_config : NULL;
}

unsigned esp32_stub_camera_inits(void)
{
    return cam_inits;
}

unsigned esp32_stub_camera_gets(void)
{
    return cam_gets;
}

unsigned esp32_stub_camera_returns(void)
{
    return cam_returns;
}

unsigned esp32_stub_camera_violations(void)
{
    return cam_violations;
}

const uint8_t *esp32_stub_camera_frame(size_t *length)
{
    if (length != NULL) {
        *length = cam_served;
    }
    return cam_served ? cam_buf : NULL;
}

/* ---- startup: what ESP-IDF does before app_main ---- */

int main(int argc, char **argv)
{
    mcugen_host_link_open(argc, argv, 1);
    time_start_ns = host_ns();
    const char *start = getenv("MCUGEN_ESP32_STUB_CCOUNT_START");
    if (start != NULL) {
        ccount_start = (uint32_t)strtoul(start, NULL, 0);
    }
    app_main();
    return 0;
}
