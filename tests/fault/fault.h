/*
 * fault.h - the fault-injection shim (tests/fault/fault.c).
 *
 * It replaces open, read, write, fsync, close, rename and linkat (and their
 * variants) and makes the k-th call of one of them fail with EIO, ENOSPC or
 * EINTR, or transfer fewer bytes than asked (a short read or write).  Two
 * ways to use it:
 *   - linked into a test program, driven by the functions below;
 *   - as an LD_PRELOAD module (libmlp2fault.so) for the `mlp2` command,
 *     driven by the environment:
 *       FAULT_OP=open|read|write|fsync|close|rename|link  FAULT_AT=k
 *       FAULT_ERR=EIO|ENOSPC|EINTR|SHORT
 *       FAULT_NO_TMPFILE=1   open(O_TMPFILE) answers EOPNOTSUPP (the named
 *                            fallback of the atomic writer)
 *       FAULT_LOG=FILE       at exit, append "calls OP N fired F after_rename R"
 *       FAULT_TRACE=FILE     at exit, append the trace (fault_trace) and a newline
 *       FAULT_DELAY_MS=N     each write() to a descriptor above 2 first sleeps
 *                            N ms (a slow disk: a write is caught in progress)
 */
#ifndef MLP2_TESTS_FAULT_H
#define MLP2_TESTS_FAULT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum fault_op { FAULT_OPEN, FAULT_READ, FAULT_WRITE, FAULT_FSYNC, FAULT_CLOSE, FAULT_RENAME,
                        FAULT_LINK, FAULT_N_OPS } fault_op;
typedef enum fault_kind { FAULT_EIO, FAULT_ENOSPC, FAULT_EINTR, FAULT_SHORT, FAULT_N_KINDS } fault_kind;

/* Fail the k-th call (k >= 1) of op from now on, once; counters restart.
 * k = 0 only counts. */
void fault_arm(fault_op op, unsigned long k, fault_kind kind);
/* Stop injecting (counting goes on until the next fault_arm). */
void fault_disarm(void);
/* The armed fault happened; it happened after a successful rename. */
bool fault_fired(void);
bool fault_fired_after_rename(void);
/* Calls of op since fault_arm. */
unsigned long fault_calls(fault_op op);
/* open(O_TMPFILE) fails with EOPNOTSUPP while on. */
void fault_no_tmpfile(bool on);

/* A trace of the calls since fault_arm: one letter per call, in order.
 * o open, r read, w write, F fsync of a regular file, D fsync of a folder,
 * f other fsync, c close, n rename, l link.  NUL-terminated, truncated at
 * its size. */
const char *fault_trace(void);

const char *fault_op_name(fault_op op);
const char *fault_kind_name(fault_kind k);

#endif
