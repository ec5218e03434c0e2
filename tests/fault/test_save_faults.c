/*
 * test_save_faults.c - every open, read, write, fsync, close, rename and
 * link of mlp2_save and mlp2_load fails in turn (EIO, ENOSPC, EINTR, a
 * short transfer), through the shim linked in (fault.c).  After each:
 *   - the status is the documented one (EINTR and short transfers are
 *     retried, so the call succeeds; EIO and ENOSPC on the data's write,
 *     fsync, link and rename give MLP2_EIO);
 *   - the model file is the old one or the complete new one (the new one
 *     only when the fault came after the rename: the folder's fsync);
 *   - the folder holds the model and nothing else: no temporary file;
 *   - a load that fails leaves *out untouched.
 * Both ways of creating the temporary file are swept: unnamed (O_TMPFILE)
 * and named (O_TMPFILE refused by the shim).  A successful save's calls
 * are also checked in order: the file is fsync'ed before the rename and
 * the folder after it.
 */
#include "futil.h"
#include "fault.h"

static const char *const mode_names[2] = {"unnamed", "named"};

/* One save with fault k of (op, kind); false when the fault did not fire
 * (k is past the last call). */
static bool save_once(const char *dir, const char *path, const mlp2 *old, const mlp2 *net, fault_op op,
                      unsigned long k, fault_kind kind, int *n_checked)
{
    CHECK(mlp2_save(old, path) == MLP2_OK);
    fault_arm(op, k, kind);
    mlp2_status st = mlp2_save(net, path);
    bool fired = fault_fired(), after = fault_fired_after_rename();
    fault_disarm();
    CHECK_LISTING(dir, "m.mlp2");
    if (!fired) {
        CHECK(st == MLP2_OK && fu_holds(path, net));
        return false;
    }
    bool transient = kind == FAULT_EINTR || (kind == FAULT_SHORT && (op == FAULT_READ || op == FAULT_WRITE));
    bool must_fail = !transient && (op == FAULT_WRITE || op == FAULT_FSYNC || op == FAULT_LINK || op == FAULT_RENAME);
    if (transient || st == MLP2_OK) {
        if (st != MLP2_OK || !fu_holds(path, net)) {
            fprintf(stderr, "%s %lu %s: status %s, expected success\n", fault_op_name(op), k, fault_kind_name(kind),
                    mlp2_strerror(st));
            exit(1);
        }
    }
    if (must_fail && st != MLP2_EIO) {
        fprintf(stderr, "%s %lu %s: status %s, expected MLP2_EIO\n", fault_op_name(op), k, fault_kind_name(kind),
                mlp2_strerror(st));
        exit(1);
    }
    if (st == MLP2_EIO)
        CHECK(after ? fu_holds(path, net) : fu_holds(path, old));
    else
        CHECK(st == MLP2_OK);
    (*n_checked)++;
    return true;
}

static bool load_once(const char *path, const mlp2 *net, fault_op op, unsigned long k, fault_kind kind,
                      int *n_checked)
{
    mlp2 *out = (mlp2 *)(uintptr_t)0x5e5e;
    fault_arm(op, k, kind);
    mlp2_status st = mlp2_load(&out, path);
    bool fired = fault_fired();
    fault_disarm();
    bool transient = kind == FAULT_EINTR || (kind == FAULT_SHORT && op == FAULT_READ) || op == FAULT_CLOSE;
    if (st == MLP2_OK) {
        CHECK(!fired || transient);
        size_t np = mlp2_n_params(net);
        double *a = malloc(np * 8), *b = malloc(np * 8);
        CHECK(a && b && mlp2_n_params(out) == np);
        mlp2_get_params(net, a);
        mlp2_get_params(out, b);
        CHECK(memcmp(a, b, np * 8) == 0);
        free(a);
        free(b);
        mlp2_free(out);
    } else {
        if (!(fired && !transient && st == MLP2_EIO)) {
            fprintf(stderr, "load, %s %lu %s: status %s\n", fault_op_name(op), k, fault_kind_name(kind),
                    mlp2_strerror(st));
            exit(1);
        }
        CHECK(out == (mlp2 *)(uintptr_t)0x5e5e);
    }
    if (fired)
        (*n_checked)++;
    return fired;
}

/* The calls of a clean save, in order: F (fsync of the file) before n
 * (rename), D (fsync of the folder) after it. */
static void check_order(const char *path, const mlp2 *net, bool named)
{
    fault_arm(FAULT_OPEN, 0, FAULT_EIO);
    CHECK(mlp2_save(net, path) == MLP2_OK);
    const char *t = fault_trace();
    const char *F = strchr(t, 'F'), *n = strchr(t, 'n'), *D = strrchr(t, 'D');
    if (!F || !n || !D || !(F < n && n < D) || strchr(n + 1, 'w') || (!named && !strchr(t, 'l'))) {
        fprintf(stderr, "save's calls in the wrong order (%s): %s\n", named ? "named" : "unnamed", t);
        exit(1);
    }
    printf("%s temporary file: calls of a save: %s\n", named ? "named" : "unnamed", t);
}

int main(void)
{
    mlp2 *old = fu_model(3, 5, 2, 11), *net = fu_model(40, 30, 3, 12); /* about 10 KB */
    char *dir = fu_tmpdir("faults"), *path = fu_join(dir, "m.mlp2");
    const fault_op ops[] = {FAULT_OPEN, FAULT_READ, FAULT_WRITE, FAULT_FSYNC, FAULT_CLOSE, FAULT_RENAME, FAULT_LINK};
    for (int named = 0; named < 2; named++) {
        fault_no_tmpfile(named);
        check_order(path, net, named);
        int checked = 0, load_checked = 0;
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            for (int kind = 0; kind < FAULT_N_KINDS; kind++) {
                unsigned long k = 1;
                while (save_once(dir, path, old, net, ops[i], k, (fault_kind)kind, &checked))
                    k++;
                /* the loads: of the new file, left by the last clean save */
                for (k = 1; load_once(path, net, ops[i], k, (fault_kind)kind, &load_checked); k++)
                    ;
            }
        printf("%s temporary file: %d faulty saves and %d faulty loads checked\n", mode_names[named], checked,
               load_checked);
        CHECK(checked >= 40 && load_checked >= 8); /* 12 calls per save, 4 per load, 4 kinds */
    }
    fault_no_tmpfile(false);
    fu_rmtree(dir);
    free(path);
    free(dir);
    mlp2_free(old);
    mlp2_free(net);
    return 0;
}
