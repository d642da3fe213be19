/* mcugen benchmark agent: runs the generated model on request from the host.
 *
 * Speaks protocol version 2 (docs/protocol.md) over the board's serial link
 * (mcugen_board.h): answers HELLO, SET_INPUT, INVOKE, GET_OUTPUT and PROFILE,
 * and every malformed request with an ERROR. Portable C99, no allocation, no
 * stdio; everything lives in static memory of fixed size.
 */
#ifndef MCUGEN_AGENT_H
#define MCUGEN_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "mcugen_frame.h"

/* Command types (host -> device); a reply is the command's type | 0x80. */
#define MCUGEN_CMD_HELLO 0x01u
#define MCUGEN_CMD_SET_INPUT 0x02u
#define MCUGEN_CMD_INVOKE 0x03u
#define MCUGEN_CMD_GET_OUTPUT 0x04u
#define MCUGEN_CMD_PROFILE 0x05u
/* Application commands (0x10..0x3F): served by the application's handler, see
 * mcugen_agent_set_handler and docs/protocol.md, "Application commands". */
#define MCUGEN_CMD_FRAME 0x10u      /* camera frame bytes from the host (host-fed camera) */
#define MCUGEN_CMD_GET_RESULT 0x11u /* the last classification result again */
#define MCUGEN_CMD_CAPTURE 0x12u    /* take a camera frame and describe it */
#define MCUGEN_CMD_GET_FRAME 0x13u  /* bytes of the captured frame */
#define MCUGEN_REPLY_BIT 0x80u
/* Frames only the device sends, as they appear on the wire. */
#define MCUGEN_FRAME_BOOT 0xFEu  /* 0x7E | 0x80 */
#define MCUGEN_FRAME_ERROR 0xFFu /* 0x7F | 0x80 */
#define MCUGEN_FRAME_RESULT 0xFDu /* 0x7D | 0x80: an application's result, sent unasked */

#define MCUGEN_PROTOCOL_VERSION 2u
#define MCUGEN_PROFILE_MAX_PER_REPLY 120u

/* ERROR codes. */
#define MCUGEN_ERR_BAD_CRC 1u
#define MCUGEN_ERR_BAD_LENGTH 2u
#define MCUGEN_ERR_UNKNOWN_COMMAND 3u
#define MCUGEN_ERR_BAD_INDEX 4u
#define MCUGEN_ERR_OUT_OF_RANGE 5u
#define MCUGEN_ERR_TOO_LARGE 6u
#define MCUGEN_ERR_NOT_READY 7u
#define MCUGEN_ERR_DEVICE 8u /* the board failed the request (camera error): the message says how */

/* Initialises the board, sends BOOT, then serves requests forever. */
void mcugen_agent_run(void);

/* The two halves of mcugen_agent_run, for test drivers that own the loop:
 * start resets the agent's state and sends BOOT (it does not call
 * mcugen_board_init); feed hands it one received byte. */
void mcugen_agent_start(void);
void mcugen_agent_feed(uint8_t byte);

/* Applications add commands: the handler sees every CRC-good frame the agent
 * does not serve itself (types other than HELLO..PROFILE) and returns 1 if it
 * answered it (with mcugen_agent_reply or mcugen_agent_error), 0 to let the
 * agent answer UNKNOWN_COMMAND. */
typedef int (*mcugen_agent_handler_fn)(const mcugen_frame_t *frame);
void mcugen_agent_set_handler(mcugen_agent_handler_fn handler);

/* Replies for handlers: exactly one per request (type is the command's type). */
void mcugen_agent_reply(uint8_t command, uint8_t seq, const uint8_t *payload, size_t length);
void mcugen_agent_error(uint8_t seq, uint8_t code, const char *message);

/* A device frame nobody asked for (MCUGEN_FRAME_RESULT), seq 0. */
void mcugen_agent_send_event(uint8_t type, const uint8_t *payload, size_t length);

/* Feeds every byte that has already arrived (mcugen_board_poll_byte) and returns
 * how many: for applications whose loop does other work between requests. */
unsigned mcugen_agent_poll(void);

/* Per-layer profiling hooks the model calls when built with -DMCUGEN_PROFILE
 * (mcugen_common.h): counter deltas of the last INVOKE, one per layer. */
void mcugen_profile_layer_begin(int index);
void mcugen_profile_layer_end(int index);

#endif /* MCUGEN_AGENT_H */
