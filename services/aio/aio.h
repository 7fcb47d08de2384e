/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nephele-aio: every service in one process on SQLite and the in-process
 * bus, from one data directory. */
#ifndef NPH_AIO_H
#define NPH_AIO_H

#include "virt-driver.h"

/* Create DIR with nephele.conf, plugins.d/fake.conf and images/, keeping
 * whatever is there already. */
nph_status aio_prepare_dir(const char *dir, const char *listen, nph_error *err);
/* Bring the schema up to date; on a new database add the default flavors
 * and a small image. */
nph_status aio_seed(const char *db_url, const char *image_dir, nph_error *err);
/* DIR/openrc: the environment the openstack CLI needs for this cloud. */
nph_status aio_write_openrc(const char *dir, const char *endpoint, nph_error *err);

#endif
