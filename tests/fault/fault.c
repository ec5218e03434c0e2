/*
 * fault.c - the fault-injection shim: see fault.h.  Each replaced function
 * counts its call, fails it when it is the armed one, and otherwise calls
 * the C library's function (dlsym(RTLD_NEXT)).  Single-threaded use: the
 * tests and the command do their I/O from one thread.
 */
#undef _FILE_OFFSET_BITS /* define open and open64 both, not one as the other */
#define _GNU_SOURCE
#include "fault.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct {
    bool armed, fired, after_rename, renamed, no_tmpfile;
    fault_op op;
    fault_kind kind;
    unsigned long at, calls[FAULT_N_OPS];
    char trace[4096];
    size_t tlen;
    const char *log, *trace_file;
    long delay_ms;
} F;

static const char *const op_names[FAULT_N_OPS] = {"open", "read", "write", "fsync", "close", "rename", "link"};
static const char *const kind_names[FAULT_N_KINDS] = {"EIO", "ENOSPC", "EINTR", "SHORT"};

const char *fault_op_name(fault_op op) { return op_names[op]; }
const char *fault_kind_name(fault_kind k) { return kind_names[k]; }

void fault_arm(fault_op op, unsigned long k, fault_kind kind)
{
    memset(F.calls, 0, sizeof F.calls);
    F.op = op;
    F.at = k;
    F.kind = kind;
    F.armed = k > 0;
    F.fired = F.after_rename = F.renamed = false;
    F.tlen = 0;
    F.trace[0] = '\0';
}

void fault_disarm(void) { F.armed = false; }
bool fault_fired(void) { return F.fired; }
bool fault_fired_after_rename(void) { return F.after_rename; }
unsigned long fault_calls(fault_op op) { return F.calls[op]; }
void fault_no_tmpfile(bool on) { F.no_tmpfile = on; }
const char *fault_trace(void) { return F.trace; }

static void note(char c)
{
    if (F.tlen + 1 < sizeof F.trace) {
        F.trace[F.tlen++] = c;
        F.trace[F.tlen] = '\0';
    }
}

/* Count a call of op; true when this call is the one to fail. */
static bool hit(fault_op op, char letter)
{
    note(letter);
    F.calls[op]++;
    if (!F.armed || F.op != op || F.calls[op] != F.at)
        return false;
    F.armed = false;
    F.fired = true;
    F.after_rename = F.renamed;
    return true;
}

/* The armed error, for a call that fails outright. */
static int fail(void)
{
    errno = F.kind == FAULT_ENOSPC ? ENOSPC : F.kind == FAULT_EINTR ? EINTR : EIO;
    return -1;
}

/* real_NAME: the C library's NAME (memcpy: ISO C has no object-to-function
 * pointer cast) */
#define REAL(name)                                                                                                   \
    static __typeof__(name) *real_##name;                                                                            \
    if (!real_##name) {                                                                                              \
        void *sym_ = dlsym(RTLD_NEXT, #name);                                                                        \
        memcpy(&real_##name, &sym_, sizeof sym_);                                                                    \
    }

static bool wants_mode(int flags)
{
#ifdef O_TMPFILE
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
#else
    return flags & O_CREAT;
#endif
}

static bool refuse_tmpfile(int flags)
{
#ifdef O_TMPFILE
    if (F.no_tmpfile && (flags & O_TMPFILE) == O_TMPFILE) {
        errno = EOPNOTSUPP;
        return true;
    }
#endif
    (void)flags;
    return false;
}

/* open with a SHORT fault is not meaningful: it fails with EIO instead. */
static int fail_open(void)
{
    if (F.kind == FAULT_SHORT)
        errno = EIO;
    else
        fail();
    return -1;
}

#define OPEN_BODY(realname, ...)                                                                                     \
    mode_t mode = 0;                                                                                                 \
    if (wants_mode(flags)) {                                                                                         \
        va_list ap;                                                                                                  \
        va_start(ap, flags);                                                                                         \
        mode = (mode_t)va_arg(ap, int);                                                                              \
        va_end(ap);                                                                                                  \
    }                                                                                                                \
    if (refuse_tmpfile(flags))                                                                                       \
        return -1;                                                                                                   \
    if (hit(FAULT_OPEN, 'o'))                                                                                        \
        return fail_open();                                                                                          \
    REAL(realname);                                                                                                  \
    return real_##realname(__VA_ARGS__, flags, mode);

int open(const char *path, int flags, ...) { OPEN_BODY(open, path) }
int open64(const char *path, int flags, ...) { OPEN_BODY(open64, path) }
int openat(int dirfd, const char *path, int flags, ...) { OPEN_BODY(openat, dirfd, path) }
int openat64(int dirfd, const char *path, int flags, ...) { OPEN_BODY(openat64, dirfd, path) }

ssize_t read(int fd, void *buf, size_t n)
{
    REAL(read);
    if (hit(FAULT_READ, 'r')) {
        if (F.kind != FAULT_SHORT)
            return fail();
        if (n > 1)
            n /= 2;
    }
    return real_read(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(write);
    if (F.delay_ms > 0 && fd > 2) { /* a slow disk: the write is easy to catch in progress */
        struct timespec ts = {F.delay_ms / 1000, (F.delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (hit(FAULT_WRITE, 'w')) {
        if (F.kind != FAULT_SHORT)
            return fail();
        if (n > 1)
            n /= 2;
    }
    return real_write(fd, buf, n);
}

static char fsync_letter(int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return 'f';
    return S_ISDIR(sb.st_mode) ? 'D' : S_ISREG(sb.st_mode) ? 'F' : 'f';
}

int fsync(int fd)
{
    REAL(fsync);
    if (hit(FAULT_FSYNC, fsync_letter(fd)))
        return F.kind == FAULT_SHORT ? (errno = EIO, -1) : fail();
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync);
    if (hit(FAULT_FSYNC, fsync_letter(fd)))
        return F.kind == FAULT_SHORT ? (errno = EIO, -1) : fail();
    return real_fdatasync(fd);
}

int close(int fd)
{
    REAL(close);
    if (hit(FAULT_CLOSE, 'c')) {
        if (F.kind == FAULT_EINTR) { /* Linux: the descriptor is gone all the same */
            real_close(fd);
            errno = EINTR;
            return -1;
        }
        /* EIO from close (NFS reports late write errors here): also closed */
        real_close(fd);
        errno = F.kind == FAULT_ENOSPC ? ENOSPC : EIO;
        return -1;
    }
    return real_close(fd);
}

static int after_rename(int r)
{
    if (r == 0)
        F.renamed = true;
    return r;
}

int rename(const char *a, const char *b)
{
    REAL(rename);
    if (hit(FAULT_RENAME, 'n'))
        return F.kind == FAULT_SHORT ? (errno = EIO, -1) : fail();
    return after_rename(real_rename(a, b));
}

int renameat(int da, const char *a, int db, const char *b)
{
    REAL(renameat);
    if (hit(FAULT_RENAME, 'n'))
        return F.kind == FAULT_SHORT ? (errno = EIO, -1) : fail();
    return after_rename(real_renameat(da, a, db, b));
}

int linkat(int da, const char *a, int db, const char *b, int flags)
{
    REAL(linkat);
    if (hit(FAULT_LINK, 'l'))
        return F.kind == FAULT_SHORT ? (errno = EIO, -1) : fail();
    return real_linkat(da, a, db, b, flags);
}

/* ---- LD_PRELOAD use: configuration from the environment ----------------- */

static int index_of(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

__attribute__((constructor)) static void fault_from_env(void)
{
    const char *op = getenv("FAULT_OP"), *at = getenv("FAULT_AT"), *err = getenv("FAULT_ERR");
    F.no_tmpfile = getenv("FAULT_NO_TMPFILE") != NULL;
    F.log = getenv("FAULT_LOG");
    F.trace_file = getenv("FAULT_TRACE");
    F.delay_ms = getenv("FAULT_DELAY_MS") ? atol(getenv("FAULT_DELAY_MS")) : 0;
    int o = index_of(op, op_names, FAULT_N_OPS), k = index_of(err ? err : "EIO", kind_names, FAULT_N_KINDS);
    if (o >= 0 && k >= 0 && at)
        fault_arm((fault_op)o, strtoul(at, NULL, 10), (fault_kind)k);
    else
        fault_arm(FAULT_OPEN, 0, FAULT_EIO); /* count and trace only */
}

static void append(const char *file, const char *text)
{
    int fd = openat(AT_FDCWD, file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void)!write(fd, text, strlen(text));
        close(fd);
    }
}

__attribute__((destructor)) static void fault_report(void)
{
    F.armed = false;
    F.delay_ms = 0;
    char line[256];
    snprintf(line, sizeof line, "calls %s %lu fired %d after_rename %d\n", op_names[F.op], F.calls[F.op], F.fired,
             F.after_rename);
    char trace[sizeof F.trace + 1];
    snprintf(trace, sizeof trace, "%s\n", F.trace); /* before append() adds its own calls */
    if (F.log)
        append(F.log, line);
    if (F.trace_file)
        append(F.trace_file, trace);
}
