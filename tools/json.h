/* json.h - writing JSON (RFC 8259) for `mlp2 eval --json` and `mlp2 info
 * --json`: escaped strings and full-precision numbers. */
#ifndef MLP2_TOOLS_JSON_H
#define MLP2_TOOLS_JSON_H
#include <stdio.h>

/* s as a JSON string: quotes, backslash and control bytes escaped; valid
 * UTF-8 copied, any other byte written as U+FFFD. */
void json_string(FILE *f, const char *s);
/* The same for len bytes that may hold NUL. */
void json_string_n(FILE *f, const char *s, size_t len);
/* x with the shortest text that reads back as the same double; null when x
 * is not finite (JSON has no NaN). */
void json_number(FILE *f, double x);

#endif
