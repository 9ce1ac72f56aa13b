/*
 * Community ID v1: the worked examples of SPECS.md section 1, then every
 * frame of every pcap in vectors/community-id/pcaps decoded with our decoder
 * and compared field by field with TShark's output (expected-tshark/, one
 * line per frame: frame|ip.src|ipv6.src|ip.dst|ipv6.dst|ip.proto|ipv6.nxt|
 * tcp/udp/sctp sport|tcp/udp/sctp dport|icmp type|code|icmpv6 type|code|id).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "community_id.h"
#include "decode.h"

static const char *shared_dir(void)
{
    const char *s = getenv("IMAPSCOPE_SHARED");
    return s && *s ? s : "tests/data";
}

static int tuple_id(int v, const char *src, const char *dst, uint8_t proto, uint16_t sp,
                    uint16_t dp, uint16_t seed, bool b64, char *out)
{
    uint8_t a[16], b[16];
    int af = v == 4 ? AF_INET : AF_INET6;
    assert_int_equal(inet_pton(af, src, a), 1);
    assert_int_equal(inet_pton(af, dst, b), 1);
    return community_id_v1_tuple((uint8_t)v, a, b, proto, sp, dp, seed, b64, out,
                                 COMMUNITY_ID_MAX_LEN);
}

static void test_worked_examples(void **state)
{
    (void)state;
    char id[COMMUNITY_ID_MAX_LEN];
    assert_int_equal(tuple_id(4, "1.2.3.4", "5.6.7.8", 6, 1122, 3344, 0, true, id), 30);
    assert_string_equal(id, "1:wCb3OG7yAFWelaUydu0D+125CLM=");
    tuple_id(4, "5.6.7.8", "1.2.3.4", 6, 3344, 1122, 0, true, id);
    assert_string_equal(id, "1:wCb3OG7yAFWelaUydu0D+125CLM=");
    tuple_id(4, "1.2.3.4", "5.6.7.8", 46, 0, 0, 0, true, id);
    assert_string_equal(id, "1:ikv3kmf89luf73WPz1jOs49S768=");
    /* ports of a portless protocol are ignored */
    tuple_id(4, "1.2.3.4", "5.6.7.8", 46, 99, 77, 0, true, id);
    assert_string_equal(id, "1:ikv3kmf89luf73WPz1jOs49S768=");
    tuple_id(4, "1.2.3.4", "5.6.7.8", 1, 8, 0, 0, true, id);
    assert_string_equal(id, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=");
    /* the echo reply the other way is the same flow */
    tuple_id(4, "5.6.7.8", "1.2.3.4", 1, 0, 0, 0, true, id);
    assert_string_equal(id, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=");
    tuple_id(4, "1.2.3.4", "5.6.7.8", 17, 1122, 3344, 1, true, id);
    assert_string_equal(id, "1:OShq+iKDAMVouh/4bMxB9Sz4amw=");
    /* hex variant: 1: + 40 hex digits */
    assert_int_equal(tuple_id(4, "1.2.3.4", "5.6.7.8", 6, 1122, 3344, 0, false, id), 42);
    assert_int_equal(strlen(id), 42);
    assert_memory_equal(id, "1:", 2);
}

static void test_one_way_icmp_not_reordered(void **state)
{
    (void)state;
    char a[COMMUNITY_ID_MAX_LEN], b[COMMUNITY_ID_MAX_LEN];
    /* destination unreachable (3/1) has no counterpart: direction matters */
    tuple_id(4, "5.6.7.8", "1.2.3.4", 1, 3, 1, 0, true, a);
    tuple_id(4, "1.2.3.4", "5.6.7.8", 1, 3, 1, 0, true, b);
    assert_string_not_equal(a, b);
    /* ICMPv6 echo request/reply pair is two-way */
    tuple_id(6, "::1", "::2", 58, 128, 0, 0, true, a);
    tuple_id(6, "::2", "::1", 58, 129, 0, 0, true, b);
    assert_string_equal(a, b);
}

static void test_bad_args(void **state)
{
    (void)state;
    char small[10];
    uint8_t a[4] = {1, 2, 3, 4};
    assert_int_equal(community_id_v1_tuple(4, a, a, 6, 1, 2, 0, true, small, sizeof small), -1);
    assert_string_equal(small, "");
    char id[COMMUNITY_ID_MAX_LEN];
    assert_int_equal(community_id_v1_tuple(5, a, a, 6, 1, 2, 0, true, id, sizeof id), -1);
}

/* Splits line at '|' into at most 18 fields (in place). */
static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p == '|') {
            *p = '\0';
            f[n++] = p + 1;
        }
    }
    char *nl = strchr(f[n - 1], '\n');
    if (nl)
        *nl = '\0';
    return n;
}

/* First value of a comma-separated TShark field (outer header). */
static void first_value(const char *s, char *out, size_t outlen)
{
    size_t n = strcspn(s, ",");
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static long field_num(const char *s)
{
    char v[64];
    first_value(s, v, sizeof v);
    return v[0] ? strtol(v, NULL, 10) : -1;
}

static void check_addr(const char *field, int af, const uint8_t *got, const char *what, int frame)
{
    char v[64];
    uint8_t want[16] = {0};
    first_value(field, v, sizeof v);
    if (inet_pton(af, v, want) != 1)
        fail_msg("frame %d: bad %s '%s' in expected file", frame, what, v);
    if (memcmp(want, got, af == AF_INET ? 4 : 16) != 0)
        fail_msg("frame %d: %s differs from %s", frame, what, v);
}

static void check_pcap(const char *name, const char *mode, uint16_t seed, bool b64)
{
    char path[1024], epath[1024], errbuf[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/vectors/community-id/pcaps/%s.pcap", shared_dir(), name);
    snprintf(epath, sizeof epath, "%s/vectors/community-id/expected-tshark/%s.%s.txt",
             shared_dir(), name, mode);
    pcap_t *pc = pcap_open_offline(path, errbuf);
    if (!pc)
        fail_msg("%s: %s", path, errbuf);
    FILE *ef = fopen(epath, "r");
    if (!ef)
        fail_msg("cannot open %s", epath);
    decoder d;
    char err[256];
    assert_int_equal(decoder_init(&d, NULL, err, sizeof err), 0);
    int linktype = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    char line[4096];
    int frames = 0;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        frames++;
        if (!fgets(line, sizeof line, ef))
            fail_msg("%s: no expected line for frame %d", epath, frames);
        char *f[18];
        int nf = split_fields(line, f, 18);
        assert_int_equal(nf, 18);
        assert_int_equal(atoi(f[0]), frames);
        pkt p;
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        decode_result r = decode_packet(&d, linktype, data, h->caplen, h->len, ts, &p);
        if (f[17][0] == '\0') {
            /* no ID: not IP (arp) */
            assert_int_equal(r, DECODE_SKIP);
            assert_int_equal(p.error, DECODE_R_NOT_IP);
            assert_string_equal(f[1], "");
            assert_string_equal(f[2], "");
            continue;
        }
        if (r != DECODE_OK)
            fail_msg("%s frame %d: %s (%s)", name, frames, decode_result_name(r),
                     decode_reason_name(p.error));
        if (f[1][0]) {
            assert_int_equal(p.ip_version, 4);
            check_addr(f[1], AF_INET, p.src, "ip.src", frames);
            check_addr(f[3], AF_INET, p.dst, "ip.dst", frames);
            assert_int_equal(p.proto, field_num(f[5]));
        } else {
            assert_int_equal(p.ip_version, 6);
            check_addr(f[2], AF_INET6, p.src, "ipv6.src", frames);
            check_addr(f[4], AF_INET6, p.dst, "ipv6.dst", frames);
            assert_int_equal(p.proto, field_num(f[6]));
        }
        long sport = -1, dport = -1;
        for (int i = 7; i <= 9; i++)
            if (f[i][0])
                sport = field_num(f[i]);
        for (int i = 10; i <= 12; i++)
            if (f[i][0])
                dport = field_num(f[i]);
        if (sport >= 0 && !p.is_icmp) {
            assert_int_equal(p.sport, sport);
            assert_int_equal(p.dport, dport);
        }
        if (f[13][0]) {
            assert_true(p.is_icmp);
            assert_int_equal(p.icmp_type, field_num(f[13]));
            assert_int_equal(p.icmp_code, field_num(f[14]));
        }
        if (f[15][0]) {
            assert_true(p.is_icmp);
            assert_int_equal(p.icmp_type, field_num(f[15]));
            assert_int_equal(p.icmp_code, field_num(f[16]));
        }
        if (!f[13][0] && !f[15][0])
            assert_false(p.is_icmp);
        if (sport < 0 && !p.is_icmp) {
            assert_int_equal(p.sport, 0);
            assert_int_equal(p.dport, 0);
        }
        char id[COMMUNITY_ID_MAX_LEN];
        assert_true(community_id_v1(&p, seed, b64, id, sizeof id) > 0);
        if (strcmp(id, f[17]) != 0)
            fail_msg("%s.%s frame %d: got %s want %s", name, mode, frames, id, f[17]);
    }
    assert_true(frames > 0);
    assert_null(fgets(line, sizeof line, ef)); /* every expected line used */
    /* a clean capture raises no error */
    assert_int_equal(decoder_stats(&d)->errors, 0);
    fclose(ef);
    pcap_close(pc);
    decoder_free(&d);
}

static const char *const pcaps[] = {"arp", "icmp", "icmp6", "ipv6", "rsvp", "sctp", "tcp", "udp"};

static void test_vectors_default(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pcaps / sizeof pcaps[0]; i++)
        check_pcap(pcaps[i], "deflt", 0, true);
}

static void test_vectors_seed1(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pcaps / sizeof pcaps[0]; i++)
        check_pcap(pcaps[i], "seed1", 1, true);
}

static void test_vectors_nob64(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pcaps / sizeof pcaps[0]; i++)
        check_pcap(pcaps[i], "nob64", 0, false);
}

/* expected-imap-flows-tshark.tsv: pcap, src, srcport, dst, dstport, ID.
 * Every TCP packet of the flow, either direction, has that ID; the tuple
 * form with the client as src gives it too. */
static void test_imap_flows(void **state)
{
    (void)state;
    char tsv[1024], line[1024];
    snprintf(tsv, sizeof tsv, "%s/vectors/community-id/expected-imap-flows-tshark.tsv",
             shared_dir());
    FILE *f = fopen(tsv, "r");
    if (!f)
        fail_msg("cannot open %s", tsv);
    int flows = 0;
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        char file[512], src[64], dst[64], want[64];
        unsigned sport, dport;
        if (sscanf(line, "%511s %63s %u %63s %u %63s", file, src, &sport, dst, &dport, want) != 6)
            continue;
        flows++;
        char id[COMMUNITY_ID_MAX_LEN];
        int v = strchr(src, ':') ? 6 : 4;
        tuple_id(v, src, dst, 6, (uint16_t)sport, (uint16_t)dport, 0, true, id);
        assert_string_equal(id, want);

        char path[1024], errbuf[PCAP_ERRBUF_SIZE];
        snprintf(path, sizeof path, "%s/vectors/%s", shared_dir(), file);
        pcap_t *pc = pcap_open_offline(path, errbuf);
        if (!pc)
            fail_msg("%s: %s", path, errbuf);
        decoder d;
        char err[128];
        assert_int_equal(decoder_init(&d, NULL, err, sizeof err), 0);
        struct pcap_pkthdr *h;
        const u_char *data;
        unsigned matched = 0;
        while (pcap_next_ex(pc, &h, &data) == 1) {
            pkt p;
            if (decode_packet(&d, pcap_datalink(pc), data, h->caplen, h->len, 0, &p) != DECODE_OK ||
                p.proto != 6)
                continue;
            if (!((p.sport == sport && p.dport == dport) || (p.sport == dport && p.dport == sport)))
                continue;
            assert_true(community_id_v1(&p, 0, true, id, sizeof id) > 0);
            assert_string_equal(id, want);
            matched++;
        }
        assert_true(matched > 10);
        decoder_free(&d);
        pcap_close(pc);
    }
    assert_int_equal(flows, 2);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_examples),
        cmocka_unit_test(test_one_way_icmp_not_reordered),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_vectors_default),
        cmocka_unit_test(test_vectors_seed1),
        cmocka_unit_test(test_vectors_nob64),
        cmocka_unit_test(test_imap_flows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
