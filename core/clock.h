/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Time: timestamps as OpenStack writes them, deadlines, sleeping. */
#ifndef NPH_CLOCK_H
#define NPH_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NPH_ISO_TIME_LEN 32

/* The current UTC time as "2026-11-23T08:40:00.123456Z" and its NUL. */
void nph_clock_iso_now(char out[NPH_ISO_TIME_LEN]);
/* Nanoseconds on the monotonic clock: for intervals, never for dates. */
uint64_t nph_clock_monotonic_ns(void);
/* CLOCK_REALTIME `ms` milliseconds from now, for pthread_cond_timedwait. */
struct timespec nph_clock_deadline(long ms);
/* Sleep `ms` milliseconds, resuming after signals. */
void nph_clock_sleep_ms(unsigned ms);

#endif
