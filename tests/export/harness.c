/* harness.c - runs an exported network (built with it: the generated NET.c
 * with --name net --header net.h) on rows of comma-separated inputs from
 * stdin, and prints each row's outputs as `mlp2 predict` prints numbers: the
 * shortest of %.15g, %.16g, %.17g that reads back to the same double, so that
 * equal text means equal bits.  -DEXPORT_FLOAT for a --float export.  For a
 * classifier (NET_N_CLASSES) NAME_classify's class follows as a last column
 * (its index, or with -DPRINT_NAME its name from NAME_classes[] as `mlp2
 * predict --proba` writes the label), unless -DNO_CLASS. */
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

#if defined(NET_N_CLASSES) && defined(PRINT_NAME)
/* a class name as `mlp2 predict` writes a label: quoted when it holds a
 * comma, a quote, a line break or an outer space, quotes doubled */
static void print_label(const char *name)
{
    const size_t n = strlen(name);
    const int quote = strpbrk(name, ",\"\r\n") != NULL || name[0] == ' ' || (n && name[n - 1] == ' ');
    if (quote)
        putchar('"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            putchar('"');
        putchar(*p);
    }
    fputs(quote ? "\"\n" : "\n", stdout);
}
#endif

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
#if defined(NET_N_CLASSES) && defined(PRINT_NAME)
        for (size_t o = 0; o < NET_N_OUT; o++)
            print_number((double)y[o], 0);
        print_label(net_classes[net_classify(x)]);
#elif defined(NET_N_CLASSES) && !defined(NO_CLASS)
        for (size_t o = 0; o < NET_N_OUT; o++)
            print_number((double)y[o], 0);
        printf("%d\n", net_classify(x));
#else
        for (size_t o = 0; o < NET_N_OUT; o++)
            print_number((double)y[o], o + 1 == NET_N_OUT);
#endif
        rows++;
    }
    return rows > 0 && fflush(stdout) == 0 ? 0 : 1;
}
