// SPDX-License-Identifier: GPL-2.0-only
/*
 * recv --mode zcrx | zcrx-region: io_uring zero-copy receive.
 *
 *   zcrx          the area is anonymous memory of this process (the
 *                 upstream way, io_uring's iou-zcrx selftest), registered
 *                 by unio_zcrx_register_mem();
 *   zcrx-region   the area is the region's data area (unio_zcrx_register()),
 *                 so the bytes land in region buffers: the stock kernel's
 *                 route into the region. Every buffer is ALLOC'd by this
 *                 process first, so the region's allocator knows they are
 *                 taken; 16 buffers past the area serve --store's read-back.
 *
 * One multishot IORING_OP_RECV_ZC per flow; each completion's chunk is
 * checked at its stream offset and given back through zcrx's refill ring
 * (after --store wrote its buffer to the drive). With --zcrx-nodev there is
 * no NIC queue (ZCRX_REG_NODEV): every byte is copied into the area, which
 * works on any TCP socket (veth), and the refill ring is flushed with
 * ZCRX_CTRL_FLUSH_RQ whenever a quarter of the area waits in it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <liburing.h>

#include "netstream.h"

struct ns_zcrx {
	struct io_uring ring;
	bool ring_ok;
	bool region;			/* zcrx-region */
	struct unio_zcrx *uz;
	/* zcrx-region */
	uint64_t *held;			/* every buffer, ALLOC'd */
	unsigned int nheld;
	/* zcrx (anonymous area) */
	void *anon;
	uint64_t anon_len;
	/* both, from unio_zcrx_get_info() */
	struct io_uring_zcrx_rq *rq;
	char *area;
	uint64_t area_len;
	uint64_t area_data_off;		/* zcrx-region: offset in the data area */
	uint64_t token;
	uint32_t id;
	uint32_t chunk;
	unsigned int area_chunks;
	unsigned int rq_pending;	/* entries since the last FLUSH_RQ */
	struct io_uring_zcrx_rqe *rqes;	/* this batch's entries */
	unsigned int nrqes;
};

/* zcrx over anonymous memory of this process: the upstream way. */
static int ns_zcrx_register_anon(struct ns_recv *rc, struct ns_zcrx *z,
				 const struct unio_zcrx_opts *zo)
{
	z->anon_len = rc->o->data_size;
	z->anon = mmap(NULL, z->anon_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (z->anon == MAP_FAILED) {
		z->anon = NULL;
		return -errno;
	}
	return unio_zcrx_register_mem(&z->ring, z->anon, z->anon_len, zo, &z->uz);
}

/* ALLOC every buffer of the region, a SQ's worth per SUBMIT. */
static int ns_zcrx_alloc_all(struct ns_recv *rc, struct ns_zcrx *z)
{
	unsigned int nbufs = rc->q->data_size / rc->q->buf_size;
	struct unified_io_cqe *cqe;
	int ret;

	z->held = calloc(nbufs, sizeof(*z->held));
	if (!z->held)
		return -ENOMEM;
	while (z->nheld < nbufs) {
		unsigned int want = nbufs - z->nheld, i;

		if (want > rc->q->sq.ring_entries)
			want = rc->q->sq.ring_entries;
		for (i = 0; i < want; i++)
			unio_prep_alloc(unio_get_sqe(rc->q), NS_OWNER, 0);
		ret = unio_submit(rc->q);
		if (ret < 0)
			return ret;
		while ((cqe = unio_peek_cqe(rc->q))) {
			ret = cqe->res;
			if (ret >= 0)
				z->held[z->nheld++] = cqe->addr;
			unio_cqe_seen(rc->q);
			if (ret < 0) {
				tool_err("ALLOC of buffer %u of %u: %s", z->nheld + 1, nbufs,
				       strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

static void ns_zcrx_free_all(struct ns_recv *rc, struct ns_zcrx *z)
{
	struct unified_io_cqe *cqe;
	unsigned int i = 0;

	while (i < z->nheld) {
		while (i < z->nheld && unio_sq_space_left(rc->q))
			unio_prep_free(unio_get_sqe(rc->q), NS_OWNER, z->held[i++], 0);
		if (unio_submit(rc->q) < 0)
			break;
		while ((cqe = unio_peek_cqe(rc->q)))
			unio_cqe_seen(rc->q);
	}
}

static int ns_zcrx_arm(struct ns_recv *rc, struct ns_zcrx *z, struct ns_flow *f)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&z->ring);

	(void)rc;
	if (!sqe)
		return -EBUSY;
	io_uring_prep_rw(IORING_OP_RECV_ZC, sqe, f->fd, NULL, 0, 0);
	sqe->ioprio |= IORING_RECV_MULTISHOT;
	sqe->zcrx_ifq_idx = z->id;
	sqe->user_data = f->slot;
	return 0;
}

static int ns_zcrx_flush_rq(struct ns_recv *rc, struct ns_zcrx *z)
{
	struct zcrx_ctrl ctrl;
	int ret;

	memset(&ctrl, 0, sizeof(ctrl));
	ctrl.zcrx_id = z->id;
	ctrl.op = ZCRX_CTRL_FLUSH_RQ;
	rc->rep->sc[NS_SC_IO_URING_REGISTER]++;
	rc->rep->rq_flushes++;
	ret = io_uring_register_zcrx_ctrl(&z->ring, &ctrl);
	z->rq_pending = 0;
	if (ret)
		tool_err("ZCRX_CTRL_FLUSH_RQ: %s", strerror(-ret));
	return ret;
}

/* Publish this batch's refill entries. */
static int ns_zcrx_refill(struct ns_recv *rc, struct ns_zcrx *z)
{
	struct io_uring_zcrx_rq *rq = z->rq;
	unsigned int mask = rq->ring_entries - 1, i;

	for (i = 0; i < z->nrqes; i++) {
		if (rq->rq_tail - io_uring_smp_load_acquire(rq->khead) >= rq->ring_entries) {
			tool_err("zcrx refill ring full (%u entries)", rq->ring_entries);
			return -ENOSPC;
		}
		rq->rqes[rq->rq_tail++ & mask] = z->rqes[i];
	}
	if (z->nrqes)
		io_uring_smp_store_release(rq->ktail, rq->rq_tail);
	z->rq_pending += z->nrqes;
	z->nrqes = 0;
	if (rc->o->zcrx_nodev && z->rq_pending >= z->area_chunks / 4)
		return ns_zcrx_flush_rq(rc, z);
	return 0;
}

static int ns_zcrx_cqe(struct ns_recv *rc, struct ns_zcrx *z,
		       const struct io_uring_cqe *cqe)
{
	const struct io_uring_zcrx_cqe *rcqe = (const void *)(cqe + 1);
	struct ns_report *rep = rc->rep;
	struct ns_flow *f;
	uint64_t off, soff;
	int ret;

	if (cqe->user_data >= rc->nflows) {
		tool_err("unexpected completion: user_data %llu res %d",
		       (unsigned long long)cqe->user_data, cqe->res);
		return -EPROTO;
	}
	f = &rc->flows[cqe->user_data];
	if (cqe->res > 0) {
		off = rcqe->off & ~IORING_ZCRX_AREA_MASK;
		if (off + cqe->res > z->area_len) {
			tool_err("flow %u: chunk at %#llx, %d bytes: outside the area",
			       f->slot, (unsigned long long)off, cqe->res);
			return -EPROTO;
		}
		soff = f->stream_off;
		ns_flow_consume(f, z->area + off, cqe->res);
		rep->chunks++;
		z->rqes[z->nrqes++] = (struct io_uring_zcrx_rqe){
			.off = off | z->token, .len = cqe->res };
		if (z->region) {
			uint64_t doff = z->area_data_off + off;
			uint64_t buf = doff & ~(uint64_t)(rc->q->buf_size - 1);

			if (rc->bpf && buf == doff) {
				ret = ns_bpf_queue(rc, buf, cqe->res);
				if (ret)
					return ret;
			}
			if (rc->store) {
				ret = ns_store_add(rc, f, buf, doff - buf, cqe->res, soff);
				if (ret)
					return ret;
			}
		}
	}
	if (cqe->flags & IORING_CQE_F_MORE)
		return 0;
	/* The multishot request ended. */
	if (cqe->res == 0) {
		ns_flow_eof(rc, f);
		return 0;
	}
	if (cqe->res == -ENOMEM || cqe->res == -ENOSPC || cqe->res == -EAGAIN ||
	    cqe->res > 0) {
		/* Out of area buffers or CQ space, or just ended: arm again. */
		if (cqe->res < 0) {
			rep->retries++;
			if (rc->o->zcrx_nodev) {
				ret = ns_zcrx_refill(rc, z);
				if (!ret && z->rq_pending)
					ret = ns_zcrx_flush_rq(rc, z);
				if (ret)
					return ret;
			}
		}
		return ns_zcrx_arm(rc, z, f);
	}
	tool_err("flow %u: RECV_ZC: %s", f->slot, strerror(-cqe->res));
	return cqe->res;
}

int ns_recv_zcrx(struct ns_recv *rc)
{
	const struct ns_recv_opts *o = rc->o;
	struct ns_report *rep = rc->rep;
	bool region = o->mode == NS_ZCRX_REGION;
	struct io_uring_params p = { 0 };
	struct ns_zcrx z = { .region = region };
	struct unio_zcrx_info zi;
	uint32_t ps = sysconf(_SC_PAGESIZE);
	int ifindex = 0, ret;
	unsigned int i;

	rep->zcrx_nodev = o->zcrx_nodev;
	if (!o->zcrx_nodev) {
		ifindex = ns_ifindex(o, rep);
		if (ifindex < 0)
			return ifindex;
	}
	if (!region && (o->store || o->bpf_stats)) {
		tool_err("--store and --bpf-stats need the region: use --mode zcrx-region");
		return -EINVAL;
	}
	p.flags = IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
		  IORING_SETUP_CQE32 | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
	p.cq_entries = o->cq_entries;
	ret = io_uring_queue_init_params(64, &z.ring, &p);
	if (ret) {
		tool_err("io_uring_queue_init (DEFER_TASKRUN, CQE32): %s", strerror(-ret));
		return ret;
	}
	z.ring_ok = true;

	if (region) {
		ret = ns_region_create(rc, ps, o->data_size +
				       (uint64_t)NS_ZCRX_READBACK_BUFS * ps, 512);
		if (ret)
			goto out;
		ret = ns_zcrx_alloc_all(rc, &z);
		if (ret)
			goto out;
		UNIO_ZCRX_OPTS(zo, .ifindex = ifindex, .rxq = o->rxq,
			       .flags = o->zcrx_nodev ? UNIO_ZCRX_F_NODEV : 0,
			       .data_off = 0, .len = o->data_size);
		ret = unio_zcrx_register(rc->r, &z.ring, &zo, &z.uz);
	} else {
		UNIO_ZCRX_OPTS(zo, .ifindex = ifindex, .rxq = o->rxq,
			       .flags = o->zcrx_nodev ? UNIO_ZCRX_F_NODEV : 0);
		ret = ns_zcrx_register_anon(rc, &z, &zo);
	}
	if (ret) {
		tool_err("zcrx registration (%s%s%s queue %u): %s", o->zcrx_nodev ? "no device" : "",
		       o->zcrx_nodev ? "" : "interface ", rep->ifname, o->rxq, strerror(-ret));
		goto out;
	}
	unio_zcrx_get_info(z.uz, &zi);
	z.rq = zi.rq;
	z.area = zi.area;
	z.area_len = zi.len;
	z.area_data_off = zi.data_off;
	z.token = zi.area_token;
	z.id = zi.id;
	z.chunk = zi.rx_buf_len;
	tool_info(o->quiet, "recv: zcrx queue %u over %s (%llu MiB area, %u-byte chunks)%s",
		z.id, region ? "the region's data area" : "anonymous memory",
		(unsigned long long)(z.area_len >> 20), z.chunk,
		o->zcrx_nodev ? ", no NIC queue: every byte copied" : "");
	z.area_chunks = z.area_len / z.chunk;
	z.rqes = calloc(o->cq_entries * 2, sizeof(*z.rqes));
	if (!z.rqes) {
		ret = -ENOMEM;
		goto out;
	}
	if (region && o->bpf_stats) {
		ret = ns_bpf_open(rc);
		if (ret)
			goto out;
	}
	if (region && o->store) {
		ret = ns_store_open(rc, ps);
		if (ret)
			goto out;
	}
	ret = ns_recv_listen(rc);
	if (!ret)
		ret = ns_recv_accept_all(rc);
	if (ret)
		goto out;
	for (i = 0; i < rc->nflows && !ret; i++)
		ret = ns_zcrx_arm(rc, &z, &rc->flows[i]);

	while (!ret && rc->active) {
		struct __kernel_timespec ts = { .tv_sec = o->timeout_s };
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		rep->sc[NS_SC_IO_URING_ENTER]++;
		ret = io_uring_submit_and_wait_timeout(&z.ring, &cqe, 1, &ts, NULL);
		if (ret == -ETIME) {
			tool_err("no data for %u s", o->timeout_s);
			break;
		}
		if (ret < 0 && ret != -EINTR) {
			tool_err("io_uring_submit_and_wait: %s", strerror(-ret));
			break;
		}
		ret = 0;
		io_uring_for_each_cqe(&z.ring, head, cqe) {
			seen++;
			ret = ns_zcrx_cqe(rc, &z, cqe);
			if (ret)
				break;
			/* A batch never holds more entries than CQEs seen. */
			if (z.nrqes >= o->cq_entries)
				break;
		}
		io_uring_cq_advance(&z.ring, seen);
		if (ret)
			break;
		if (rc->bpf)
			ret = ns_bpf_submit(rc);
		if (!ret && rc->store)
			ret = ns_store_flush(rc);
		if (!ret)
			ret = ns_zcrx_refill(rc, &z);
		ns_recv_progress(rc, false);
	}
	ns_recv_stop_clock(rc);
	unio_zcrx_get_info(z.uz, &zi);
	if (zi.flags & UNIO_ZCRX_INFO_F_STATS) {
		rep->kcopy_source = "zcrx_stats (io_uring copy fallback)";
		rep->kcopy_chunks = zi.copy_count;
		rep->kcopy_bytes = zi.copy_bytes;
	}
	rep->copied_chunks = rep->kcopy_chunks;
	rep->copied_bytes = rep->kcopy_bytes;
	if (!ret && rc->store) {
		/* The buffers past the area, never lent to zcrx. */
		uint64_t rb[NS_ZCRX_READBACK_BUFS];

		for (i = 0; i < NS_ZCRX_READBACK_BUFS; i++)
			rb[i] = o->data_size + (uint64_t)i * ps;
		ret = ns_store_verify(rc, rb, NS_ZCRX_READBACK_BUFS);
	}
out:
	if (rc->bpf)
		ns_bpf_read(rc);
	if (z.ring_ok)
		io_uring_queue_exit(&z.ring);
	unio_zcrx_destroy(z.uz);
	if (rc->q && z.held)
		ns_zcrx_free_all(rc, &z);
	free(z.held);
	free(z.rqes);
	/*
	 * The kernel keeps the area pinned until the ring is closed and
	 * the refill mapping (unio_zcrx_destroy()) is gone; unmapping our
	 * view of it before that is harmless.
	 */
	if (z.anon)
		munmap(z.anon, z.anon_len);
	return ret;
}
