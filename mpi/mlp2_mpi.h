/*
 * mlp2_mpi.h - data-parallel training of a libmlp2 network over MPI
 * (libmlp2_mpi, pkg-config mlp2-mpi).  libmlp2 itself has no MPI
 * dependency; this library adds one function on top of its public API.
 */
#ifndef MLP2_MPI_H
#define MLP2_MPI_H

#include <mpi.h>

#include <mlp2.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MLP2_MPI_BUILDING) && defined(__GNUC__)
#define MLP2_MPI_API __attribute__((visibility("default")))
#else
#define MLP2_MPI_API
#endif

/**
 * mlp2_train over the ranks of comm, each holding a slice of the data.
 * A collective call: every rank of comm calls it, with the same shape and
 * the same cfg (checked; callback, user and cancel may differ).
 *
 * Semantics:
 *  - The global training set is the concatenation of the ranks' local rows
 *    in rank order; the same for validation.  A rank may hold 0 rows (then
 *    X/Y may be NULL) as long as the global training set is not empty.
 *  - Rank 0's parameters are broadcast first.
 *  - Every epoch visits the global rows in the permutation mlp2_train would
 *    use on the concatenated data with cfg->seed, in global batches of
 *    cfg->batch_size rows.  A batch's gradient is the sum of the ranks'
 *    partial sums over their own rows of the batch, divided by the global
 *    batch size.  The parameter vector is cut into one contiguous slice
 *    per rank.  Each rank receives every rank's part of its own slice of
 *    the gradient, adds them in a fixed order (a pairwise tree in rank
 *    order), takes the optimizer step of its slice once every rank has
 *    found its slice's new values finite, and the slices are then gathered
 *    on every rank.  So every rank holds bit-identical parameters after
 *    every step.
 *  - Losses, validation, early stopping, the schedule, the callback's
 *    arguments and the report are global and identical on every rank.  The
 *    callback runs on every rank; training stops when it returns non-zero
 *    on any rank.  *cancel is read on every rank after every batch; a
 *    cancel on any rank stops every rank.
 *  - The result equals mlp2_train on the concatenated data up to rounding
 *    (the partial sums are added in another order), and is bit-identical
 *    from run to run for a fixed number of ranks and rows per rank.
 *  - cfg->threads works on every rank (a multi-threaded workspace per rank),
 *    with mlp2_train's rule over the rank's own rows: no thread is made
 *    when epochs x (m_local + m_val_local) x (50 + n_in n_hidden +
 *    n_hidden n_out) is below 1e7.
 *
 * Failures: each step's collective carries every rank's status, so a
 * failure on one rank (bad arguments, non-finite local data, out of memory,
 * a non-finite loss or step) ends the call on every rank with the same
 * status, that of the lowest failing rank, and never leaves a rank waiting.
 * The model is then left as mlp2_train promises: unchanged for failures
 * found before training (arguments, data, memory: rank 0's parameters are
 * not yet broadcast), the last finite parameters (or the best ones when
 * patience > 0) for MLP2_ENONFINITE during training.  An MPI error inside
 * the call is not recoverable here: it goes to comm's MPI error handler
 * (MPI_ERRORS_ARE_FATAL by default aborts the job rather than hanging).
 *
 * Memory: per rank a workspace of min(batch, m_local) rows, a whole
 * optimizer state (of which the rank steps its slice), the global
 * permutation (m_global indices), and about 2 n_params + 4 n_ranks
 * doubles of buffers.
 *
 * @param[in] comm  an intra-communicator; its ranks define the order
 * @returns the same status on every rank: as mlp2_train; MLP2_EINVAL also
 *          for ranks that disagree on the shape or the configuration, and
 *          MLP2_ERANGE for a global row count that overflows size_t.
 */
MLP2_MPI_API mlp2_status mlp2_mpi_train(mlp2 *net, const mlp2_train_config *cfg, MPI_Comm comm,
                                        size_t m_local, const double *X, const double *Y,
                                        size_t m_val_local, const double *Xv, const double *Yv,
                                        mlp2_train_report *report);

#ifdef __cplusplus
}
#endif
#endif /* MLP2_MPI_H */
