/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Remote consoles: the tokens the compute API hands out (Nova's
 * console_auth_tokens: only a hash of the token is stored, with the console's
 * endpoint and an expiry) and the websocket proxy that checks them and relays
 * a browser's noVNC (or a serial client) to the hypervisor's console port.
 */
#ifndef NPH_CONSOLE_H
#define NPH_CONSOLE_H

#include <stdint.h>

#include "conf.h"
#include "db.h"
#include "uuid.h"
#include "virt-driver.h"

#define NPH_CONSOLE_TOKEN_TTL_DEFAULT 600 /* [consoleauth] token_ttl */

/* One console authorization. */
struct nph_console_auth {
    char instance_uuid[NPH_UUID_STRLEN + 1];
    char console_type[32]; /* novnc, spice-html5, serial, webmks */
    char host[256];
    int port;
    int tls_port;          /* 0: none */
    char internal_access_path[256];
    char access_url_base[512];
    int64_t expires;       /* seconds since the epoch */
};

/* Store `auth` under a new random token (a UUID, as Nova's) written to
 * `token`; expired tokens are purged on the way. */
nph_status nph_console_token_create(nph_db *db, const struct nph_console_auth *auth,
                                    char token[NPH_UUID_STRLEN + 1], nph_error *err);
/* The authorization of a token that exists and has not expired, else
 * NPH_ERR_NOT_FOUND. */
nph_status nph_console_token_validate(nph_db *db, const char *token, struct nph_console_auth *out,
                                      nph_error *err);
/* Revoke every token of an instance (it is being deleted). */
nph_status nph_console_tokens_delete_instance(nph_db *db, const char *instance_uuid,
                                              nph_error *err);
/* The URL a client opens: Nova's ConsoleAuthToken.access_url. Caller frees. */
char *nph_console_access_url(const struct nph_console_auth *auth, const char *token);

/* ------------------------------------------------------------------------ */
/* The websocket proxy.                                                     */

typedef struct nph_console_proxy nph_console_proxy;

/* What a proxy serves: its configuration section and keys, as Nova's. */
struct nph_console_proxy_kind {
    const char *name;         /* nephele-novncproxy: in logs */
    const char *section;      /* vnc, serial_console, spice */
    const char *host_key;     /* novncproxy_host */
    const char *port_key;     /* novncproxy_port */
    int default_port;         /* 6080 */
    const char *url_key;      /* novncproxy_base_url */
    const char *url_path;     /* /vnc_auto.html: the path of the default base URL */
    const char *url_scheme;   /* http or ws */
    const char *console_types[3]; /* the token types it accepts; NULL-terminated */
};

extern const struct nph_console_proxy_kind nph_novncproxy, nph_serialproxy;

/* Listen on [SECTION] HOST_KEY:PORT_KEY (port 0 picks a free one) and serve
 * websocket clients on threads of their own until freed. */
nph_status nph_console_proxy_start(const nph_config *cfg, const struct nph_console_proxy_kind *kind,
                                   nph_console_proxy **out, nph_error *err);
/* The port it listens on. */
unsigned nph_console_proxy_port(const nph_console_proxy *p);
/* Stop listening, close every relayed connection, wait for their threads.
 * NULL is fine. */
void nph_console_proxy_free(nph_console_proxy *p);

/* main() of nephele-novncproxy and nephele-serialproxy: command line and
 * configuration as every daemon's (core/daemon.h), the proxy until SIGTERM. */
struct nph_daemon;
int nph_console_proxy_main(struct nph_daemon *d, const struct nph_console_proxy_kind *kind,
                           int argc, char **argv);

#endif
