/* columns.h - what `mlp2` stores next to the network: which data columns
 * feed it, their names, and the standardisation, kept in the model file as
 * the named section "cli.columns".
 *
 * Layout of "cli.columns", version 1.  All integers are unsigned
 * little-endian; every double is an IEEE-754 binary64 stored little-endian.
 *
 *   offset  size  field
 *   0       4     magic "MCOL"
 *   4       4     u32 layout version (1)
 *   8       4     u32 flags: bit 0 standardised, bit 1 the training data had
 *                 a header row; other bits 0
 *   12      4     u32 n_in   (equals the network's inputs)
 *   16      4     u32 n_out  (equals the network's outputs)
 *   20      4     u32 n_src  (number of columns in the training data)
 *   24      ...   n_in + n_out column records, inputs first in network
 *                 order, then targets in network order:
 *                   u32  src    0-based column in the training data (< n_src, distinct)
 *                   f64  mean   the network sees (value - mean) / scale
 *                   f64  scale  finite, > 0 (mean 0 and scale 1 when not standardised)
 *                   u32  len    length of the name, 1..65535
 *                   len  bytes  the column name (header text, or "c<N>" without header)
 * The section ends exactly after the last record.  Readers reject unknown
 * versions, unknown flags, and any size or value out of range. */
#ifndef MLP2_TOOLS_COLUMNS_H
#define MLP2_TOOLS_COLUMNS_H

#include <stddef.h>
#include <stdint.h>

#define COLUMNS_SECTION "cli.columns"
#define COLUMNS_VERSION 1
#define COLUMNS_STANDARDISED 1u
#define COLUMNS_HEADER 2u

typedef struct columns {
    uint32_t flags;
    size_t n_in, n_out, n_src;
    size_t *src;   /* n_in + n_out */
    double *mean;  /* n_in + n_out */
    double *scale; /* n_in + n_out */
    char **names;  /* n_in + n_out, NUL-terminated */
} columns;

/* Allocate arrays for n_in + n_out columns (zeroed, scale 1).  0 or -1 (no memory). */
int columns_alloc(columns *c, size_t n_in, size_t n_out);
void columns_free(columns *c);

/* Encode into a malloc'ed buffer.  0, or -1 (no memory, or a name too long). */
int columns_encode(const columns *c, unsigned char **buf, size_t *len);
/* Decode and validate.  0; -1 malformed (with a reason in why); -2 no memory. */
int columns_decode(const unsigned char *buf, size_t len, columns *c, const char **why);

#endif
