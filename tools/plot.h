/* plot.h - the learning-curve chart written by `mlp2 train --plot FILE`. */
#ifndef MLP2_TOOLS_PLOT_H
#define MLP2_TOOLS_PLOT_H

#include <stddef.h>
#include <stdio.h>

/* Write a standalone SVG chart of train[i] and val[i] (epoch i + 1) for
 * i < n, on a log-scale y axis, with axes, ticks, labels, grid and a legend.
 * val may be NULL (or all NaN): no validation line.  Values that are not
 * finite and positive leave a gap in their line.  best_epoch > 0 draws a
 * dashed marker there.  Numbers are written with '.' whatever the locale.
 * Returns 0, or -1 when writing to f failed. */
int plot_svg(FILE *f, const double *train, const double *val, size_t n, size_t best_epoch, const char *subtitle);

#endif
