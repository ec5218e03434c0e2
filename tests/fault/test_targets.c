/*
 * test_targets.c - what mlp2_save does with the path it is given (each
 * numbered case is a finding of issue 14 that failed before the atomic
 * writer of lib/atomic.c):
 *   1. temporary files of killed writers are removed by the next save,
 *      never those of a live writer or of another host;
 *   5. a symbolic link is written through (the link stays, the file it
 *      points to is replaced in its own folder); a FIFO, a character
 *      device and /proc/self/fd/N, /dev/fd/N are written straight through;
 *   6. the old file's mode and owner are kept; a read-only file is refused;
 *   7. names up to NAME_MAX (255 bytes) can be saved.
 */
#include "futil.h" /* first: it sets _GNU_SOURCE */

#include <signal.h>
#include <sys/wait.h>

static mlp2 *A, *B;
static unsigned char *b_bytes; /* B as a regular save writes it */
static size_t b_len;

static void check_bytes(const unsigned char *got, size_t n)
{
    CHECK(n == b_len && memcmp(got, b_bytes, n) == 0);
}

static void test_symlinks(const char *dir)
{
    char *sub = fu_join(dir, "real"), *target = fu_join(sub, "m.mlp2"), *link = fu_join(dir, "link.mlp2");
    CHECK(mkdir(sub, 0700) == 0);
    CHECK(mlp2_save(A, target) == MLP2_OK);
    CHECK(symlink("real/m.mlp2", link) == 0); /* relative, to the link's folder */
    CHECK(mlp2_save(B, link) == MLP2_OK);
    struct stat sb;
    CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));
    CHECK(fu_holds(target, B));
    CHECK_LISTING(sub, "m.mlp2");
    CHECK_LISTING(dir, "link.mlp2|real");
    /* a dangling link: the file it names is created */
    CHECK(unlink(target) == 0);
    CHECK(mlp2_save(A, link) == MLP2_OK);
    CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode) && fu_holds(target, A));
    /* a chain of links, one absolute */
    char *link2 = fu_join(dir, "link2.mlp2");
    CHECK(symlink(link, link2) == 0);
    CHECK(mlp2_save(B, link2) == MLP2_OK);
    CHECK(fu_holds(target, B));
    CHECK_LISTING(dir, "link.mlp2|link2.mlp2|real");
    fu_rmtree(sub);
    unlink(link);
    unlink(link2);
    free(sub), free(target), free(link), free(link2);
}

static void test_fifo_and_devices(const char *dir)
{
    char *fifo = fu_join(dir, "fifo"), *got = fu_join(dir, "got");
    CHECK(mkfifo(fifo, 0600) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) { /* the reader: copies the FIFO to a file */
        size_t n;
        unsigned char *b = fu_read(fifo, &n);
        fu_write(got, b, n);
        _exit(0);
    }
    CHECK(mlp2_save(B, fifo) == MLP2_OK);
    int ws;
    CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    struct stat sb;
    CHECK(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode)); /* still a FIFO */
    size_t n;
    unsigned char *b = fu_read(got, &n);
    check_bytes(b, n);
    free(b);
    CHECK(mlp2_save(B, "/dev/null") == MLP2_OK);
    CHECK(lstat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode));
    /* a pipe through /proc/self/fd/N and /dev/fd/N */
    const char *dirs[] = {"/proc/self/fd", "/dev/fd"};
    for (int i = 0; i < 2; i++) {
        int p[2];
        CHECK(pipe(p) == 0);
        CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
        char name[64];
        snprintf(name, sizeof name, "%s/%d", dirs[i], p[1]);
        /* the pipe holds 64 KB: B is smaller */
        CHECK(b_len < 65536 && mlp2_save(B, name) == MLP2_OK);
        unsigned char buf[65536];
        ssize_t r = read(p[0], buf, sizeof buf);
        CHECK(r > 0);
        check_bytes(buf, (size_t)r);
        CHECK(fcntl(p[1], F_GETFD) >= 0); /* not closed: the caller's */
        close(p[0]);
        close(p[1]);
    }
    /* a regular file reached through /proc/self/fd/N is written in place
     * (the same inode: whoever holds it open sees the model) */
    int fd = open(got, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    struct stat before, after;
    CHECK(fstat(fd, &before) == 0);
    char name[64];
    snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
    CHECK(mlp2_save(A, name) == MLP2_OK);
    close(fd);
    CHECK(stat(got, &after) == 0 && after.st_ino == before.st_ino);
    CHECK(fu_holds(got, A));
    unlink(fifo);
    unlink(got);
    free(fifo), free(got);
}

static void test_mode_owner_readonly(const char *dir)
{
    char *path = fu_join(dir, "m.mlp2");
    mode_t um = umask(022);
    CHECK(mlp2_save(A, path) == MLP2_OK);
    CHECK(chmod(path, 0600) == 0);
    CHECK(mlp2_save(B, path) == MLP2_OK);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0600);
    CHECK(chmod(path, 0660) == 0);
    CHECK(mlp2_save(A, path) == MLP2_OK);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0660 && fu_holds(path, A));
    if (geteuid() == 0) { /* another user's file: root keeps its owner */
        CHECK(chown(path, 12345, 23456) == 0);
        CHECK(mlp2_save(B, path) == MLP2_OK);
        CHECK(stat(path, &sb) == 0 && sb.st_uid == 12345 && sb.st_gid == 23456 && (sb.st_mode & 07777) == 0660);
        CHECK(fu_holds(path, B));
    } else {
        printf("not root: the owner part is not tried\n");
    }
    /* read-only: refused, even for root, and the file stays */
    CHECK(chmod(path, 0444) == 0);
    size_t n0, n1;
    unsigned char *before = fu_read(path, &n0);
    errno = 0;
    CHECK(mlp2_save(A, path) == MLP2_EIO && errno == EACCES);
    unsigned char *after = fu_read(path, &n1);
    CHECK(n0 == n1 && memcmp(before, after, n0) == 0);
    CHECK_LISTING(dir, "m.mlp2");
    free(before), free(after);
    umask(um);
    unlink(path);
    free(path);
}

static void test_long_names(const char *dir)
{
    char name[300];
    for (size_t len = 240; len <= 256; len++) {
        memset(name, 'x', len);
        memcpy(name + len - 5, ".mlp2", 6);
        char *path = fu_join(dir, name);
        errno = 0;
        mlp2_status st = mlp2_save(A, path);
        if (len <= 255) {
            if (st != MLP2_OK) {
                fprintf(stderr, "a %zu-byte name: %s (%s)\n", len, mlp2_strerror(st), strerror(errno));
                exit(1);
            }
            CHECK(fu_holds(path, A));
            CHECK(mlp2_save(B, path) == MLP2_OK && fu_holds(path, B)); /* replaced, too */
            unlink(path);
        } else {
            CHECK(st == MLP2_EIO && errno == ENAMETOOLONG);
        }
        CHECK_LISTING(dir, "");
        free(path);
    }
}

static uint32_t host_id(void)
{
    char h[256] = "";
    gethostname(h, sizeof h - 1);
    uint32_t v = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)h; *p; p++)
        v = (v ^ *p) * 16777619u;
    return v;
}

static unsigned long long start_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    size_t n;
    char *s = (char *)fu_read(path, &n);
    CHECK(s);
    s = realloc(s, n + 1);
    s[n] = '\0';
    char *p = strrchr(s, ')');
    unsigned long long v = 0;
    for (int f = 2; f < 22; f++)
        p = strchr(p + 1, ' ');
    v = strtoull(p + 1, NULL, 10);
    free(s);
    return v;
}

static void touch(const char *dir, const char *name)
{
    char *p = fu_join(dir, name);
    fu_write(p, "x", 1);
    free(p);
}

static void test_stale_files(const char *dir)
{
    char *path = fu_join(dir, "m.mlp2");
    pid_t dead = fork(); /* a pid that is gone */
    CHECK(dead >= 0);
    if (dead == 0)
        _exit(0);
    CHECK(waitpid(dead, NULL, 0) == dead);
    int hold[2]; /* the live writer lives until we close hold[1] or die */
    CHECK(pipe(hold) == 0);
    pid_t live = fork();
    CHECK(live >= 0);
    if (live == 0) {
        char c;
        close(hold[1]);
        while (read(hold[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(hold[0]);
    unsigned long long live_start = start_of(live);
    uint32_t me = host_id();
    char n[6][128];
    snprintf(n[0], 128, ".mlp2-tmp.%08x.%d.%llx.deadwriter01", me, (int)dead, 12345ull);
    snprintf(n[1], 128, ".mlp2-tmp.%08x.%d.%llx.livewriter01", me, (int)live, live_start);
    snprintf(n[2], 128, ".mlp2-tmp.%08x.%d.%llx.reusedpid001", me, (int)live, live_start + 1); /* pid reused */
    snprintf(n[3], 128, ".mlp2-tmp.%08x.%d.%llx.otherhost001", me ^ 1u, (int)dead, 12345ull);
    snprintf(n[4], 128, ".mlp2-tmp.%08x.%d.%llx.mine00000001", me, (int)getpid(), start_of(getpid()));
    snprintf(n[5], 128, ".mlp2-tmp.garbage");
    for (int i = 0; i < 6; i++)
        touch(dir, n[i]);
    CHECK(mlp2_save(A, path) == MLP2_OK);
    char ls[1024];
    fu_listing(dir, ls, sizeof ls);
    /* removed: the dead writer's and the one whose pid was reused; kept:
     * the live writer's, another host's, our own process's, a name that
     * does not parse */
    for (int i = 0; i < 6; i++)
        CHECK((strstr(ls, n[i]) != NULL) == (i == 1 || i == 3 || i == 4 || i == 5));
    close(hold[1]);
    CHECK(waitpid(live, NULL, 0) == live);
    /* now the live writer is gone too */
    CHECK(mlp2_save(B, path) == MLP2_OK);
    fu_listing(dir, ls, sizeof ls);
    CHECK(strstr(ls, n[1]) == NULL && strstr(ls, n[3]) && strstr(ls, n[4]));
    for (int i = 3; i < 6; i++) {
        char *p = fu_join(dir, n[i]);
        unlink(p);
        free(p);
    }
    unlink(path);
    CHECK_LISTING(dir, "");
    free(path);
}

int main(void)
{
    A = fu_model(3, 7, 2, 31);
    B = fu_model(20, 30, 4, 32); /* under 64 KB: fits in a pipe */
    char *dir = fu_tmpdir("targets"), *ref = fu_join(dir, "ref.mlp2");
    CHECK(mlp2_save(B, ref) == MLP2_OK);
    CHECK((b_bytes = fu_read(ref, &b_len)) != NULL);
    unlink(ref);
    test_symlinks(dir);
    test_fifo_and_devices(dir);
    test_mode_owner_readonly(dir);
    test_long_names(dir);
    test_stale_files(dir);
    printf("symlinks, FIFO, /dev/null, /proc/self/fd, /dev/fd, mode, owner, read-only, names of 240-256 bytes, "
           "stale temporary files: as documented\n");
    fu_rmtree(dir);
    free(ref), free(dir), free(b_bytes);
    mlp2_free(A);
    mlp2_free(B);
    return 0;
}
