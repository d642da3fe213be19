/* mcugen host board port: the benchmark agent and the model run natively on
 * this machine, for fast tests without QEMU or hardware (POSIX only).
 *
 *   mcugen_host_agent --port N   listen on 127.0.0.1:N (0: any free port) and
 *                                print "mcugen host agent listening on
 *                                127.0.0.1:PORT" on stdout; pyserial connects
 *                                with socket://127.0.0.1:PORT
 *   mcugen_host_agent --stdio    the link is stdin/stdout; exits at end of input
 *
 * Like a board on a UART, the agent keeps its state when the client goes: it
 * waits for the next connection without sending BOOT again, and drops what it
 * writes while nobody is connected. BOOT goes to the first client.
 *
 * Counter: nanoseconds of this thread's CPU time (CLOCK_THREAD_CPUTIME_ID),
 * reported as "cycles" of a nominal 1 GHz clock. It is a time, so it varies a
 * little from run to run; it is not an instruction count.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mcugen_agent.h"
#include "mcugen_app.h"
#include "mcugen_board.h"

static int use_stdio;
static int listen_fd = -1;
static int conn_fd = -1;
static uint8_t in_buf[4096];
static size_t in_len;
static size_t in_pos;

static void die(const char *what)
{
    fprintf(stderr, "mcugen host agent: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void accept_client(void)
{
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd >= 0) {
            int one = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            conn_fd = fd;
            return;
        }
        if (errno != EINTR && errno != ECONNABORTED) {
            die("accept");
        }
    }
}

static void listen_on(long port)
{
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof addr;
    int one = 1;
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd < 0) {
        die("socket");
    }
    (void)setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        die("bind 127.0.0.1");
    }
    if (listen(listen_fd, 1) != 0) {
        die("listen");
    }
    if (getsockname(listen_fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        die("getsockname");
    }
    printf("mcugen host agent listening on 127.0.0.1:%u\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);
}

void mcugen_board_init(void)
{
    if (!use_stdio) {
        accept_client();
    }
}

uint8_t mcugen_board_read_byte(void)
{
    while (in_pos >= in_len) {
        ssize_t n;
        if (use_stdio) {
            n = read(STDIN_FILENO, in_buf, sizeof in_buf);
            if (n == 0) {
                exit(0); /* end of input: the host is done */
            }
        } else {
            if (conn_fd < 0) {
                accept_client();
            }
            n = read(conn_fd, in_buf, sizeof in_buf);
            if (n == 0 || (n < 0 && errno != EINTR)) {
                close(conn_fd); /* the client went: wait for the next one */
                conn_fd = -1;
                continue;
            }
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("read");
        }
        in_len = (size_t)n;
        in_pos = 0;
    }
    return in_buf[in_pos++];
}

int mcugen_board_poll_byte(uint8_t *byte)
{
    if (in_pos >= in_len) {
        int fd = use_stdio ? STDIN_FILENO : conn_fd;
        struct pollfd p = {fd, POLLIN, 0};
        if (fd < 0 || poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP))) {
            return 0; /* nothing has arrived (or nobody is connected yet) */
        }
    }
    *byte = mcugen_board_read_byte();
    return 1;
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

void mcugen_board_write(const uint8_t *data, size_t length)
{
    int fd = use_stdio ? STDOUT_FILENO : conn_fd;
    while (length > 0 && fd >= 0) {
        ssize_t n = write(fd, data, length);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (use_stdio) {
                exit(0); /* nobody reads the replies any more */
            }
            return; /* a vanished client: the bytes are lost, as on an unplugged UART */
        }
        data += n;
        length -= (size_t)n;
    }
}

uint64_t mcugen_board_counter(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    }
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s --port N | --stdio\n", argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    long port = -1;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--stdio") == 0) {
            use_stdio = 1;
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            char *end = NULL;
            port = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end != '\0' || port < 0 || port > 65535) {
                usage(argv[0]);
            }
        } else {
            usage(argv[0]);
        }
    }
    if (use_stdio == (port >= 0)) {
        usage(argv[0]);
    }
    signal(SIGPIPE, SIG_IGN);
    if (!use_stdio) {
        listen_on(port);
    }
    mcugen_app_run();
    return 0;
}
