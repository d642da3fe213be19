/* Host entry point of simd_check.c. */
#include <stdio.h>
#include <stdlib.h>

int simd_check_main(unsigned long rounds);

void simd_check_print(const char *text)
{
    fputs(text, stdout);
}

int main(int argc, char **argv)
{
    return simd_check_main(argc > 1 ? strtoul(argv[1], NULL, 10) : 200000ul);
}
