/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Between the proxy's listener (console-proxy.c) and the code that serves
 * one client (console-relay.c). */
#ifndef NPH_CONSOLE_INTERNAL_H
#define NPH_CONSOLE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "console.h"

/* One client being served; in the proxy's list so that freeing the proxy
 * can cut both of its sockets.  The thread serving it owns it. */
struct console_conn {
    struct nph_console_proxy *proxy;
    int client_fd;
    int target_fd; /* -1 until connected; set under the proxy's lock */
    struct console_conn *prev, *next;
};

struct nph_console_proxy {
    const struct nph_console_proxy_kind *kind;
    char *db_url;
    char *allowed_origins; /* [console] allowed_origins: comma-separated host names */
    int listen_fd;
    int wake[2];           /* a byte here stops the listener */
    unsigned port;
    pthread_t listener;
    bool listening;
    pthread_mutex_t lock;
    pthread_cond_t idle;   /* signalled when a connection ends */
    struct console_conn *conns;
    bool stopping;
};

/* Serve one accepted client to the end, then console_conn_end(c); run on
 * a thread of its own. */
void console_serve(struct console_conn *c);
/* Leave the proxy's list, close both sockets and free c. */
void console_conn_end(struct console_conn *c);
/* Record the target socket, or refuse (false) when the proxy is stopping. */
bool console_set_target(struct console_conn *c, int fd);

#endif
