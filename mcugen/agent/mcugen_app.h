/* The application's entry: every application (templates/apps/<app>/) defines it,
 * and every platform's entry point (main() on Cortex-M and the host, app_main()
 * on ESP-IDF) calls it. It brings the board up itself and never returns. */
#ifndef MCUGEN_APP_H
#define MCUGEN_APP_H

void mcugen_app_run(void);

#endif /* MCUGEN_APP_H */
