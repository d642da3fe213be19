/* The board API (mcugen_board.h) on any Cortex-M: the SoC port brings the serial
 * link, LEDs and camera sensor, the shared layer the counter and the LED state. */
#include "mcugen_board.h"

#include "mcugen_cortexm.h"
#include "mcugen_port.h"

static uint32_t mcugen_led_bits;

void mcugen_board_init(void)
{
    mcugen_soc_init();
    mcugen_counter_init();
    for (unsigned i = 0; i < MCUGEN_BOARD_LED_COUNT; ++i) {
        mcugen_board_led_set(i, 0);
    }
}

uint8_t mcugen_board_read_byte(void)
{
    return mcugen_soc_uart_read_byte();
}

int mcugen_board_poll_byte(uint8_t *byte)
{
    return mcugen_soc_uart_poll_byte(byte);
}

void mcugen_board_write(const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        mcugen_soc_uart_write_byte(data[i]);
    }
}

uint64_t mcugen_board_counter(void)
{
    return mcugen_counter_read();
}

void mcugen_board_led_set(unsigned index, int on)
{
    if (index >= MCUGEN_BOARD_LED_COUNT || index >= 32u) {
        return;
    }
    if (on) {
        mcugen_led_bits |= 1u << index;
    } else {
        mcugen_led_bits &= ~(1u << index);
    }
    mcugen_soc_led_write(index, on);
}

uint32_t mcugen_board_led_state(void)
{
    return mcugen_led_bits;
}

#if MCUGEN_BOARD_HAS_CAMERA && !MCUGEN_BOARD_CAMERA_HOST_FED
int mcugen_board_camera_start(void)
{
    return mcugen_soc_camera_start();
}

int mcugen_board_camera_capture(mcugen_camera_frame_t *frame)
{
    return mcugen_soc_camera_capture(frame);
}
#endif
