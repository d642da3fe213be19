/* See mcugen_host_link.h. */
#define _POSIX_C_SOURCE 200809L

#include "mcugen_host_link.h"

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
#include <unistd.h>

static int use_stdio;
static int listen_fd = -1;
static int conn_fd = -1;
/* Bytes read from the socket or stdin and not yet handed out: one read() per burst, not per byte. */
static uint8_t in_buf[4096];
static size_t in_len;
static size_t in_pos;

static void die(const char *what)
{
    fprintf(stderr, "mcugen host link: %s: %s\n", what, errno ? strerror(errno) : "failed");
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
    if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listen_fd, 1) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        die("listen on 127.0.0.1");
    }
    printf("mcugen host agent listening on 127.0.0.1:%u\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s --port N | --stdio\n", argv0);
    exit(2);
}

void mcugen_host_link_open(int argc, char **argv, int wait_for_client)
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
    signal(SIGPIPE, SIG_IGN); /* a vanished client is a closed UART, not a crash */
    if (!use_stdio) {
        listen_on(port);
        if (wait_for_client) {
            accept_client();
        }
    }
}

/* Refills in_buf, waiting at most timeout_ms (-1: forever). 0 if nothing came in time. */
static size_t fill(int timeout_ms)
{
    for (;;) {
        if (!use_stdio && conn_fd < 0) {
            if (timeout_ms >= 0) {
                struct pollfd p = {listen_fd, POLLIN, 0};
                if (poll(&p, 1, timeout_ms) <= 0) {
                    return 0;
                }
            }
            accept_client();
        }
        int fd = use_stdio ? STDIN_FILENO : conn_fd;
        struct pollfd p = {fd, POLLIN, 0};
        int ready = poll(&p, 1, timeout_ms);
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return 0;
        }
        ssize_t n = read(fd, in_buf, sizeof in_buf);
        if (n > 0) {
            in_len = (size_t)n;
            in_pos = 0;
            return in_len;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (use_stdio) {
            exit(0); /* end of input: the host is done */
        }
        close(conn_fd); /* the client went: wait for the next one */
        conn_fd = -1;
        if (timeout_ms >= 0) {
            return 0;
        }
    }
}

size_t mcugen_host_link_read(uint8_t *buf, size_t length, size_t want, int timeout_ms)
{
    size_t got = 0;
    while (got < length) {
        if (in_pos >= in_len) {
            int wait = (timeout_ms < 0 && got < want) ? -1 : (got > 0 ? 0 : timeout_ms);
            if (fill(wait) == 0) {
                break;
            }
        }
        size_t n = in_len - in_pos;
        if (n > length - got) {
            n = length - got;
        }
        memcpy(buf + got, in_buf + in_pos, n);
        in_pos += n;
        got += n;
    }
    return got;
}

void mcugen_host_link_write(const uint8_t *data, size_t length)
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
