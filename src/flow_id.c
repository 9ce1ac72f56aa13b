/*
 * flow_id.c - the per-run keyed flow id (flow_id.h).
 */
#include "flow_id.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "siphash.h"

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void flow_id_key_from_seed(uint8_t key[16], uint64_t seed)
{
    uint64_t s = seed;
    put_le64(key, splitmix64(&s));
    put_le64(key + 8, splitmix64(&s));
}

uint64_t flow_id_random_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) == (ssize_t)sizeof seed)
        return seed;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t s = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    s ^= (uint64_t)getpid() << 32;
    return splitmix64(&s);
}

uint64_t flow_id_make(const uint8_t key[16], const flow *f)
{
    /* ipv(1) | endpoint A: addr(16) port(2) | endpoint B | first_ts(8) | frame(8) */
    uint8_t in[1 + 2 * 18 + 16];
    size_t alen = f->ipv == 4 ? 4 : 16;
    int a = 0, b = 1;
    int c = memcmp(f->addr[0], f->addr[1], alen);
    if (c > 0 || (c == 0 && f->port[0] > f->port[1]))
        a = 1, b = 0;
    memset(in, 0, sizeof in);
    in[0] = f->ipv;
    memcpy(in + 1, f->addr[a], alen);
    in[17] = (uint8_t)(f->port[a] >> 8);
    in[18] = (uint8_t)f->port[a];
    memcpy(in + 19, f->addr[b], alen);
    in[35] = (uint8_t)(f->port[b] >> 8);
    in[36] = (uint8_t)f->port[b];
    put_le64(in + 37, f->first_ts_us);
    put_le64(in + 45, f->id);
    uint64_t h = siphash24(in, 53, key) & FLOW_ID_MAX;
    return h ? h : 1;
}
