/* kinds.c - names of the kinds of network (see kinds.h). */
#include "kinds.h"

#include <string.h>

static const char *const hidden_names[] = {"sigmoid", "tanh", "relu"};
static const char *const head_names[] = {"linear", "softmax", "sigmoid"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *hidden_name(mlp2_hidden h)
{
    return (unsigned)h < COUNT(hidden_names) ? hidden_names[h] : "?";
}

const char *head_name(mlp2_head h)
{
    return (unsigned)h < COUNT(head_names) ? head_names[h] : "?";
}

int hidden_parse(const char *s, mlp2_hidden *out)
{
    for (unsigned i = 0; i < COUNT(hidden_names); i++)
        if (strcmp(s, hidden_names[i]) == 0) {
            *out = (mlp2_hidden)i;
            return 0;
        }
    return -1;
}

int head_parse(const char *s, mlp2_head *out)
{
    for (unsigned i = 0; i < COUNT(head_names); i++)
        if (strcmp(s, head_names[i]) == 0) {
            *out = (mlp2_head)i;
            return 0;
        }
    return -1;
}
