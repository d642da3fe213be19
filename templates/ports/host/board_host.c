/* mcugen host board port: the benchmark agent and the model run natively on
 * this machine, for fast tests without QEMU or hardware (POSIX only).
 *
 *   mcugen_host_agent --port N | --stdio    the link (mcugen_host_link.h)
 *
 * Like a board on a UART, the agent keeps its state when the client goes: it
 * waits for the next connection without sending BOOT again. BOOT goes to the
 * first client.
 *
 * Counter: nanoseconds of this thread's CPU time (CLOCK_THREAD_CPUTIME_ID),
 * reported as "cycles" of a nominal 1 GHz clock. It is a time, so it varies a
 * little from run to run; it is not an instruction count.
 */
#define _POSIX_C_SOURCE 200809L

#include <time.h>

#include "mcugen_agent.h"
#include "mcugen_app.h"
#include "mcugen_board.h"
#include "mcugen_host_link.h"

void mcugen_board_init(void)
{
    /* The link is open and its first client connected (main), so BOOT reaches it. */
}

uint8_t mcugen_board_read_byte(void)
{
    uint8_t byte = 0;
    (void)mcugen_host_link_read(&byte, 1, 1, -1);
    return byte;
}

int mcugen_board_poll_byte(uint8_t *byte)
{
    return mcugen_host_link_read(byte, 1, 0, 0) == 1;
}

void mcugen_board_write(const uint8_t *data, size_t length)
{
    mcugen_host_link_write(data, length);
}

/* LEDs: the host has none, so only their state is kept, for applications to report. */
static uint32_t led_bits;

void mcugen_board_led_set(unsigned index, int on)
{
    if (index < 32u) {
        led_bits = on ? (led_bits | (1u << index)) : (led_bits & ~(1u << index));
    }
}

uint32_t mcugen_board_led_state(void)
{
    return led_bits;
}

uint64_t mcugen_board_counter(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    }
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    mcugen_host_link_open(argc, argv, 1);
    mcugen_app_run();
    return 0;
}
