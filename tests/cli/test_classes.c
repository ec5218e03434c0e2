/* test_classes.c - the command's class labels (tools/classes.c) and its
 * classification report (tools/classreport.c) as plain functions.  The
 * report's numbers are checked against values worked out by hand from the
 * confusion matrix (they are what scikit-learn's classification_report and
 * log_loss give for the same rows). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "classes.h"
#include "classreport.h"

static void test_text_labels(void **state)
{
    (void)state;
    const char *labels[] = {"virginica", "setosa", "versicolor", "setosa", "virginica", "Setosa"};
    classes c;
    assert_int_equal(classes_build(&c, labels, 6, 1), 0);
    assert_false(c.numeric);
    assert_int_equal(c.n, 4);
    /* bytewise order: capitals first */
    assert_string_equal(c.names[0], "Setosa");
    assert_string_equal(c.names[1], "setosa");
    assert_string_equal(c.names[3], "virginica");
    assert_int_equal(classes_find(&c, "versicolor"), 2);
    assert_int_equal(classes_find(&c, "setosa"), 1);
    assert_int_equal(classes_find(&c, "setosa "), -1);
    assert_int_equal(classes_find(&c, "unseen"), -1);
    /* round trip through the section */
    c.column = strdup("species");
    unsigned char *buf;
    size_t len;
    assert_int_equal(classes_encode(&c, &buf, &len), 0);
    classes d;
    const char *why;
    assert_int_equal(classes_decode(buf, len, &d, &why), 0);
    assert_int_equal(d.n, 4);
    assert_false(d.numeric);
    assert_string_equal(d.column, "species");
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(d.names[i], c.names[i]);
    classes_free(&d);
    /* every truncation and a swapped order are refused */
    for (size_t l = 0; l < len; l++)
        assert_int_equal(classes_decode(buf, l, &d, &why), -1);
    classes_free(&d);
    buf[31] = 'z'; /* "Setosa" -> "zetosa": no longer increasing */
    assert_int_equal(classes_decode(buf, len, &d, &why), -1);
    free(buf);
    classes_free(&c);
}

static void test_numeric_labels(void **state)
{
    (void)state;
    /* by value: 10 after 9, and "1.0" is the class first spelled "1" */
    const char *labels[] = {"10", "9", "1", "2", "1.0", "9", "-3", "1e1"};
    classes c;
    assert_int_equal(classes_build(&c, labels, 8, 1), 0);
    assert_true(c.numeric);
    assert_int_equal(c.n, 5);
    const char *want[5] = {"-3", "1", "2", "9", "10"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(c.names[i], want[i]);
    assert_int_equal(classes_find(&c, "1.00"), 1);
    assert_int_equal(classes_find(&c, "10"), 4);
    assert_int_equal(classes_find(&c, "3"), -1);
    assert_int_equal(classes_find(&c, "nine"), -1);
    /* a stride: labels in a table of 2 columns */
    const char *table[] = {"a", "5", "b", "4", "c", "5"};
    classes t;
    assert_int_equal(classes_build(&t, table + 1, 3, 2), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.names[0], "4");
    classes_free(&t);
    unsigned char *buf;
    size_t len;
    assert_int_equal(classes_encode(&c, &buf, &len), -1); /* no label column name */
    c.column = strdup("digit");
    assert_int_equal(classes_encode(&c, &buf, &len), 0);
    classes d;
    const char *why;
    assert_int_equal(classes_decode(buf, len, &d, &why), 0);
    assert_true(d.numeric);
    assert_true(d.values[4] == 10.0);
    classes_free(&d);
    free(buf);
    classes_free(&c);
}

/* 10 rows, 3 classes.  Confusion (true x predicted):
 *   a: 3 1 0      precision a = 3/4, recall a = 3/4
 *   b: 1 2 0      precision b = 2/4, recall b = 2/3
 *   c: 0 1 2      precision c = 2/2, recall c = 2/3 */
static void test_report(void **state)
{
    (void)state;
    const size_t truth[10] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
    const size_t pred[10] = {0, 0, 0, 1, 0, 1, 1, 1, 2, 2};
    const double p[10] = {0.9, 0.8, 0.7, 0.4, 0.3, 0.6, 0.5, 0.2, 0.9, 1e-20};
    class_report r;
    assert_int_equal(class_report_compute(&r, 3, 10, truth, pred, p), 0);
    assert_int_equal(r.correct, 7);
    const size_t conf[9] = {3, 1, 0, 1, 2, 0, 0, 1, 2};
    assert_memory_equal(r.confusion, conf, sizeof conf);
    const double P[3] = {0.75, 0.5, 1.0}, R[3] = {0.75, 2.0 / 3, 2.0 / 3};
    for (int c = 0; c < 3; c++) {
        assert_true(fabs(r.precision[c] - P[c]) < 1e-15);
        assert_true(fabs(r.recall[c] - R[c]) < 1e-15);
        assert_true(fabs(r.f1[c] - 2 * P[c] * R[c] / (P[c] + R[c])) < 1e-15);
    }
    assert_true(fabs(r.macro_precision - 0.75) < 1e-15);
    assert_true(fabs(r.macro_f1 - (0.75 + 4.0 / 7 + 0.8) / 3) < 1e-15);
    /* the last probability is clipped to 1e-15 */
    double ll = 0;
    for (int i = 0; i < 9; i++)
        ll -= log(p[i]);
    ll -= log(1e-15);
    assert_true(fabs(r.log_loss - ll / 10) < 1e-14);
    /* the text names the classes in the table and the matrix */
    const char *names[3] = {"alpha", "b", "gamma"};
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    assert_non_null(f);
    assert_int_equal(class_report_print(f, &r, names), 0);
    fclose(f);
    assert_non_null(strstr(text, "accuracy  0.7 (7 of 10 rows)"));
    assert_non_null(strstr(text, "true\\pred"));
    assert_non_null(strstr(text, "macro avg"));
    assert_non_null(strstr(text, "  gamma          0      1      2\n"));
    free(text);
    class_report_free(&r);
}

/* a class never predicted: precision 0 (undefined), F1 0 */
static void test_report_undefined(void **state)
{
    (void)state;
    const size_t truth[3] = {0, 1, 1}, pred[3] = {0, 0, 0};
    const double p[3] = {0.9, 0.1, 0.2};
    class_report r;
    assert_int_equal(class_report_compute(&r, 2, 3, truth, pred, p), 0);
    assert_true(r.precision[1] == 0.0 && r.recall[1] == 0.0 && r.f1[1] == 0.0);
    assert_true(fabs(r.precision[0] - 1.0 / 3) < 1e-15);
    class_report_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_labels),
        cmocka_unit_test(test_numeric_labels),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_report_undefined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
