// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers of the unified_io network selftests: the region, BIND, SUBMIT,
 * RECV, FREE and the refill ring; see net_lib.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net_lib.h"

/* --- the region ---------------------------------------------------------- */

int nl_region_create(struct nl_region *r, uint32_t sq, uint32_t cq,
		     uint32_t buf_size, uint32_t nr_bufs)
{
	uint8_t *desc;
	int ret;

	memset(r, 0, sizeof(*r));
	r->fd = open(UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	r->setup.size = sizeof(r->setup);
	r->setup.sq_entries = sq;
	r->setup.cq_entries = cq;
	r->setup.buf_size = buf_size;
	r->setup.data_size = (uint64_t)buf_size * nr_bufs;
	if (ioctl(r->fd, UNIFIED_IO_SETUP, &r->setup)) {
		ret = -errno;
		close(r->fd);
		r->fd = -1;
		return ret;
	}
	r->l = r->setup.layout;
	r->rl = r->setup.refill;
	r->map_len = r->l.region_size;
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      r->fd, 0);
	if (r->map == MAP_FAILED) {
		ret = -errno;
		r->map = NULL;
		close(r->fd);
		r->fd = -1;
		return ret;
	}
	desc = r->map + r->l.desc_off;
	r->q.fd = r->fd;
	r->q.sq.khead = (uint32_t *)(r->map + r->l.sq.head);
	r->q.sq.ktail = (uint32_t *)(r->map + r->l.sq.tail);
	r->q.sq.sqes = (struct unified_io_desc *)(desc + r->l.sq.array);
	r->q.sq.ring_mask = r->l.sq.ring_mask;
	r->q.sq.ring_entries = r->l.sq.ring_entries;
	r->q.sq.sqe_tail = *r->q.sq.ktail;
	r->q.cq.khead = (uint32_t *)(r->map + r->l.cq.head);
	r->q.cq.ktail = (uint32_t *)(r->map + r->l.cq.tail);
	r->q.cq.cqes = (struct unified_io_cqe *)(desc + r->l.cq.array);
	r->q.cq.ring_mask = r->l.cq.ring_mask;
	r->q.cq.ring_entries = r->l.cq.ring_entries;
	r->q.buf_size = r->l.buf_size;
	r->q.data = r->map + r->l.data_off;
	r->q.data_size = r->l.data_size;
	r->bt = (struct unified_io_buf_entry *)(desc + r->l.buf_table);
	if (r->rl.ring_entries) {
		r->rf_khead = (uint32_t *)(r->map + r->rl.head);
		r->rf_ktail = (uint32_t *)(r->map + r->rl.tail);
		r->rfqes = (struct unified_io_rfqe *)(desc + r->rl.array);
		r->rf_tail = *r->rf_ktail;
	}
	return 0;
}

void nl_region_destroy(struct nl_region *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	r->map = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->bound = false;
}

int nl_region_info(const struct nl_region *r, struct unified_io_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(r->fd, UNIFIED_IO_GET_INFO, info) ? -errno : 0;
}

int nl_bind_raw(int fd, unsigned long cmd, struct unified_io_net_bind *b)
{
	return ioctl(fd, cmd, b) ? -errno : 0;
}

int nl_bind(struct nl_region *r, int ifindex, uint32_t rxq, uint32_t nr_bufs,
	    char *msg)
{
	struct unified_io_net_bind b;
	int ret;

	memset(&b, 0, sizeof(b));
	b.size = sizeof(b);
	b.ifindex = ifindex;
	b.rxq = rxq;
	b.nr_bufs = nr_bufs;
	memset(b.msg, 0xcc, sizeof(b.msg));
	ret = nl_bind_raw(r->fd, UNIFIED_IO_NET_BIND, &b);
	if (msg)
		memcpy(msg, b.msg, sizeof(b.msg));
	if (!ret)
		r->bound = true;
	return ret;
}

int nl_unbind(struct nl_region *r, char *msg)
{
	struct unified_io_net_bind b;
	int ret;

	memset(&b, 0, sizeof(b));
	b.size = sizeof(b);
	memset(b.msg, 0xcc, sizeof(b.msg));
	ret = nl_bind_raw(r->fd, UNIFIED_IO_NET_UNBIND, &b);
	if (msg)
		memcpy(msg, b.msg, sizeof(b.msg));
	if (!ret)
		r->bound = false;
	return ret;
}

int nl_submit_inline(struct nl_region *r, const struct unified_io_desc *d)
{
	struct unified_io_submit sub = {
		.size = sizeof(sub),
		.flags = UNIFIED_IO_SUBMIT_F_INLINE,
		.desc = *d,
	};
	int ret = ioctl(r->fd, UNIFIED_IO_SUBMIT, &sub);

	return ret < 0 ? -errno : ret;
}

int nl_complete(struct nl_region *r, uint32_t min, uint64_t timeout_ns)
{
	struct unified_io_complete c = {
		.size = sizeof(c),
		.min_complete = min,
		.timeout_ns = timeout_ns,
	};
	int ret = ioctl(r->fd, UNIFIED_IO_COMPLETE, &c);

	return ret < 0 ? -errno : ret;
}

int nl_refill_put(struct nl_region *r, uint64_t addr, uint16_t owner,
		  uint16_t resv0)
{
	struct unified_io_rfqe *e;

	if (!r->rfqes)
		return -EOPNOTSUPP;
	if (r->rf_tail - unio_smp_load_acquire(r->rf_khead) >= r->rl.ring_entries)
		return -ENOSPC;
	e = &r->rfqes[r->rf_tail & r->rl.ring_mask];
	e->addr = addr;
	e->owner = owner;
	e->resv[0] = resv0;
	e->resv[1] = 0;
	e->resv[2] = 0;
	r->rf_tail++;
	return 0;
}

void nl_refill_flush(struct nl_region *r)
{
	if (r->rf_ktail)
		unio_smp_store_release(r->rf_ktail, r->rf_tail);
}

uint32_t nl_refill_pending(const struct nl_region *r)
{
	if (!r->rf_ktail)
		return 0;
	return unio_smp_load_acquire(r->rf_ktail) -
	       unio_smp_load_acquire(r->rf_khead);
}

int nl_free_bufs(struct nl_region *r, uint16_t owner, const uint64_t *offs,
		 unsigned int n)
{
	int first = 0;

	while (n) {
		unsigned int k = 0, reaped = 0;
		struct unified_io_submit sub = { .size = sizeof(sub) };
		uint64_t end = nl_now_ms() + 5000;

		while (k < n && unio_sq_space_left(&r->q) &&
		       k < r->q.cq.ring_entries - unio_cq_ready(&r->q)) {
			struct unified_io_desc *d = unio_get_sqe(&r->q);

			unio_prep_free(d, owner, offs[k], 0xf4ee000000000000ULL | offs[k]);
			k++;
		}
		if (!k)
			return -EBUSY;
		unio_sq_flush(&r->q);
		sub.to_submit = k;
		if (ioctl(r->fd, UNIFIED_IO_SUBMIT, &sub) < 0)
			return -errno;
		while (reaped < k) {
			struct unified_io_cqe *c = unio_peek_cqe(&r->q);

			if (!c) {
				if (nl_now_ms() > end)
					return -ETIMEDOUT;
				nl_complete(r, 1, 100000000ULL);
				continue;
			}
			if (c->opcode != UNIFIED_IO_OP_FREE) {
				unio_cqe_seen(&r->q);
				return -EPROTO;
			}
			if (c->res < 0 && !first)
				first = c->res;
			unio_cqe_seen(&r->q);
			reaped++;
		}
		offs += k;
		n -= k;
	}
	return first;
}

void nl_prep_recv(struct unified_io_desc *d, int sock, uint16_t owner,
		  uint32_t len, uint32_t flags, uint64_t user_data)
{
	memset(d, 0, sizeof(*d));
	d->opcode = UNIFIED_IO_OP_RECV;
	d->owner = owner;
	d->len = len;
	d->user_data = user_data;
	d->net.fd = sock;
	d->net.flags = flags;
}

int nl_recv(struct nl_region *r, int sock, uint16_t owner, uint32_t len,
	    uint32_t flags, uint64_t addr, struct nl_chunk *chunks,
	    unsigned int max, unsigned int *nr, int32_t *final,
	    int timeout_ms, char *err, size_t errlen)
{
	static uint64_t seq;
	struct unified_io_desc d;
	uint64_t ud = 0x7ecf000000000000ULL | ++seq, end;
	int ret;

	*nr = 0;
	if (unio_cq_ready(&r->q)) {
		snprintf(err, errlen, "RECV: %u completions already in the CQ",
			 unio_cq_ready(&r->q));
		return -EPROTO;
	}
	nl_prep_recv(&d, sock, owner, len, flags, ud);
	d.addr = addr;
	ret = nl_submit_inline(r, &d);
	if (ret != 1) {
		snprintf(err, errlen, "SUBMIT of a RECV returned %d (%s)", ret,
			 ret < 0 ? strerror(-ret) : "not 1");
		return ret < 0 ? ret : -EPROTO;
	}
	end = nl_now_ms() + timeout_ms;
	for (;;) {
		struct unified_io_cqe *c = unio_peek_cqe(&r->q);

		if (!c) {
			if (nl_now_ms() > end) {
				snprintf(err, errlen,
					 "RECV: no final completion after %d ms (%u chunks)",
					 timeout_ms, *nr);
				return -ETIMEDOUT;
			}
			nl_complete(r, 1, 100000000ULL);
			continue;
		}
		if (c->user_data != ud || c->opcode != UNIFIED_IO_OP_RECV) {
			snprintf(err, errlen,
				 "RECV: completion of another descriptor (user_data %#llx opcode %u res %d)",
				 (unsigned long long)c->user_data, c->opcode, c->res);
			unio_cqe_seen(&r->q);
			return -EPROTO;
		}
		if (!(c->flags & UNIFIED_IO_CQE_F_MORE)) {
			*final = c->res;
			if (c->flags & ~(uint32_t)UNIFIED_IO_CQE_F_COPIED) {
				snprintf(err, errlen,
					 "RECV: final completion with flags %#x", c->flags);
				unio_cqe_seen(&r->q);
				return -EPROTO;
			}
			unio_cqe_seen(&r->q);
			return 0;
		}
		if (*nr >= max) {
			snprintf(err, errlen, "RECV: more than %u chunks", max);
			unio_cqe_seen(&r->q);
			return -E2BIG;
		}
		chunks[*nr].addr = c->addr;
		chunks[*nr].res = c->res;
		chunks[*nr].flags = c->flags;
		(*nr)++;
		unio_cqe_seen(&r->q);
	}
}
