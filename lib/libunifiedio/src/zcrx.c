// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/*
 * io_uring zero-copy receive (zcrx) into the data area (since 1.3): the
 * route for network data into the region on kernels where the module cannot
 * be a page pool memory provider. io_uring pins the data area's pages (they
 * are ordinary, pinnable pages, see unio_register_io_uring()) and makes them
 * the memory provider of one NIC receive queue; IORING_OP_RECV_ZC completions
 * then name offsets in the area, and the application gives chunks back
 * through zcrx's own refill ring.
 *
 * struct unio_zcrx owns the mapping of the refill ring, which the kernel
 * allocates (IORING_MAP_OFF_ZCRX_REGION of the ring's fd). The interface
 * queue itself belongs to the io_uring instance and lives until the ring is
 * closed; io_uring keeps the area's pages pinned until then, whatever
 * happens to the region's mapping.
 *
 * liburing 2.15's struct io_uring_zcrx_ifq_reg predates the kernel's
 * event_desc field (zcrx copy statistics, Linux 7.2); the registration is
 * made with a copy of the kernel's layout, asking for the statistics first
 * and without them if the kernel refuses the field.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <liburing.h>

#include "internal.h"

/* The kernel's (Linux 7.2) layouts, see the comment above. */
struct unio_zcrx_stats {
	uint64_t copy_count;
	uint64_t copy_bytes;
};

struct unio_zcrx_event_desc {
	uint64_t user_data;
	uint32_t type_mask;
	uint32_t flags;
	uint64_t stats_offset;
	uint64_t resv2[9];
};

#define UNIO_ZCRX_EVENT_DESC_FLAG_STATS	(1U << 0)
#define UNIO_ZCRX_REG_NODEV		(1U << 1)
#define UNIO_ZCRX_MAX_RQ_ENTRIES	32768U

struct unio_zcrx_ifq_reg {
	uint32_t if_idx;
	uint32_t if_rxq;
	uint32_t rq_entries;
	uint32_t flags;
	uint64_t area_ptr;
	uint64_t region_ptr;
	struct io_uring_zcrx_offsets offsets;
	uint32_t zcrx_id;
	uint32_t rx_buf_len;
	uint64_t event_desc;
	uint64_t resv[2];
};

_Static_assert(sizeof(struct unio_zcrx_ifq_reg) ==
	       sizeof(struct io_uring_zcrx_ifq_reg),
	       "zcrx registration layout");

/*
 * struct unio_zcrx - one zcrx interface queue over a region's data area, or
 *	over memory of the caller's (unio_zcrx_register_mem())
 * @rq: the refill ring, pointers into @map
 * @map: the refill ring's region, mapped from the ring fd; owned
 * @map_len: its length
 * @stats: the kernel's copy statistics in @map, or NULL
 * @area: the area: in the region's mapping, or the caller's memory
 * @data_off: where the area is in the data area (0 for the caller's memory)
 * @len: the area's length
 * @area_token: rq_area_token of the area
 * @id: zcrx id
 * @rx_buf_len: chunk size of the area
 */
struct unio_zcrx {
	struct io_uring_zcrx_rq rq;
	void *map;
	size_t map_len;
	const struct unio_zcrx_stats *stats;
	void *area;
	uint64_t data_off;
	uint64_t len;
	uint64_t area_token;
	uint32_t id;
	uint32_t rx_buf_len;
};

static size_t unio_page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (size_t)ps : 4096;
}

/*
 * Register once; @want_stats asks for the copy statistics at @stats_off of
 * the refill region. On success *reg and *rd hold what the kernel returned.
 */
static int unio_zcrx_try(struct io_uring *ring, struct unio_zcrx_ifq_reg *reg,
			 struct io_uring_zcrx_area_reg *area,
			 struct io_uring_region_desc *rd, size_t rd_size,
			 bool want_stats, uint64_t stats_off)
{
	struct unio_zcrx_event_desc ev;

	memset(rd, 0, sizeof(*rd));
	rd->size = rd_size;
	memset(&area->rq_area_token, 0, sizeof(*area) -
	       offsetof(struct io_uring_zcrx_area_reg, rq_area_token));
	reg->region_ptr = (uint64_t)(uintptr_t)rd;
	reg->area_ptr = (uint64_t)(uintptr_t)area;
	reg->event_desc = 0;
	if (want_stats) {
		memset(&ev, 0, sizeof(ev));
		ev.flags = UNIO_ZCRX_EVENT_DESC_FLAG_STATS;
		ev.stats_offset = stats_off;
		reg->event_desc = (uint64_t)(uintptr_t)&ev;
	}
	return io_uring_register_ifq(ring, (struct io_uring_zcrx_ifq_reg *)reg);
}

/*
 * Register @len bytes at @area (page aligned, @data_off into the data area
 * for a region's) with @ring; @opts has been checked but for its
 * interface fields.
 */
static int unio_zcrx_register_area(struct io_uring *ring, void *area_ptr,
				   uint64_t len, uint64_t data_off,
				   const struct unio_zcrx_opts *opts,
				   struct unio_zcrx **out)
{
	struct io_uring_zcrx_area_reg area;
	struct io_uring_region_desc rd;
	struct unio_zcrx_ifq_reg reg;
	size_t ps = unio_page_size();
	uint32_t flags = UNIO_OPTS_GET(opts, flags, 0), rq_entries;
	uint64_t stats_off;
	size_t rd_size;
	struct unio_zcrx *z;
	bool stats = true;
	void *map;
	int ret;

	if (ring->ring_fd < 0)
		return -EBADF;

	rq_entries = UNIO_OPTS_GET(opts, rq_entries, 0);
	if (!rq_entries)
		rq_entries = len / ps < UNIO_ZCRX_MAX_RQ_ENTRIES ?
			     (uint32_t)(len / ps) : UNIO_ZCRX_MAX_RQ_ENTRIES;
	if (rq_entries > UNIO_ZCRX_MAX_RQ_ENTRIES)
		return -EINVAL;
	/* The kernel rounds up to a power of two; size for that. */
	while (rq_entries & (rq_entries - 1))
		rq_entries += rq_entries & -rq_entries;
	/* Head and tail in the first page, entries after, statistics last. */
	stats_off = ps + (uint64_t)rq_entries * sizeof(struct io_uring_zcrx_rqe);
	rd_size = (stats_off + sizeof(struct unio_zcrx_stats) + ps - 1) & ~(ps - 1);

	memset(&reg, 0, sizeof(reg));
	memset(&area, 0, sizeof(area));
	area.addr = (uint64_t)(uintptr_t)area_ptr;
	area.len = len;
	if (flags & UNIO_ZCRX_F_NODEV) {
		reg.flags = UNIO_ZCRX_REG_NODEV;
	} else {
		reg.if_idx = UNIO_OPTS_GET(opts, ifindex, 0);
		reg.if_rxq = UNIO_OPTS_GET(opts, rxq, 0);
		if (!reg.if_idx)
			return -EINVAL;
	}
	reg.rq_entries = rq_entries;

	ret = unio_zcrx_try(ring, &reg, &area, &rd, rd_size, true, stats_off);
	if (ret == -EINVAL) {
		/* A kernel without zcrx statistics: event_desc is reserved. */
		stats = false;
		memset(&reg.offsets, 0, sizeof(reg.offsets));
		reg.zcrx_id = 0;
		reg.rx_buf_len = 0;
		ret = unio_zcrx_try(ring, &reg, &area, &rd, rd_size, false, 0);
	}
	if (ret)
		return ret;

	/* The queue now belongs to the ring; failures below leave it there. */
	map = mmap(NULL, rd_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		   ring->ring_fd, rd.mmap_offset);
	if (map == MAP_FAILED)
		return -errno;
	if (reg.offsets.head + sizeof(uint32_t) > rd_size ||
	    reg.offsets.tail + sizeof(uint32_t) > rd_size ||
	    reg.offsets.rqes + (uint64_t)reg.rq_entries *
	    sizeof(struct io_uring_zcrx_rqe) > (stats ? stats_off : rd_size) ||
	    !reg.rq_entries || reg.rq_entries & (reg.rq_entries - 1)) {
		munmap(map, rd_size);
		return -EPROTO;
	}
	z = calloc(1, sizeof(*z));
	if (!z) {
		munmap(map, rd_size);
		return -ENOMEM;
	}
	z->map = map;
	z->map_len = rd_size;
	z->rq.khead = (uint32_t *)((char *)map + reg.offsets.head);
	z->rq.ktail = (uint32_t *)((char *)map + reg.offsets.tail);
	z->rq.rqes = (struct io_uring_zcrx_rqe *)((char *)map + reg.offsets.rqes);
	z->rq.rq_tail = 0;
	z->rq.ring_entries = reg.rq_entries;
	z->rq.ring_ptr = map;
	z->stats = stats ? (const struct unio_zcrx_stats *)((char *)map + stats_off) : NULL;
	z->area = area_ptr;
	z->data_off = data_off;
	z->len = len;
	z->area_token = area.rq_area_token;
	z->id = reg.zcrx_id;
	z->rx_buf_len = reg.rx_buf_len ? reg.rx_buf_len : ps;
	*out = z;
	return 0;
}

/* The options both registrations check: flags, and the size of @opts. */
static int unio_zcrx_opts_check(const struct unio_zcrx_opts *opts)
{
	int ret = unio_opts_check(opts, sizeof(*opts));

	if (ret)
		return ret;
	if (UNIO_OPTS_GET(opts, flags, 0) & ~UNIO_ZCRX_F_ALL)
		return -EINVAL;
	return 0;
}

UNIO_API int unio_zcrx_register(struct unio_region *r, struct io_uring *ring,
				const struct unio_zcrx_opts *opts,
				struct unio_zcrx **out)
{
	size_t ps = unio_page_size();
	uint64_t data_off, len;
	int ret;

	if (!r || !r->map || !ring || !out)
		return -EINVAL;
	ret = unio_zcrx_opts_check(opts);
	if (ret)
		return ret;
	data_off = UNIO_OPTS_GET(opts, data_off, 0);
	len = UNIO_OPTS_GET(opts, len, 0);
	if (data_off % ps || data_off >= r->q.data_size)
		return -EINVAL;
	if (!len)
		len = r->q.data_size - data_off;
	if (len % ps || len > r->q.data_size - data_off)
		return -EINVAL;
	return unio_zcrx_register_area(ring, (char *)r->q.data + data_off, len,
				       data_off, opts, out);
}

UNIO_API int unio_zcrx_register_mem(struct io_uring *ring, void *area,
				    uint64_t len,
				    const struct unio_zcrx_opts *opts,
				    struct unio_zcrx **out)
{
	size_t ps = unio_page_size();
	int ret;

	if (!ring || !area || !out)
		return -EINVAL;
	ret = unio_zcrx_opts_check(opts);
	if (ret)
		return ret;
	/* The area is given here, not in the data area. */
	if (UNIO_OPTS_GET(opts, data_off, 0) || UNIO_OPTS_GET(opts, len, 0))
		return -EINVAL;
	if ((uintptr_t)area % ps || !len || len % ps)
		return -EINVAL;
	return unio_zcrx_register_area(ring, area, len, 0, opts, out);
}

UNIO_API int unio_zcrx_get_info(const struct unio_zcrx *z,
				struct unio_zcrx_info *info)
{
	if (!z || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->id = z->id;
	info->rx_buf_len = z->rx_buf_len;
	info->area_token = z->area_token;
	info->data_off = z->data_off;
	info->len = z->len;
	info->area = z->area;
	info->rq = (struct io_uring_zcrx_rq *)&z->rq;
	if (z->stats) {
		info->flags |= UNIO_ZCRX_INFO_F_STATS;
		info->copy_count = __atomic_load_n(&z->stats->copy_count, __ATOMIC_RELAXED);
		info->copy_bytes = __atomic_load_n(&z->stats->copy_bytes, __ATOMIC_RELAXED);
	}
	return 0;
}

UNIO_API void unio_zcrx_destroy(struct unio_zcrx *z)
{
	if (!z)
		return;
	munmap(z->map, z->map_len);
	free(z);
}
