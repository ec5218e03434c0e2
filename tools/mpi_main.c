/* mpi_main.c - the `mlp2-mpi` command: `mpirun -np P mlp2-mpi train
 * DATA.csv -o MODEL [OPTIONS]` is `mlp2 train` with the data spread over P
 * processes and trained by mlp2_mpi_train.  Every process reads only its
 * byte range of DATA (mpi_read.c); the rows are moved so that the global
 * order equals the one `mlp2 train` trains on (mpi_trainset.c).  Process 0
 * prints the progress and the summary and writes the model and the chart;
 * the others print only errors found in their own rows.  Every failure
 * ends every process with the same exit code. */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include <mlp2_mpi.h>

#include "cli.h"
#include "commands.h"
#include "common.h"
#include "dataset.h"
#include "mpi_train.h"

static mpi_ctx ctx;

static const char main_help[] =
    "Usage: mpirun -np P mlp2-mpi train DATA.csv -o MODEL [OPTIONS]\n"
    "       mpirun -np P mlp2-mpi train -o MODEL [OPTIONS]   (the embedded Franke data)\n"
    "`mlp2 train` over P MPI processes (libmlp2_mpi's mlp2_mpi_train): the same\n"
    "options, outputs and exit codes (mlp2-mpi train --help).  Each process reads\n"
    "only its own byte range of DATA (a file, not '-'), cut at line ends outside\n"
    "quotes; the validation rows and the scaling are those of `mlp2 train`, so the\n"
    "model agrees with `mlp2 train`'s up to rounding.  Process 0 prints and writes\n"
    "the files; an error on any process ends every process with the same code.\n"
    "\n";

/* The exit code every process agrees on; process 0 names another process
 * that failed alone (its message went to its own stderr). */
static int agree(int rc)
{
    int who = -1;
    int out = mpi_agree(ctx.comm, rc, &who);
    if (out != EXIT_OK && ctx.rank == 0 && rc == EXIT_OK && who > 0)
        fprintf(stderr, "mlp2-mpi: stopped: process %d of %d failed (exit status %d)\n", who, ctx.size, out);
    return out;
}

static mlp2_status train_mpi(train_state *s, const mlp2_train_config *cfg, mlp2_train_report *rep)
{
    return mlp2_mpi_train(s->net, cfg, ctx.comm, ctx.m_train, s->X, s->Y, ctx.m_val, s->Xv, s->Yv, rep);
}

static size_t local_rows(const train_state *s, int part)
{
    (void)s;
    return part == 0 ? ctx.m_train : ctx.m_val;
}

/* The m x k P and Y of every process on process 0, in rank order. */
static int gather(int ok, size_t m, size_t k, const double *P, const double *Y, double **Pg, double **Yg)
{
    const int p = ctx.size;
    int *cnt = malloc((size_t)p * 2 * sizeof *cnt), *disp = cnt ? cnt + p : NULL;
    int mine = (int)(m * k), rc = ok && cnt && m * k < INT32_MAX ? EXIT_OK : EXIT_TRAIN;
    long long total = 0;
    if (rc == EXIT_OK) {
        MPI_Allgather(&mine, 1, MPI_INT, cnt, 1, MPI_INT, ctx.comm);
        for (int r = 0; r < p; r++) {
            disp[r] = (int)total;
            total += cnt[r];
        }
    }
    double *a = NULL, *b = NULL;
    if (rc == EXIT_OK && ctx.rank == 0 && (total > INT32_MAX || !(a = malloc((size_t)total * sizeof *a + 1)) ||
                                           !(b = malloc((size_t)total * sizeof *b + 1))))
        rc = EXIT_TRAIN;
    /* every process has called the Allgather or none has: agree first */
    if (mpi_agree(ctx.comm, rc, NULL) != EXIT_OK) {
        free(a);
        free(b);
        free(cnt);
        return 0;
    }
    MPI_Gatherv(P, mine, MPI_DOUBLE, a, cnt, disp, MPI_DOUBLE, 0, ctx.comm);
    MPI_Gatherv(Y, mine, MPI_DOUBLE, b, cnt, disp, MPI_DOUBLE, 0, ctx.comm);
    free(cnt);
    if (ctx.rank == 0) {
        *Pg = a;
        *Yg = b;
    }
    return ctx.rank == 0;
}

/* --val-data's columns (inputs then targets) found in its probe table. */
static int match_val_columns(const train_opts *o, const dataset *d, const csv_table *tv, size_t **idx)
{
    const csv_table *t = &d->table;
    const size_t k = d->n_in + d->n_out;
    if (!(*idx = malloc(k * sizeof **idx))) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    for (size_t i = 0; i < k; i++) {
        size_t src = i < d->n_in ? d->in_idx[i] : d->out_idx[i - d->n_in];
        long j = (tv->has_header && t->has_header) ? csv_find(tv, t->names[src])
                 : tv->cols == t->cols             ? (long)src
                                                   : -1;
        if (j < 0) {
            if (tv->has_header && t->has_header)
                cli_error("%s: no column named \"%s\" (as in %s)", o->val_data, t->names[src], d->name);
            else
                cli_error("%s: found %zu columns, but %s has %zu", o->val_data, tv->cols, d->name, t->cols);
            return EXIT_DATA;
        }
        (*idx)[i] = (size_t)j;
    }
    return EXIT_OK;
}

/* The embedded data: every process makes the 400 rows and keeps its share. */
static int embedded_split(train_state *s, split_csv *D)
{
    int rc = dataset_embedded(&s->d);
    if (rc)
        return rc;
    const csv_table *t = &s->d.table;
    size_t n = t->rows, lo = n * (size_t)ctx.rank / (size_t)ctx.size, hi = n * (size_t)(ctx.rank + 1) / (size_t)ctx.size;
    D->local.rows = hi - lo;
    D->local.cols = t->cols;
    if (!(D->local.data = malloc((hi - lo + 1) * t->cols * sizeof(double)))) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    memcpy(D->local.data, t->data + lo * t->cols, (hi - lo) * t->cols * sizeof(double));
    D->row0 = lo;
    D->rows = n;
    return EXIT_OK;
}

static void read_notes(const char *name, const split_csv *D)
{
    if (D->probe.delim_detected && D->probe.delim != ',')
        fprintf(stderr, "mlp2: %s: fields separated by %s (detected; --delimiter sets it)\n", name,
                D->probe.delim == '\t' ? "tab" : D->probe.delim == ';' ? "';'" : "another separator");
    if (D->skipped)
        fprintf(stderr, "mlp2: %s: %zu rows with a missing value dropped (--missing skip), %zu left\n", name,
                D->skipped, D->rows);
}

static int build(const train_opts *o, train_state *s)
{
    split_csv D, V;
    memset(&D, 0, sizeof D);
    memset(&V, 0, sizeof V);
    size_t *v_idx = NULL;
    int rc = EXIT_OK;
    if ((o->data && strcmp(o->data, "-") == 0) || (o->val_data && strcmp(o->val_data, "-") == 0)) {
        rc = cli_usage_error("train", "mlp2-mpi reads DATA from a file, not standard input ('-')");
        goto done;
    }
    if (o->data) {
        s->d.name = o->data;
        if ((rc = mpi_read_csv(ctx.comm, &o->dopt, o->data, &D, ctx.err)))
            goto done;
        read_notes(o->data, &D); /* (before the probe moves: it holds the separator) */
        s->d.table = D.probe; /* the columns; the rows are in D.local */
        memset(&D.probe, 0, sizeof D.probe);
        s->d.table.skipped = D.skipped;
    } else if ((rc = agree(embedded_split(s, &D)))) {
        goto done;
    }
    if ((rc = dataset_select_targets(&s->d, o->targets, o->n_targets)))
        goto done;
    if (o->val_data) {
        if ((rc = mpi_read_csv(ctx.comm, &o->dopt, o->val_data, &V, ctx.err)))
            goto done;
        s->dv.table.skipped = V.skipped;
        read_notes(o->val_data, &V);
        if ((rc = match_val_columns(o, &s->d, &V.probe, &v_idx)))
            goto done;
    }
    if ((rc = trainset_split_counts(o, s, D.rows, V.rows)))
        goto done;
    rc = mpi_place_rows(&ctx, o, s, &D, &V, v_idx);
done:
    split_csv_free(&D);
    split_csv_free(&V);
    free(v_idx);
    return rc;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    ctx.comm = MPI_COMM_WORLD;
    MPI_Comm_rank(ctx.comm, &ctx.rank);
    MPI_Comm_size(ctx.comm, &ctx.size);
    /* the C locale for every number, as in `mlp2` */
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_loc)
        uselocale(c_loc);
    ctx.err = stderr;
    if (ctx.rank != 0) {
        /* messages every process would print alike come from process 0;
         * this one keeps its own stderr for errors in its own rows */
        int keep = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
        FILE *f = keep >= 0 ? fdopen(keep, "w") : NULL;
        if (f && null >= 0) {
            ctx.err = f;
            fflush(stdout);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        if (null >= 0)
            close(null);
    }
    train_backend b = {.root = ctx.rank == 0, .build = build, .train = train_mpi, .agree = agree,
                       .local_rows = local_rows, .gather = gather};
    int rc;
    if (argc >= 2 && strcmp(argv[1], "train") == 0)
        rc = train_command(argc - 2, argv + 2, &b);
    else if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        rc = print_help(main_help);
    else if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        printf("mlp2-mpi %s (libmlp2 %s)\n", MLP2_VERSION_STRING, mlp2_version());
        rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
    } else {
        if (ctx.rank == 0)
            fputs(main_help, stderr);
        rc = EXIT_USAGE;
    }
    if (ctx.err != stderr)
        fclose(ctx.err);
    if (c_loc) {
        uselocale(LC_GLOBAL_LOCALE);
        freelocale(c_loc);
    }
    MPI_Finalize();
    return rc;
}
