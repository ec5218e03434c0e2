/* harness.c - runs an exported network (built with it: the generated NET.c
 * with --name net --header net.h) on rows of comma-separated inputs from
 * stdin, and prints each row's outputs as `mlp2 predict` prints numbers: the
 * shortest of %.15g, %.16g, %.17g that reads back to the same double, so that
 * equal text means equal bits.  -DEXPORT_FLOAT for a --float export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

#ifdef EXPORT_FLOAT
typedef float real;
#else
typedef double real;
#endif

static void print_number(double v, int last)
{
    char buf[64];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, stdout);
    fputc(last ? '\n' : ',', stdout);
}

int main(void)
{
    static char line[1 << 16];
    real x[NET_N_IN], y[NET_N_OUT];
    size_t rows = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *p = line, *end;
        for (size_t k = 0; k < NET_N_IN; k++) {
            const double v = strtod(p, &end);
            if (end == p) {
                fprintf(stderr, "harness: row %zu: expected %d numbers\n", rows + 1, NET_N_IN);
                return 2;
            }
            x[k] = (real)v;
            p = end + (*end == ',');
        }
        net_predict(x, y);
        for (size_t o = 0; o < NET_N_OUT; o++)
            print_number((double)y[o], o + 1 == NET_N_OUT);
        rows++;
    }
    return rows > 0 && fflush(stdout) == 0 ? 0 : 1;
}
