/* A line of text in a fixed buffer, for results people read on a serial monitor.
 * No stdio: newlib-nano's printf has no floats, and a bounded buffer cannot overflow. */
#ifndef MCUGEN_TEXT_H
#define MCUGEN_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define MCUGEN_TEXT_MAX 160u

typedef struct {
    char text[MCUGEN_TEXT_MAX];
    size_t length; /* always < MCUGEN_TEXT_MAX; text is cut, never overrun */
} mcugen_text_t;

void mcugen_text_init(mcugen_text_t *t);
void mcugen_text_str(mcugen_text_t *t, const char *s);
void mcugen_text_u64(mcugen_text_t *t, uint64_t v);
void mcugen_text_i64(mcugen_text_t *t, int64_t v);
/* v with three decimals, rounded half away from zero (0.9135 -> "0.914"). */
void mcugen_text_fixed3(mcugen_text_t *t, float v);

#endif /* MCUGEN_TEXT_H */
