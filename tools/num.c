/* num.c - locale-independent number parsing and formatting (see num.h). */
#include "num.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static int equals_ci(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != word[i])
            return 0;
    return 1;
}

/* Length of the longest prefix in the grammar, or 0 when there is none. */
static size_t grammar_length(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < len && is_digit(s[i]))
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i]))
            i++, digits++;
    }
    if (digits == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < len && (s[j] == '+' || s[j] == '-'))
            j++;
        size_t exp_digits = 0;
        while (j < len && is_digit(s[j]))
            j++, exp_digits++;
        if (exp_digits == 0)
            return 0; /* "1e" or "1e+": not a number */
        i = j;
    }
    return i;
}

static int spelled_nonfinite(const char *s, size_t len)
{
    if (len > 0 && (s[0] == '+' || s[0] == '-'))
        s++, len--;
    if (equals_ci(s, len, "nan") || equals_ci(s, len, "inf") || equals_ci(s, len, "infinity"))
        return 1;
    /* nan(chars) */
    return len >= 5 && equals_ci(s, 4, "nan(") && s[len - 1] == ')';
}

/* strtod with the "C" locale installed for this thread only. */
static num_status c_strtod(const char *z, double *out)
{
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t old = c_loc ? uselocale(c_loc) : (locale_t)0;
    errno = 0;
    char *end = NULL;
    double v = strtod(z, &end);
    int err = errno;
    if (c_loc) {
        uselocale(old);
        freelocale(c_loc);
    }
    if (!end || *end != '\0')
        return NUM_SYNTAX; /* cannot happen after the grammar check */
    if (err == ERANGE && isinf(v))
        return NUM_OVERFLOW;
    *out = v;
    return NUM_OK;
}

num_status num_parse(const char *text, size_t len, double *out)
{
    if (len == 0 || grammar_length(text, len) != len)
        return spelled_nonfinite(text, len) ? NUM_NONFINITE : NUM_SYNTAX;
    char small[128];
    char *z = small;
    if (len >= sizeof small) {
        z = malloc(len + 1);
        if (!z)
            return NUM_NOMEM;
    }
    memcpy(z, text, len);
    z[len] = '\0';
    num_status st = c_strtod(z, out);
    if (z != small)
        free(z);
    return st;
}

const char *num_format(double x, char buf[NUM_BUF])
{
    if (isnan(x))
        return strcpy(buf, "nan");
    if (isinf(x))
        return strcpy(buf, x > 0 ? "inf" : "-inf");
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t old = c_loc ? uselocale(c_loc) : (locale_t)0;
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, NUM_BUF, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    if (c_loc) {
        uselocale(old);
        freelocale(c_loc);
    }
    return buf;
}

int num_parse_double(const char *s, double *out)
{
    double v;
    if (!s || num_parse(s, strlen(s), &v) != NUM_OK)
        return -1;
    *out = v;
    return 0;
}

int num_parse_size(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
    if (!s || !is_digit(s[0]))
        return -1;
    unsigned long long v = 0;
    for (const char *p = s; *p; p++) {
        if (!is_digit(*p))
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (~0ULL - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}
