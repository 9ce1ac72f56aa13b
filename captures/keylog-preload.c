/*
 * keylog-preload.so: give an OpenSSL client without a key-log option an NSS
 * key log (the SSLKEYLOGFILE format of
 * https://developer.mozilla.org/en-US/docs/Mozilla/Projects/NSS/Key_Log_Format).
 *
 *   cc -shared -fPIC -o keylog-preload.so keylog-preload.c -ldl
 *   SSLKEYLOGFILE=/tmp/x.keys LD_PRELOAD=./keylog-preload.so mbsync ...
 *
 * Wraps SSL_CTX_new and SSL_new: each context gets
 * SSL_CTX_set_keylog_callback(), whose callback appends the line OpenSSL
 * hands it (one "LABEL client_random secret" line, no newline) to the file
 * named by SSLKEYLOGFILE.  Capture tooling only; not part of imapscope.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/ssl.h>

static void keylog_cb(const SSL *ssl, const char *line)
{
    (void)ssl;
    const char *path = getenv("SSLKEYLOGFILE");
    if (path == NULL || line == NULL)
        return;
    FILE *f = fopen(path, "a");
    if (f == NULL)
        return;
    fprintf(f, "%s\n", line);
    fclose(f);
}

SSL_CTX *SSL_CTX_new(const SSL_METHOD *method)
{
    static SSL_CTX *(*real)(const SSL_METHOD *);
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "SSL_CTX_new");
    if (real == NULL)
        return NULL;
    SSL_CTX *ctx = real(method);
    if (ctx != NULL)
        SSL_CTX_set_keylog_callback(ctx, keylog_cb);
    return ctx;
}

SSL *SSL_new(SSL_CTX *ctx)
{
    static SSL *(*real)(SSL_CTX *);
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "SSL_new");
    if (real == NULL)
        return NULL;
    if (ctx != NULL && SSL_CTX_get_keylog_callback(ctx) == NULL)
        SSL_CTX_set_keylog_callback(ctx, keylog_cb);
    return real(ctx);
}
