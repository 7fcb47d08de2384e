/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One measurement of the message bus on one transport (argument: URL):
 * casts per second until all are handled, and call round-trip latency.
 * Prints "casts_per_s N", "call_p50_us N", "call_p99_us N".
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "uuid.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long handled;

static nph_status handler(void *opaque, const char *method, json_object *args,
                          json_object **result, nph_error *err)
{
    pthread_mutex_lock(&lock);
    handled++;
    pthread_mutex_unlock(&lock);
    if (strcmp(method, "call") == 0)
        *result = json_object_new_int(1);
    return NPH_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench-bus URL CASTS CALLS\n");
        return 2;
    }
    const char *url = argv[1];
    long casts = atol(argv[2]), calls = atol(argv[3]);
    nph_log_set_level(NPH_LOG_ERROR);
    nph_error err = NPH_ERROR_INIT;
    nph_bus *server = NULL, *client = NULL;
    char topic[64], uuid[NPH_UUID_STRLEN + 1];
    nph_uuid_generate(uuid);
    snprintf(topic, sizeof(topic), "bench-%.8s", uuid);
    if (nph_bus_open(url, "bench-server", &server, &err) != NPH_OK ||
        nph_bus_open(url, "bench-client", &client, &err) != NPH_OK ||
        nph_bus_serve(server, topic, 2, handler, NULL, &err) != NPH_OK) {
        fprintf(stderr, "bench-bus: %s\n", err.message);
        return 1;
    }
    usleep(300000);
    nph_log_set_request_id("req-00000000-0000-4000-8000-000000000000");
    json_object *args = json_object_new_object();
    nph_json_add_string(args, "uuid", "11111111-2222-4333-8444-555555555555");
    double t0 = now_s();
    for (long i = 0; i < casts; i++)
        if (nph_bus_cast(client, topic, "cast", args, &err) != NPH_OK) {
            fprintf(stderr, "bench-bus: cast: %s\n", err.message);
            return 1;
        }
    for (;;) {
        pthread_mutex_lock(&lock);
        long n = handled;
        pthread_mutex_unlock(&lock);
        if (n >= casts)
            break;
        usleep(100);
    }
    double cast_s = now_s() - t0;
    double *lat = calloc((size_t)calls, sizeof(*lat));
    for (long i = 0; i < calls; i++) {
        json_object *result = NULL;
        double c0 = now_s();
        if (nph_bus_call(client, topic, "call", args, 10000, &result, &err) != NPH_OK) {
            fprintf(stderr, "bench-bus: call: %s\n", err.message);
            return 1;
        }
        lat[i] = (now_s() - c0) * 1e6;
        json_object_put(result);
    }
    qsort(lat, (size_t)calls, sizeof(*lat), compare_double);
    printf("casts_per_s %.0f\ncall_p50_us %.1f\ncall_p99_us %.1f\n", (double)casts / cast_s,
           lat[calls / 2], lat[calls * 99 / 100]);
    free(lat);
    json_object_put(args);
    nph_bus_close(client);
    nph_bus_close(server);
    return 0;
}
