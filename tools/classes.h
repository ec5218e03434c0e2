/* classes.h - the class labels of a classifier trained by `mlp2`: the
 * distinct labels of the training data, sorted, kept in the model file as
 * the named section "cli.classes".
 *
 * Labels are texts as spelled in the data.  When every label is a number
 * (num.h's grammar), the classes are the distinct values, sorted
 * numerically, each named by its first spelling in the training rows, and a
 * label matches a class by value ("1.0" is the class "1").  Otherwise they
 * are the distinct texts, sorted bytewise, matched exactly.
 *
 * Layout of "cli.classes", version 1 (integers unsigned little-endian):
 *   offset  size  field
 *   0       4     magic "MCLS"
 *   4       4     u32 layout version (1)
 *   8       4     u32 flags: bit 0 the labels are numbers; other bits 0
 *   12      4     u32 n, the number of classes, 2 .. 2^20
 *   16      ...   the label column's name: u32 len (1..65535), len bytes
 *   ...     ...   n records in class order: u32 len (1..65535), len bytes
 * The section ends exactly after the last record.  Readers reject unknown
 * versions and flags, sizes out of range, and names that are not strictly
 * increasing in the class order (so no duplicates). */
#ifndef MLP2_TOOLS_CLASSES_H
#define MLP2_TOOLS_CLASSES_H

#include <stddef.h>

#define CLASSES_SECTION "cli.classes"
#define CLASSES_VERSION 1
#define CLASSES_MAX (1u << 20)

typedef struct classes {
    int numeric;    /* every label is a number */
    size_t n;       /* number of classes */
    char **names;   /* n labels, NUL-terminated, in class order */
    double *values; /* numeric: the n values, increasing; else NULL */
    char *column;   /* the label column's name in the training data (NULL until set) */
} classes;

void classes_free(classes *c);

/* The classes of m labels (label i at labels[i * stride]; none NULL).
 * 0; -1 out of memory; -2 more than CLASSES_MAX classes. */
int classes_build(classes *c, const char *const *labels, size_t m, size_t stride);

/* The class of a label, or -1 when it is none of them.  O(log n). */
long classes_find(const classes *c, const char *label);

/* Encode into a malloc'ed buffer: 0, or -1 (no memory or a name too long). */
int classes_encode(const classes *c, unsigned char **buf, size_t *len);
/* Decode and validate: 0; -1 malformed (reason in why); -2 no memory. */
int classes_decode(const unsigned char *buf, size_t len, classes *c, const char **why);

#endif
