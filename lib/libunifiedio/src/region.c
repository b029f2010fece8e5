// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/*
 * Region lifetime: open the device, UNIFIED_IO_SETUP, map the whole region
 * once and point the public struct unio_queue into the mapping.
 *
 * A struct unio_region owns its file descriptor and its mapping; both go
 * away in unio_region_destroy(), after the NVMe side (nvme.c), whose io_uring
 * ring pins the data area and polls the fd. The kernel frees the region at
 * the last close/unmap/unpin, so nothing else needs undoing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

int unio_opts_check(const void *opts, size_t known_sz)
{
	const unsigned char *p = opts;
	size_t sz, i;

	if (!opts)
		return 0;
	sz = *(const size_t *)opts;
	if (sz < sizeof(size_t))
		return -EINVAL;
	for (i = known_sz; i < sz; i++)
		if (p[i])
			return -E2BIG;
	return 0;
}

static int unio_open_dev(const char *dev_path)
{
	int fd;

	fd = open(dev_path ? dev_path : UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

UNIO_API int unio_region_open(const char *dev_path, struct unio_region **out)
{
	struct unio_region *r;
	int fd;

	if (!out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	fd = unio_open_dev(dev_path);
	if (fd < 0) {
		free(r);
		return fd;
	}
	r->fd = fd;
	r->q.fd = fd;
	*out = r;
	return 0;
}

static bool unio_ring_ok(const struct unified_io_ring_offsets *ro,
			 size_t entry_size, const struct unified_io_region_layout *l)
{
	uint64_t end;

	if (!ro->ring_entries || ro->ring_entries & (ro->ring_entries - 1))
		return false;
	if (ro->ring_mask != ro->ring_entries - 1 || ro->entry_size != entry_size)
		return false;
	if (ro->head % 4 || ro->tail % 4 ||
	    (uint64_t)ro->head + 4 > l->ctrl_size ||
	    (uint64_t)ro->tail + 4 > l->ctrl_size)
		return false;
	end = (uint64_t)ro->array + (uint64_t)ro->ring_entries * entry_size;
	return ro->array % 8 == 0 && end <= l->desc_size;
}

/*
 * The library indexes the rings with its own struct sizes and trusts every
 * offset for pointer arithmetic: refuse a layout that does not fit the
 * mapping rather than fault later.
 */
static int unio_layout_check(const struct unified_io_region_layout *l)
{
	if (l->ctrl_off != 0 || l->desc_off < l->ctrl_size ||
	    l->desc_off > l->region_size ||
	    l->desc_size > l->region_size - l->desc_off ||
	    l->data_off > l->region_size ||
	    l->data_size > l->region_size - l->data_off)
		return -EPROTO;
	if (!unio_ring_ok(&l->sq, sizeof(struct unified_io_desc), l) ||
	    !unio_ring_ok(&l->cq, sizeof(struct unified_io_cqe), l))
		return -EPROTO;
	if (!l->buf_size || (uint64_t)l->nr_bufs * l->buf_size != l->data_size)
		return -EPROTO;
	if ((uint64_t)l->buf_table +
	    (uint64_t)l->nr_bufs * sizeof(struct unified_io_buf_entry) > l->desc_size)
		return -EPROTO;
	if ((uint64_t)l->stats + sizeof(struct unified_io_stats) > l->ctrl_size ||
	    (uint64_t)l->config + sizeof(struct unified_io_config) > l->ctrl_size)
		return -EPROTO;
	return 0;
}

/*
 * The refill ring of a kernel with UNIFIED_IO_FEAT_NET_RECV; a kernel
 * without it leaves the tail of struct unified_io_setup zero.
 */
static int unio_refill_check(const struct unified_io_ring_offsets *ro,
			     const struct unified_io_region_layout *l)
{
	static const struct unified_io_ring_offsets zero;

	if (!memcmp(ro, &zero, sizeof(zero)))
		return 0;
	if (!unio_ring_ok(ro, sizeof(struct unified_io_rfqe), l))
		return -EPROTO;
	return 1;
}

static void unio_refill_init(struct unio_region *r,
			     const struct unified_io_ring_offsets *ro)
{
	char *base = r->map;
	struct unio_refill *rf = &r->refill;

	rf->khead = (uint32_t *)(base + ro->head);
	rf->ktail = (uint32_t *)(base + ro->tail);
	rf->rfqes = (struct unified_io_rfqe *)(base + r->layout.desc_off + ro->array);
	rf->ring_mask = ro->ring_mask;
	rf->ring_entries = ro->ring_entries;
	rf->rfqe_tail = unio_smp_load_acquire(rf->ktail);
	r->has_refill = true;
}

static void unio_queue_init(struct unio_region *r)
{
	const struct unified_io_region_layout *l = &r->layout;
	char *base = r->map;
	char *desc = base + l->desc_off;
	struct unio_queue *q = &r->q;

	q->sq.khead = (uint32_t *)(base + l->sq.head);
	q->sq.ktail = (uint32_t *)(base + l->sq.tail);
	q->sq.sqes = (struct unified_io_desc *)(desc + l->sq.array);
	q->sq.ring_mask = l->sq.ring_mask;
	q->sq.ring_entries = l->sq.ring_entries;
	/* Resume where the ring is: a fresh region has both at 0. */
	q->sq.sqe_tail = unio_smp_load_acquire(q->sq.ktail);

	q->cq.khead = (uint32_t *)(base + l->cq.head);
	q->cq.ktail = (uint32_t *)(base + l->cq.tail);
	q->cq.cqes = (struct unified_io_cqe *)(desc + l->cq.array);
	q->cq.ring_mask = l->cq.ring_mask;
	q->cq.ring_entries = l->cq.ring_entries;

	q->fd = r->fd;
	q->buf_size = l->buf_size;
	q->data = base + l->data_off;
	q->data_size = l->data_size;
}

static int unio_get_info_fd(int fd, struct unified_io_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, UNIFIED_IO_GET_INFO, info) < 0 ? -errno : 0;
}

void unio_setup_fill(const struct unio_region_opts *opts,
		     struct unified_io_setup *setup)
{
	memset(setup, 0, sizeof(*setup));
	setup->size = sizeof(*setup);
	setup->flags = UNIO_OPTS_GET(opts, flags, 0);
	setup->sq_entries = UNIO_OPTS_GET(opts, sq_entries, 0) ?: UNIO_DEF_SQ_ENTRIES;
	setup->cq_entries = UNIO_OPTS_GET(opts, cq_entries, 0);
	setup->buf_size = UNIO_OPTS_GET(opts, buf_size, 0) ?: UNIO_DEF_BUF_SIZE;
	setup->data_size = UNIO_OPTS_GET(opts, data_size, 0) ?: UNIO_DEF_DATA_SIZE;
	if (setup->flags & UNIFIED_IO_SETUP_F_NUMA_NODE)
		setup->numa_node = UNIO_OPTS_GET(opts, numa_node, 0);
}

UNIO_API int unio_region_setup(struct unio_region *r,
			       const struct unio_region_opts *opts)
{
	struct unified_io_setup setup;
	struct unified_io_info info;
	int ret, has_refill;
	uint32_t ring;
	void *map;

	if (!r)
		return -EINVAL;
	ret = unio_opts_check(opts, sizeof(*opts));
	if (ret)
		return ret;
	if (r->map)
		return -EBUSY;

	ring = UNIO_OPTS_GET(opts, ring, UNIO_RING_MODULE);
	if (ring > UNIO_RING_IO_URING)
		return -EINVAL;
	if (ring != UNIO_RING_MODULE) {
		ret = unio_get_info_fd(r->fd, &info);
		if (ret)
			return ret;
		if (!(info.config.features & UNIFIED_IO_FEAT_URING_CMD)) {
			if (ring == UNIO_RING_IO_URING)
				return -EOPNOTSUPP;
			ring = UNIO_RING_MODULE;
		}
	}

	unio_setup_fill(opts, &setup);
	if (ioctl(r->fd, UNIFIED_IO_SETUP, &setup) < 0)
		return -errno;
	ret = unio_layout_check(&setup.layout);
	if (ret)
		return ret;
	has_refill = unio_refill_check(&setup.refill, &setup.layout);
	if (has_refill < 0)
		return has_refill;
	if (setup.layout.region_size > SIZE_MAX)
		return -EOVERFLOW;

	map = mmap(NULL, setup.layout.region_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED, r->fd, 0);
	if (map == MAP_FAILED)
		return -errno;

	r->map = map;
	r->map_len = setup.layout.region_size;
	r->layout = setup.layout;
	unio_queue_init(r);
	if (has_refill)
		unio_refill_init(r, &setup.refill);
	r->ring = UNIO_RING_MODULE;
	if (ring != UNIO_RING_MODULE) {
		/* AUTO goes on with the module ring if io_uring is not there. */
		ret = unio_nvme_ring_create(r);
		if (!ret)
			r->ring = UNIO_RING_IO_URING;
		else if (ring == UNIO_RING_IO_URING) {
			/* The kernel's region stays set up: only destroy is left. */
			munmap(r->map, r->map_len);
			r->map = NULL;
			r->map_len = 0;
			return ret;
		}
	}
	return 0;
}

UNIO_API int unio_region_ring(const struct unio_region *r)
{
	return r && r->map ? (int)r->ring : -EINVAL;
}

UNIO_API int unio_region_create(const struct unio_region_opts *opts,
				struct unio_region **out)
{
	struct unio_region *r;
	int ret;

	if (!out)
		return -EINVAL;
	ret = unio_opts_check(opts, sizeof(*opts));
	if (ret)
		return ret;
	ret = unio_region_open(UNIO_OPTS_GET(opts, dev_path, NULL), &r);
	if (ret)
		return ret;
	ret = unio_region_setup(r, opts);
	if (ret) {
		unio_region_destroy(r);
		return ret;
	}
	*out = r;
	return 0;
}

UNIO_API void unio_region_destroy(struct unio_region *r)
{
	if (!r)
		return;
	unio_nvme_region_fini(r);
	unio_unified_fini(r);
	if (r->map)
		munmap(r->map, r->map_len);
	close(r->fd);
	free(r);
}

UNIO_API int unio_region_fd(const struct unio_region *r)
{
	return r ? r->fd : -EINVAL;
}

UNIO_API struct unio_queue *unio_region_queue(struct unio_region *r)
{
	return r && r->map ? &r->q : NULL;
}

UNIO_API const struct unified_io_region_layout *
unio_region_layout(const struct unio_region *r)
{
	return r && r->map ? &r->layout : NULL;
}

UNIO_API void *unio_region_data(const struct unio_region *r)
{
	return r && r->map ? r->q.data : NULL;
}

UNIO_API int unio_region_get_info(const struct unio_region *r,
				  struct unified_io_info *info)
{
	if (!r || !info)
		return -EINVAL;
	return unio_get_info_fd(r->fd, info);
}

UNIO_API int unio_get_features(const char *dev_path, uint32_t *features)
{
	struct unified_io_info info;
	int fd, ret;

	if (!features)
		return -EINVAL;
	fd = unio_open_dev(dev_path);
	if (fd < 0)
		return fd;
	ret = unio_get_info_fd(fd, &info);
	close(fd);
	if (ret)
		return ret;
	*features = info.config.features;
	return 0;
}
