/* rng.c - the library's own generator: xoshiro256** seeded by splitmix64.
 * Pure integer arithmetic, so the same seed gives the same stream everywhere. */
#include "internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void mlp2__rng_seed(mlp2_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

uint64_t mlp2__rng_next(mlp2_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mlp2__rng_uniform(mlp2_rng *r)
{
    return (double)(mlp2__rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t mlp2__rng_below(mlp2_rng *r, uint64_t n)
{
    /* rejection sampling: drop the top partial copy of [0, n) */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = mlp2__rng_next(r);
    while (x >= limit);
    return x % n;
}
