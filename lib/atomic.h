/*
 * atomic.h - the one atomic file writer of the project (lib/atomic.c).
 *
 * mlp2_save uses it, and the `mlp2` command compiles the same source for
 * its plots, predictions and generated files.  It includes nothing of the
 * library's, so that the command can build it on its own: its symbols stay
 * hidden inside libmlp2 (lib/mlp2.map) and private to the command.
 *
 * The scheme (docs/FORMAT.md, "How files are written"):
 *   - the target path is resolved through symbolic links; a character
 *     device, a FIFO or a standard stream (/dev/stdout, /dev/fd/N,
 *     /proc/self/fd/N) is written straight through, never replaced;
 *   - otherwise the content goes to an unnamed file in the target's folder
 *     (O_TMPFILE), or, where the file system has none, to a named one,
 *     ".mlp2-tmp.HOST.PID.START.RANDOM", that records its writer;
 *   - commit: the old file's owner (where permitted) and mode, fsync of the
 *     file, a name for an unnamed file, rename over the target, fsync of the
 *     folder.  Before creating anything, temporary files of writers that are
 *     gone (same host) are removed from the folder.
 *
 * Functions return 0, or -1 with errno set.  None of them prints, allocates
 * or touches signal dispositions.  Safe to use from several threads on
 * different mlp2__afile objects.
 */
#ifndef MLP2_ATOMIC_H
#define MLP2_ATOMIC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

/* Prefix of every temporary file name the writer gives. */
#define MLP2__TMP_PREFIX ".mlp2-tmp."

typedef struct mlp2__afile {
    int fd;       /* write the content here */
    int dirfd;    /* the target's folder; -1 when streaming */
    bool stream;  /* written straight through: no temporary file, no rename */
    bool own_fd;  /* fd is closed at the end (not for a standard stream) */
    bool unnamed; /* fd is an O_TMPFILE file, not yet linked */
    bool dir_sync;  /* dirfd can be fsync'ed (opened for reading) */
    bool have_old;  /* a regular file is being replaced: */
    mode_t old_mode; /* ... its mode, */
    uid_t old_uid;   /* ... owner */
    gid_t old_gid;   /* ... and group */
    unsigned long long start; /* this process's start time, for temporary names */
    bool renamed; /* after mlp2__afile_commit: the new file is in place (a
                   * failure was then the folder's fsync) */
    char tmp[80];    /* the temporary file's name in the folder; "" when none exists */
    char name[NAME_MAX + 1]; /* the target's name in the folder */
} mlp2__afile;

/*
 * Start writing path.  Resolves symbolic links, refuses a folder (EISDIR),
 * a block device or socket (ENOTSUP), an existing regular file that has no
 * write permission bit or that the caller may not write (EACCES: a
 * read-only file is never replaced), a name longer than NAME_MAX
 * (ENAMETOOLONG); a missing folder gives ENOENT.  Removes stale temporary
 * files from the folder, then creates the temporary file (or opens the
 * stream).  On failure nothing exists that did not before.
 */
int mlp2__afile_open(mlp2__afile *a, const char *path);
/* The same for an already open descriptor (the command's "-o -"): written
 * straight through, not closed. */
void mlp2__afile_stream(mlp2__afile *a, int fd);
/*
 * Finish: owner and mode, fsync, link, close, rename, fsync of the folder
 * (for a stream: fsync where the descriptor allows it, and close if owned).
 * On any failure before the rename the temporary file is removed and the
 * target is as it was; a failure of the folder's fsync after the rename
 * leaves the new file in place and still returns -1.  Releases everything
 * either way.
 */
int mlp2__afile_commit(mlp2__afile *a);
/* Give up: remove the temporary file, release everything; errno kept. */
void mlp2__afile_abort(mlp2__afile *a);

/* write() all n bytes (short writes and EINTR handled); 0 or -1. */
int mlp2__write_all(int fd, const void *buf, size_t n);

/*
 * Remove every temporary file that this process has in the folder dirfd
 * (opened for reading).  Async-signal-safe: only system calls, no
 * allocation; for a signal handler that must not leave files behind.
 * prefix is the value of mlp2__own_tmp_prefix, computed beforehand.
 */
void mlp2__afile_sweep_own(int dirfd, const char *prefix);
/* MLP2__TMP_PREFIX "HOST.PID." for this process, into buf (>= 64 bytes). */
void mlp2__own_tmp_prefix(char *buf, size_t size);

/* Could path be written, without creating anything: its folder exists and
 * is writable, and it is not a folder, a block device or a read-only file
 * (the errors of mlp2__afile_open).  0 or -1 with errno; *read_only tells
 * the last case (EACCES) from an unwritable folder. */
int mlp2__afile_check(const char *path, bool *read_only);
/* The folder where mlp2__afile_open(path) would put its temporary file,
 * opened for reading (for mlp2__afile_sweep_own); -1 when path is written
 * straight through or cannot be resolved. */
int mlp2__afile_dirfd(const char *path);

#endif
