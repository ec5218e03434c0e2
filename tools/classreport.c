/* classreport.c - classification metrics and their text (see classreport.h).
 * The definitions are scikit-learn's (classification_report, log_loss,
 * confusion_matrix): precision = TP / (TP + FP), recall = TP / (TP + FN),
 * F1 = 2 P R / (P + R), each 0 when its denominator is 0; macro averages are
 * plain means over the classes. */
#include "classreport.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

void class_report_free(class_report *r)
{
    if (!r)
        return;
    free(r->confusion);
    free(r->precision);
    free(r->recall);
    free(r->f1);
    *r = (class_report){0};
}

static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

int class_report_compute(class_report *r, size_t k, size_t m, const size_t *truth, const size_t *pred,
                         const double *p_true)
{
    *r = (class_report){.k = k, .m = m};
    r->confusion = calloc(k * k, sizeof *r->confusion);
    r->precision = calloc(k, sizeof(double));
    r->recall = calloc(k, sizeof(double));
    r->f1 = calloc(k, sizeof(double));
    if (!r->confusion || !r->precision || !r->recall || !r->f1) {
        class_report_free(r);
        return -1;
    }
    double ll = 0.0;
    for (size_t i = 0; i < m; i++) {
        r->confusion[truth[i] * k + pred[i]]++;
        r->correct += truth[i] == pred[i];
        ll -= log(fmax(p_true[i], 1e-15));
    }
    r->log_loss = m ? ll / (double)m : (double)NAN;
    for (size_t c = 0; c < k; c++) {
        size_t tp = r->confusion[c * k + c], predicted = 0, actual = 0;
        for (size_t j = 0; j < k; j++) {
            predicted += r->confusion[j * k + c];
            actual += r->confusion[c * k + j];
        }
        r->precision[c] = ratio(tp, predicted);
        r->recall[c] = ratio(tp, actual);
        double s = r->precision[c] + r->recall[c];
        r->f1[c] = s > 0 ? 2.0 * r->precision[c] * r->recall[c] / s : 0.0;
        r->macro_precision += r->precision[c] / (double)k;
        r->macro_recall += r->recall[c] / (double)k;
        r->macro_f1 += r->f1[c] / (double)k;
    }
    return 0;
}

/* width of the name column: the longest name, at least 9 ("macro avg") */
static int name_width(const class_report *r, const char *const *names)
{
    size_t w = 9;
    for (size_t c = 0; c < r->k; c++)
        w = strlen(names[c]) > w ? strlen(names[c]) : w;
    return w > 40 ? 40 : (int)w;
}

int class_report_print(FILE *f, const class_report *r, const char *const *names)
{
    const int w = name_width(r, names);
    fprintf(f, "accuracy  %s (%zu of %zu rows)\n", fmt(ratio(r->correct, r->m)), r->correct, r->m);
    fprintf(f, "log loss  %s\n", fmt(r->log_loss));
    fprintf(f, "  %-*s %10s %10s %10s %10s\n", w, "class", "precision", "recall", "F1", "support");
    for (size_t c = 0; c < r->k; c++) {
        size_t support = 0;
        for (size_t j = 0; j < r->k; j++)
            support += r->confusion[c * r->k + j];
        fprintf(f, "  %-*s %10s %10s %10s %10zu\n", w, names[c], fmt(r->precision[c]), fmt(r->recall[c]),
                fmt(r->f1[c]), support);
    }
    fprintf(f, "  %-*s %10s %10s %10s %10zu\n", w, "macro avg", fmt(r->macro_precision), fmt(r->macro_recall),
            fmt(r->macro_f1), r->m);
    fprintf(f, "confusion matrix (rows: true class, columns: predicted class)\n");
    int cw = 6;
    for (size_t c = 0; c < r->k; c++)
        cw = (int)strlen(names[c]) > cw ? (int)strlen(names[c]) : cw;
    cw = cw > 24 ? 24 : cw;
    fprintf(f, "  %-*s", w, "true\\pred");
    for (size_t c = 0; c < r->k; c++)
        fprintf(f, " %*s", cw, names[c]);
    fputc('\n', f);
    for (size_t c = 0; c < r->k; c++) {
        fprintf(f, "  %-*s", w, names[c]);
        for (size_t j = 0; j < r->k; j++)
            fprintf(f, " %*zu", cw, r->confusion[c * r->k + j]);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}
