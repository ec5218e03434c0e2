/* model.c - the model: sizes and kinds, the flat parameter vector, Glorot
 * and He initialisation. */
#include "internal.h"

#include <limits.h>
#include <math.h>
#include <string.h>

mlp2_status mlp2__check_shape(size_t n_in, size_t n_hidden, size_t n_out, size_t *n_params)
{
    if (n_in == 0 || n_hidden == 0 || n_out == 0)
        return MLP2_FAIL(MLP2_EINVAL);
    if (!mlp2__fits_int(n_in) || !mlp2__fits_int(n_hidden) || !mlp2__fits_int(n_out))
        return MLP2_FAIL(MLP2_ERANGE);
    /* n_in*n_hidden + n_hidden + n_hidden*n_out + n_out, each step checked;
     * the total must also be addressable in bytes */
    size_t w1, w2, t;
    if (!mlp2__mul(n_in, n_hidden, &w1) || !mlp2__mul(n_hidden, n_out, &w2) ||
        !mlp2__add(w1, n_hidden, &t) || !mlp2__add(t, w2, &t) || !mlp2__add(t, n_out, &t) ||
        t > SIZE_MAX / sizeof(double))
        return MLP2_FAIL(MLP2_ERANGE);
    *n_params = t;
    return MLP2_OK;
}

mlp2_status mlp2__alloc_model(mlp2 **out, size_t n_in, size_t n_hidden, size_t n_out)
{
    size_t np = 0;
    mlp2_status st = mlp2__check_shape(n_in, n_hidden, n_out, &np);
    if (st != MLP2_OK)
        return st;
    mlp2 *net = mlp2__alloc(sizeof *net);
    if (!net)
        return MLP2_FAIL(MLP2_ENOMEM);
    *net = (mlp2){.n_in = n_in, .n_hidden = n_hidden, .n_out = n_out, .n_params = np,
                  .hidden = MLP2_HIDDEN_SIGMOID, .head = MLP2_HEAD_LINEAR};
    net->theta = mlp2__alloc_array(np, sizeof(double));
    if (!net->theta) {
        mlp2__free(net);
        return MLP2_FAIL(MLP2_ENOMEM);
    }
    *out = net;
    return MLP2_OK;
}

/* w[i] ~ U(-a, a) for i < n, drawn in order */
static void uniform(mlp2_rng *r, double *w, size_t n, double a)
{
    for (size_t i = 0; i < n; i++)
        w[i] = a * (2.0 * mlp2__rng_uniform(r) - 1.0);
}

/* Glorot uniform bound sqrt(6 / (fan_in + fan_out)) */
static double glorot(size_t fan_in, size_t fan_out)
{
    return sqrt(6.0 / ((double)fan_in + (double)fan_out));
}

mlp2_status mlp2__check_kinds(const mlp2_spec *spec)
{
    /* compared as unsigned: a negative value stored in the enum is rejected too */
    if ((unsigned)spec->hidden > (unsigned)MLP2_HIDDEN_RELU || (unsigned)spec->head > (unsigned)MLP2_HEAD_SIGMOID)
        return MLP2_FAIL(MLP2_EINVAL);
    if (spec->head == MLP2_HEAD_SOFTMAX && spec->n_out < 2)
        return MLP2_FAIL(MLP2_EINVAL);
    return MLP2_OK;
}

mlp2_status mlp2_create_spec(mlp2 **out, const mlp2_spec *spec, uint64_t seed)
{
    if (!out || !spec)
        return MLP2_FAIL(MLP2_EINVAL);
    const size_t ni = spec->n_in, nh = spec->n_hidden, no = spec->n_out;
    mlp2 *net;
    mlp2_status st = mlp2__check_kinds(spec);
    if (st != MLP2_OK || (st = mlp2__alloc_model(&net, ni, nh, no)) != MLP2_OK)
        return st;
    net->hidden = spec->hidden;
    net->head = spec->head;
    mlp2_rng r;
    mlp2__rng_seed(&r, seed);
    double *th = net->theta;
    /* W1: He uniform sqrt(6 / n_in) for ReLU, Glorot otherwise */
    const double a1 = spec->hidden == MLP2_HIDDEN_RELU ? sqrt(6.0 / (double)ni) : glorot(ni, nh);
    uniform(&r, th, ni * nh, a1);                                     /* W1 */
    memset(th + mlp2__off_b1(net), 0, nh * sizeof(double));           /* b1 */
    uniform(&r, th + mlp2__off_W2(net), nh * no, glorot(nh, no));     /* W2 */
    memset(th + mlp2__off_b2(net), 0, no * sizeof(double));           /* b2 */
    *out = net;
    return MLP2_OK;
}

mlp2_status mlp2_create(mlp2 **out, size_t n_in, size_t n_hidden, size_t n_out, uint64_t seed)
{
    const mlp2_spec spec = {.n_in = n_in, .n_hidden = n_hidden, .n_out = n_out,
                            .hidden = MLP2_HIDDEN_SIGMOID, .head = MLP2_HEAD_LINEAR};
    return mlp2_create_spec(out, &spec, seed);
}

mlp2_status mlp2_get_spec(const mlp2 *net, mlp2_spec *spec)
{
    if (!net || !spec)
        return MLP2_FAIL(MLP2_EINVAL);
    *spec = (mlp2_spec){.n_in = net->n_in, .n_hidden = net->n_hidden, .n_out = net->n_out,
                        .hidden = net->hidden, .head = net->head};
    return MLP2_OK;
}

void mlp2_free(mlp2 *net)
{
    if (!net)
        return;
    for (size_t i = 0; i < net->n_sections; i++) {
        mlp2__free(net->sections[i].name);
        mlp2__free(net->sections[i].data);
    }
    mlp2__free(net->sections);
    mlp2__free(net->theta);
    mlp2__free(net);
}

mlp2_status mlp2_clone(mlp2 **out, const mlp2 *src)
{
    if (!out || !src)
        return MLP2_FAIL(MLP2_EINVAL);
    mlp2 *net;
    mlp2_status st = mlp2__alloc_model(&net, src->n_in, src->n_hidden, src->n_out);
    if (st != MLP2_OK)
        return st;
    net->hidden = src->hidden;
    net->head = src->head;
    memcpy(net->theta, src->theta, src->n_params * sizeof(double));
    for (size_t i = 0; i < src->n_sections; i++) {
        const mlp2_section *s = &src->sections[i];
        st = mlp2_section_set(net, s->name, s->data, s->len);
        if (st != MLP2_OK) {
            mlp2_free(net);
            return st;
        }
    }
    *out = net;
    return MLP2_OK;
}

size_t mlp2_n_in(const mlp2 *net) { return net ? net->n_in : 0; }
size_t mlp2_n_hidden(const mlp2 *net) { return net ? net->n_hidden : 0; }
size_t mlp2_n_out(const mlp2 *net) { return net ? net->n_out : 0; }
size_t mlp2_n_params(const mlp2 *net) { return net ? net->n_params : 0; }

mlp2_status mlp2_get_params(const mlp2 *net, double *theta)
{
    if (!net || !theta)
        return MLP2_FAIL(MLP2_EINVAL);
    memcpy(theta, net->theta, net->n_params * sizeof(double));
    return MLP2_OK;
}

double *mlp2__mpi_params(mlp2 *net)
{
    return net->theta;
}

mlp2_status mlp2_set_params(mlp2 *net, const double *theta)
{
    if (!net || !theta)
        return MLP2_FAIL(MLP2_EINVAL);
    if (!mlp2__all_finite(net->n_params, theta))
        return MLP2_FAIL(MLP2_ENONFINITE);
    memcpy(net->theta, theta, net->n_params * sizeof(double));
    return MLP2_OK;
}
