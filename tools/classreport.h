/* classreport.h - the metrics of a classifier on labelled rows: accuracy,
 * log loss, per-class precision, recall, F1 and support, their macro
 * averages, and the confusion matrix (`mlp2 eval` and the training
 * summary). */
#ifndef MLP2_TOOLS_CLASSREPORT_H
#define MLP2_TOOLS_CLASSREPORT_H

#include <stddef.h>
#include <stdio.h>

typedef struct class_report {
    size_t k, m;        /* classes, rows */
    size_t *confusion;  /* k x k: row = true class, column = predicted class */
    size_t correct;
    double log_loss;    /* mean of -log(max(p_true, 1e-15)), as scikit-learn clips */
    double *precision, *recall, *f1; /* k each; 0 where undefined (no predictions, or no rows) */
    double macro_precision, macro_recall, macro_f1;
} class_report;

/* From m rows: the true class truth[i] < k, the predicted class pred[i] < k
 * and the probability p_true[i] given to the true class.  0, or -1 (no
 * memory). */
int class_report_compute(class_report *r, size_t k, size_t m, const size_t *truth, const size_t *pred,
                         const double *p_true);
void class_report_free(class_report *r);

/* The report as text: accuracy, log loss, the per-class table with the
 * macro averages, and the confusion matrix with names as headers.  Returns
 * 0, or -1 when writing to f failed. */
int class_report_print(FILE *f, const class_report *r, const char *const *names);

#endif
