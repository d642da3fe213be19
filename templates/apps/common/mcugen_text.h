/* Text for people and text protocols on the serial link, without stdio: newlib-nano's
 * printf has no floats, and a fixed buffer cannot overflow. Characters collect in the
 * writer's buffer, which goes to mcugen_board_write when full and at mcugen_text_flush,
 * so a line of any length leaves in a few writes rather than one per byte. */
#ifndef MCUGEN_TEXT_H
#define MCUGEN_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define MCUGEN_TEXT_BUFFER 128u

typedef struct {
    char data[MCUGEN_TEXT_BUFFER];
    size_t length; /* characters waiting to be written, <= MCUGEN_TEXT_BUFFER */
} mcugen_text_t;

void mcugen_text_init(mcugen_text_t *t);
void mcugen_text_flush(mcugen_text_t *t); /* writes what is waiting */
void mcugen_text_char(mcugen_text_t *t, char c);
void mcugen_text_str(mcugen_text_t *t, const char *s);
void mcugen_text_u64(mcugen_text_t *t, uint64_t v);
void mcugen_text_i64(mcugen_text_t *t, int64_t v);
void mcugen_text_hex_byte(mcugen_text_t *t, uint8_t byte); /* two lower-case digits, as printf("%02x") */
/* v with exactly three decimals as printf("%.3f") writes it with glibc: rounded to
 * nearest, exact ties to even, "-" for any negative value (-0.000 too), nan, inf. */
void mcugen_text_fixed3(mcugen_text_t *t, float v);

#endif /* MCUGEN_TEXT_H */
