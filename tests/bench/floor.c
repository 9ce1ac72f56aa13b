/*
 * floor.c - the physical floor of the benchmark: read every packet of a
 * capture with libpcap (pcap_next_ex) and touch every byte, nothing else.
 *
 * No program that reads the file through libpcap and looks at all of it can
 * be faster; imapscope's times are stated as a ratio to this one.  The sum
 * is printed so the compiler cannot drop the loop.
 *
 * Usage: floor FILE     prints "packets bytes sum" on stdout
 *        floor --version  prints libpcap's version string
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *data;
    pcap_t *p;
    uint64_t packets = 0, bytes = 0, sum = 0;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: floor FILE\n");
        return 1;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("%s\n", pcap_lib_version());
        return 0;
    }
    p = pcap_open_offline(argv[1], errbuf);
    if (!p) {
        fprintf(stderr, "floor: %s: %s\n", argv[1], errbuf);
        return 1;
    }
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        /* A plain loop the compiler vectorises; every byte is read once. */
        uint64_t s = 0;
        for (uint32_t i = 0; i < h->caplen; i++)
            s += data[i];
        sum += s;
        bytes += h->caplen;
        packets++;
    }
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "floor: %s: %s\n", argv[1], pcap_geterr(p));
        pcap_close(p);
        return 2;
    }
    pcap_close(p);
    printf("%llu %llu %llu\n", (unsigned long long)packets, (unsigned long long)bytes,
           (unsigned long long)sum);
    return 0;
}
