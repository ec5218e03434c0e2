/*
 * test_kill_loop.c - SIGKILL at random moments of mlp2_save, again and
 * again.  A child saves two models in turn, for ever; the parent kills it
 * after a random delay (seeded: the delays are the same on every run, the
 * moments they hit are not).  After every kill the file loads and holds
 * model A or model B bit for bit, and temporary files never pile up
 * (each save removes what killed saves left).  Half the kills hit the
 * named temporary files (O_TMPFILE refused through the shim), half the
 * unnamed ones.  A save killed by SIGXFSZ (file-size limit, default
 * action) is also tried.  At the end one more save leaves the folder
 * holding the model and nothing else.
 *
 * KILLS (default 120, at least 100) is the number of kills that must land
 * inside a save; a kill lands there unless the save just ended, so at most
 * 3 * KILLS kills are tried.
 */
#include "futil.h" /* first: it sets _GNU_SOURCE */
#include "fault.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

static size_t count_tmp(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    CHECK(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "m.mlp2");
    closedir(d);
    return n;
}

/* The child: save B, A, B, A, ... for ever; *in_save tells the parent. */
static _Noreturn void saver(const char *path, const mlp2 *a, const mlp2 *b, bool named, volatile int *in_save)
{
    fault_no_tmpfile(named);
    for (unsigned long i = 0;; i++) {
        *in_save = 1;
        mlp2_status st = mlp2_save(i % 2 ? a : b, path);
        *in_save = 0;
        if (st != MLP2_OK)
            _exit(3);
    }
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* A save killed by SIGXFSZ: the file-size limit at its default action. */
static void xfsz_kill(const char *dir, const char *path, const mlp2 *a, const mlp2 *b)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {65536, 65536};
        signal(SIGXFSZ, SIG_DFL);
        setrlimit(RLIMIT_FSIZE, &rl);
        fault_no_tmpfile(true);
        mlp2_save(b, path);
        _exit(0);
    }
    int ws;
    CHECK(waitpid(pid, &ws, 0) == pid);
    CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGXFSZ);
    CHECK(fu_holds(path, a) || fu_holds(path, b));
    printf("SIGXFSZ during a save: %zu temporary file(s) left\n", count_tmp(dir));
    CHECK(mlp2_save(a, path) == MLP2_OK);
    CHECK_LISTING(dir, "m.mlp2");
}

int main(void)
{
    const char *k_env = getenv("KILLS");
    int kills = k_env ? atoi(k_env) : 120; /* kills that land inside a save */
    /* 3.2 MB: a save takes long enough for kills to land in every phase */
    mlp2 *a = fu_model(200, 1000, 200, 21), *b = fu_model(200, 1000, 200, 22);
    char *dir = fu_tmpdir("kill"), *path = fu_join(dir, "m.mlp2");
    CHECK(mlp2_save(a, path) == MLP2_OK);
    volatile int *in_save = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(in_save != MAP_FAILED);
    uint64_t seed = 0x2385u;
    int in_a_save = 0, was_a = 0, was_b = 0;
    size_t most_tmp = 0, left_total = 0;
    int i;
    for (i = 0; in_a_save < kills && i < 3 * kills; i++) {
        *in_save = 0;
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
            saver(path, a, b, i % 2 == 1, in_save);
        /* the child has begun a save (it does nothing else from then on) */
        for (int w = 0; !*in_save && w < 100000; w++) {
            struct timespec tick = {0, 50000};
            nanosleep(&tick, NULL);
        }
        /* then 0 to 30 ms: anywhere in that save or in one of the next */
        struct timespec ts = {0, (long)(rng_next(&seed) % 30000000)};
        nanosleep(&ts, NULL);
        int hit = *in_save;
        CHECK(kill(pid, SIGKILL) == 0);
        int ws;
        CHECK(waitpid(pid, &ws, 0) == pid);
        CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL); /* not exit 3: no save failed */
        in_a_save += hit;
        bool is_a = fu_holds(path, a), is_b = !is_a && fu_holds(path, b);
        if (!is_a && !is_b) {
            fprintf(stderr, "kill %d: the model file is neither model A nor model B\n", i);
            return 1;
        }
        was_a += is_a;
        was_b += is_b;
        size_t t = count_tmp(dir);
        left_total += t;
        most_tmp = t > most_tmp ? t : most_tmp;
        /* each save first removes what killed saves left: at most the
         * last one's and the one it was writing */
        if (t > 2) {
            fprintf(stderr, "kill %d: %zu temporary files piled up\n", i, t);
            return 1;
        }
    }
    /* (how often the file held A or B depends on the machine's speed: it
     * is reported, not checked) */
    printf("%d SIGKILLs, %d inside a save; the file held A %d times, B %d times; temporary files left after a "
           "kill: %zu in all, at most %zu at once\n",
           i, in_a_save, was_a, was_b, left_total, most_tmp);
    CHECK(in_a_save >= kills && kills >= 100);
    xfsz_kill(dir, path, a, b);
    /* one more save: the model and nothing else */
    CHECK(mlp2_save(b, path) == MLP2_OK);
    CHECK_LISTING(dir, "m.mlp2");
    CHECK(fu_holds(path, b));
    fu_rmtree(dir);
    free(path);
    free(dir);
    mlp2_free(a);
    mlp2_free(b);
    return 0;
}
