/* json_query - the benchmark's strict JSON parser (bench/json-check.c,
 * RFC 8259) as a query tool for the CLI tests: parse FILE (or stdin for
 * "-"), fail on any syntax error, and print the value at each PATH.
 *
 * Usage: json_query FILE [PATH ...]
 *   PATH: members and array indices separated by '/', e.g. targets/0/r2 ('' is
 *   the document).  Numbers print as %.17g, strings as their text, null as
 *   null, true and false as bool; objects as {N} and arrays as [N] (sizes).
 * Exit status: 0; 1 for a parse error or a missing path; 2 for usage. */
#define main json_check_main
int json_check_main(int argc, char **argv);
#include "../../bench/json-check.c"
#undef main

static const jnode *child(const jnode *n, const char *key)
{
    if (n->type == J_OBJ)
        return member(n, key);
    if (n->type != J_ARR)
        return NULL;
    char *end;
    long i = strtol(key, &end, 10);
    if (*key == '\0' || *end != '\0' || i < 0)
        return NULL;
    const jnode *k = n->kids;
    while (k && i-- > 0)
        k = k->next;
    return k;
}

static size_t count(const jnode *n)
{
    size_t c = 0;
    for (const jnode *k = n->kids; k; k = k->next)
        c++;
    return c;
}

static int print_path(const jnode *root, const char *path)
{
    char *copy = strdup(path), *save = NULL;
    const jnode *n = root;
    for (char *key = strtok_r(copy, "/", &save); n && key; key = strtok_r(NULL, "/", &save))
        n = child(n, key);
    free(copy);
    if (!n) {
        fprintf(stderr, "json_query: no %s\n", path);
        return 1;
    }
    switch (n->type) {
    case J_NULL: puts("null"); break;
    case J_BOOL: puts("bool"); break;
    case J_NUM: printf("%.17g\n", n->num); break;
    case J_STR: puts(n->str); break;
    case J_ARR: printf("[%zu]\n", count(n)); break;
    case J_OBJ: printf("{%zu}\n", count(n)); break;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: json_query FILE [PATH ...]\n");
        return 2;
    }
    char *buf;
    jnode *root = load_json("json_query", argv[1], &buf);
    if (!root)
        return 1;
    int rc = 0;
    for (int i = 2; rc == 0 && i < argc; i++)
        rc = print_path(root, argv[i]);
    jfree(root);
    free(buf);
    return rc;
}
