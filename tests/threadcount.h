/* threadcount.h - the number of threads of this process (header-only),
 * shared by test_par (a pool makes and joins its workers) and
 * mpi/tests/test_mpi_train (each rank's pool). */
#ifndef MLP2_THREADCOUNT_H
#define MLP2_THREADCOUNT_H

#include <dirent.h>

/* Threads of this process, from /proc/self/task (-1 if unreadable). */
static inline int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

#endif
