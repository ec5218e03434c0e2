/* outfile.c - the command's output files through the one atomic writer
 * (lib/atomic.c), a signal guard around every write, and the check that no
 * output names an input (see outfile.h). */
#define _GNU_SOURCE /* fopencookie */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "cli.h"
#include "outfile.h"

/* ---- the signal guard ------------------------------------------------------
 *
 * While a file is written, SIGINT, SIGTERM and SIGHUP remove every temporary
 * file of this process in the target's folder (mlp2__afile_sweep_own: system
 * calls only), then end the process by the same signal.  The handler must run
 * on the writing thread: a signal sent to the process may be delivered to any
 * thread (OpenBLAS starts its own), and a handler running there would race
 * with the writer (sweep the folder, then the writer creates its file, then
 * the process dies).  So another thread passes the signal on to the writer
 * and returns; on the writer the sweep sees the folder as the interrupted
 * write left it, and the process dies before that write goes on. */

static const int guard_signals[] = {SIGINT, SIGTERM, SIGHUP};
enum { N_GUARD = sizeof guard_signals / sizeof guard_signals[0] };
static pthread_t guard_thread;
static volatile sig_atomic_t guard_dirfd = -1;
static char guard_prefix[96];

static void on_fatal_signal(int sig)
{
    if (!pthread_equal(pthread_self(), guard_thread)) {
        pthread_kill(guard_thread, sig);
        return;
    }
    int fd = guard_dirfd;
    if (fd >= 0)
        mlp2__afile_sweep_own(fd, guard_prefix);
    signal(sig, SIG_DFL);
    raise(sig); /* delivered when the handler returns: the signal is blocked while it runs */
}

typedef struct guard {
    struct sigaction old[N_GUARD];
    int installed[N_GUARD];
    int dirfd;
} guard;

static void guard_begin(guard *g, const char *path)
{
    g->dirfd = strcmp(path, "-") == 0 ? -1 : mlp2__afile_dirfd(path);
    mlp2__own_tmp_prefix(guard_prefix, sizeof guard_prefix);
    guard_thread = pthread_self();
    guard_dirfd = g->dirfd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < N_GUARD; i++)
        sigaddset(&sa.sa_mask, guard_signals[i]);
    for (int i = 0; i < N_GUARD; i++) {
        g->installed[i] = 0;
        if (sigaction(guard_signals[i], NULL, &g->old[i]) == 0 && g->old[i].sa_handler != SIG_IGN)
            g->installed[i] = sigaction(guard_signals[i], &sa, NULL) == 0;
    }
}

static void guard_end(guard *g)
{
    int e = errno;
    for (int i = 0; i < N_GUARD; i++)
        if (g->installed[i])
            sigaction(guard_signals[i], &g->old[i], NULL);
    guard_dirfd = -1;
    if (g->dirfd >= 0)
        close(g->dirfd);
    errno = e;
}

/* ---- writing -------------------------------------------------------------- */

/* The stream's bytes go through write() (mlp2__write_all), so that short
 * writes, EINTR and errors are handled in one place, and so that the
 * fault-injection shim of tests/fault/ sees them. */
static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
    const int *fd = cookie;
    return mlp2__write_all(*fd, buf, n) == 0 ? (ssize_t)n : -1;
}

/* The content through a stdio stream on a.fd; 0, or -1 with errno. */
static int fill(mlp2__afile *a, writer_fn write, void *ctx)
{
    cookie_io_functions_t io = {.write = cookie_write};
    FILE *f = fopencookie(&a->fd, "w", io);
    if (!f)
        return -1;
    errno = 0;
    int ok = write(f, ctx) == 0 && fflush(f) == 0 && !ferror(f);
    int e = errno ? errno : EIO;
    if (fclose(f) != 0 && ok) { /* closes the stream only: a.fd stays */
        ok = 0;
        e = errno ? errno : EIO;
    }
    errno = e;
    return ok ? 0 : -1;
}

int write_atomic(const char *path, writer_fn write, void *ctx)
{
    guard g;
    guard_begin(&g, path);
    mlp2__afile a;
    int rc = EXIT_OK;
    if (strcmp(path, "-") == 0)
        mlp2__afile_stream(&a, STDOUT_FILENO);
    else if (mlp2__afile_open(&a, path) != 0) {
        int e = errno;
        guard_end(&g);
        cli_error("%s: cannot create: %s", path, strerror(e));
        return EXIT_IO;
    }
    if (fill(&a, write, ctx) != 0) {
        mlp2__afile_abort(&a);
        rc = EXIT_IO;
    } else if (mlp2__afile_commit(&a) != 0) {
        rc = EXIT_IO;
    }
    int e = errno;
    guard_end(&g);
    if (rc != EXIT_OK && a.renamed)
        cli_error("%s: written, but its folder could not be synced (%s): the new file may not survive a power cut",
                  path, strerror(e));
    else if (rc != EXIT_OK)
        cli_error("%s: cannot write: %s", path, strerror(e));
    return rc;
}

int save_model(const mlp2 *net, const char *path)
{
    guard g;
    struct stat before, after;
    int existed = stat(path, &before) == 0;
    guard_begin(&g, path);
    errno = 0;
    mlp2_status st = mlp2_save(net, path);
    int e = errno;
    guard_end(&g);
    if (st == MLP2_OK)
        return EXIT_OK;
    /* MLP2_EIO with a new file in place: only the folder's fsync failed */
    if (st == MLP2_EIO && stat(path, &after) == 0 && S_ISREG(after.st_mode) &&
        (!existed || after.st_ino != before.st_ino || after.st_dev != before.st_dev))
        cli_error("%s: the model was written, but its folder could not be synced (%s): it may not survive a "
                  "power cut", path, strerror(e));
    else
        cli_error("%s: cannot save the model: %s%s%s", path, mlp2_strerror(st), e && e != EIO ? ": " : "",
                  e && e != EIO ? strerror(e) : ""); /* EIO: the status says it */
    return st == MLP2_ENOMEM ? EXIT_TRAIN : EXIT_IO;
}

/* ---- no output may name an input ------------------------------------------ */

/* path's folder resolved (realpath), then its name: the same text for two
 * spellings of a file that does not exist yet.  Falls back to path. */
static void canonical(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX], real[PATH_MAX];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (realpath(dir, real))
        snprintf(out, n, "%s/%s", strcmp(real, "/") == 0 ? "" : real, slash ? slash + 1 : path);
    else
        snprintf(out, n, "%s", path);
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea != eb)
        return 0;
    char ca[2 * PATH_MAX], cb[2 * PATH_MAX];
    canonical(a, ca, sizeof ca);
    canonical(b, cb, sizeof cb);
    return strcmp(ca, cb) == 0;
}

/* A character device (/dev/null) may be named twice: nothing is replaced. */
static int is_device(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISCHR(sb.st_mode);
}

int check_distinct(const char *cmd, const io_file *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!f[i].output || !f[i].path || strcmp(f[i].path, "-") == 0 || is_device(f[i].path))
            continue;
        for (size_t j = 0; j < n; j++) {
            if (j == i || !f[j].path || strcmp(f[j].path, "-") == 0 || (f[j].output && j < i))
                continue;
            if (same_file(f[i].path, f[j].path))
                return cli_usage_error(cmd, "%s and %s name the same file (%s%s%s): it would be overwritten",
                                       f[i].option, f[j].option, f[i].path,
                                       strcmp(f[i].path, f[j].path) ? " and " : "",
                                       strcmp(f[i].path, f[j].path) ? f[j].path : "");
        }
    }
    return EXIT_OK;
}
