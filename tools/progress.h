/* progress.h - training progress on stderr and the learning curve kept for
 * the chart. */
#ifndef MLP2_TOOLS_PROGRESS_H
#define MLP2_TOOLS_PROGRESS_H
#include <stddef.h>

typedef struct progress {
    int tty, quiet;
    size_t epochs, done;
    double t_start, t_prev, t_drawn;
    double *train, *val; /* the losses of epochs 1..recorded */
    size_t recorded, cap;
} progress;

/* The library's epoch callback (user is a progress): records the losses and
 * prints a live line on a terminal, otherwise one record per epoch. */
int on_epoch(void *user, size_t epoch, double train_loss, double val_loss);

/* The recorded epoch with the lowest monitored loss (validation if use_val),
 * 0 if none. */
size_t lowest_epoch(const progress *p, int use_val);

#endif
