/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests of the request node's address policy (src/worker/wk_net.c): the
 * private, link-local, metadata and reserved ranges are refused by
 * default, in their IPv4-mapped and embedded forms too, and --allow-net
 * opens exactly what it lists.  No address here is ever connected.
 */

#include "../../src/worker/wk_net.c"

#include "wh_test.h"


static int
allowed(const wk_net_t *net, const char *text)
{
    struct sockaddr_in   s4;
    struct sockaddr_in6  s6;

    memset(&s4, 0, sizeof(s4));
    memset(&s6, 0, sizeof(s6));

    if (inet_pton(AF_INET, text, &s4.sin_addr) == 1) {
        s4.sin_family = AF_INET;
        return wk_net_allowed(net, (struct sockaddr *) &s4, sizeof(s4));
    }

    if (inet_pton(AF_INET6, text, &s6.sin6_addr) == 1) {
        s6.sin6_family = AF_INET6;
        return wk_net_allowed(net, (struct sockaddr *) &s6, sizeof(s6));
    }

    printf("# bad test address %s\n", text);
    return -1;
}


static void
test_default(void)
{
    size_t    i;
    wk_net_t  none = { NULL, 0 };

    static const char  *denied[] = {
        "127.0.0.1", "127.0.0.2", "127.255.255.254", "0.0.0.0", "0.1.2.3",
        "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255",
        "192.168.0.1", "192.168.255.255", "100.64.0.1", "100.127.255.255",
        "169.254.169.254", "169.254.0.1", "192.0.0.8", "192.0.2.1",
        "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9",
        "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
        "192.88.99.1",
        "::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1",
        "fec0::1", "ff02::1", "ff05::1:3", "2001:db8::1", "100::1",
        "2001::1", "64:ff9b:1::1",
        /* IPv4-mapped, -compatible, SIIT, NAT64 and 6to4 forms */
        "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
        "::ffff:0.0.0.0", "::ffff:192.168.1.1", "::127.0.0.1",
        "::169.254.169.254", "::ffff:0:127.0.0.1", "64:ff9b::127.0.0.1",
        "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2002:a9fe:a9fe::",
        "2002:c0a8:0101::1", "fd00:ec2::254",
    };

    static const char  *public[] = {
        "1.1.1.1", "8.8.8.8", "93.184.216.34", "172.15.255.255",
        "172.32.0.1", "100.63.255.255", "100.128.0.1", "169.253.255.255",
        "11.0.0.1", "126.255.255.255", "128.0.0.1", "192.169.0.1",
        "223.255.255.255", "198.20.0.1",
        "2606:4700:4700::1111", "2a00:1450:4001::200e",
        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:0808:0808::1",
        "fbff:ffff::1", "fe00::1",
    };

    for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        is_int(allowed(&none, denied[i]), 0, "%s refused by default",
               denied[i]);
    }

    for (i = 0; i < sizeof(public) / sizeof(public[0]); i++) {
        is_int(allowed(&none, public[i]), 1, "%s allowed", public[i]);
    }
}


static void
test_allow(void)
{
    size_t       len;
    wk_net_t     net = { NULL, 0 };
    const char  *bad;

    is_int(wk_net_allow(&net, "127.0.0.1/32", &bad, &len), 0,
           "allow 127.0.0.1/32");
    is_int(allowed(&net, "127.0.0.1"), 1, "127.0.0.1 listed");
    is_int(allowed(&net, "::ffff:127.0.0.1"), 1, "its mapped form too");
    is_int(allowed(&net, "127.0.0.2"), 0, "127.0.0.2 not listed");
    is_int(allowed(&net, "::1"), 0, "::1 not listed");
    is_int(allowed(&net, "10.0.0.1"), 0, "10.0.0.1 still refused");
    is_int(allowed(&net, "8.8.8.8"), 1, "public still allowed");

    is_int(wk_net_allow(&net, "10.1.0.0/16,::1/128", &bad, &len), 0,
           "a list");
    is_int(allowed(&net, "10.1.200.3"), 1, "10.1.200.3 listed");
    is_int(allowed(&net, "10.2.0.1"), 0, "10.2.0.1 not");
    is_int(allowed(&net, "::1"), 1, "::1 listed");
    is_int(allowed(&net, "::2"), 0, "::2 not");
    wk_net_free(&net);

    is_int(wk_net_allow(&net, "fd00::/8,169.254.169.254", &bad, &len), 0,
           "an IPv6 range and one host");
    is_int(allowed(&net, "fd12::1"), 1, "fd12::1 listed");
    is_int(allowed(&net, "fc00::1"), 0, "fc00::1 not");
    is_int(allowed(&net, "169.254.169.254"), 1, "metadata host listed");
    is_int(allowed(&net, "169.254.169.253"), 0, "its neighbour not");
    wk_net_free(&net);

    /* host bits past the prefix are ignored */
    is_int(wk_net_allow(&net, "127.9.9.9/8", &bad, &len), 0, "127.9.9.9/8");
    is_int(allowed(&net, "127.0.0.2"), 1, "means 127.0.0.0/8");
    wk_net_free(&net);

    is_int(wk_net_allow(&net, "0.0.0.0/0,::/0", &bad, &len), 0,
           "everything");
    is_int(allowed(&net, "10.0.0.1"), 1, "10.0.0.1 then allowed");
    is_int(allowed(&net, "fe80::1"), 1, "fe80::1 then allowed");
    wk_net_free(&net);
}


static void
test_bad(void)
{
    size_t       i, len;
    wk_net_t     net = { NULL, 0 };
    wk_cidr_t    c;
    const char  *bad;

    static const char  *bad_cidr[] = {
        "", "127.0.0.1/33", "::1/129", "127.0.0.1/", "127.0.0.1/-1",
        "127.1", "localhost", "127.0.0.1/8x", "10.0.0.0/08", "1.2.3.4.5",
        "::1/ 8", " 127.0.0.1", "[::1]", "127.0.0.1/+8",
    };

    for (i = 0; i < sizeof(bad_cidr) / sizeof(bad_cidr[0]); i++) {
        is_int(wk_cidr_parse(bad_cidr[i], strlen(bad_cidr[i]), &c), -1,
               "\"%s\" refused", bad_cidr[i]);
    }

    is_int(wk_net_allow(&net, "127.0.0.1,nope,::1", &bad, &len), -1,
           "a list with a bad item");
    ok(len == 4 && strncmp(bad, "nope", 4) == 0, "the item is named");
    is_int(wk_net_allow(&net, "127.0.0.1,", &bad, &len), -1,
           "an empty item");
    wk_net_free(&net);
}


static void
test_other(void)
{
    char                 buf[64];
    wk_net_t             none = { NULL, 0 };
    struct sockaddr      un;
    struct sockaddr_in   s4;

    memset(&un, 0, sizeof(un));
    un.sa_family = AF_UNIX;
    is_int(wk_net_allowed(&none, &un, sizeof(un)), 0,
           "not an IP address: refused");

    memset(&s4, 0, sizeof(s4));
    s4.sin_family = AF_INET;
    inet_pton(AF_INET, "8.8.8.8", &s4.sin_addr);
    is_int(wk_net_allowed(&none, (struct sockaddr *) &s4, 4), 0,
           "a short address: refused");

    wk_net_ntop((struct sockaddr *) &s4, buf, sizeof(buf));
    is_str(buf, "8.8.8.8", "ntop IPv4");
}


int
main(void)
{
    test_default();
    test_allow();
    test_bad();
    test_other();

    return done_testing();
}
