/* num.h - numbers in text, the same under every locale.
 *
 * Parsing accepts exactly the plain C decimal grammar
 *     [+-]? ( digits [ . digits? ] | . digits ) ( [eE] [+-]? digits )?
 * and nothing else: no hex, no "inf"/"nan", no thousands separators, no
 * decimal comma.  Conversion is strtod's (correctly rounded in glibc), run
 * under a "C" locale object installed for the calling thread only, so
 * neither setlocale() nor LC_NUMERIC can change a result. */
#ifndef MLP2_TOOLS_NUM_H
#define MLP2_TOOLS_NUM_H

#include <stddef.h>

typedef enum num_status {
    NUM_OK = 0,
    NUM_SYNTAX,    /* not a number in the grammar above (also an empty text) */
    NUM_NONFINITE, /* spelled NaN or Inf (any case, optional sign) */
    NUM_OVERFLOW,  /* valid, but its magnitude rounds to infinity (e.g. 1e999) */
    NUM_NOMEM      /* a very long text could not be copied */
} num_status;

/* Parse text[0..len) (not NUL-terminated).  *out is written only on NUM_OK.
 * Values that underflow give the correctly rounded subnormal or zero. */
num_status num_parse(const char *text, size_t len, double *out);

/* The shortest "%.{15,16,17}g" text that reads back as x, with '.' as the
 * decimal point whatever the locale.  buf must hold NUM_BUF bytes. */
#define NUM_BUF 32
const char *num_format(double x, char buf[NUM_BUF]);

/* Parse a whole NUL-terminated option value as a finite double, or as an
 * unsigned integer in [lo, hi].  Return 0 on success, -1 otherwise. */
int num_parse_double(const char *s, double *out);
int num_parse_size(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out);

#endif
