/*
 * atomic.c - the one atomic file writer: mlp2_save and every file the
 * `mlp2` command writes.  The scheme and its guarantees are in
 * docs/FORMAT.md ("How files are written"); the contract is in atomic.h.
 * Linux first (O_TMPFILE, /proc), plain POSIX where those are missing.
 */
#define _GNU_SOURCE /* O_TMPFILE, getdents64, getrandom, AT_EMPTY_PATH */
#include "atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h> /* renameat, snprintf (no stream is opened) */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* ---- small system-call wrappers ------------------------------------------ */

/* Largest count passed to one write(): well under SSIZE_MAX everywhere. */
#define IO_CHUNK ((size_t)1 << 30)

int mlp2__write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n < IO_CHUNK ? n : IO_CHUNK);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if (w == 0) { /* no progress and no error: treat as a full device */
            errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int sync_fd(int fd)
{
    int r;
    do
        r = fsync(fd);
    while (r != 0 && errno == EINTR);
    return r;
}

/* fsync where the object cannot be synced (a pipe, a terminal, a folder on
 * some file systems: EINVAL, ENOTSUP, EROFS) counts as done, as in SQLite. */
static int sync_if_possible(int fd)
{
    if (sync_fd(fd) == 0 || errno == EINVAL || errno == EROFS || errno == ENOTSUP || errno == EOPNOTSUPP)
        return 0;
    return -1;
}

/* close(); EINTR means the descriptor is gone anyway on Linux, and the
 * data was synced before, so it is not a failure. */
static int close_fd(int fd)
{
    return close(fd) == 0 || errno == EINTR ? 0 : -1;
}

static void close_keep_errno(int fd)
{
    int e = errno;
    close(fd);
    errno = e;
}

/* ---- who writes: host, pid and start time in the temporary names --------- */

/* FNV-1a of the host name: the same on every call on this host. */
static uint32_t host_id(void)
{
    char h[256] = "";
    if (gethostname(h, sizeof h - 1) != 0)
        h[0] = '\0';
    uint32_t v = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)h; *p; p++)
        v = (v ^ *p) * 16777619u;
    return v;
}

/* Start time of process pid in clock ticks since boot (field 22 of
 * /proc/PID/stat), or 0 when it cannot be read.  Tells a live writer from
 * a later process that got the same pid. */
static unsigned long long start_time(pid_t pid)
{
    char path[48], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return 0;
    ssize_t n;
    do
        n = read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and ')' */
    if (!p)
        return 0;
    /* fields 3 .. 22 follow; p is at the end of field 2 */
    for (int field = 2; field < 22; field++) {
        p = strchr(p + 1, ' ');
        if (!p)
            return 0;
    }
    unsigned long long v = 0;
    for (p++; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (unsigned long long)(*p - '0');
    return v;
}

void mlp2__own_tmp_prefix(char *buf, size_t size)
{
    snprintf(buf, size, MLP2__TMP_PREFIX "%08x.%ld.", (unsigned)host_id(), (long)getpid());
}

/* A fresh name ".mlp2-tmp.HOST.PID.START.RANDOM" into out (sizeof a->tmp). */
static void make_tmp_name(char *out, size_t size, unsigned long long start)
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
        struct timespec ts = {0, 0};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        v = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)out;
        v ^= v >> 31;
        v *= 0xbf58476d1ce4e5b9u; /* splitmix64's finaliser */
        v ^= v >> 27;
    }
    char r[13];
    for (int i = 0; i < 12; i++, v /= 36)
        r[i] = digits[v % 36];
    r[12] = '\0';
    snprintf(out, size, MLP2__TMP_PREFIX "%08x.%ld.%llx.%s", (unsigned)host_id(), (long)getpid(),
             start, r);
}

/* Parse "HOST.PID.START.RANDOM" after the prefix; false when malformed. */
static bool parse_tmp_name(const char *s, uint32_t *host, long *pid, unsigned long long *start)
{
    char *end;
    errno = 0;
    unsigned long h = strtoul(s, &end, 16);
    if (end != s + 8 || *end != '.')
        return false;
    s = end + 1;
    long p = strtol(s, &end, 10);
    if (end == s || *end != '.' || p <= 0)
        return false;
    s = end + 1;
    unsigned long long t = strtoull(s, &end, 16);
    if (end == s || *end != '.' || errno)
        return false;
    *host = (uint32_t)h;
    *pid = p;
    *start = t;
    return true;
}

/* The writer of a temporary file is known to be gone: same host, and its
 * pid is free or now belongs to a process that started at another time.
 * Any doubt (another host, a pid we may not signal whose start time we
 * cannot read) counts as alive: a live writer's file is never removed. */
static bool writer_gone(const char *name, uint32_t me, pid_t self)
{
    uint32_t host;
    long pid;
    unsigned long long start;
    if (!parse_tmp_name(name + sizeof MLP2__TMP_PREFIX - 1, &host, &pid, &start) || host != me)
        return false;
    if (pid == (long)self || pid != (long)(pid_t)pid) /* our own (another thread's), or nonsense */
        return false;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return true;
    unsigned long long now = start_time((pid_t)pid);
    return start != 0 && now != 0 && now != start;
}

/* ---- scanning a folder without allocating -------------------------------- */

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Call fn(dirfd, name, ctx) for each entry of dirfd that starts with
 * prefix.  Raw getdents64 on a private buffer: async-signal-safe. */
static void scan_dir(int dirfd, const char *prefix, void (*fn)(int, const char *, const void *), const void *ctx)
{
    _Alignas(8) char buf[4096];
    size_t plen = strlen(prefix);
    if (lseek(dirfd, 0, SEEK_SET) != 0)
        return;
    for (;;) {
        ssize_t n = getdents64(dirfd, buf, sizeof buf);
        if (n <= 0)
            return;
        for (ssize_t off = 0; off < n;) {
            const struct linux_dirent64 *d = (const struct linux_dirent64 *)(const void *)(buf + off);
            off += d->d_reclen;
            if (strncmp(d->d_name, prefix, plen) == 0)
                fn(dirfd, d->d_name, ctx);
        }
    }
}

static void remove_entry(int dirfd, const char *name, const void *ctx)
{
    (void)ctx;
    unlinkat(dirfd, name, 0);
}

void mlp2__afile_sweep_own(int dirfd, const char *prefix)
{
    int e = errno;
    scan_dir(dirfd, prefix, remove_entry, NULL);
    errno = e;
}

typedef struct stale_ctx {
    uint32_t host;
    pid_t self;
} stale_ctx;

static void remove_if_stale(int dirfd, const char *name, const void *ctx)
{
    const stale_ctx *c = ctx;
    if (writer_gone(name, c->host, c->self))
        unlinkat(dirfd, name, 0);
}

/* Remove what killed writers left in the folder (best effort: a folder we
 * may not read is left alone). */
static void remove_stale(const mlp2__afile *a)
{
    if (!a->dir_sync)
        return;
    stale_ctx c = {host_id(), getpid()};
    int e = errno;
    scan_dir(a->dirfd, MLP2__TMP_PREFIX, remove_if_stale, &c);
    errno = e;
}

/* ---- where the content goes ---------------------------------------------- */

/* Our descriptor N when p names it (/dev/stdout, /dev/stderr, /dev/fd/N,
 * /proc/self/fd/N, /proc/thread-self/fd/N, /proc/OURPID/fd/N); -2 for
 * another process's descriptor (/proc/PID/fd/N); -1 for anything else. */
static int fd_path(const char *p)
{
    if (strcmp(p, "/dev/stdout") == 0)
        return 1;
    if (strcmp(p, "/dev/stderr") == 0)
        return 2;
    const char *rest = NULL;
    bool ours = true;
    if (strncmp(p, "/dev/fd/", 8) == 0)
        rest = p + 8;
    else if (strncmp(p, "/proc/self/fd/", 14) == 0)
        rest = p + 14;
    else if (strncmp(p, "/proc/thread-self/fd/", 21) == 0)
        rest = p + 21;
    else if (strncmp(p, "/proc/", 6) == 0 && p[6] >= '1' && p[6] <= '9') {
        char *end;
        long pid = strtol(p + 6, &end, 10);
        if (strncmp(end, "/fd/", 4) != 0)
            return -1;
        ours = pid == (long)getpid();
        rest = end + 4;
    }
    if (!rest || *rest < '0' || *rest > '9')
        return -1;
    long n = 0;
    for (; *rest >= '0' && *rest <= '9' && n <= INT_MAX; rest++)
        n = n * 10 + (*rest - '0');
    if (*rest != '\0' || n > INT_MAX)
        return -1;
    return ours ? (int)n : -2;
}

/*
 * Follow the symbolic links of path into out (PATH_MAX bytes): the file to
 * write, so that a link stays a link and its target is replaced in its own
 * folder.  *fdn: see fd_path, checked at every step (/dev/stdout is a link
 * to /proc/self/fd/1, itself a link to whatever fd 1 is).  *sb and *exists
 * describe out.
 */
static int resolve(const char *path, char *out, int *fdn, struct stat *sb, bool *exists)
{
    size_t n = strlen(path);
    if (n == 0) {
        errno = ENOENT;
        return -1;
    }
    if (n >= PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(out, path, n + 1);
    for (int hops = 0;; hops++) {
        if ((*fdn = fd_path(out)) != -1)
            return 0;
        if (lstat(out, sb) != 0) {
            *exists = false;
            return errno == ENOENT ? 0 : -1;
        }
        *exists = true;
        if (!S_ISLNK(sb->st_mode))
            return 0;
        if (hops >= 40) {
            errno = ELOOP;
            return -1;
        }
        char link[PATH_MAX];
        ssize_t k = readlink(out, link, sizeof link - 1);
        if (k < 0)
            return -1;
        link[k] = '\0';
        char *slash = strrchr(out, '/');
        size_t d = link[0] == '/' || !slash ? 0 : (size_t)(slash - out) + 1; /* relative to the link's folder */
        if (d + (size_t)k >= PATH_MAX) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(out + d, link, (size_t)k + 1);
    }
}

/* Split path (in place) into its folder (path) and name (a->name). */
static int split(char *path, mlp2__afile *a)
{
    char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t len = strlen(name);
    if (len == 0) { /* "dir/" */
        errno = EISDIR;
        return -1;
    }
    if (len > NAME_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(a->name, name, len + 1);
    if (!slash)
        strcpy(path, ".");
    else
        path[slash == path ? 1 : slash - path] = '\0'; /* "/name": the root */
    return 0;
}

/* The folder, opened for fsync; a folder that may be written but not read
 * is opened as a path only (then neither synced nor swept). */
static int open_dir(mlp2__afile *a, const char *dir)
{
    int fd;
    do
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd >= 0) {
        a->dirfd = fd;
        a->dir_sync = true;
        return 0;
    }
    if (errno != EACCES)
        return -1;
    fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    a->dirfd = fd;
    return 0;
}

/* Write straight through: a character device, a FIFO (the open waits for
 * a reader, as for any writer of a FIFO), a standard stream. */
static int open_stream(mlp2__afile *a, const char *path, int fdn)
{
    a->stream = true;
    if (fdn >= 0) {
        int fl = fcntl(fdn, F_GETFL);
        if (fl < 0)
            return -1;
        if ((fl & O_ACCMODE) == O_RDONLY) {
            errno = EBADF;
            return -1;
        }
        a->fd = fdn;
        return 0;
    }
    int fd;
    do
        fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -1;
    a->fd = fd;
    a->own_fd = true;
    return 0;
}

/* An existing regular file: keep its mode and owner; refuse a read-only one. */
static int note_old(mlp2__afile *a, const struct stat *sb)
{
    if ((sb->st_mode & 0222) == 0 || (faccessat(a->dirfd, a->name, W_OK, AT_EACCESS) != 0 && errno == EACCES)) {
        errno = EACCES;
        return -1;
    }
    a->have_old = true;
    a->old_mode = sb->st_mode & 07777;
    a->old_uid = sb->st_uid;
    a->old_gid = sb->st_gid;
    return 0;
}

/* The temporary file: unnamed (O_TMPFILE) where the file system and /proc
 * allow it, else named exclusively, retried on a collision. */
static int create_tmp(mlp2__afile *a)
{
    a->start = start_time(getpid());
#ifdef O_TMPFILE
    if (access("/proc/self/fd", X_OK) == 0) { /* linkat names it through /proc */
        int fd;
        do
            fd = openat(a->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
        while (fd < 0 && errno == EINTR);
        if (fd >= 0) {
            a->fd = fd;
            a->unnamed = true;
            return 0;
        }
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) /* other than "not supported here" */
            return -1;
    }
#endif
    for (int attempt = 0; attempt < 100; attempt++) {
        char name[sizeof a->tmp];
        make_tmp_name(name, sizeof name, a->start);
        int fd = openat(a->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            a->fd = fd;
            memcpy(a->tmp, name, sizeof name);
            return 0;
        }
        if (errno != EEXIST && errno != EINTR)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

static void reset(mlp2__afile *a)
{
    memset(a, 0, sizeof *a);
    a->fd = -1;
    a->dirfd = -1;
}

int mlp2__afile_open(mlp2__afile *a, const char *path)
{
    reset(a);
    char real[PATH_MAX];
    struct stat sb;
    bool exists = false;
    int fdn = -1;
    if (resolve(path, real, &fdn, &sb, &exists) != 0)
        return -1;
    if (fdn != -1 || (exists && (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode))))
        return open_stream(a, real, fdn);
    if (exists && !S_ISREG(sb.st_mode)) {
        errno = S_ISDIR(sb.st_mode) ? EISDIR : ENOTSUP; /* a folder, a block device, a socket */
        return -1;
    }
    if (split(real, a) != 0 || open_dir(a, real) != 0)
        return -1;
    if ((exists && note_old(a, &sb) != 0) || (remove_stale(a), create_tmp(a)) != 0) {
        close_keep_errno(a->dirfd);
        reset(a);
        return -1;
    }
    return 0;
}

void mlp2__afile_stream(mlp2__afile *a, int fd)
{
    reset(a);
    a->stream = true;
    a->fd = fd;
}

void mlp2__afile_abort(mlp2__afile *a)
{
    int e = errno;
    if (a->fd >= 0 && (!a->stream || a->own_fd))
        close(a->fd);
    if (a->tmp[0] && a->dirfd >= 0)
        unlinkat(a->dirfd, a->tmp, 0);
    if (a->dirfd >= 0)
        close(a->dirfd);
    reset(a);
    errno = e;
}

/* The replaced file's owner (where permitted: else at least its group, else
 * ours) and mode.  chown first: it clears set-id bits. */
static int keep_owner_and_mode(const mlp2__afile *a)
{
    if (!a->have_old)
        return 0;
    if (fchown(a->fd, a->old_uid, a->old_gid) != 0)
        (void)!fchown(a->fd, (uid_t)-1, a->old_gid);
    return fchmod(a->fd, a->old_mode);
}

/* Give the unnamed file a temporary name (linkat cannot replace the target
 * itself); the rename then replaces the target atomically. */
static int link_tmp(mlp2__afile *a)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", a->fd);
    for (int attempt = 0; attempt < 100; attempt++) {
        char name[sizeof a->tmp];
        make_tmp_name(name, sizeof name, a->start);
        int r = linkat(AT_FDCWD, proc, a->dirfd, name, AT_SYMLINK_FOLLOW);
        if (r != 0 && errno == ENOENT) /* no /proc after all: needs CAP_DAC_READ_SEARCH */
            r = linkat(a->fd, "", a->dirfd, name, AT_EMPTY_PATH);
        if (r == 0) {
            memcpy(a->tmp, name, sizeof name);
            a->unnamed = false;
            return 0;
        }
        if (errno != EEXIST && errno != EINTR)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

static int commit_stream(mlp2__afile *a)
{
    int r = sync_if_possible(a->fd);
    if (a->own_fd && close_fd(a->fd) != 0)
        r = -1;
    int e = errno;
    reset(a);
    errno = e;
    return r;
}

int mlp2__afile_commit(mlp2__afile *a)
{
    if (a->stream)
        return commit_stream(a);
    /* 1. the content, owner and mode reach the disk before the file has
     *    its final name */
    if (keep_owner_and_mode(a) != 0 || sync_fd(a->fd) != 0 || (a->unnamed && link_tmp(a) != 0)) {
        mlp2__afile_abort(a);
        return -1;
    }
    int fd = a->fd;
    a->fd = -1;
    int r;
    if (close_fd(fd) != 0) {
        mlp2__afile_abort(a);
        return -1;
    }
    /* 2. the switch: readers see the old file or the new one */
    do
        r = renameat(a->dirfd, a->tmp, a->dirfd, a->name);
    while (r != 0 && errno == EINTR);
    if (r != 0) {
        mlp2__afile_abort(a);
        return -1;
    }
    a->tmp[0] = '\0';
    /* 3. the new name reaches the disk */
    r = a->dir_sync ? sync_if_possible(a->dirfd) : 0;
    int e = errno;
    close(a->dirfd);
    reset(a);
    a->renamed = true;
    errno = e;
    return r;
}

/* ---- for the command: checks before the work, and its signal guard ------- */

int mlp2__afile_check(const char *path, bool *read_only)
{
    *read_only = false;
    char real[PATH_MAX], full[PATH_MAX];
    struct stat sb;
    bool exists = false;
    int fdn = -1;
    if (resolve(path, real, &fdn, &sb, &exists) != 0)
        return -1;
    if (fdn >= 0)
        return fcntl(fdn, F_GETFL) < 0 ? -1 : 0;
    if (fdn == -2 || (exists && (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode))))
        return 0;
    if (exists && !S_ISREG(sb.st_mode)) {
        errno = S_ISDIR(sb.st_mode) ? EISDIR : ENOTSUP;
        return -1;
    }
    memcpy(full, real, sizeof full);
    mlp2__afile a;
    reset(&a);
    if (split(real, &a) != 0 || access(real, W_OK | X_OK) != 0)
        return -1;
    if (exists && ((sb.st_mode & 0222) == 0 || (faccessat(AT_FDCWD, full, W_OK, AT_EACCESS) != 0 && errno == EACCES))) {
        *read_only = true;
        errno = EACCES;
        return -1;
    }
    return 0;
}

int mlp2__afile_dirfd(const char *path)
{
    char real[PATH_MAX];
    struct stat sb;
    bool exists = false;
    int fdn = -1;
    if (resolve(path, real, &fdn, &sb, &exists) != 0 || fdn != -1 || (exists && !S_ISREG(sb.st_mode)))
        return -1;
    mlp2__afile a;
    reset(&a);
    if (split(real, &a) != 0)
        return -1;
    return open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}
