/* section.c - named application data kept with a model (saved in its file),
 * in the order the names were first set (a replacement keeps its place). */
#include "internal.h"

#include <string.h>

static mlp2_section *find(const mlp2 *net, const char *name)
{
    for (size_t i = 0; i < net->n_sections; i++)
        if (strcmp(net->sections[i].name, name) == 0)
            return &net->sections[i];
    return NULL;
}

static bool valid_name(const char *name)
{
    if (!name)
        return false;
    size_t n = strnlen(name, 256);
    return n >= 1 && n <= 255;
}

mlp2_status mlp2_section_set(mlp2 *net, const char *name, const void *data, size_t len)
{
    if (!net || !valid_name(name) || (!data && len > 0))
        return MLP2_FAIL(MLP2_EINVAL);
    if (len > UINT32_MAX)
        return MLP2_FAIL(MLP2_ERANGE);
    /* everything that can fail happens before the model is touched */
    unsigned char *copy = NULL;
    if (len > 0) {
        copy = mlp2__alloc(len);
        if (!copy)
            return MLP2_FAIL(MLP2_ENOMEM);
        memcpy(copy, data, len);
    }
    mlp2_section *s = find(net, name);
    if (s) {
        mlp2__free(s->data);
        s->data = copy;
        s->len = len;
        return MLP2_OK;
    }
    size_t nlen = strlen(name);
    char *ncopy = mlp2__alloc(nlen + 1);
    mlp2_section *grown = mlp2__alloc_array(net->n_sections + 1, sizeof *grown);
    if (!ncopy || !grown) {
        mlp2__free(copy);
        mlp2__free(ncopy);
        mlp2__free(grown);
        return MLP2_FAIL(MLP2_ENOMEM);
    }
    memcpy(ncopy, name, nlen + 1);
    if (net->n_sections)
        memcpy(grown, net->sections, net->n_sections * sizeof *grown);
    grown[net->n_sections] = (mlp2_section){.name = ncopy, .data = copy, .len = len};
    mlp2__free(net->sections);
    net->sections = grown;
    net->n_sections++;
    return MLP2_OK;
}

mlp2_status mlp2_section_get(const mlp2 *net, const char *name, const void **data, size_t *len)
{
    if (!net || !valid_name(name) || !data || !len)
        return MLP2_FAIL(MLP2_EINVAL);
    const mlp2_section *s = find(net, name);
    if (!s)
        return MLP2_FAIL(MLP2_ENOENT);
    *data = s->data;
    *len = s->len;
    return MLP2_OK;
}

mlp2_status mlp2_section_remove(mlp2 *net, const char *name)
{
    if (!net || !valid_name(name))
        return MLP2_FAIL(MLP2_EINVAL);
    mlp2_section *s = find(net, name);
    if (!s)
        return MLP2_FAIL(MLP2_ENOENT);
    mlp2__free(s->name);
    mlp2__free(s->data);
    size_t i = (size_t)(s - net->sections);
    memmove(s, s + 1, (net->n_sections - i - 1) * sizeof *s);
    net->n_sections--;
    return MLP2_OK;
}

size_t mlp2_section_count(const mlp2 *net)
{
    return net ? net->n_sections : 0;
}

const char *mlp2_section_name(const mlp2 *net, size_t i)
{
    return net && i < net->n_sections ? net->sections[i].name : NULL;
}
