/* interrupt.h - Ctrl-C during training: stop after the current batch. */
#ifndef MLP2_TOOLS_INTERRUPT_H
#define MLP2_TOOLS_INTERRUPT_H
#include <signal.h>

/* Set to 1 by the first SIGINT; the library's cancel flag. */
extern volatile sig_atomic_t interrupted;

/* Catch SIGINT once (a second Ctrl-C kills as usual); keep it ignored if it
 * was ignored when we started (as for background jobs of a shell).  The
 * previous action goes to old, to be put back with sigaction. */
void catch_sigint(struct sigaction *old);

#endif
