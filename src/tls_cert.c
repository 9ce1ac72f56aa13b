/*
 * tls_cert.c - X.509 chain summary.  Contracts in tls_cert.h.
 */
#include "tls_cert.h"
#include "cursor.h"
#include "imap_util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Printable-ASCII copy of n bytes ('?' for anything else). */
static json_t *ascii_json(const unsigned char *s, size_t n)
{
    char buf[512];
    if (n > sizeof buf - 1)
        n = sizeof buf - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
    return json_stringn(buf, n);
}

static json_t *name_json(const X509_NAME *nm)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return json_null();
    /* XN_FLAG_RFC2253 escapes bytes >= 0x80 (ASN1_STRFLGS_ESC_MSB). */
    X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253);
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    json_t *j = ascii_json((const unsigned char *)p, n > 0 ? (size_t)n : 0);
    BIO_free(b);
    return j;
}

static json_t *time_json(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return json_null();
    char buf[80];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return json_string(buf);
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    imapi_hex_encode(d, n, out);
}

json_t *tls_cert_json(const uint8_t *der, size_t len)
{
    json_t *o = json_object();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned ml = 0;
    char hx[2 * EVP_MAX_MD_SIZE + 1];
    if (EVP_Digest(der, len, md, &ml, EVP_sha256(), NULL) == 1) {
        hex(md, ml, hx);
        json_object_set_new_nocheck(o, "sha256", json_string(hx));
    }
    json_object_set_new_nocheck(o, "der_len", json_integer((json_int_t)len));
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x) {
        json_object_set_new_nocheck(o, "error", json_string("unparseable"));
        return o;
    }
    json_object_set_new_nocheck(o, "subject", name_json(X509_get_subject_name(x)));
    json_object_set_new_nocheck(o, "issuer", name_json(X509_get_issuer_name(x)));
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    if (bn) {
        char *s = BN_bn2hex(bn);
        if (s) {
            for (char *q = s; *q; q++)
                if (*q >= 'A' && *q <= 'F')
                    *q = (char)(*q - 'A' + 'a');
            json_object_set_new_nocheck(o, "serial", json_string(s));
            OPENSSL_free(s);
        }
        BN_free(bn);
    }
    json_object_set_new_nocheck(o, "not_before", time_json(X509_get0_notBefore(x)));
    json_object_set_new_nocheck(o, "not_after", time_json(X509_get0_notAfter(x)));
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    json_t *dns = json_array(), *ips = json_array();
    int ng = gens ? sk_GENERAL_NAME_num(gens) : 0;
    for (int i = 0; i < ng && i < TLS_CERT_MAX_SANS; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS) {
            const ASN1_IA5STRING *s = g->d.dNSName;
            json_array_append_new(dns, ascii_json(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s)));
        } else if (g->type == GEN_IPADD) {
            const ASN1_OCTET_STRING *s = g->d.iPAddress;
            const unsigned char *a = ASN1_STRING_get0_data(s);
            int al = ASN1_STRING_length(s);
            char buf[64] = "";
            if (al == 4)
                snprintf(buf, sizeof buf, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
            else if (al == 16)
                for (int k = 0; k < 8; k++)
                    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), k ? ":%x" : "%x",
                             (unsigned)(a[2 * k] << 8 | a[2 * k + 1]));
            if (buf[0])
                json_array_append_new(ips, json_string(buf));
        }
    }
    GENERAL_NAMES_free(gens);
    json_object_set_new_nocheck(o, "san_dns", dns);
    json_object_set_new_nocheck(o, "san_ip", ips);
    X509_free(x);
    return o;
}

json_t *tls_cert_chain_json(const uint8_t *body, size_t len, bool tls13, bool *malformed,
                            bool *truncated)
{
    /* RFC 8446 4.4.2 / RFC 5246 7.4.2: Certificate */
    cursor c = cur_make(body, len);
    *malformed = false;
    *truncated = false;
    if (tls13)   /* certificate_request_context<0..255> */
        cur_skip(&c, cur_u8(&c));
    size_t ll = cur_be24(&c);   /* certificate_list<0..2^24-1> */
    if (c.err || ll != cur_left(&c))
        goto bad;
    json_t *arr = json_array();
    while (cur_left(&c) > 0) {
        size_t cl = cur_be24(&c);   /* cert_data<1..2^24-1> */
        const uint8_t *cert = cur_bytes(&c, cl);
        if (tls13)   /* Extension extensions<0..2^16-1> */
            cur_skip(&c, cur_be16(&c));
        if (c.err) {
            json_decref(arr);
            goto bad;
        }
        if (json_array_size(arr) < TLS_CERT_MAX_CHAIN)
            json_array_append_new(arr, tls_cert_json(cert, cl));
        else
            *truncated = true;
    }
    return arr;
bad:
    *malformed = true;
    return NULL;
}
