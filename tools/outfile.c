/* outfile.c - atomic output files with clean-up on fatal signals
 * (see outfile.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "outfile.h"

static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};
enum { N_CLEANUP_SIGNALS = sizeof cleanup_signals / sizeof cleanup_signals[0] };
static char *volatile pending_tmp;            /* the temporary file, while it exists */
static volatile sig_atomic_t pending_tmp_set; /* pending_tmp is valid */

static void on_fatal_signal(int sig)
{
    if (pending_tmp_set)
        unlink(pending_tmp);
    pending_tmp_set = 0;
    signal(sig, SIG_DFL);
    raise(sig); /* delivered when the handler returns: the signal is blocked while it runs */
}

static void block_cleanup_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < N_CLEANUP_SIGNALS; i++)
        sigaddset(&set, cleanup_signals[i]);
    sigprocmask(SIG_BLOCK, &set, old);
}

int write_atomic(const char *path, writer_fn write, void *ctx)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 8);
    if (!tmp) {
        cli_error("%s: out of memory", path);
        return EXIT_IO;
    }
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".XXXXXX", 8);

    /* the handlers go in, and the file is created, with the signals blocked */
    sigset_t old_mask;
    struct sigaction old_act[N_CLEANUP_SIGNALS], sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < N_CLEANUP_SIGNALS; i++)
        sigaddset(&sa.sa_mask, cleanup_signals[i]);
    block_cleanup_signals(&old_mask);
    int installed[N_CLEANUP_SIGNALS] = {0};
    for (int i = 0; i < N_CLEANUP_SIGNALS; i++)
        if (sigaction(cleanup_signals[i], NULL, &old_act[i]) == 0 && old_act[i].sa_handler != SIG_IGN)
            installed[i] = sigaction(cleanup_signals[i], &sa, NULL) == 0;
    int fd = mkstemp(tmp);
    int e = errno;
    if (fd >= 0) {
        pending_tmp = tmp;
        pending_tmp_set = 1;
    }
    sigprocmask(SIG_SETMASK, &old_mask, NULL);

    int ok = fd >= 0;
    FILE *f = NULL;
    if (ok) {
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
        f = fdopen(fd, "w");
        ok = f != NULL;
        if (!f) {
            e = errno;
            close(fd);
        }
    }
    if (ok)
        ok = write(f, ctx) == 0;
    if (ok)
        ok = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
    if (f) {
        if (!ok)
            e = errno;
        if (fclose(f) != 0 && ok) {
            ok = 0;
            e = errno;
        }
    }
    /* rename or remove, then forget the file and put the handlers back */
    block_cleanup_signals(&old_mask);
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok && fd >= 0)
        unlink(tmp);
    pending_tmp_set = 0;
    pending_tmp = NULL;
    for (int i = 0; i < N_CLEANUP_SIGNALS; i++)
        if (installed[i])
            sigaction(cleanup_signals[i], &old_act[i], NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);

    if (fd < 0)
        cli_error("%s: cannot create: %s", path, strerror(e));
    else if (!ok)
        cli_error("%s: cannot write: %s", path, strerror(e));
    free(tmp);
    return ok ? EXIT_OK : EXIT_IO;
}
