/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The request node's address policy (SPEC §7, SSRF): which addresses a
 * worker may connect to.  Pure functions over socket addresses, no
 * libcurl and no worker state, so the whole policy is unit tested
 * without sending a packet (t/unit/test_net.c).
 *
 * An address is allowed when an --allow-net CIDR contains it, else when
 * no range of the built-in deny list does.  IPv4 addresses are kept as
 * IPv4-mapped IPv6 (::ffff:a.b.c.d), so an IPv4 CIDR also matches the
 * mapped form a dual-stack socket connects to; the IPv4 embedded in
 * IPv4-compatible (::a.b.c.d), SIIT (::ffff:0:a.b.c.d), NAT64
 * (64:ff9b::/96) and 6to4 (2002::/16) addresses is checked as well.
 */

#ifndef WK_NET_H
#define WK_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>


typedef struct {
    uint8_t             addr[16];
    unsigned            bits;           /* prefix length of the 128 */
} wk_cidr_t;

typedef struct {
    wk_cidr_t          *allow;
    size_t              nallow;
} wk_net_t;


/* "10.0.0.0/8", "::1/128", "127.0.0.1" (one host).  0, or -1. */
int wk_cidr_parse(const char *s, size_t len, wk_cidr_t *c);

/* Adds a comma-separated list of CIDRs.  0, -1 (bad: the item), -2 OOM. */
int wk_net_allow(wk_net_t *net, const char *list, const char **bad,
    size_t *bad_len);

void wk_net_free(wk_net_t *net);

/* 1 when the worker may connect to sa, else 0 (also: not IP at all). */
int wk_net_allowed(const wk_net_t *net, const struct sockaddr *sa,
    size_t len);

/* The address as text (IPv6 in brackets) into buf of size 48 or more. */
void wk_net_ntop(const struct sockaddr *sa, char *buf, size_t size);

#endif /* WK_NET_H */
