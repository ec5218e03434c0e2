/* progress.c - progress lines and the recorded learning curve (see
 * progress.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "progress.h"

/* Keep epoch's losses for the chart.  The history grows as needed (a huge
 * --epochs costs nothing up front); if memory runs out the chart just ends
 * there, training goes on. */
static void record(progress *p, size_t epoch, double train_loss, double val_loss)
{
    if (epoch != p->recorded + 1)
        return;
    if (p->recorded == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        if (cap > p->epochs)
            cap = p->epochs;
        double *t = cap > p->cap && cap < SIZE_MAX / sizeof *t ? realloc(p->train, cap * sizeof *t) : NULL;
        if (t)
            p->train = t;
        double *v = t ? realloc(p->val, cap * sizeof *v) : NULL;
        if (v)
            p->val = v;
        if (!t || !v)
            return;
        p->cap = cap;
    }
    p->train[p->recorded] = train_loss;
    p->val[p->recorded] = val_loss;
    p->recorded++;
}

static void fmt_duration(double s, char *buf, size_t n)
{
    if (!(s >= 0) || s > 1e8)
        snprintf(buf, n, "?");
    else if (s < 60)
        snprintf(buf, n, "%.0fs", ceil(s));
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static void print_record(progress *p, size_t epoch)
{
    double per_epoch = (p->t_prev - p->t_start) / (double)epoch, eta = per_epoch * (double)(p->epochs - epoch);
    fprintf(stderr, "epoch=%zu/%zu train_loss=%s val_loss=%s best_epoch=%zu epoch_seconds=%s eta_seconds=%s\n",
            epoch, p->epochs, fmt(p->last_train), fmt(p->last_val), p->best_epoch, fmt(p->last_dt), fmt(eta));
    p->logged = epoch;
    p->t_logged = p->t_prev;
}

static void draw_live_line(progress *p, size_t epoch)
{
    double t = p->t_prev, per_epoch = (t - p->t_start) / (double)epoch;
    double eta = per_epoch * (double)(p->epochs - epoch);
    if (t - p->t_drawn < 0.1 && epoch != p->epochs)
        return;
    p->t_drawn = t;
    enum { BAR = 20 };
    char bar[BAR + 1], eta_text[32];
    size_t filled = (size_t)((double)BAR * (double)epoch / (double)p->epochs);
    for (size_t i = 0; i < BAR; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR] = '\0';
    fmt_duration(eta, eta_text, sizeof eta_text);
    fprintf(stderr, "\r\033[Kepoch %zu/%zu [%s] train %s", epoch, p->epochs, bar, fmt(p->last_train));
    if (!isnan(p->last_val))
        fprintf(stderr, "  val %s", fmt(p->last_val));
    fprintf(stderr, "  %s ms/epoch  ETA %s", fmt(per_epoch * 1e3), eta_text);
    fflush(stderr);
}

int on_epoch(void *user, size_t epoch, double train_loss, double val_loss)
{
    progress *p = user;
    double t = now_seconds();
    p->last_dt = t - p->t_prev;
    p->t_prev = t;
    p->done = epoch;
    p->last_train = train_loss;
    p->last_val = val_loss;
    record(p, epoch, train_loss, val_loss);
    double monitored = p->use_val ? val_loss : train_loss;
    if (p->best_epoch == 0 || monitored < p->best_loss - p->min_delta) {
        p->best_epoch = epoch;
        p->best_loss = monitored;
    }
    if (p->quiet)
        return 0;
    if (p->tty && !p->log_every) {
        draw_live_line(p, epoch);
        return 0;
    }
    int due = p->log_every ? epoch % p->log_every == 0 : t - p->t_logged >= 1.0;
    if (epoch == 1 || epoch == p->epochs || due)
        print_record(p, epoch);
    return 0;
}

void progress_finish(progress *p)
{
    if (p->quiet || p->done == 0)
        return;
    if (p->tty && !p->log_every)
        fputc('\n', stderr);
    else if (p->logged != p->done)
        print_record(p, p->done);
}

/* The recorded epoch with the lowest monitored loss (validation if any), 0 if none. */
size_t lowest_epoch(const progress *p, int use_val)
{
    size_t best = 0;
    for (size_t i = 0; i < p->recorded; i++) {
        double v = use_val ? p->val[i] : p->train[i];
        if (isfinite(v) && (best == 0 || v < (use_val ? p->val[best - 1] : p->train[best - 1])))
            best = i + 1;
    }
    return best;
}
