/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "uuid.h"

void nph_uuid_generate(char out[NPH_UUID_STRLEN + 1])
{
    uint8_t b[16];
    size_t got = 0;
    /* getrandom() only fails here on a kernel without it; fall back to a
     * weaker source rather than hand out a fixed UUID. */
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < sizeof(b)) {
        FILE *f = fopen("/dev/urandom", "rb");
        if (f) {
            got += fread(b + got, 1, sizeof(b) - got, f);
            fclose(f);
        }
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, NPH_UUID_STRLEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
             b[12], b[13], b[14], b[15]);
}

bool nph_uuid_is_valid(const char *text)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (!text || strlen(text) != NPH_UUID_STRLEN)
        return false;
    for (size_t i = 0; i < NPH_UUID_STRLEN; i++) {
        char c = text[i];
        if (shape[i] == '-') {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}
