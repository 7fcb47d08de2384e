/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The conductor service: configuration, per-worker database connections and
 * the method table of the "conductor" topic. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conductor-internal.h"
#include "db-objects.h"
#include "error.h"
#include "log.h"

NPH_LOG_INIT("conductor");

#define DEFAULT_DB_URL "sqlite:///" NPH_STATE_DIR "/nephele.db"

static const struct {
    const char *name;
    conductor_method fn;
} methods[] = {
    { "build_instance", conductor_build_instance },
    { "build_instances", conductor_build_instances },
    { "compute_node_update", conductor_compute_node_update },
    { "delete_instance", conductor_delete_instance },
    { "image_update", conductor_image_update },
    { "migration_get", conductor_migration_get },
    { "migration_update", conductor_migration_update },
    { "resize_instance", conductor_resize_instance },
    { "instance_action_event", conductor_instance_action_event },
    { "instance_destroy", conductor_instance_destroy },
    { "instance_fault_create", conductor_instance_fault_create },
    { "instance_get", conductor_instance_get },
    { "instance_update", conductor_instance_update },
    { "instances_by_host", conductor_instances_by_host },
    { "service_update", conductor_service_update },
};

const char *nph_conductor_db_url(const nph_config *cfg)
{
    return nph_config_get(cfg, "database", "connection", DEFAULT_DB_URL);
}

static void close_db(void *db)
{
    nph_db_close(db);
}

/* This worker thread's connection, opened on first use. */
static nph_db *worker_db(nph_conductor *c, nph_error *err)
{
    nph_db *db = pthread_getspecific(c->db_key);
    if (db)
        return db;
    if (nph_db_open(c->db_url, &db, err) != NPH_OK)
        return NULL;
    pthread_setspecific(c->db_key, db);
    return db;
}

static nph_status handle(void *opaque, const char *method, json_object *args,
                         json_object **result, nph_error *err)
{
    nph_conductor *c = opaque;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(methods[i].name, method) != 0)
            continue;
        nph_db *db = worker_db(c, err);
        if (!db)
            return err ? err->code : NPH_ERR_BACKEND;
        nph_debug("%s", method);
        nph_status st = methods[i].fn(c, db, args, result, err);
        if (st != NPH_OK)
            nph_info("%s failed: %s", method, err ? err->message : nph_status_name(st));
        return st;
    }
    return nph_error_set(err, NPH_ERR_INVALID, "the conductor has no method '%s'", method);
}

static nph_status read_config(nph_conductor *c, const nph_config *cfg, int64_t *workers,
                              nph_error *err)
{
    nph_status st = nph_config_get_int(cfg, "conductor", "workers", 4, workers, err);
    if (st == NPH_OK)
        st = nph_config_get_double(cfg, "DEFAULT", "cpu_allocation_ratio", 4.0, &c->cpu_ratio, err);
    if (st == NPH_OK)
        st = nph_config_get_double(cfg, "DEFAULT", "ram_allocation_ratio", 1.0, &c->ram_ratio, err);
    if (st == NPH_OK)
        st = nph_config_get_double(cfg, "DEFAULT", "disk_allocation_ratio", 1.0, &c->disk_ratio,
                                   err);
    if (st == NPH_OK)
        st = nph_scheduler_new(cfg, &c->scheduler, err);
    const char *where = nph_config_get(cfg, "conductor", "scheduler", "local");
    c->scheduler_on_bus = strcmp(where, "bus") == 0;
    if (st == NPH_OK && !c->scheduler_on_bus && strcmp(where, "local") != 0)
        st = nph_config_entry_error(err, NPH_ERR_INVALID,
                                    nph_config_find(cfg, "conductor", "scheduler"),
                                    "must be 'local' or 'bus', not '%s'", where);
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, "DEFAULT", "report_interval", 10, &c->report_interval_s, err);
    if (st == NPH_OK)
        st = nph_config_get_bool(cfg, "DEFAULT", "allow_resize_to_same_host", false,
                                 &c->resize_same_host, err);
    if (st == NPH_OK && c->report_interval_s < 1)
        st = nph_config_entry_error(err, NPH_ERR_INVALID,
                                    nph_config_find(cfg, "DEFAULT", "report_interval"),
                                    "must be at least 1 second");
    if (st == NPH_OK && (*workers < 1 || *workers > 256)) {
        const struct nph_config_entry *e = nph_config_find(cfg, "conductor", "workers");
        return nph_config_entry_error(err, NPH_ERR_INVALID, e, "must be from 1 to 256");
    }
    return st;
}

/* Instances from before the scheduler claimed in Placement get their
 * allocations, so their nodes do not look empty. */
static void heal_allocations(nph_db *db)
{
    size_t healed = 0, failed = 0;
    nph_error err = NPH_ERROR_INIT;
    if (nph_scheduler_heal_allocations(db, false, &healed, &failed, &err) != NPH_OK)
        nph_warn("allocations not healed: %s", err.message);
    else if (healed || failed)
        nph_info("allocations healed for %zu instance(s), %zu left without", healed, failed);
}

nph_status conductor_select(nph_conductor *c, nph_db *db, const struct nph_schedule_request *req,
                            char **host, char **node, nph_error *err)
{
    if (!c->scheduler_on_bus)
        return nph_scheduler_select(c->scheduler, db, req, host, node, err);
    *host = *node = NULL;
    nph_auto_json *args = nph_scheduler_request_args(req), *reply = NULL;
    nph_status st = nph_bus_call(c->bus, "scheduler", "select_destination", args, 60000, &reply, err);
    const char *h = NULL, *n = NULL;
    if (st == NPH_OK && (nph_json_get_string(reply, "host", true, &h, err) != NPH_OK ||
                         nph_json_get_string(reply, "node", true, &n, err) != NPH_OK))
        st = NPH_ERR_BACKEND;
    if (st == NPH_OK && (!(*host = strdup(h)) || !(*node = strdup(n)))) {
        free(*host);
        *host = NULL;
        st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    return st;
}

/* Write the service row now and every report_interval until stopped; heal
 * the allocations once, first. */
static void *heartbeat_main(void *arg)
{
    nph_conductor *c = arg;
    nph_db *db = NULL;
    bool healed = false;
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        pthread_mutex_unlock(&c->lock);
        nph_error err = NPH_ERROR_INIT;
        if (!db && nph_db_open(c->db_url, &db, &err) != NPH_OK)
            db = NULL;
        if (db && !healed) {
            heal_allocations(db);
            healed = true;
        }
        if (db && nph_db_service_upsert(db, c->host, "nephele-conductor", "conductor", &err) != NPH_OK)
            nph_warn("conductor heartbeat: %s", err.message);
        struct timespec until = nph_clock_deadline((long)c->report_interval_s * 1000);
        pthread_mutex_lock(&c->lock);
        if (!c->stopping)
            pthread_cond_timedwait(&c->wake, &c->lock, &until);
    }
    pthread_mutex_unlock(&c->lock);
    nph_db_close(db);
    return NULL;
}

nph_status nph_conductor_start(const nph_config *cfg, const char *host, nph_bus *bus,
                               nph_conductor **out, nph_error *err)
{
    nph_conductor *c = calloc(1, sizeof(*c));
    if (!c)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    int64_t workers = 4;
    nph_status st = read_config(c, cfg, &workers, err);
    c->bus = bus;
    c->db_url = strdup(nph_conductor_db_url(cfg));
    c->host = strdup(host);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    if (st == NPH_OK && (!c->db_url || !c->host))
        st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    if (st != NPH_OK) {
        free(c->db_url);
        nph_scheduler_free(c->scheduler);
        free(c->host);
        free(c);
        return st;
    }
    pthread_key_create(&c->db_key, close_db);

    /* Refuse to serve a database whose schema is not this code's. */
    nph_db *db = NULL;
    int version = 0;
    st = nph_db_open(c->db_url, &db, err);
    if (st == NPH_OK)
        st = nph_db_schema_version(db, &version, err);
    nph_db_close(db);
    if (st == NPH_OK && version != nph_db_schema_latest())
        st = nph_error_set(err, NPH_ERR_CONFLICT,
                           "database schema is at version %d but this conductor needs %d: run "
                           "'nephele-manage db sync'",
                           version, nph_db_schema_latest());
    if (st == NPH_OK)
        st = nph_bus_serve(bus, "conductor", (unsigned)workers, handle, c, err);
    if (st == NPH_OK) {
        int rc = pthread_create(&c->heartbeat, NULL, heartbeat_main, c);
        c->heartbeat_started = rc == 0;
        if (rc != 0)
            st = nph_error_set(err, NPH_ERR_NO_MEMORY, "cannot start the heartbeat thread");
    }
    if (st != NPH_OK) {
        nph_conductor_free(c);
        return st;
    }
    nph_info("conductor serving with %lld workers on %s", (long long)workers, c->db_url);
    *out = c;
    return NPH_OK;
}

void nph_conductor_free(nph_conductor *c)
{
    if (!c)
        return;
    if (c->heartbeat_started) {
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->heartbeat, NULL);
    }
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    /* Worker connections close with their threads; the calling thread's too. */
    nph_db_close(pthread_getspecific(c->db_key));
    pthread_setspecific(c->db_key, NULL);
    pthread_key_delete(c->db_key);
    free(c->db_url);
    nph_scheduler_free(c->scheduler);
    free(c->host);
    free(c);
}
