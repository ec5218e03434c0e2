/* progress.h - training progress on stderr and the learning curve kept for
 * the chart. */
#ifndef MLP2_TOOLS_PROGRESS_H
#define MLP2_TOOLS_PROGRESS_H
#include <stddef.h>

/* Set before training: tty, quiet, epochs, log_every, use_val, min_delta,
 * t_start = t_prev = now_seconds(), t_drawn = -1; the rest zero. */
typedef struct progress {
    int tty, quiet;
    size_t epochs, done;
    size_t log_every;  /* records every N epochs (even on a terminal); 0: about once a second */
    int use_val;       /* the monitored loss is the validation loss */
    double min_delta;  /* as the library's: what counts as a new best */
    double t_start, t_prev, t_drawn, t_logged;
    size_t logged, best_epoch; /* the last epoch logged; the best so far (0: none) */
    double best_loss, last_train, last_val, last_dt;
    double *train, *val; /* the losses of epochs 1..recorded */
    size_t recorded, cap;
} progress;

/* The library's epoch callback (user is a progress): records the losses and
 * prints a live line on a terminal; otherwise (or with log_every) records of
 *   epoch=N/TOTAL train_loss=X val_loss=X best_epoch=K epoch_seconds=X eta_seconds=X
 * for the first epoch, then at most about once a second (every log_every
 * epochs when set); a new best since the last record shows in best_epoch. */
int on_epoch(void *user, size_t epoch, double train_loss, double val_loss);

/* After training: the record of the last completed epoch, if it was not
 * written yet (a run that stopped early), or the live line's newline. */
void progress_finish(progress *p);

/* The recorded epoch with the lowest monitored loss (validation if use_val),
 * 0 if none. */
size_t lowest_epoch(const progress *p, int use_val);

#endif
