/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "../tap.h"
#include "uuid.h"

int main(void)
{
    char a[NPH_UUID_STRLEN + 1], b[NPH_UUID_STRLEN + 1];
    nph_uuid_generate(a);
    nph_uuid_generate(b);
    ok(nph_uuid_is_valid(a), "generated UUID %s is valid", a);
    ok(strcmp(a, b) != 0, "two UUIDs differ");
    is_int(a[14], '4', "version nibble is 4");
    ok(strchr("89ab", a[19]) != NULL, "variant nibble is RFC 4122");
    ok(nph_uuid_is_valid("6C1F2E3A-0B4D-4E5F-8A9B-0C1D2E3F4A5B"), "upper case accepted");
    ok(!nph_uuid_is_valid("6c1f2e3a0b4d4e5f8a9b0c1d2e3f4a5b"), "no hyphens refused");
    ok(!nph_uuid_is_valid("6c1f2e3a-0b4d-4e5f-8a9b-0c1d2e3f4a5"), "too short refused");
    ok(!nph_uuid_is_valid("6c1f2e3a-0b4d-4e5f-8a9b-0c1d2e3f4a5g"), "non-hex refused");
    ok(!nph_uuid_is_valid(NULL), "NULL refused");
    ok(!nph_uuid_is_valid("not-a-uuid"), "garbage refused");
    return tap_done();
}
