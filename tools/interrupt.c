/* interrupt.c - Ctrl-C during training (see interrupt.h). */
#include <string.h>

#include "interrupt.h"

volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Catch SIGINT once (a second Ctrl-C kills as usual); keep it ignored if it
 * was ignored when we started (as for background jobs of a shell). */
void catch_sigint(struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    if (sigaction(SIGINT, NULL, old) == 0 && old->sa_handler == SIG_IGN)
        return;
    sigaction(SIGINT, &sa, old);
}
