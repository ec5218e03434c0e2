/* kinds.h - the command-line names of the library's kinds of network
 * (mlp2_hidden, mlp2_head): sigmoid, tanh, relu; linear, softmax, sigmoid. */
#ifndef MLP2_TOOLS_KINDS_H
#define MLP2_TOOLS_KINDS_H

#include <mlp2.h>

/* The name of a kind ("?" for a value the library does not have). */
const char *hidden_name(mlp2_hidden h);
const char *head_name(mlp2_head h);
/* The kind of a name: 0, or -1 when the name is none of them. */
int hidden_parse(const char *s, mlp2_hidden *out);
int head_parse(const char *s, mlp2_head *out);

#endif
