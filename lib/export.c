/* export.c - the network as dependency-free C99 source (mlp2_export_c), and
 * the one per-row order that source follows (mlp2_predict_portable).
 *
 * Why a per-row order of its own: mlp2_predict goes through BLAS in
 * batches, and its last bits depend on the BLAS kernel (OpenBLAS's dgemm
 * accumulates each element in one FMA chain, its dgemv in four lanes) and
 * on the batch a row is in.  Generated code cannot mirror that.  So the
 * library defines a plain per-row order, runs it itself
 * (mlp2_predict_portable), and writes it out term for term.  Everything
 * element-wise is the library's own: the exported exp is the algorithm of
 * mlp2__exp (lib/internal.h) and tanh_vec (lib/elementwise.h), and
 * mlp2_predict_portable calls the activation kernels themselves (for the
 * sigmoid the uncontracted one, mlp2__bias_sigmoid_exact: the others
 * contract it into FMAs, which generated code compiled elsewhere would not
 * match). */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/* Every multiply and add below is rounded on its own, as in the exported
 * code (gcc does not contract in ISO mode; clang would, given FMA). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* ---- the per-row order -------------------------------------------------- */

/* The softmax of one row, z + b, in a fixed order: the maximum, exp(z - max)
 * by the library's exp, their sum in index order from +0.0, then each times
 * 1/sum (mlp2_predict's kernel sums in vector lanes). */
static void softmax_row(size_t n, double *restrict z, const double *restrict b)
{
    double mx = z[0] + b[0], s = 0.0;
    for (size_t j = 0; j < n; j++) {
        z[j] = z[j] + b[j];
        mx = z[j] > mx ? z[j] : mx;
    }
    for (size_t j = 0; j < n; j++) {
        z[j] = mlp2__exp(z[j] - mx);
        s = s + z[j];
    }
    const double inv_s = 1.0 / s;
    for (size_t j = 0; j < n; j++)
        z[j] = z[j] * inv_s;
}

/* One row: y (n_out) from x (n_in), h (n_hidden) as scratch. */
static void portable_row(const mlp2 *net, const double *restrict x, double *restrict h,
                         double *restrict y)
{
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out;
    const double *w = net->theta, *b2 = net->theta + mlp2__off_b2(net);
    for (size_t j = 0; j < nh; j++)
        h[j] = 0.0;
    /* h = x W1, k ascending */
    for (size_t k = 0; k < ni; k++, w += nh)
        for (size_t j = 0; j < nh; j++)
            h[j] = h[j] + x[k] * w[j];
    /* h = f(h + b1): the library's own kernel for the hidden activation,
     * the sigmoid's without FMA (the bits of the exported code) */
    if (net->hidden == MLP2_HIDDEN_SIGMOID)
        mlp2__bias_sigmoid_exact(1, nh, h, net->theta + mlp2__off_b1(net));
    else
        mlp2__bias_act(net->hidden, 1, nh, h, net->theta + mlp2__off_b1(net));
    w = net->theta + mlp2__off_W2(net);
    for (size_t o = 0; o < no; o++)
        y[o] = 0.0;
    /* y = h W2, j ascending */
    for (size_t j = 0; j < nh; j++, w += no)
        for (size_t o = 0; o < no; o++)
            y[o] = y[o] + h[j] * w[o];
    /* y = head(y + b2) */
    if (net->head == MLP2_HEAD_SOFTMAX)
        softmax_row(no, y, b2);
    else if (net->head == MLP2_HEAD_SIGMOID)
        mlp2__bias_sigmoid_exact(1, no, y, b2); /* sigmoid(y + b2), without FMA */
    else
        mlp2__head_out(net->head, 1, no, y, b2); /* linear: y + b2 */
}

mlp2_status mlp2_predict_portable(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                  double *Y)
{
    if (!net || !X || !Y || m == 0)
        return MLP2_FAIL(MLP2_EINVAL);
    if (ws && mlp2__ws_check(ws, net) != MLP2_OK)
        return MLP2_FAIL(MLP2_EINVAL);
    size_t nx, ny;
    if (!mlp2__mul(m, net->n_in, &nx) || !mlp2__mul(m, net->n_out, &ny))
        return MLP2_FAIL(MLP2_ERANGE);
    if (!mlp2__all_finite(nx, X))
        return MLP2_FAIL(MLP2_ENONFINITE);
    mlp2_workspace *w = ws;
    if (!w) {
        mlp2_status st = mlp2_workspace_create(&w, net, 1);
        if (st != MLP2_OK)
            return st;
    }
    for (size_t r = 0; r < m; r++)
        portable_row(net, X + r * net->n_in, w->A1, Y + r * net->n_out);
    if (w != ws)
        mlp2_workspace_free(w);
    if (!mlp2__all_finite(ny, Y))
        return MLP2_FAIL(MLP2_ENONFINITE);
    return MLP2_OK;
}

/* ---- output: a stream or a buffer --------------------------------------- */

typedef struct sink {
    FILE *f;    /* or NULL: the buffer */
    char *buf;  /* cap bytes, may be NULL when cap == 0 */
    size_t cap, len;
    bool failed;
} sink;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void out(sink *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (s->f) {
        if (!s->failed && vfprintf(s->f, fmt, ap) < 0)
            s->failed = true;
    } else {
        char *at = s->len < s->cap ? s->buf + s->len : NULL;
        int n = vsnprintf(at, at ? s->cap - s->len : 0, fmt, ap);
        if (n < 0)
            s->failed = true;
        else
            s->len += (size_t)n;
    }
    va_end(ap);
}

/* x as a C99 hexadecimal floating constant, from its bits (never the
 * locale's): "0x1.8p+1", "-0x0p+0", "0x0.0000000000001p-1022". */
static const char *hex_double(double x, char buf[40])
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    const int neg = (int)(u >> 63), e = (int)((u >> 52) & 0x7ff);
    uint64_t frac = u & 0xfffffffffffffu;
    if (e == 0 && frac == 0) {
        snprintf(buf, 40, "%s0x0p+0", neg ? "-" : "");
        return buf;
    }
    char digits[14];
    int nd = 13;
    for (int i = 12; i >= 0; i--, frac >>= 4)
        digits[i] = "0123456789abcdef"[frac & 0xf];
    while (nd > 0 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    snprintf(buf, 40, "%s0x%d%s%sp%+d", neg ? "-" : "", e ? 1 : 0, nd ? "." : "", digits,
             e ? e - 1023 : -1022);
    return buf;
}

/* Classes of a single-label classifier: one per output of a softmax, two
 * (0 and 1) for a sigmoid head with one output; otherwise 0. */
static size_t n_classes_of(const mlp2 *net)
{
    if (net->head == MLP2_HEAD_SOFTMAX)
        return net->n_out;
    return net->head == MLP2_HEAD_SIGMOID && net->n_out == 1 ? 2 : 0;
}

/* ---- checks ------------------------------------------------------------- */

int mlp2_export_name_ok(const char *name)
{
    if (!name || !name[0] || (name[0] >= '0' && name[0] <= '9'))
        return 0;
    if (name[0] == '_' && (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Z')))
        return 0;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        const char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return n <= 63;
}

/* A provenance string: no line break, no end of comment. */
static bool comment_ok(const char *s)
{
    return !s || (!strchr(s, '\n') && !strchr(s, '\r') && !strstr(s, "*/"));
}

/* Every value finite and, in float, representable; scales > 0 after the
 * conversion. */
static mlp2_status values_ok(size_t n, const double *v, bool positive, bool use_float)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]) || (positive && !(v[i] > 0.0)))
            return MLP2_FAIL(MLP2_EINVAL);
        if (use_float) {
            const float f = (float)v[i];
            if (isinf(f) || (positive && !(f > 0.0f)))
                return MLP2_FAIL(MLP2_ERANGE);
        }
    }
    return MLP2_OK;
}

static mlp2_status check_options(const mlp2 *net, const mlp2_export_options *o, mlp2_export_part part)
{
    if (!net || !o || (part != MLP2_EXPORT_SOURCE && part != MLP2_EXPORT_HEADER))
        return MLP2_FAIL(MLP2_EINVAL);
    if (!mlp2_export_name_ok(o->name) || (o->exp != MLP2_EXPORT_EXP_OWN && o->exp != MLP2_EXPORT_EXP_LIBM))
        return MLP2_FAIL(MLP2_EINVAL);
    if (!comment_ok(o->model_file) || !comment_ok(o->exported))
        return MLP2_FAIL(MLP2_EINVAL);
    if (o->header && (!o->header[0] || strpbrk(o->header, "\"\\\n\r")))
        return MLP2_FAIL(MLP2_EINVAL);
    if (o->class_names) {
        const size_t nc = n_classes_of(net);
        if (nc == 0)
            return MLP2_FAIL(MLP2_EINVAL);
        for (size_t i = 0; i < nc; i++)
            if (!o->class_names[i])
                return MLP2_FAIL(MLP2_EINVAL);
    }
    const int given = !!o->in_mean + !!o->in_scale + !!o->out_mean + !!o->out_scale;
    if (given != 0 && given != 4)
        return MLP2_FAIL(MLP2_EINVAL);
    const bool fl = o->use_float != 0;
    mlp2_status st = MLP2_OK;
    if (given && ((st = values_ok(net->n_in, o->in_mean, false, fl)) != MLP2_OK ||
                  (st = values_ok(net->n_in, o->in_scale, true, fl)) != MLP2_OK ||
                  (st = values_ok(net->n_out, o->out_mean, false, fl)) != MLP2_OK ||
                  (st = values_ok(net->n_out, o->out_scale, true, fl)) != MLP2_OK))
        return st;
    if (fl)
        for (size_t i = 0; i < net->n_params; i++)
            if (isinf((float)net->theta[i]))
                return MLP2_FAIL(MLP2_ERANGE);
    return MLP2_OK;
}

/* ---- the source --------------------------------------------------------- */

typedef struct gen {
    sink *s;
    const mlp2 *net;
    const mlp2_export_options *o;
    const char *N;   /* the name */
    const char *T;   /* "double" or "float" */
    const char *F;   /* literal suffix: "" or "f" */
    char E[80];      /* the exp function: NAME_exp, exp or expf */
    char act[80];    /* the hidden activation function */
    bool fl, scaled, own;
    size_t n_classes; /* 0: not a single-label classifier (no NAME_classify) */
} gen;

static const char *hidden_name(mlp2_hidden f)
{
    return f == MLP2_HIDDEN_TANH ? "tanh" : f == MLP2_HIDDEN_RELU ? "ReLU" : "sigmoid";
}

static const char *head_name(mlp2_head h)
{
    return h == MLP2_HEAD_SOFTMAX ? "softmax" : h == MLP2_HEAD_SIGMOID ? "sigmoid" : "linear";
}

/* static const T NAME_<what>[n] = { v... }; three values a line */
static void emit_array(gen *g, const char *what, const char *comment, size_t n, const double *v)
{
    char hb[40];
    out(g->s, "/* %s */\nstatic const %s %s_%s[%zu] = {", comment, g->T, g->N, what, n);
    for (size_t i = 0; i < n; i++) {
        const double x = g->fl ? (double)(float)v[i] : v[i];
        out(g->s, "%s%s%s%s", i % 3 ? " " : "\n    ", hex_double(x, hb), g->F, i + 1 < n ? "," : "");
    }
    out(g->s, "\n};\n\n");
}

/* s as a C string literal: printable ASCII as is, everything else (and ",
 * \ and ?, against trigraphs) as a three-digit octal escape */
static void emit_string(gen *g, const char *str)
{
    out(g->s, "\"");
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '?')
            out(g->s, "%c", *p);
        else
            out(g->s, "\\%03o", *p);
    }
    out(g->s, "\"");
}

static void emit_comment(gen *g)
{
    const mlp2 *net = g->net;
    const mlp2_export_options *o = g->o;
    const size_t stack = (g->scaled ? net->n_in : 0) + net->n_hidden;
    out(g->s, "/*\n * %s - a libmlp2 network as C99 source, written by mlp2_export_c of\n"
              " * libmlp2 %s.  Do not edit: export the model again.\n *\n",
        g->N, mlp2_version());
    if (o->model_file)
        out(g->s, " * model file:  %s\n", o->model_file);
    if (o->exported)
        out(g->s, " * exported:    %s\n", o->exported);
    out(g->s, " * shape:       %zu inputs, %zu hidden units, %zu outputs (%zu parameters)\n"
              " * kinds:       %s hidden units, %s output head\n",
        net->n_in, net->n_hidden, net->n_out, net->n_params, hidden_name(net->hidden), head_name(net->head));
    if (g->fl)
        out(g->s, " * arithmetic:  float (parameters rounded to float); exp and tanh: %s\n",
            g->own ? "float versions of the library's algorithms" : "expf and tanhf from libm");
    else if (g->own)
        out(g->s, " * arithmetic:  double; exp and tanh: the library's own algorithms, so the\n"
                  " *              results are the bits of mlp2_predict_portable (`mlp2 predict --exact`)\n");
    else
        out(g->s, " * arithmetic:  double; exp and tanh: from libm\n");
    out(g->s, " * scaling:     %s\n *\n", g->scaled ? "inputs standardised and outputs scaled back, as `mlp2 predict`"
                                                   : "none: x and y are the network's own inputs and outputs");
    out(g->s, " * void %s_predict(const %s *x, %s *y);\n"
              " *     x: %zu inputs, y: %zu outputs.  Needs only <math.h> (link with -lm).\n"
              " *     No allocation, no global state written, %zu %ss of stack; reentrant.\n"
              " *     The input is not checked: NaN in gives NaN out.\n",
        g->N, g->T, g->T, net->n_in, net->n_out, stack, g->T);
    if (g->n_classes)
        out(g->s, " * int %s_classify(const %s *x);\n *     the class index, 0..%zu: %s.\n", g->N, g->T,
            g->n_classes - 1, net->head == MLP2_HEAD_SOFTMAX ? "the largest output, the first one on a tie"
                                                             : "1 when the output is above 0.5, else 0");
    if (g->n_classes && o->class_names)
        out(g->s, " * %s_classes[i]: the name of class i.\n", g->N);
    out(g->s, " * Build in an ISO C mode (-std=c99 or later) and without -ffast-math or\n"
              " * -ffp-contract=fast: the results rely on every multiply and add being\n"
              " * rounded on its own.  The pragmas below turn contraction off.\n */\n");
}

/* The prototypes (a header's, or the source's own) and the class names'
 * declaration. */
static void emit_prototypes(gen *g, const char *up)
{
    out(g->s, "void %s_predict(const %s *x, %s *y);\n", g->N, g->T, g->T);
    if (g->n_classes)
        out(g->s, "int %s_classify(const %s *x);\n", g->N, g->T);
    if (g->n_classes && g->o->class_names) {
        if (up)
            out(g->s, "extern const char *const %s_classes[%s_N_CLASSES];\n", g->N, up);
        else
            out(g->s, "extern const char *const %s_classes[%zu];\n", g->N, g->n_classes);
    }
}

static void emit_prologue(gen *g)
{
    out(g->s, "#if defined(__clang__)\n#pragma STDC FP_CONTRACT OFF\n"
              "#elif defined(__GNUC__)\n#pragma GCC optimize(\"fp-contract=off\")\n#endif\n\n"
              "#include <math.h>\n\n");
    if (g->o->header)
        out(g->s, "#include \"%s\"\n\n", g->o->header);
    else {
        emit_prototypes(g, NULL);
        out(g->s, "\n");
    }
}

static void emit_params(gen *g)
{
    const mlp2 *net = g->net;
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out;
    char c[96];
    snprintf(c, sizeof c, "W1: %zu x %zu, row-major (input k, hidden unit j at [k * %zu + j])", ni, nh, nh);
    emit_array(g, "W1", c, ni * nh, net->theta);
    emit_array(g, "b1", "b1: one per hidden unit", nh, net->theta + mlp2__off_b1(net));
    snprintf(c, sizeof c, "W2: %zu x %zu, row-major (hidden unit j, output o at [j * %zu + o])", nh, no, no);
    emit_array(g, "W2", c, nh * no, net->theta + mlp2__off_W2(net));
    emit_array(g, "b2", "b2: one per output", no, net->theta + mlp2__off_b2(net));
    if (g->scaled) {
        emit_array(g, "in_mean", "inputs: the network sees (x - in_mean) / in_scale", ni, g->o->in_mean);
        emit_array(g, "in_scale", "in_scale: > 0", ni, g->o->in_scale);
        emit_array(g, "out_mean", "outputs: y = network output * out_scale + out_mean", no, g->o->out_mean);
        emit_array(g, "out_scale", "out_scale: > 0", no, g->o->out_scale);
    }
    if (g->n_classes && g->o->class_names) {
        out(g->s, "/* the class names, by index */\nconst char *const %s_classes[%zu] = {", g->N, g->n_classes);
        for (size_t i = 0; i < g->n_classes; i++) {
            out(g->s, "\n    ");
            emit_string(g, g->o->class_names[i]);
            out(g->s, "%s", i + 1 < g->n_classes ? "," : "");
        }
        out(g->s, "\n};\n\n");
    }
}

/* The library's exp (mlp2__exp in lib/internal.h) term for term, with the
 * scale by 2^n as ldexp: both round the exact p 2^n once, n in [-1021, 1021].
 * The polynomial is internal.h's mlp2__exp_estrin: exp(r) = 1 + (r + r^2 q(r)),
 * q by Estrin's scheme; each line below is one of its lines. */
static void emit_exp_double(gen *g)
{
    /* c_k + c_(k+1) r, k = 2, 4, ..., 12: the pairs of q's coefficients 1/k! */
    static const char *const pair[][3] = {
        {"c23", "1.0 / 2.0", "1.0 / 6.0"},           {"c45", "1.0 / 24.0", "1.0 / 120.0"},
        {"c67", "1.0 / 720.0", "1.0 / 5040.0"},      {"c89", "1.0 / 40320.0", "1.0 / 362880.0"},
        {"c1011", "1.0 / 3628800.0", "1.0 / 39916800.0"}, {"c1213", "1.0 / 479001600.0", "1.0 / 6227020800.0"},
    };
    out(g->s, "/* exp(x): the library's own algorithm (mlp2__exp, lib/internal.h), term for term.\n"
              " * Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, the degree-13 Taylor\n"
              " * polynomial as 1 + (r + r^2 q(r)) with q by Estrin's scheme, then p 2^n.\n"
              " * Saturates: +Inf above 708, 0 below -708. */\n"
              "static double %s_exp(double x)\n{\n    double t, n, r, r2, r4, q;\n"
              "    double c23, c45, c67, c89, c1011, c1213, c25, c69, c1013;\n"
              "    if (x > 708.0)\n        return HUGE_VAL;\n    if (x < -708.0)\n        return 0.0;\n"
              "    if (isnan(x))\n        return x;\n"
              "    t = x * 0x1.71547652b82fep0 + 0x1.8p52; /* rounds x log2(e) to an integer */\n"
              "    n = t - 0x1.8p52;\n"
              "    r = x - n * 0x1.62e42fefa3800p-1; /* ln2, high part: n times it is exact */\n"
              "    r = r - n * 0x1.ef35793c76730p-45; /* ln2, low part */\n"
              "    r2 = r * r;\n    r4 = r2 * r2;\n",
        g->N);
    for (size_t i = 0; i < sizeof pair / sizeof pair[0]; i++)
        out(g->s, "    %s = %s + %s * r;\n", pair[i][0], pair[i][1], pair[i][2]);
    out(g->s, "    c25 = c23 + c45 * r2;\n    c69 = c67 + c89 * r2;\n    c1013 = c1011 + c1213 * r2;\n"
              "    q = c25 + (c69 + c1013 * r4) * r4;\n"
              "    return ldexp(1.0 + (r + r2 * q), (int)n);\n}\n\n");
}

/* A float version of the same algorithm: ln2 split so that n ln2_hi is exact
 * for |n| <= 127, degree-7 Taylor (truncation below 1e-8 relative). */
static void emit_exp_float(gen *g)
{
    static const char *const coef[] = {"1.0f / 720.0f", "1.0f / 120.0f", "1.0f / 24.0f", "1.0f / 6.0f",
                                       "0.5f",          "1.0f",          "1.0f"};
    out(g->s, "/* exp(x) in float: the library's algorithm (Cody-Waite reduction\n"
              " * x = n ln2 + r, Taylor polynomial, p 2^n) at float precision, degree 7.\n"
              " * Saturates: +Inf above 88, 0 below -87. */\n"
              "static float %s_exp(float x)\n{\n    float t, n, r, p;\n"
              "    if (x > 88.0f)\n        return HUGE_VALF;\n    if (x < -87.0f)\n        return 0.0f;\n"
              "    if (isnan(x))\n        return x;\n"
              "    t = x * 0x1.715476p0f + 0x1.8p23f; /* rounds x log2(e) to an integer */\n"
              "    n = t - 0x1.8p23f;\n"
              "    r = x - n * 0x1.62e4p-1f; /* ln2, high part: n times it is exact */\n"
              "    r = r - n * 0x1.7f7d1cp-20f; /* ln2, low part */\n"
              "    p = 1.0f / 5040.0f;\n",
        g->N);
    for (size_t i = 0; i < sizeof coef / sizeof coef[0]; i++)
        out(g->s, "    p = p * r + %s;\n", coef[i]);
    out(g->s, "    return ldexpf(p, (int)n);\n}\n\n");
}

/* tanh_vec's Taylor coefficients (lib/elementwise.h), x^37 down to x^3 */
static const double tanh_coef[] = {
    0x1.2efe8db3aff1fp-24,  -0x1.75cde6563fed9p-23, 0x1.cd299de4ae6bbp-22,  -0x1.1c77df95c1c0dp-20,
    0x1.5ef2da474e5b7p-19,  -0x1.b0f72d3ee24e9p-18, 0x1.0b132d39a6050p-16,  -0x1.497d8eea25259p-15,
    0x1.967e18afcafadp-14,  -0x1.f57d7734d1664p-13, 0x1.3558248036744p-11,  -0x1.7da36452b75e3p-10,
    0x1.d6d3d0e157de0p-9,   -0x1.226e355e6c23dp-7,  0x1.664f4882c10fap-6,   -0x1.ba1ba1ba1ba1cp-5,
    0x1.1111111111111p-3,   -0x1.5555555555555p-2,
};

/* tanh(x): the library's tanh_vec term for term (double), or its series to
 * x^15 in float (the rest is below 1e-8 relative for |x| < 0.5) */
static void emit_tanh(gen *g)
{
    const size_t n = sizeof tanh_coef / sizeof tanh_coef[0], first = g->fl ? n - 7 : 0;
    char hb[40];
    out(g->s, "/* tanh(x): the library's algorithm (lib/elementwise.h): for |x| < 0.5 its\n"
              " * Taylor series, above 1 - 2/(exp(2|x|) + 1) with the sign of x. */\n"
              "static %s %s_tanh(%s x)\n{\n    const %s ax = fabs%s(x), x2 = x * x;\n",
        g->T, g->N, g->T, g->T, g->F);
    out(g->s, "    %s p = %s%s;\n", g->T, hex_double(g->fl ? (double)(float)tanh_coef[first] : tanh_coef[first], hb),
        g->F);
    for (size_t i = first + 1; i < n; i++) {
        const double c = g->fl ? (double)(float)tanh_coef[i] : tanh_coef[i];
        out(g->s, "    p = p * x2 %c %s%s;\n", c < 0 ? '-' : '+', hex_double(fabs(c), hb), g->F);
    }
    out(g->s, "    p = p * x2 + 1.0%s;\n    if (ax < 0.5%s)\n        return x * p;\n"
              "    return copysign%s(1.0%s - 2.0%s / (%s(2.0%s * ax) + 1.0%s), x);\n}\n\n",
        g->F, g->F, g->F, g->F, g->F, g->E, g->F, g->F);
}

/* The element functions the network uses, and nothing else (an unused
 * static function would be a warning). */
static void emit_functions(gen *g)
{
    const mlp2 *net = g->net;
    const bool sig = net->hidden == MLP2_HIDDEN_SIGMOID || net->head == MLP2_HEAD_SIGMOID;
    const bool own_tanh = net->hidden == MLP2_HIDDEN_TANH && g->own;
    if (g->own && (sig || own_tanh || net->head == MLP2_HEAD_SOFTMAX))
        (g->fl ? emit_exp_float : emit_exp_double)(g);
    if (own_tanh)
        emit_tanh(g);
    if (sig)
        out(g->s, "/* sigmoid(z) = 1 / (1 + exp(-z)) */\nstatic %s %s_sigmoid(%s z)\n{\n"
                  "    return 1.0%s / (1.0%s + %s(-z));\n}\n\n",
            g->T, g->N, g->T, g->F, g->F, g->E);
    if (net->hidden == MLP2_HIDDEN_RELU)
        out(g->s, "/* ReLU: max(z, 0) */\nstatic %s %s_relu(%s z)\n{\n    return z > 0.0%s ? z : 0.0%s;\n}\n\n",
            g->T, g->N, g->T, g->F, g->F);
}

/* y = head(y + b2): every sum in index order, from +0.0 */
static void emit_head(gen *g)
{
    const char *N = g->N, *F = g->F;
    const size_t no = g->net->n_out;
    if (g->net->head == MLP2_HEAD_SOFTMAX) {
        out(g->s, "    /* y = softmax(y + b2): the maximum, exp(y - max), their sum, times 1/sum */\n"
                  "    for (o = 0; o < %zuUL; o++)\n        y[o] = y[o] + %s_b2[o];\n"
                  "    mx = y[0];\n    for (o = 0; o < %zuUL; o++)\n        mx = y[o] > mx ? y[o] : mx;\n"
                  "    s = 0.0%s;\n    for (o = 0; o < %zuUL; o++) {\n        y[o] = %s(y[o] - mx);\n"
                  "        s = s + y[o];\n    }\n    s = 1.0%s / s;\n",
            no, N, no, F, no, g->E, F);
        out(g->s, "    for (o = 0; o < %zuUL; o++) {\n        y[o] = y[o] * s;\n", no);
    } else if (g->net->head == MLP2_HEAD_SIGMOID) {
        out(g->s, "    /* y = sigmoid(y + b2) */\n    for (o = 0; o < %zuUL; o++) {\n"
                  "        y[o] = %s_sigmoid(y[o] + %s_b2[o]);\n", no, N, N);
    } else {
        out(g->s, "    /* y = y + b2 */\n    for (o = 0; o < %zuUL; o++) {\n        y[o] = y[o] + %s_b2[o];\n",
            no, N);
    }
    if (g->scaled)
        out(g->s, "        y[o] = y[o] * %s_out_scale[o] + %s_out_mean[o];\n", N, N);
    out(g->s, "    }\n}\n");
}

static void emit_predict(gen *g)
{
    const mlp2 *net = g->net;
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out;
    const char *N = g->N, *T = g->T, *F = g->F;
    out(g->s, "/* y = the network at x; every sum in index order, from +0.0 */\n"
              "void %s_predict(const %s *x, %s *y)\n{\n", N, T, T);
    if (g->scaled)
        out(g->s, "    %s xs[%zu];\n", T, ni);
    out(g->s, "    %s h[%zu];\n", T, nh);
    if (net->head == MLP2_HEAD_SOFTMAX)
        out(g->s, "    %s mx, s;\n", T);
    out(g->s, "    const %s *w;\n    unsigned long j, k, o;\n\n", T);
    if (g->scaled)
        out(g->s, "    for (k = 0; k < %zuUL; k++) {\n"
                  "        const %s d = x[k] - %s_in_mean[k];\n"
                  "        xs[k] = isfinite(d) ? d / %s_in_scale[k]\n"
                  "                            : x[k] / %s_in_scale[k] - %s_in_mean[k] / %s_in_scale[k];\n"
                  "    }\n",
            ni, T, N, N, N, N, N);
    out(g->s, "    /* h = x W1 */\n    for (j = 0; j < %zuUL; j++)\n        h[j] = 0.0%s;\n"
              "    w = %s_W1;\n    for (k = 0; k < %zuUL; k++, w += %zuUL)\n"
              "        for (j = 0; j < %zuUL; j++)\n            h[j] = h[j] + %s[k] * w[j];\n",
        nh, F, N, ni, nh, nh, g->scaled ? "xs" : "x");
    out(g->s, "    /* h = f(h + b1) */\n    for (j = 0; j < %zuUL; j++)\n        h[j] = %s(h[j] + %s_b1[j]);\n",
        nh, g->act, N);
    out(g->s, "    /* y = h W2 */\n    for (o = 0; o < %zuUL; o++)\n        y[o] = 0.0%s;\n"
              "    w = %s_W2;\n    for (j = 0; j < %zuUL; j++, w += %zuUL)\n"
              "        for (o = 0; o < %zuUL; o++)\n            y[o] = y[o] + h[j] * w[o];\n",
        no, F, N, nh, no, no);
    emit_head(g);
}

/* NAME_classify: the argmax (softmax), or the threshold 0.5 (one sigmoid) */
static void emit_classify(gen *g)
{
    const char *N = g->N, *T = g->T;
    const size_t no = g->net->n_out;
    out(g->s, "\n/* the class of x: %s */\nint %s_classify(const %s *x)\n{\n    %s y[%zu];\n",
        g->net->head == MLP2_HEAD_SOFTMAX ? "the largest output, the first one on a tie"
                                          : "1 when the output is above 0.5, else 0",
        N, T, T, no);
    if (g->net->head == MLP2_HEAD_SOFTMAX)
        out(g->s, "    unsigned long o;\n    int best = 0;\n\n    %s_predict(x, y);\n"
                  "    for (o = 1; o < %zuUL; o++)\n        if (y[o] > y[best])\n            best = (int)o;\n"
                  "    return best;\n}\n",
            N, no);
    else
        out(g->s, "\n    %s_predict(x, y);\n    return y[0] > 0.5%s ? 1 : 0;\n}\n", N, g->F);
}

static void emit_header(gen *g)
{
    char up[64];
    size_t i = 0;
    for (; g->N[i]; i++)
        up[i] = g->N[i] >= 'a' && g->N[i] <= 'z' ? (char)(g->N[i] - 'a' + 'A') : g->N[i];
    up[i] = '\0';
    out(g->s, "/* %s.h - the interface of a libmlp2 network exported as C99 source by\n"
              " * mlp2_export_c of libmlp2 %s; the comment at the top of the source\n"
              " * says what it computes and how it was made. */\n"
              "#ifndef %s_H\n#define %s_H\n\n",
        g->N, mlp2_version(), up, up);
    out(g->s, "#define %s_N_IN %zu     /* values in x */\n#define %s_N_HIDDEN %zu\n"
              "#define %s_N_OUT %zu    /* values in y */\n",
        up, g->net->n_in, up, g->net->n_hidden, up, g->net->n_out);
    if (g->n_classes)
        out(g->s, "#define %s_N_CLASSES %zu /* NAME_classify gives 0 .. N_CLASSES - 1 */\n", up, g->n_classes);
    out(g->s, "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
              "/* y = the network at x, in the data's own units.  x and y must not overlap. */\n");
    emit_prototypes(g, up);
    out(g->s, "\n#ifdef __cplusplus\n}\n#endif\n#endif\n");
}

static mlp2_status generate(const mlp2 *net, const mlp2_export_options *o, mlp2_export_part part, sink *s)
{
    mlp2_status st = check_options(net, o, part);
    if (st != MLP2_OK)
        return st;
    gen g = {.s = s, .net = net, .o = o, .N = o->name, .fl = o->use_float != 0, .scaled = o->in_mean != NULL,
             .own = o->exp == MLP2_EXPORT_EXP_OWN, .n_classes = n_classes_of(net)};
    g.T = g.fl ? "float" : "double";
    g.F = g.fl ? "f" : "";
    snprintf(g.E, sizeof g.E, "%s%s", g.own ? g.N : (g.fl ? "expf" : "exp"), g.own ? "_exp" : "");
    if (net->hidden == MLP2_HIDDEN_TANH && !g.own)
        snprintf(g.act, sizeof g.act, "%s", g.fl ? "tanhf" : "tanh");
    else
        snprintf(g.act, sizeof g.act, "%s_%s", g.N,
                 net->hidden == MLP2_HIDDEN_TANH ? "tanh" : net->hidden == MLP2_HIDDEN_RELU ? "relu" : "sigmoid");
    if (part == MLP2_EXPORT_HEADER) {
        emit_header(&g);
    } else {
        emit_comment(&g);
        emit_prologue(&g);
        emit_params(&g);
        emit_functions(&g);
        emit_predict(&g);
        if (g.n_classes)
            emit_classify(&g);
    }
    return s->failed ? MLP2_FAIL(MLP2_EIO) : MLP2_OK;
}

mlp2_status mlp2_export_c(const mlp2 *net, const mlp2_export_options *opt, mlp2_export_part part, FILE *f)
{
    if (!f)
        return MLP2_FAIL(MLP2_EINVAL);
    sink s = {.f = f};
    mlp2_status st = generate(net, opt, part, &s);
    if (st == MLP2_OK && ferror(f))
        st = MLP2_FAIL(MLP2_EIO);
    return st;
}

mlp2_status mlp2_export_c_buffer(const mlp2 *net, const mlp2_export_options *opt, mlp2_export_part part,
                                 char *buf, size_t cap, size_t *len)
{
    if (!buf && cap > 0)
        return MLP2_FAIL(MLP2_EINVAL);
    sink s = {.buf = buf, .cap = cap};
    mlp2_status st = generate(net, opt, part, &s);
    if (st != MLP2_OK)
        return st;
    if (len)
        *len = s.len;
    if (!buf)
        return MLP2_OK; /* a length query */
    return s.len < cap ? MLP2_OK : MLP2_FAIL(MLP2_ERANGE);
}
