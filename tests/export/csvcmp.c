/* csvcmp.c - compare two CSV files of numbers (same shape, no header) within
 * a tolerance: |a - b| <= tol * max(|b|, floor * the largest |b| of the
 * column), element by element, b the reference.  Prints the largest ratio
 * |a - b| / that bound times tol (the "relative error" in that sense).
 * Usage: csvcmp A B TOL FLOOR.  Exit 0 within, 1 beyond, 2 on bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXV (1 << 20)

static size_t read_csv(const char *path, double *v, size_t *cols)
{
    FILE *f = fopen(path, "r");
    static char line[1 << 16];
    size_t n = 0;
    *cols = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        size_t c = 0;
        for (char *p = line, *end;; p = end + 1) {
            const double x = strtod(p, &end);
            if (end == p || n == MAXV)
                break;
            v[n++] = x, c++;
            if (*end != ',')
                break;
        }
        if (*cols == 0)
            *cols = c;
        else if (c != *cols)
            return fclose(f), 0;
    }
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    static double a[MAXV], b[MAXV], colmax[4096];
    size_t ca, cb;
    if (argc != 5)
        return fputs("usage: csvcmp A B TOL FLOOR\n", stderr), 2;
    const double tol = atof(argv[3]), floor_frac = atof(argv[4]);
    const size_t na = read_csv(argv[1], a, &ca), nb = read_csv(argv[2], b, &cb);
    if (na == 0 || na != nb || ca != cb || ca > 4096)
        return fprintf(stderr, "csvcmp: %s and %s differ in shape or cannot be read\n", argv[1], argv[2]), 2;
    for (size_t i = 0; i < nb; i++)
        colmax[i % cb] = fmax(colmax[i % cb], fabs(b[i]));
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < nb; i++) {
        const double bound = fmax(fabs(b[i]), floor_frac * colmax[i % cb]);
        const double r = a[i] == b[i] ? 0.0 : fabs(a[i] - b[i]) / bound;
        if (!(r <= worst))
            worst = r, at = i; /* a NaN ratio is the worst */
    }
    printf("max relative difference %.3g (row %zu, column %zu; tolerance %g, floor %g of the column's largest)\n",
           worst, at / cb + 1, at % cb + 1, tol, floor_frac);
    return worst <= tol ? 0 : 1;
}
