/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The console proxy's listener: one listening socket, one thread per
 * client, and an orderly stop that cuts every relayed connection.  What a
 * client gets is in console-relay.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "console-internal.h"
#include "error.h"
#include "log.h"

NPH_LOG_INIT("console.proxy");

#define DEFAULT_DB_URL "sqlite:///" NPH_STATE_DIR "/nephele.db"

const struct nph_console_proxy_kind nph_novncproxy = {
    "nephele-novncproxy", "vnc", "novncproxy_host", "novncproxy_port", 6080,
    "novncproxy_base_url", "/vnc_auto.html", "http", { "novnc", NULL },
};

const struct nph_console_proxy_kind nph_serialproxy = {
    "nephele-serialproxy", "serial_console", "serialproxy_host", "serialproxy_port", 6083,
    "base_url", "/", "ws", { "serial", NULL },
};

static nph_status listen_on(const char *host, int port, int *fd_out, unsigned *port_out,
                            nph_error *err)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *ai = NULL;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    int rc = getaddrinfo(host, service, &hints, &ai);
    if (rc != 0)
        return nph_error_set(err, NPH_ERR_INVALID, "cannot resolve the console proxy's address "
                             "'%s': %s", host, gai_strerror(rc));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return nph_error_set(err, NPH_ERR_IO, "cannot listen on %s:%d for consoles: %s", host,
                             port, strerror(e));
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return NPH_OK;
}

static void *serve_thread(void *arg)
{
    console_serve(arg);
    return NULL;
}

void console_conn_end(struct console_conn *c)
{
    nph_console_proxy *p = c->proxy;
    pthread_mutex_lock(&p->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_cond_broadcast(&p->idle);
    pthread_mutex_unlock(&p->lock);
    if (c->target_fd >= 0)
        close(c->target_fd);
    close(c->client_fd);
    free(c);
}

/* Hand a new client to a thread of its own, in the list until it ends. */
static void start_client(nph_console_proxy *p, int fd)
{
    struct console_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    *c = (struct console_conn){ .proxy = p, .client_fd = fd, .target_fd = -1 };
    pthread_mutex_lock(&p->lock);
    c->next = p->conns;
    if (p->conns)
        p->conns->prev = c;
    p->conns = c;
    pthread_mutex_unlock(&p->lock);
    pthread_attr_t attr;
    pthread_t tid;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&tid, &attr, serve_thread, c) != 0) {
        nph_warn("%s: no thread for a new client: refused", p->kind->name);
        console_conn_end(c);
    }
    pthread_attr_destroy(&attr);
}

static void *listener(void *arg)
{
    nph_console_proxy *p = arg;
    for (;;) {
        struct pollfd fds[2] = { { p->listen_fd, POLLIN, 0 }, { p->wake[0], POLLIN, 0 } };
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        if (!(fds[0].revents & POLLIN))
            continue;
        int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            start_client(p, fd);
    }
    return NULL;
}

bool console_set_target(struct console_conn *c, int fd)
{
    pthread_mutex_lock(&c->proxy->lock);
    bool ok = !c->proxy->stopping;
    if (ok)
        c->target_fd = fd;
    pthread_mutex_unlock(&c->proxy->lock);
    return ok;
}

nph_status nph_console_proxy_start(const nph_config *cfg, const struct nph_console_proxy_kind *kind,
                                   nph_console_proxy **out, nph_error *err)
{
    int64_t port;
    nph_status st = nph_config_get_int(cfg, kind->section, kind->port_key, kind->default_port,
                                       &port, err);
    if (st != NPH_OK)
        return st;
    if (port < 0 || port > 65535)
        return nph_error_set(err, NPH_ERR_INVALID, "[%s] %s must be a port number, not %lld",
                             kind->section, kind->port_key, (long long)port);
    nph_console_proxy *p = calloc(1, sizeof(*p));
    if (!p)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    p->kind = kind;
    p->listen_fd = p->wake[0] = p->wake[1] = -1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->db_url = strdup(nph_config_get(cfg, "database", "connection", DEFAULT_DB_URL));
    p->allowed_origins = strdup(nph_config_get(cfg, "console", "allowed_origins", ""));
    const char *host = nph_config_get(cfg, kind->section, kind->host_key, "127.0.0.1");
    if (!p->db_url || !p->allowed_origins || pipe2(p->wake, O_CLOEXEC) != 0)
        st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory or file descriptors");
    if (st == NPH_OK)
        st = listen_on(host, (int)port, &p->listen_fd, &p->port, err);
    if (st == NPH_OK && pthread_create(&p->listener, NULL, listener, p) != 0)
        st = nph_error_set(err, NPH_ERR_NO_MEMORY, "cannot start the console proxy's thread");
    if (st != NPH_OK) {
        nph_console_proxy_free(p);
        return st;
    }
    p->listening = true;
    nph_info("%s listening on %s:%u", kind->name, host, p->port);
    *out = p;
    return NPH_OK;
}

unsigned nph_console_proxy_port(const nph_console_proxy *p)
{
    return p->port;
}

void nph_console_proxy_free(nph_console_proxy *p)
{
    if (!p)
        return;
    if (p->listening) {
        (void)!write(p->wake[1], "x", 1);
        pthread_join(p->listener, NULL);
    }
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    for (struct console_conn *c = p->conns; c; c = c->next) {
        shutdown(c->client_fd, SHUT_RDWR);
        if (c->target_fd >= 0)
            shutdown(c->target_fd, SHUT_RDWR);
    }
    while (p->conns)
        pthread_cond_wait(&p->idle, &p->lock);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < 2; i++)
        if (p->wake[i] >= 0)
            close(p->wake[i]);
    if (p->listen_fd >= 0)
        close(p->listen_fd);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->idle);
    free(p->db_url);
    free(p->allowed_origins);
    free(p);
}
