/* plot.c - a learning curve as SVG: log-scale loss against epoch. */
#include "plot.h"

#include <locale.h>
#include <math.h>
#include <string.h>

/* Chart geometry, in SVG user units. */
enum { WIDTH = 760, HEIGHT = 460, LEFT = 80, RIGHT = 30, TOP = 50, BOTTOM = 60 };

typedef struct frame {
    double x0, x1;   /* epochs at the left and right edges */
    double ly0, ly1; /* log10(loss) at the bottom and top */
} frame;

static double px(const frame *fr, double epoch)
{
    return LEFT + (epoch - fr->x0) / (fr->x1 - fr->x0) * (WIDTH - LEFT - RIGHT);
}

static double py(const frame *fr, double loss)
{
    return HEIGHT - BOTTOM - (log10(loss) - fr->ly0) / (fr->ly1 - fr->ly0) * (HEIGHT - TOP - BOTTOM);
}

static int usable(double v) { return isfinite(v) && v > 0; }

/* 1, 2 or 5 times a power of ten, near span/target. */
static double nice_step(double span, int target)
{
    double raw = span / target, p = pow(10, floor(log10(raw))), r = raw / p;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
}

/* One line as a path; a gap wherever a value is unusable. */
static void series(FILE *f, const frame *fr, const double *v, size_t n, const char *color, const char *dash)
{
    fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s d=\"", color, dash);
    int pen = 0;
    /* at most about 2000 points per line: a long run still gives a small file */
    const size_t stride = n > 2000 ? (n + 1999) / 2000 : 1;
    for (size_t i = 0; i < n; i += (i + stride < n || i + 1 == n) ? stride : n - 1 - i) {
        if (!usable(v[i])) {
            pen = 0;
            continue;
        }
        fprintf(f, "%s%.2f %.2f ", pen ? "L" : "M", px(fr, (double)(i + 1)), py(fr, v[i]));
        pen = 1;
    }
    fputs("\"/>\n", f);
    if (n == 1 && usable(v[0])) /* a single point: show it */
        fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", px(fr, 1), py(fr, v[0]), color);
}

static void escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* y grid, ticks and labels: every decade, and 2..9 within it; over more
 * than 8 decades only every ceil(decades / 8)-th decade, without 2..9 */
static void y_axis(FILE *f, const frame *fr)
{
    const double x_left = LEFT, x_right = WIDTH - RIGHT;
    const double decades = fr->ly1 - fr->ly0;
    const int every = decades > 8 ? (int)ceil(decades / 8) : 1;
    for (int d = (int)fr->ly0; d <= (int)fr->ly1; d++) {
        if (((d % every) + every) % every != 0)
            continue;
        for (int k = 1; k <= (every > 1 ? 1 : 9); k++) {
            double v = k * pow(10, d);
            double lv = log10(v);
            if (lv < fr->ly0 - 1e-9 || lv > fr->ly1 + 1e-9)
                continue;
            double y = py(fr, v);
            int major = k == 1, labelled = major || (decades <= 2 && (k == 2 || k == 5));
            fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\"/>\n", x_left, y, x_right,
                    y, major ? "#ccc" : "#eee");
            fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>\n", x_left - (major ? 6 : 3),
                    y, x_left, y);
            if (labelled)
                fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%g</text>\n", x_left - 9, y + 4, v);
        }
    }
}

/* x ticks at 1, 2 or 5 times a power of ten, the axes and their titles */
static void x_axis_and_titles(FILE *f, const frame *fr, size_t n)
{
    const double x_left = LEFT, x_right = WIDTH - RIGHT, y_top = TOP, y_bottom = HEIGHT - BOTTOM;
    double step = nice_step(n > 1 ? (double)(n - 1) : 1, 8);
    if (step < 1)
        step = 1;
    for (double e = step * ceil(fr->x0 / step); e <= fr->x1 + 1e-9; e += step) {
        double x = px(fr, e);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#eee\"/>\n", x, y_top, x, y_bottom);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>\n", x, y_bottom, x,
                y_bottom + 6);
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%.0f</text>\n", x, y_bottom + 20, e);
    }
    fprintf(f, "<path d=\"M%.2f %.2f V%.2f H%.2f\" fill=\"none\" stroke=\"black\"/>\n", x_left, y_top, y_bottom, x_right);
    fprintf(f, "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">epoch</text>\n", (x_left + x_right) / 2, HEIGHT - 15);
    fprintf(f, "<text transform=\"translate(20 %.2f) rotate(-90)\" text-anchor=\"middle\">"
               "loss: \xC2\xBD \xC3\x97 sum over targets of MSE, standardised (log scale)</text>\n",
            (y_top + y_bottom) / 2);

}

/* The legend, top right: train, validation (if any), best epoch (if any). */
static void legend(FILE *f, int has_val, size_t best_epoch, size_t n)
{
    const double x_right = WIDTH - RIGHT, y_top = TOP;
    int rows = 1 + has_val + (best_epoch > 0 && best_epoch <= n);
    double lx = x_right - 180, ly = y_top + 10;
    fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"170\" height=\"%d\" fill=\"white\" stroke=\"#999\"/>\n", lx, ly,
            10 + 18 * rows);
    int r = 0;
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
               "<text x=\"%.2f\" y=\"%.2f\">train</text>\n",
            lx + 10, ly + 14 + 18 * r, lx + 40, ly + 14 + 18 * r, lx + 48, ly + 18 + 18 * r);
    r++;
    if (has_val) {
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ff7f0e\" stroke-width=\"2\" "
                   "stroke-dasharray=\"6 3\"/><text x=\"%.2f\" y=\"%.2f\">validation</text>\n",
                lx + 10, ly + 14 + 18 * r, lx + 40, ly + 14 + 18 * r, lx + 48, ly + 18 + 18 * r);
        r++;
    }
    if (best_epoch > 0 && best_epoch <= n)
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#2ca02c\" stroke-dasharray=\"4 3\"/>"
                   "<text x=\"%.2f\" y=\"%.2f\">best epoch (%zu)</text>\n",
                lx + 10, ly + 14 + 18 * r, lx + 40, ly + 14 + 18 * r, lx + 48, ly + 18 + 18 * r, best_epoch);
}

static void draw(FILE *f, const double *train, const double *val, size_t n, size_t best_epoch, const char *subtitle)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (usable(train[i]))
            lo = fmin(lo, train[i]), hi = fmax(hi, train[i]);
        if (val && usable(val[i]))
            lo = fmin(lo, val[i]), hi = fmax(hi, val[i]);
    }
    if (!(lo <= hi))
        lo = 0.1, hi = 1; /* nothing to draw: an empty decade */
    /* half an epoch of margin on each side: the first and last points (and a
     * best epoch there) stay clear of the axes, and one epoch is centred */
    frame fr = {.x0 = 0.5, .x1 = (double)(n > 0 ? n : 1) + 0.5, .ly0 = floor(log10(lo)), .ly1 = ceil(log10(hi))};
    if (fr.ly1 <= fr.ly0)
        fr.ly1 = fr.ly0 + 1;
    const double y_top = TOP, y_bottom = HEIGHT - BOTTOM;

    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            WIDTH, HEIGHT, WIDTH, HEIGHT);
    fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"16\" font-weight=\"bold\">Learning curve</text>\n", LEFT);
    if (subtitle) {
        fprintf(f, "<text x=\"%d\" y=\"40\" fill=\"#555\">", LEFT);
        escape(f, subtitle);
        fputs("</text>\n", f);
    }

    y_axis(f, &fr);
    x_axis_and_titles(f, &fr, n);
    if (best_epoch > 0 && best_epoch <= n) {
        double x = px(&fr, (double)best_epoch);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#2ca02c\" stroke-dasharray=\"4 3\"/>\n",
                x, y_top, x, y_bottom);
    }
    series(f, &fr, train, n, "#1f77b4", "");
    int has_val = 0;
    for (size_t i = 0; val && i < n; i++)
        has_val |= usable(val[i]);
    if (has_val)
        series(f, &fr, val, n, "#ff7f0e", " stroke-dasharray=\"6 3\"");

    legend(f, has_val, best_epoch, n);
    fputs("</svg>\n", f);
}

int plot_svg(FILE *f, const double *train, const double *val, size_t n, size_t best_epoch, const char *subtitle)
{
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t old = c_loc ? uselocale(c_loc) : (locale_t)0;
    draw(f, train, val, n, best_epoch, subtitle);
    if (c_loc) {
        uselocale(old);
        freelocale(c_loc);
    }
    return ferror(f) ? -1 : 0;
}
