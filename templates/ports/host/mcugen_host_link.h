/* The serial link of programs that run mcugen's firmware on this machine (the host port,
 * board_host.c, and the ESP-IDF stubs' host build): a TCP socket on 127.0.0.1 that
 * pyserial opens as socket://127.0.0.1:PORT, or stdin/stdout. POSIX only.
 *
 *   PROGRAM --port N   listen on 127.0.0.1:N (0: any free port), print
 *                      "mcugen host agent listening on 127.0.0.1:PORT" on stdout
 *   PROGRAM --stdio    the link is stdin/stdout; the program exits at end of input
 *
 * Like a board on a UART, the program keeps its state when the client goes: it waits for
 * the next connection, and what it writes while nobody is connected is dropped.
 */
#ifndef MCUGEN_HOST_LINK_H
#define MCUGEN_HOST_LINK_H

#include <stddef.h>
#include <stdint.h>

/* Parses --port N | --stdio (exit 2 with a usage line otherwise) and listens. With
 * wait_for_client the first client is accepted before returning. */
void mcugen_host_link_open(int argc, char **argv, int wait_for_client);

/* Up to length bytes into buf. timeout_ms < 0: blocks until `want` bytes have come, then
 * takes what else is there; timeout_ms >= 0: waits at most that long for the first byte. */
size_t mcugen_host_link_read(uint8_t *buf, size_t length, size_t want, int timeout_ms);

void mcugen_host_link_write(const uint8_t *data, size_t length);

#endif /* MCUGEN_HOST_LINK_H */
