/* SPDX-License-Identifier: (LGPL-2.1 OR MIT) */
/*
 * libunifiedio internals: the opaque region object and option helpers.
 */
#ifndef UNIO_INTERNAL_H
#define UNIO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "unifiedio.h"

/*
 * struct unio_region - one open of the device and, after setup, its mapping
 * @fd: the device file; owned, closed by unio_region_destroy()
 * @map: the whole region mapped once from offset 0, NULL before setup
 * @map_len: length of @map (layout.region_size)
 * @layout: geometry returned by UNIFIED_IO_SETUP
 * @q: the public rings, pointers into @map
 */
struct unio_region {
	int fd;
	void *map;
	size_t map_len;
	struct unified_io_region_layout layout;
	struct unio_queue q;
};

#define unio_offsetofend(TYPE, FIELD) \
	(offsetof(TYPE, FIELD) + sizeof(((TYPE *)0)->FIELD))

/*
 * Options structs (libbpf OPTS): the caller's @sz says which fields it knows.
 * Fields beyond @sz read as their default; bytes beyond the library's struct
 * must be zero.
 */
int unio_opts_check(const void *opts, size_t known_sz);

#define UNIO_OPTS_HAS(opts, field) \
	((opts) && (opts)->sz >= unio_offsetofend(typeof(*(opts)), field))
#define UNIO_OPTS_GET(opts, field, fallback) \
	(UNIO_OPTS_HAS(opts, field) ? (opts)->field : (fallback))

#endif /* UNIO_INTERNAL_H */
