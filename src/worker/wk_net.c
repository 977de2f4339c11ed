/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The request node's address policy: an --allow-net list over a fixed
 * deny list of the ranges that are not public (see wk_net.h, and the
 * README's "Security defaults").  Every check is a scan of two short
 * tables; nothing here allocates but wk_net_allow().
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_net.h"


/* IPv4 ranges, as a.b.c.d/bits: not public, never connected by default */
static const struct {
    uint8_t   a[4];
    unsigned  bits;
} wk_deny4[] = {
    { { 0, 0, 0, 0 }, 8 },              /* "this network", unspecified */
    { { 10, 0, 0, 0 }, 8 },             /* RFC 1918 */
    { { 100, 64, 0, 0 }, 10 },          /* shared address space (CGN) */
    { { 127, 0, 0, 0 }, 8 },            /* loopback */
    { { 169, 254, 0, 0 }, 16 },         /* link-local, cloud metadata */
    { { 172, 16, 0, 0 }, 12 },          /* RFC 1918 */
    { { 192, 0, 0, 0 }, 24 },           /* IETF protocol assignments */
    { { 192, 0, 2, 0 }, 24 },           /* documentation */
    { { 192, 88, 99, 0 }, 24 },         /* 6to4 relay anycast */
    { { 192, 168, 0, 0 }, 16 },         /* RFC 1918 */
    { { 198, 18, 0, 0 }, 15 },          /* benchmarking */
    { { 198, 51, 100, 0 }, 24 },        /* documentation */
    { { 203, 0, 113, 0 }, 24 },         /* documentation */
    { { 224, 0, 0, 0 }, 4 },            /* multicast */
    { { 240, 0, 0, 0 }, 4 },            /* reserved, broadcast */
};

/* IPv6 ranges (the mapped forms are checked through their IPv4) */
static const struct {
    uint8_t   a[16];
    unsigned  bits;
} wk_deny6[] = {
    { { 0 }, 96 },                      /* ::, ::1, IPv4-compatible */
    { { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48 },   /* local NAT64 */
    { { 0x01, 0x00 }, 64 },             /* discard-only */
    { { 0x20, 0x01, 0x00, 0x00 }, 32 }, /* Teredo */
    { { 0x20, 0x01, 0x00, 0x02, 0x00, 0x00 }, 48 },   /* benchmarking */
    { { 0x20, 0x01, 0x00, 0x10 }, 28 }, /* ORCHID */
    { { 0x20, 0x01, 0x0d, 0xb8 }, 32 }, /* documentation */
    { { 0x3f, 0xff }, 20 },             /* documentation */
    { { 0x5f, 0x00 }, 16 },             /* segment routing SIDs */
    { { 0xfc }, 7 },                    /* unique local */
    { { 0xfe, 0x80 }, 10 },             /* link-local */
    { { 0xfe, 0xc0 }, 10 },             /* site-local (deprecated) */
    { { 0xff }, 8 },                    /* multicast */
};


static int
wk_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned  n, r;

    n = bits / 8;
    r = bits % 8;

    if (memcmp(a, b, n) != 0) {
        return 0;
    }

    return r == 0 || ((a[n] ^ b[n]) & (0xff00 >> r) & 0xff) == 0;
}


static void
wk_map4(uint8_t *out, const uint8_t *v4)
{
    memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}


int
wk_cidr_parse(const char *s, size_t len, wk_cidr_t *c)
{
    char      buf[64], *slash, *end;
    long      bits;
    unsigned  max, i;
    uint8_t   v4[4];

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash++ = '\0';
    }

    if (inet_pton(AF_INET, buf, v4) == 1) {
        wk_map4(c->addr, v4);
        max = 32;

    } else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
        max = 128;

    } else {
        return -1;
    }

    bits = max;

    if (slash != NULL) {
        if (*slash < '0' || *slash > '9') {
            return -1;
        }

        bits = strtol(slash, &end, 10);
        if (*end != '\0' || bits > (long) max
            || (end - slash > 1 && *slash == '0'))
        {
            return -1;
        }
    }

    c->bits = (unsigned) bits + (128 - max);

    /* the bits past the prefix are cleared, as nginx's "allow" does */
    for (i = c->bits; i < 128; i++) {
        c->addr[i / 8] &= ~(0x80 >> (i % 8));
    }

    return 0;
}


int
wk_net_allow(wk_net_t *net, const char *list, const char **bad,
    size_t *bad_len)
{
    size_t      len;
    wk_cidr_t   c, *a;
    const char *p, *e;

    for (p = list; /* void */; p = e + 1) {
        e = strchr(p, ',');
        len = e ? (size_t) (e - p) : strlen(p);

        if (wk_cidr_parse(p, len, &c) != 0) {
            *bad = p;
            *bad_len = len;
            return -1;
        }

        a = realloc(net->allow, (net->nallow + 1) * sizeof(wk_cidr_t));
        if (a == NULL) {
            return -2;
        }

        net->allow = a;
        net->allow[net->nallow++] = c;

        if (e == NULL) {
            return 0;
        }
    }
}


void
wk_net_free(wk_net_t *net)
{
    free(net->allow);
    net->allow = NULL;
    net->nallow = 0;
}


static int
wk_net_listed(const wk_net_t *net, const uint8_t *a)
{
    size_t  i;

    for (i = 0; i < net->nallow; i++) {
        if (wk_prefix_eq(a, net->allow[i].addr, net->allow[i].bits)) {
            return 1;
        }
    }

    return 0;
}


static int
wk_net_denied(const uint8_t *a)
{
    size_t   i;
    uint8_t  m[16];

    for (i = 0; i < sizeof(wk_deny6) / sizeof(wk_deny6[0]); i++) {
        if (wk_prefix_eq(a, wk_deny6[i].a, wk_deny6[i].bits)) {
            return 1;
        }
    }

    for (i = 0; i < sizeof(wk_deny4) / sizeof(wk_deny4[0]); i++) {
        wk_map4(m, wk_deny4[i].a);

        if (wk_prefix_eq(a, m, wk_deny4[i].bits + 96)) {
            return 1;
        }
    }

    return 0;
}


/* The IPv4 address an IPv6 one carries, as mapped IPv6; 0 when none. */
static int
wk_net_embedded(const uint8_t *a, uint8_t *out)
{
    static const uint8_t  zero[12];
    static const uint8_t  siit[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
                                       0xff, 0xff, 0, 0 };
    static const uint8_t  nat64[12] = { 0x00, 0x64, 0xff, 0x9b };

    if (memcmp(a, zero, 12) == 0 || memcmp(a, siit, 12) == 0
        || memcmp(a, nat64, 12) == 0)
    {
        wk_map4(out, a + 12);
        return 1;
    }

    if (a[0] == 0x20 && a[1] == 0x02) {
        wk_map4(out, a + 2);
        return 1;
    }

    return 0;
}


int
wk_net_allowed(const wk_net_t *net, const struct sockaddr *sa, size_t len)
{
    int       inner;
    uint8_t   a[16], v4[16];

    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        wk_map4(a, (const uint8_t *)
                   &((const struct sockaddr_in *) sa)->sin_addr);

    } else if (sa->sa_family == AF_INET6
               && len >= sizeof(struct sockaddr_in6))
    {
        memcpy(a, &((const struct sockaddr_in6 *) sa)->sin6_addr, 16);

    } else {
        return 0;
    }

    inner = wk_net_embedded(a, v4);

    if (wk_net_listed(net, a) || (inner && wk_net_listed(net, v4))) {
        return 1;
    }

    return !wk_net_denied(a) && !(inner && wk_net_denied(v4));
}


void
wk_net_ntop(const struct sockaddr *sa, char *buf, size_t size)
{
    char  text[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET
        && inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr,
                     text, sizeof(text)) != NULL)
    {
        snprintf(buf, size, "%s", text);

    } else if (sa->sa_family == AF_INET6
               && inet_ntop(AF_INET6,
                            &((const struct sockaddr_in6 *) sa)->sin6_addr,
                            text, sizeof(text)) != NULL)
    {
        snprintf(buf, size, "[%s]", text);

    } else {
        snprintf(buf, size, "(address family %d)", (int) sa->sa_family);
    }
}
