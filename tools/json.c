/* json.c - JSON strings and numbers (see json.h). */
#include <math.h>
#include <string.h>

#include "json.h"
#include "num.h"

/* The length of the valid UTF-8 sequence at s[0..len), or 0. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
    size_t n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : 0;
    if (n == 0 || n > len)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((n == 3 && s[0] == 0xE0 && s[1] < 0xA0) || (n == 3 && s[0] == 0xED && s[1] >= 0xA0) ||
        (n == 4 && s[0] == 0xF0 && s[1] < 0x90) || (n == 4 && s[0] == 0xF4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate, or above U+10FFFF */
    return n;
}

void json_string_n(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) { /* valid UTF-8 as it is, any other byte as U+FFFD */
            size_t n = utf8_len((const unsigned char *)s + i, len - i);
            if (n)
                fwrite(s + i, 1, n, f), i += n - 1;
            else
                fputs("\\ufffd", f);
        } else if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void json_string(FILE *f, const char *s)
{
    json_string_n(f, s, strlen(s));
}

void json_number(FILE *f, double x)
{
    char buf[NUM_BUF];
    if (!isfinite(x))
        fputs("null", f);
    else
        fputs(num_format(x, buf), f);
}
