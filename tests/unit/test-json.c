/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON helpers: parsing with positioned errors, typed member reads. */
#include "config.h"

#include "../tap.h"
#include "error.h"
#include "json.h"

static json_object *parse(const char *text, nph_error *err)
{
    *err = (nph_error)NPH_ERROR_INIT;
    return nph_json_parse(text, strlen(text), err);
}

static void parsing(void)
{
    nph_error err;
    nph_auto_json *doc = parse(" {\"a\": [1, 2], \"b\": \"x\"}\n", &err);
    ok(doc != NULL, "a document with surrounding blanks parses");
    is_str(nph_json_text(doc), "{\"a\":[1,2],\"b\":\"x\"}", "and prints compactly");

    static const struct {
        const char *text, *message;
    } bad[] = {
        { "", "malformed JSON: the document is empty" },
        { "   ", "malformed JSON" },
        { "{\"a\": 1", "malformed JSON: the document ends early" },
        { "{\"a\": tru}", "malformed JSON at byte" },
        { "{\"a\": 1} {\"b\": 2}", "malformed JSON at byte 9: unexpected data after the value" },
        { "{\"a\": 1}x", "unexpected data after the value" },
        { "null", "the JSON document is null" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_object *obj = parse(bad[i].text, &err);
        ok(obj == NULL && err.code == NPH_ERR_INVALID, "'%s' is refused", bad[i].text);
        like(err.message, bad[i].message, "with a message that says where");
        json_object_put(obj);
    }
    nph_auto_json *number = parse("42", &err);
    ok(number && json_object_get_int(number) == 42, "a bare number is a document");
    /* Not NUL-terminated: only `len` bytes count. */
    const char window[] = "[1]garbage";
    nph_auto_json *part = nph_json_parse(window, 3, &err);
    ok(part && json_object_array_length(part) == 1, "only the given length is parsed");
}

static void members(void)
{
    nph_error err = NPH_ERROR_INIT;
    nph_auto_json *doc = parse("{\"name\": \"vm\", \"n\": 3, \"on\": true, \"meta\": {}, "
                               "\"list\": [], \"nothing\": null, \"big\": 9007199254740993}",
                               &err);
    const char *s = NULL;
    int64_t n = 0;
    bool b = false;
    json_object *o = NULL;
    is_int(nph_json_get_string(doc, "name", true, &s, &err), NPH_OK, "a string member reads");
    is_str(s, "vm", "its value");
    is_int(nph_json_get_int(doc, "n", true, &n, &err), NPH_OK, "an integer member reads");
    is_int(n, 3, "its value");
    nph_json_get_int(doc, "big", true, &n, &err);
    ok(n == 9007199254740993LL, "a 64-bit integer keeps every digit");
    is_int(nph_json_get_bool(doc, "on", true, &b, &err), NPH_OK, "a boolean member reads");
    ok(b, "its value");
    is_int(nph_json_get_object(doc, "meta", true, &o, &err), NPH_OK, "an object member reads");
    is_int(nph_json_get_array(doc, "list", true, &o, &err), NPH_OK, "an array member reads");

    err = (nph_error)NPH_ERROR_INIT;
    is_int(nph_json_get_string(doc, "absent", true, &s, &err), NPH_ERR_NOT_FOUND,
           "a missing required member is NOT_FOUND");
    is_str(err.message, "'absent' is a required property", "in the words of a JSON schema");
    s = "untouched";
    is_int(nph_json_get_string(doc, "absent", false, &s, &err), NPH_OK,
           "a missing optional member is fine");
    is_str(s, "untouched", "and leaves the output as it was (the caller's default)");
    is_int(nph_json_get_string(doc, "nothing", false, &s, &err), NPH_OK,
           "an optional null reads as absent");
    err = (nph_error)NPH_ERROR_INIT;
    is_int(nph_json_get_string(doc, "nothing", true, &s, &err), NPH_ERR_INVALID,
           "a required null is refused");
    is_str(err.message, "'nothing' must be a string, not null", "and named");
    err = (nph_error)NPH_ERROR_INIT;
    is_int(nph_json_get_int(doc, "name", true, &n, &err), NPH_ERR_INVALID,
           "a string where an integer belongs is refused");
    like(err.message, "'name' must be an integer, not string", "and named with both types");
    err = (nph_error)NPH_ERROR_INIT;
    is_int(nph_json_get_object(doc, "list", true, &o, &err), NPH_ERR_INVALID,
           "an array where an object belongs is refused");
    err = (nph_error)NPH_ERROR_INIT;
    nph_auto_json *array = parse("[1]", &err);
    is_int(nph_json_get_string(array, "name", true, &s, &err), NPH_ERR_NOT_FOUND,
           "reading a member of a non-object finds nothing");
}

static void building(void)
{
    nph_auto_json *obj = json_object_new_object();
    nph_json_add_string(obj, "s", "text");
    nph_json_add_string(obj, "null", NULL);
    nph_json_add_int(obj, "i", -5);
    nph_json_add_bool(obj, "b", false);
    is_str(nph_json_text(obj), "{\"s\":\"text\",\"null\":null,\"i\":-5,\"b\":false}",
           "members are added in order; a NULL string is null");
}

int main(void)
{
    parsing();
    members();
    building();
    return tap_done();
}
