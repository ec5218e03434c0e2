/* settings.c - what `mlp2 train` stores in the model beside the network:
 * the columns ("cli.columns", see columns.h) and the training settings
 * ("cli.settings", lines of key=value) (see train.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "common.h"
#include "train.h"

typedef struct textbuf {
    char *s;
    size_t len, cap;
    int failed;
} textbuf;

static void tb_printf(textbuf *b, const char *f, ...) CLI_PRINTF(2, 3);
static void tb_printf(textbuf *b, const char *f, ...)
{
    if (b->failed)
        return;
    va_list ap;
    for (;;) {
        va_start(ap, f);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, f, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->s && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 64;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
}

int store_sections(mlp2 *net, const columns *cols, const train_opts *o, const mlp2_train_config *cfg,
                   size_t m_train, size_t m_val, const mlp2_train_report *rep)
{
    unsigned char *blob = NULL;
    size_t len = 0;
    if (columns_encode(cols, &blob, &len) != 0) {
        cli_error("cannot store the column names (a name longer than 65535 bytes?) or out of memory");
        return EXIT_DATA;
    }
    mlp2_status st = mlp2_section_set(net, COLUMNS_SECTION, blob, len);
    free(blob);
    textbuf b = {0};
    char line[512];
    tb_printf(&b, "tool=mlp2 %s (libmlp2 %s)\n", MLP2_VERSION_STRING, mlp2_version());
    tb_printf(&b, "data=%s\n", o->data ? one_line(o->data, line, sizeof line) : "embedded:franke");
    tb_printf(&b, "rows_train=%zu\nrows_val=%zu\n", m_train, m_val);
    if (o->val_data)
        tb_printf(&b, "validation=file %s\n", one_line(o->val_data, line, sizeof line));
    else
        tb_printf(&b, "validation=%s\n", m_val ? "split" : "none");
    tb_printf(&b, "val_fraction=%s\n", fmt(o->val_data ? 0 : o->val));
    tb_printf(&b, "standardised=%s\n", o->scale ? "yes" : "no");
    tb_printf(&b, "hidden=%zu\nepochs=%zu\nbatch=%zu\nshuffle=yes\n", o->hidden, cfg->epochs, cfg->batch_size);
    tb_printf(&b, "optim=%s\nlr=%s\n", optim_name(cfg->optim.kind), fmt(cfg->optim.lr));
    if (cfg->optim.kind == MLP2_OPTIM_MOMENTUM)
        tb_printf(&b, "momentum=%s\n", fmt(cfg->optim.momentum));
    if (cfg->optim.kind == MLP2_OPTIM_ADAM)
        tb_printf(&b, "beta1=%s\nbeta2=%s\neps=%s\n", fmt(cfg->optim.beta1), fmt(cfg->optim.beta2),
                  fmt(cfg->optim.eps));
    tb_printf(&b, "weight_decay=%s\nlr_step=%zu\nlr_gamma=%s\n", fmt(cfg->optim.weight_decay), cfg->lr_step,
              fmt(cfg->lr_gamma));
    tb_printf(&b, "patience=%zu\nkeep=%s\nmin_delta=%s\nseed=%llu\n", stop_patience(o),
              keeps_best(o) ? "best" : "last", fmt(cfg->min_delta),
              (unsigned long long)o->seed);
    tb_printf(&b, "epochs_run=%zu\nbest_epoch=%zu\nstop=%s\n", rep->epochs_run, rep->best_epoch,
              mlp2_stop_reason_name(rep->reason));
    tb_printf(&b, "final_train_loss=%s\nfinal_val_loss=%s\n", fmt(rep->final_train_loss), fmt(rep->final_val_loss));
    if (st == MLP2_OK && !b.failed)
        st = mlp2_section_set(net, SETTINGS_SECTION, b.s, b.len);
    free(b.s);
    if (st != MLP2_OK || b.failed) {
        cli_error("cannot store the model's settings: %s", b.failed ? "out of memory" : mlp2_strerror(st));
        return EXIT_TRAIN;
    }
    return EXIT_OK;
}
