/* train.c - `mlp2 train`: train a network on CSV data and save it with its
 * columns and settings. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mlp2.h>

#include "classreport.h"
#include "cli.h"
#include "kinds.h"
#include "commands.h"
#include "common.h"
#include "interrupt.h"
#include "model.h"
#include "outfile.h"
#include "plot.h"
#include "report.h"
#include "train.h"

static const char train_help[] =
    "Usage: mlp2 train [DATA.csv] -o MODEL [OPTIONS]\n"
    "Train a network on DATA.csv (by default the last column is the target and\n"
    "all the others are inputs) and save it to MODEL.  Without DATA it trains on\n"
    "the embedded default: Franke's function f(x, y) on the unit square, 400\n"
    "points drawn by a seeded generator (columns x, y -> f), with --hidden 3.\n"
    "\n"
    "Data:\n"
    "  -t, --target COLS      target columns: names or 1-based indices, separated\n"
    "                         by commas; may be repeated (default: the last column)\n"
    "      --val FRACTION     hold out this fraction of the rows (chosen with the\n"
    "                         seed) for validation, in [0, 1) (default 0.2; 0: none)\n"
    "      --val-data FILE    validate on FILE instead (same columns)\n"
    "      --no-scale         do not standardise inputs and targets\n";
static const char train_help_tail[] =
    "Network and training:\n"
    "      --hidden N         hidden units (default 3)\n"
    "      --hidden-act F     the hidden units: sigmoid, tanh or relu (default sigmoid)\n"
    "      --classify         the target column holds class labels (numbers or text;\n"
    "                         a text column implies it): a softmax over the classes\n"
    "                         of the training data, cross-entropy loss\n"
    "      --head H           the output head: linear (regression, the default),\n"
    "                         softmax (as --classify) or sigmoid (each target a 0/1\n"
    "                         label or a probability: multi-label)\n"
    "      --epochs N         passes over the data (default 500)\n"
    "      --batch N          rows per step (default: 32, or all rows if fewer)\n"
    "      --optim NAME       sgd, momentum or adam (default adam)\n"
    "      --lr X             learning rate (default 0.01; 0.1 for sgd)\n"
    "      --momentum X       momentum for --optim momentum (default 0.9)\n"
    "      --weight-decay X   L2 penalty added to the gradient (default 0)\n"
    "      --lr-step N        multiply the learning rate by --lr-gamma every N epochs\n"
    "      --lr-gamma X       (default 0.5 when --lr-step is given)\n"
    "      --patience N       stop after N epochs without improvement of the\n"
    "                         monitored loss: the validation loss, or the train\n"
    "                         loss without validation data; 0: never stop early\n"
    "                         (default: 50 with validation data, none without)\n"
    "      --last-epoch       keep the last epoch's parameters and run all the\n"
    "                         epochs (default with validation data or --patience:\n"
    "                         keep the epoch with the lowest monitored loss)\n"
    "      --min-delta X      smallest change that counts as improvement (default 0)\n"
    "      --seed N           seed of the initial weights, shuffling and the\n"
    "                         validation split (default 42)\n"
    "      --threads N        split every batch among N threads (the library's\n"
    "                         deterministic pool: the same bits for every N >= 1;\n"
    "                         default: one thread, OpenBLAS as configured)\n"
    "Output:\n"
    "  -o, --output MODEL     the model file (required); written atomically, only\n"
    "                         after successful training\n"
    "      --plot FILE.svg    write the learning curve as an SVG chart (atomically,\n"
    "                         only when the model is written)\n"
    "      --save-on-interrupt  on Ctrl-C, save the model reached so far\n"
    "  -q, --quiet            no progress output\n"
    "      --log-every N      a progress record every N epochs, also on a terminal\n"
    "                         (default: a live line on a terminal, otherwise a\n"
    "                         record about once a second)\n"
    "  -h, --help             this help\n"
    "\n"
    "Inputs and targets are standardised with the training rows' mean and standard\n"
    "deviation; the scaling is stored in the model (section \"cli.columns\"), so\n"
    "eval and predict take and give values in the data's own units.  The loss shown\n"
    "during training is the library's: half the sum over the targets of each\n"
    "target's mean squared error, in standardised units (1/(2m) ||P - Y||^2 for m\n"
    "rows).\n"
    "\n"
    "Progress goes to stderr: a live line on a terminal, otherwise records\n"
    "  epoch=N/TOTAL train_loss=X val_loss=X best_epoch=K epoch_seconds=X eta_seconds=X\n"
    "for the first and the last epoch and about once a second in between (a log of\n"
    "bounded size); best_epoch is the best so far, so every new best is reported.\n"
    "The summary (the epoch kept, metrics on train and validation data, the model's\n"
    "path) goes to stdout.  Ctrl-C stops after the current batch and saves nothing\n"
    "unless --save-on-interrupt is given; a failed run never touches an existing\n"
    "MODEL or --plot file.\n"
    "\n";

enum {
    O_HELP = 1, O_OUTPUT, O_TARGET, O_VAL, O_VAL_DATA, O_NO_SCALE, O_HIDDEN,
    O_EPOCHS, O_BATCH, O_OPTIM, O_LR, O_MOMENTUM, O_WD, O_LR_STEP, O_LR_GAMMA, O_PATIENCE, O_MIN_DELTA, O_SEED,
    O_THREADS, O_PLOT, O_SAVE_INT, O_QUIET, O_LAST_EPOCH, O_LOG_EVERY, O_CLASSIFY, O_HIDDEN_ACT, O_HEAD
};

static int train_option(void *ctx, int id, const char *v)
{
    train_opts *o = ctx;
    const char *c = "train";
    size_t z = 0;
    switch (id) {
    case O_HELP: return print_help3(train_help, data_options_help, train_help_tail) == EXIT_OK ? -1 : EXIT_IO;
    case O_OUTPUT: o->output = v; return 0;
    case O_TARGET: o->targets[o->n_targets++] = (char *)(uintptr_t)v; return 0;
    case O_VAL:
        o->val_given = 1;
        if (parse_double_opt(c, "val", v, 0, 1, 0, &o->val))
            return EXIT_USAGE;
        return o->val >= 1 ? cli_usage_error(c, "--val must be below 1 (a fraction of the rows)") : 0;
    case O_VAL_DATA: o->val_data = v; return 0;
    case O_NO_SCALE: o->scale = 0; return 0;
    case O_HIDDEN: return parse_size_opt(c, "hidden", v, 1, 1000000, &o->hidden);
    case O_EPOCHS: return parse_size_opt(c, "epochs", v, 1, 100000000, &o->epochs);
    case O_BATCH: o->batch_given = 1; return parse_size_opt(c, "batch", v, 1, 1u << 30, &o->batch);
    case O_OPTIM:
        if (strcmp(v, "sgd") == 0)
            o->optim = MLP2_OPTIM_SGD;
        else if (strcmp(v, "momentum") == 0)
            o->optim = MLP2_OPTIM_MOMENTUM;
        else if (strcmp(v, "adam") == 0)
            o->optim = MLP2_OPTIM_ADAM;
        else
            return cli_usage_error(c, "unknown optimizer '%s' (sgd, momentum or adam)", v);
        return 0;
    case O_LR: o->lr_given = 1; return parse_double_opt(c, "lr", v, 0, 1e6, 1, &o->lr);
    case O_MOMENTUM: o->momentum_given = 1; return parse_double_opt(c, "momentum", v, 0, 0.999999, 0, &o->momentum);
    case O_WD: return parse_double_opt(c, "weight-decay", v, 0, 1e6, 0, &o->weight_decay);
    case O_LR_STEP: return parse_size_opt(c, "lr-step", v, 1, 100000000, &o->lr_step);
    case O_LR_GAMMA: o->lr_gamma_given = 1; return parse_double_opt(c, "lr-gamma", v, 0, 1, 1, &o->lr_gamma);
    case O_PATIENCE: o->patience_given = 1; return parse_size_opt(c, "patience", v, 0, 100000000, &o->patience);
    case O_MIN_DELTA: o->min_delta_given = 1; return parse_double_opt(c, "min-delta", v, 0, 1e300, 0, &o->min_delta);
    case O_LAST_EPOCH: o->last_epoch = 1; return 0;
    case O_LOG_EVERY: return parse_size_opt(c, "log-every", v, 1, 100000000, &o->log_every);
    case O_CLASSIFY: o->classify = 1; return 0;
    case O_HIDDEN_ACT:
        return hidden_parse(v, &o->hidden_act) ? cli_usage_error(c, "unknown --hidden-act '%s' (sigmoid, tanh or"
                                                                    " relu)", v)
                                               : 0;
    case O_HEAD:
        o->head_given = 1;
        return head_parse(v, &o->head) ? cli_usage_error(c, "unknown --head '%s' (linear, softmax or sigmoid)", v)
                                       : 0;
    case O_SEED:
        if (parse_size_opt(c, "seed", v, 0, SIZE_MAX, &z))
            return EXIT_USAGE;
        o->seed = z;
        return 0;
    case O_THREADS: return parse_size_opt(c, "threads", v, 1, MLP2_MAX_THREADS, &o->threads);
    case O_PLOT: o->plot = v; return 0;
    case O_SAVE_INT: o->save_on_interrupt = 1; return 0;
    case O_QUIET: o->quiet = 1; return 0;
    default: return data_option(c, &o->dopt, id, v);
    }
}

static int train_arg(void *ctx, const char *a)
{
    train_opts *o = ctx;
    if (o->data)
        return cli_usage_error("train", "more than one data file ('%s' and '%s')", o->data, a);
    o->data = a;
    return 0;
}

typedef struct plot_ctx {
    const progress *p;
    size_t best_epoch;
    const char *subtitle;
} plot_ctx;

static int write_plot(FILE *f, void *ctx)
{
    const plot_ctx *c = ctx;
    return plot_svg(f, c->p->train, c->p->val, c->p->recorded, c->best_epoch, c->subtitle);
}

void train_state_free(train_state *s)
{
    dataset_free(&s->d);
    dataset_free(&s->dv);
    columns_free(&s->cols);
    free(s->X);
    free(s->Y);
    free(s->Xv);
    free(s->Yv);
    free(s->P);
    free(s->perm);
    free(s->prog.train);
    free(s->prog.val);
    mlp2_free(s->net);
    classes_free(&s->cls);
    free(s->row_class);
}

/* An option that would change nothing with the others chosen is an error. */
static int check_no_effect(const train_opts *o)
{
    const char *c = "train";
    if (o->momentum_given && o->optim != MLP2_OPTIM_MOMENTUM)
        return cli_usage_error(c, "--momentum has no effect with --optim %s (only with --optim momentum)",
                               optim_name(o->optim));
    if (o->lr_gamma_given && !o->lr_step)
        return cli_usage_error(c, "--lr-gamma has no effect without --lr-step N");
    if (o->last_epoch && o->patience_given)
        return cli_usage_error(c, "--patience has no effect with --last-epoch, which runs all the epochs and keeps"
                                  " the last");
    if (o->last_epoch && !has_validation(o))
        return cli_usage_error(c, "--last-epoch has no effect without validation data (--val 0): the last epoch"
                                  " is kept anyway");
    if (o->log_every && o->quiet)
        return cli_usage_error(c, "--log-every has no effect with --quiet");
    if (o->classify && o->head_given && o->head != MLP2_HEAD_SOFTMAX)
        return cli_usage_error(c, "--classify trains a softmax head: --head %s cannot be used with it",
                               head_name(o->head));
    if (o->min_delta_given && !keeps_best(o))
        return cli_usage_error(c, "--min-delta has no effect when no epoch is compared (%s)",
                               o->last_epoch ? "--last-epoch" : "--val 0 without --patience");
    return EXIT_OK;
}

/* Checks that need no data. */
static int check_args(const train_opts *o)
{
    int rc;
    if (!o->output)
        return cli_usage_error("train", "missing -o MODEL (where to save the trained model)");
    if (o->val_data && o->val_given)
        return cli_usage_error("train", "--val and --val-data cannot be used together");
    if (!o->data && o->n_targets)
        return cli_usage_error("train", "--target needs a DATA file (the embedded data has one target, f)");
    if (!o->data && (o->classify || o->head_given))
        return cli_usage_error("train", "--classify and --head need a DATA file (the embedded data is a regression)");
    if (o->val_data && (o->classify || (o->head_given && o->head == MLP2_HEAD_SOFTMAX)))
        return cli_usage_error("train", "--val-data is not supported for classifiers yet: use --val FRACTION");
    if (!o->data && (o->dopt.header_given || o->dopt.delim || o->dopt.missing || o->dopt.ignore.n))
        return cli_usage_error("train", "--header, --no-header, --delimiter, --missing and --ignore need a DATA"
                                        " file");
    if ((rc = check_no_effect(o)))
        return rc;
    const io_file files[] = {{"DATA", o->data, 0}, {"--val-data", o->val_data, 0}, {"-o", o->output, 1},
                             {"--plot", o->plot, 1}};
    if ((rc = check_distinct("train", files, sizeof files / sizeof files[0])))
        return rc;
    if ((rc = check_output_dir(o->output)))
        return rc;
    if (o->plot && (rc = check_output_dir(o->plot)))
        return rc;
    return EXIT_OK;
}

/* The library's training configuration from the options. */
static mlp2_train_config make_config(const train_opts *o, train_state *s)
{
    mlp2_train_config cfg = mlp2_train_defaults_for(o->optim);
    cfg.epochs = o->epochs;
    cfg.batch_size = s->batch;
    cfg.shuffle = 1;
    cfg.seed = o->seed;
    cfg.optim.lr = o->lr_given ? o->lr : o->optim == MLP2_OPTIM_SGD ? 0.1 : 0.01;
    cfg.optim.momentum = o->momentum;
    cfg.optim.weight_decay = o->weight_decay;
    cfg.lr_step = o->lr_step;
    cfg.lr_gamma = o->lr_step ? o->lr_gamma : 1.0;
    /* The library keeps the best epoch exactly when patience > 0: keeping
     * it without stopping early is a patience that cannot run out (an epoch
     * count is at most 10^8). */
    cfg.patience = !keeps_best(o) ? 0 : stop_patience(o) ? stop_patience(o) : SIZE_MAX;
    cfg.min_delta = o->min_delta;
    cfg.threads = o->threads; /* 0 (not given): the plain single-thread path */
    cfg.on_epoch = on_epoch;
    cfg.user = &s->prog;
    cfg.cancel = &interrupted;
    return cfg;
}

/* Create the network and train it, with progress and Ctrl-C.  EXIT_OK when
 * there is a model to save (also after Ctrl-C with --save-on-interrupt). */
static int fit(const train_opts *o, train_state *s, const train_backend *b, mlp2_train_config *cfg,
               mlp2_train_report *rep, double *elapsed)
{
    const size_t n_in = s->d.n_in, n_out = s->d.n_out;
    const mlp2_spec spec = {n_in, o->hidden, n_out, o->hidden_act,
                            s->classify ? MLP2_HEAD_SOFTMAX : o->head_given ? o->head : MLP2_HEAD_LINEAR};
    mlp2_status st = mlp2_create_spec(&s->net, &spec, o->seed);
    int rc = st == MLP2_OK ? EXIT_OK : st == MLP2_ENOMEM ? EXIT_TRAIN : EXIT_USAGE;
    if (st != MLP2_OK)
        cli_error("cannot create a %zu-%zu-%zu network with a %s head: %s", n_in, o->hidden, n_out,
                  head_name(spec.head), mlp2_strerror(st));
    if (rc == EXIT_OK && s->classify)
        rc = classes_store(s->net, &s->cls);
    if ((rc = b->agree(rc)))
        return rc;
    *cfg = make_config(o, s);
    progress *p = &s->prog;
    p->tty = isatty(STDERR_FILENO);
    p->quiet = o->quiet || !b->root;
    p->epochs = o->epochs;
    p->log_every = o->log_every;
    p->use_val = s->m_val > 0;
    p->min_delta = cfg->min_delta;
    if (!o->quiet)
        fprintf(stderr, "mlp2: training a %zu-%zu-%zu network on %s: %zu training rows, %zu validation rows, "
                        "%s lr %s, batch %zu, %zu epochs\n",
                n_in, o->hidden, n_out, s->d.name, s->m_train, s->m_val, optim_name(o->optim),
                fmt(cfg->optim.lr), s->batch, o->epochs);

    struct sigaction old_sigint;
    catch_sigint(&old_sigint);
    p->t_start = p->t_prev = now_seconds();
    p->t_drawn = -1;
    st = b->train(s, cfg, rep);
    *elapsed = now_seconds() - p->t_start;
    sigaction(SIGINT, &old_sigint, NULL);
    progress_finish(p);

    if (st != MLP2_OK) {
        if (st == MLP2_ENONFINITE)
            cli_error("training failed after %zu epochs: the loss or an update became non-finite (try a smaller "
                      "--lr); %s was not written",
                      p->done, o->output);
        else
            cli_error("training failed: %s; %s was not written", mlp2_strerror(st), o->output);
        return st == MLP2_EINVAL ? EXIT_USAGE : st == MLP2_ERANGE ? EXIT_DATA : EXIT_TRAIN;
    }
    if (rep->reason == MLP2_STOP_CANCELLED && !o->save_on_interrupt) {
        cli_error("interrupted during epoch %zu: nothing saved (--save-on-interrupt keeps the model reached)",
                  rep->epochs_run + 1);
        return EXIT_INTERRUPT;
    }
    return EXIT_OK;
}

/* Save the model, then the chart (only from a run whose model was saved: a
 * failed or interrupted run leaves an existing chart alone, like the
 * model). */
static int save_outputs(const train_opts *o, train_state *s, const mlp2_train_config *cfg,
                        const mlp2_train_report *rep, int *plot_rc)
{
    int rc;
    *plot_rc = EXIT_OK;
    if ((rc = store_sections(s->net, &s->cols, o, cfg, s->m_train, s->m_val, rep)))
        return rc;
    const progress *p = &s->prog;
    if ((rc = save_model(s->net, o->output))) {
        if (o->plot && p->recorded > 0)
            cli_error("the learning curve was not written to %s either", o->plot);
        return rc;
    }
    if (o->plot && p->recorded > 0) {
        char sub[160];
        snprintf(sub, sizeof sub, "%zu-%zu-%zu network, %s, lr %s, batch %zu", s->d.n_in, o->hidden, s->d.n_out,
                 optim_name(o->optim), fmt(cfg->optim.lr), s->batch);
        /* the marker: the kept epoch, or (keeping the last) the lowest loss */
        size_t best = keeps_best(o) ? rep->best_epoch : lowest_epoch(p, s->m_val > 0);
        plot_ctx pc = {.p = p, .best_epoch = best, .subtitle = sub};
        *plot_rc = write_atomic(o->plot, write_plot, &pc);
        if (*plot_rc == EXIT_OK && !o->quiet)
            fprintf(stderr, "mlp2: learning curve written to %s\n", o->plot);
    }
    return EXIT_OK;
}

/* The summary's first lines: how the run ended and which epoch was kept. */
static void print_outcome(const train_opts *o, const train_state *s, const mlp2_train_report *rep,
                          double elapsed)
{
    const progress *p = &s->prog;
    const char *what = s->m_val ? "validation" : "train";
    printf("%s after %zu epochs (%s s): %s\n", rep->reason == MLP2_STOP_CANCELLED ? "interrupted" : "finished",
           rep->epochs_run, fmt(elapsed),
           rep->reason == MLP2_STOP_EARLY       ? "early stopping"
           : rep->reason == MLP2_STOP_CANCELLED ? "saved because of --save-on-interrupt"
                                                : "all epochs run");
    if (keeps_best(o)) {
        if (rep->best_epoch == 0)
            printf("kept epoch 0: the initial parameters (no epoch was completed)\n");
        else
            printf("kept epoch %zu: the lowest %s loss, %s\n", rep->best_epoch, what, fmt(rep->best_loss));
        return;
    }
    size_t low = lowest_epoch(p, s->m_val > 0);
    printf("kept epoch %zu: the last (%s)", rep->epochs_run, o->last_epoch ? "--last-epoch" : "no validation data");
    if (low && low != rep->epochs_run)
        printf("; the lowest %s loss was %s, at epoch %zu", what, fmt(s->m_val ? p->val[low - 1] : p->train[low - 1]),
               low);
    printf("\n");
}

/* A classifier's accuracy and log loss on the training and validation rows. */
static void print_class_fit(train_state *s)
{
    const double *targets[2] = {s->Y, s->Yv}, *inputs[2] = {s->X, s->Xv};
    const size_t rows[2] = {s->m_train, s->m_val}, k = s->d.n_out;
    const char *label[2] = {"train", "validation"};
    for (int part = 0; part < 2; part++) {
        const size_t m = rows[part];
        size_t *truth = malloc((m ? m : 1) * sizeof *truth), *pred = malloc((m ? m : 1) * sizeof *pred);
        double *pt = malloc((m ? m : 1) * sizeof *pt);
        class_report r;
        if (m && truth && pred && pt && mlp2_predict(s->net, NULL, m, inputs[part], s->P) == MLP2_OK) {
            argmax_rows(m, k, targets[part], truth); /* one-hot rows */
            argmax_rows(m, k, s->P, pred);
            for (size_t i = 0; i < m; i++)
                pt[i] = s->P[i * k + truth[i]];
            if (class_report_compute(&r, k, m, truth, pred, pt) == 0) {
                printf("%s (%zu rows): accuracy %s, log loss %s\n", label[part], m,
                       fmt((double)r.correct / (double)m), fmt(r.log_loss));
                class_report_free(&r);
            }
        }
        free(truth), free(pred), free(pt);
    }
}

/* The metrics on the training and validation rows, in the data's units
 * (with a gather, on the root over every process's rows). */
static void print_fit_metrics(train_state *s, const train_backend *b)
{
    if (s->classify) {
        print_class_fit(s);
        return;
    }
    const columns *c = &s->cols;
    const size_t n_in = s->d.n_in, n_out = s->d.n_out;
    const double *targets[2] = {s->Y, s->Yv};
    const double *inputs[2] = {s->X, s->Xv};
    size_t rows[2] = {s->m_train, s->m_val};
    const char *label[2] = {"train", "validation"};
    for (int part = 0; part < 2; part++) {
        if (rows[part] == 0)
            continue;
        size_t ml = b->local_rows ? b->local_rows(s, part) : rows[part];
        double *Yu = malloc((ml ? ml : 1) * n_out * sizeof *Yu);
        int ok = Yu && (ml == 0 || predict_units(s->net, c, ml, inputs[part], s->P) == EXIT_OK);
        /* targets in units: undo the scaling of Y and Yv */
        for (size_t i = 0; ok && i < ml; i++)
            for (size_t j = 0; j < n_out; j++)
                Yu[i * n_out + j] = targets[part][i * n_out + j] * c->scale[n_in + j] + c->mean[n_in + j];
        double *Pg = s->P, *Yg = Yu;
        if (b->gather && !b->gather(ok, ml, n_out, s->P, Yu, &Pg, &Yg))
            ok = 0;
        if (ok && b->root) {
            printf("%s (%zu rows):\n", label[part], rows[part]);
            print_metrics_table(stdout, c, rows[part], Pg, Yg, "  ");
        }
        if (Pg != s->P)
            free(Pg);
        if (Yg != Yu)
            free(Yg);
        free(Yu);
    }
}

static int run_train(const train_opts *o, train_state *s, const train_backend *b)
{
    int rc;
    if ((rc = b->agree(check_args(o))) || (rc = b->build(o, s)))
        return rc;
    mlp2_train_config cfg;
    mlp2_train_report rep;
    double elapsed = 0;
    int plot_rc = EXIT_OK;
    if ((rc = fit(o, s, b, &cfg, &rep, &elapsed)))
        return rc;
    /* only the root writes; every process learns how that went */
    if ((rc = b->agree(b->root ? save_outputs(o, s, &cfg, &rep, &plot_rc) : EXIT_OK)))
        return rc;
    print_outcome(o, s, &rep, elapsed);
    if (s->d.table.skipped)
        printf("rows dropped for a missing value (--missing skip): %zu of %s\n", s->d.table.skipped, s->d.name);
    if (s->dv.table.skipped)
        printf("rows dropped for a missing value (--missing skip): %zu of %s\n", s->dv.table.skipped, s->dv.name);
    print_fit_metrics(s, b);
    printf("model written to %s\n", o->output);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write the summary: %s", strerror(errno));
        rc = EXIT_IO;
    }
    if (rc == EXIT_OK && plot_rc != EXIT_OK) { /* the model is saved; the chart is not (an old one is as it was) */
        cli_error("the model was written to %s, but the learning curve was not written to %s", o->output, o->plot);
        rc = plot_rc;
    }
    if ((rc = b->agree(rc)))
        return rc;
    return rep.reason == MLP2_STOP_CANCELLED ? EXIT_INTERRUPT : EXIT_OK;
}

static const cli_option train_options[] = {
    {"help", 'h', 0, O_HELP},        {"output", 'o', 1, O_OUTPUT},      {"target", 't', 1, O_TARGET},
    DATA_OPTIONS,                    {"val", 0, 1, O_VAL},
    {"val-data", 0, 1, O_VAL_DATA},  {"no-scale", 0, 0, O_NO_SCALE},    {"hidden", 0, 1, O_HIDDEN},
    {"epochs", 0, 1, O_EPOCHS},      {"batch", 0, 1, O_BATCH},          {"optim", 0, 1, O_OPTIM},
    {"lr", 0, 1, O_LR},              {"momentum", 0, 1, O_MOMENTUM},    {"weight-decay", 0, 1, O_WD},
    {"lr-step", 0, 1, O_LR_STEP},    {"lr-gamma", 0, 1, O_LR_GAMMA},    {"patience", 0, 1, O_PATIENCE},
    {"min-delta", 0, 1, O_MIN_DELTA}, {"seed", 0, 1, O_SEED},           {"threads", 0, 1, O_THREADS},
    {"plot", 0, 1, O_PLOT},          {"save-on-interrupt", 0, 0, O_SAVE_INT}, {"quiet", 'q', 0, O_QUIET},
    {"last-epoch", 0, 0, O_LAST_EPOCH}, {"log-every", 0, 1, O_LOG_EVERY}, {"classify", 0, 0, O_CLASSIFY},
    {"hidden-act", 0, 1, O_HIDDEN_ACT}, {"head", 0, 1, O_HEAD}, {0, 0, 0, 0}};

static int agree_alone(int rc)
{
    return rc;
}

static mlp2_status train_alone(train_state *s, const mlp2_train_config *cfg, mlp2_train_report *rep)
{
    return mlp2_train(s->net, cfg, s->m_train, s->X, s->Y, s->m_val, s->Xv, s->Yv, rep);
}

static const train_backend alone = {.root = 1, .build = trainset_build, .train = train_alone, .agree = agree_alone};

int cmd_train(int argc, char **argv)
{
    return train_command(argc, argv, &alone);
}

int train_command(int argc, char **argv, const train_backend *b)
{
    train_opts o = {.hidden = 3, .epochs = 500, .batch = 32, .val = 0.2, .momentum = 0.9, .lr_gamma = 0.5,
                    .scale = 1, .seed = 42, .optim = MLP2_OPTIM_ADAM};
    o.targets = calloc((size_t)argc + 1, sizeof *o.targets);
    if (!o.targets) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    int rc = cli_parse("train", train_options, argc, argv, train_option, train_arg, &o);
    if (rc == 0) {
        train_state s;
        memset(&s, 0, sizeof s);
        rc = run_train(&o, &s, b);
        train_state_free(&s);
    }
    free(o.targets);
    data_opts_free(&o.dopt);
    return rc < 0 ? EXIT_OK : rc;
}
