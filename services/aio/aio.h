/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nephele-aio: every service in one process on SQLite and the in-process
 * bus, from one data directory. */
#ifndef NPH_AIO_H
#define NPH_AIO_H

#include "conf.h"
#include "virt-driver.h"

/* Create DIR with nephele.conf, plugins.d/ with a driver (see
 * aio_choose_driver) and images/, keeping whatever is there already. */
nph_status aio_prepare_dir(const char *dir, const char *listen, const char *driver,
                           nph_error *err);
/* A directory without plugins.d/fake.conf or libvirt.conf gets one: `driver`
 * fake, libvirt (an error when it does not work here) or auto (libvirt when
 * it loads and a probe guest boots, else fake). */
nph_status aio_choose_driver(const char *dir, const char *driver, nph_error *err);
/* Bring the schema up to date; on a new database add the default flavors
 * and a small image. */
nph_status aio_seed(const char *db_url, const char *image_dir, nph_error *err);
/* DIR/openrc (the admin) and DIR/openrc-demo: the environment the
 * openstack CLI needs for this cloud, by its auth_strategy. */
nph_status aio_write_openrc(const char *dir, const nph_config *cfg, const char *base_url,
                            nph_error *err);

#endif
