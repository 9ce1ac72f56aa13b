/*
 * tls_cert.h - summary of a TLS Certificate handshake message (the server
 * chain) via OpenSSL d2i_X509.
 *
 * Certificate body layouts: TLS <= 1.2 (RFC 5246 7.4.2): u24 list length,
 * then u24-prefixed DER certificates; TLS 1.3 (RFC 8446 4.4.2): u8
 * certificate_request_context, u24 list length, then entries of u24 DER +
 * u16 extensions.
 */
#ifndef IMAPSCOPE_TLS_CERT_H
#define IMAPSCOPE_TLS_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include "limits.h" /* defaults and caps of this module */

#ifdef __cplusplus
extern "C" {
#endif


/* JSON array, one object per certificate in wire order (leaf first):
 *   subject, issuer (RFC 2253, non-ASCII escaped), serial (hex), not_before,
 *   not_after (RFC 3339 UTC), san_dns [..], san_ip [..], sha256 (hex of the
 *   DER), der_len; a certificate OpenSSL cannot parse gives only sha256,
 *   der_len and "error": "unparseable".
 * Returns a new reference, or NULL when the message itself is malformed
 * (*malformed set to true; when the chain has more than TLS_CERT_MAX_CHAIN
 * entries the rest are skipped and *truncated is set). */
json_t *tls_cert_chain_json(const uint8_t *body, size_t len, bool tls13, bool *malformed,
                            bool *truncated);

/* Summary of one DER certificate (the object described above). */
json_t *tls_cert_json(const uint8_t *der, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* IMAPSCOPE_TLS_CERT_H */
