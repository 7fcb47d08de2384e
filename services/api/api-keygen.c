/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Key pair generation, as Nova does it before 2.92: an RSA key of 2048
 * bits, the public half in OpenSSH's format, the private half as a PKCS#1
 * PEM the user receives once. */
#include "config.h"

#include <nettle/base64.h>
#include <nettle/bignum.h>
#include <nettle/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api-internal.h"
#include "buffer.h"

static void random_bytes(void *ctx, size_t length, uint8_t *dst)
{
    (void)ctx;
    while (length > 0) {
        ssize_t n = getrandom(dst, length, 0);
        if (n > 0) {
            dst += n;
            length -= (size_t)n;
        }
    }
}

/* ---- OpenSSH public key: string "ssh-rsa", mpint e, mpint n --------------- */

static void put_u32(nph_buffer *b, size_t v)
{
    uint8_t be[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    nph_buffer_append(b, be, 4);
}

static void put_mpint(nph_buffer *b, const mpz_t x)
{
    size_t len = nettle_mpz_sizeinbase_256_s(x); /* room for the sign bit */
    uint8_t *bytes = malloc(len);
    if (!bytes)
        return;
    nettle_mpz_get_str_256(len, bytes, x);
    put_u32(b, len);
    nph_buffer_append(b, bytes, len);
    free(bytes);
}

static char *base64(const uint8_t *data, size_t len)
{
    char *out = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
    if (!out)
        return NULL;
    base64_encode_raw(out, len, data);
    out[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
    return out;
}

/* ---- PKCS#1 RSAPrivateKey in DER ------------------------------------------ */

static void der_length(nph_buffer *b, size_t len)
{
    uint8_t bytes[5];
    size_t n = 0;
    if (len < 128) {
        bytes[n++] = (uint8_t)len;
    } else if (len < 256) {
        bytes[n++] = 0x81;
        bytes[n++] = (uint8_t)len;
    } else {
        bytes[n++] = 0x82;
        bytes[n++] = (uint8_t)(len >> 8);
        bytes[n++] = (uint8_t)len;
    }
    nph_buffer_append(b, bytes, n);
}

static void der_integer(nph_buffer *b, const mpz_t x)
{
    size_t len = nettle_mpz_sizeinbase_256_s(x);
    uint8_t *bytes = malloc(len);
    if (!bytes)
        return;
    nettle_mpz_get_str_256(len, bytes, x);
    nph_buffer_append(b, "\x02", 1);
    der_length(b, len);
    nph_buffer_append(b, bytes, len);
    free(bytes);
}

static char *private_pem(const struct rsa_public_key *pub, const struct rsa_private_key *key)
{
    nph_auto_buffer body = NPH_BUFFER_INIT, der = NPH_BUFFER_INIT, pem = NPH_BUFFER_INIT;
    nph_buffer_append(&body, "\x02\x01\x00", 3); /* version 0 */
    der_integer(&body, pub->n);
    der_integer(&body, pub->e);
    der_integer(&body, key->d);
    der_integer(&body, key->p);
    der_integer(&body, key->q);
    der_integer(&body, key->a);
    der_integer(&body, key->b);
    der_integer(&body, key->c);
    nph_buffer_append(&der, "\x30", 1);
    der_length(&der, body.len);
    nph_buffer_append(&der, body.data, body.len);
    char *text = base64((const uint8_t *)der.data, der.len);
    if (!text)
        return NULL;
    nph_buffer_appendf(&pem, "-----BEGIN RSA PRIVATE KEY-----\n");
    for (size_t i = 0, n = strlen(text); i < n; i += 64)
        nph_buffer_appendf(&pem, "%.64s\n", text + i);
    nph_buffer_appendf(&pem, "-----END RSA PRIVATE KEY-----\n");
    free(text);
    return nph_buffer_steal(&pem);
}

bool api_keygen_rsa(const char *comment, char **public_key, char **private_key)
{
    struct rsa_public_key pub;
    struct rsa_private_key key;
    rsa_public_key_init(&pub);
    rsa_private_key_init(&key);
    mpz_set_ui(pub.e, 65537);
    bool ok = rsa_generate_keypair(&pub, &key, NULL, random_bytes, NULL, NULL, 2048, 0) == 1;
    *public_key = *private_key = NULL;
    if (ok) {
        nph_auto_buffer blob = NPH_BUFFER_INIT;
        put_u32(&blob, 7);
        nph_buffer_append(&blob, "ssh-rsa", 7);
        put_mpint(&blob, pub.e);
        put_mpint(&blob, pub.n);
        char *b64 = base64((const uint8_t *)blob.data, blob.len);
        nph_auto_buffer line = NPH_BUFFER_INIT;
        if (b64)
            nph_buffer_appendf(&line, "ssh-rsa %s %s", b64, comment);
        free(b64);
        *public_key = b64 ? nph_buffer_steal(&line) : NULL;
        *private_key = private_pem(&pub, &key);
        ok = *public_key && *private_key;
    }
    rsa_public_key_clear(&pub);
    rsa_private_key_clear(&key);
    if (!ok) {
        free(*public_key);
        free(*private_key);
        *public_key = *private_key = NULL;
    }
    return ok;
}
