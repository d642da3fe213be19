/* The bench application: the benchmark agent and nothing else (docs/protocol.md). */
#include "mcugen_agent.h"
#include "mcugen_app.h"

void mcugen_app_run(void)
{
    /* The agent brings the board up (mcugen_board_init) before sending BOOT. */
    mcugen_agent_run();
}
