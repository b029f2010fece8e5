// SPDX-License-Identifier: GPL-2.0-only
/*
 * recv --mode native: the region is the memory provider of the NIC queue
 * (UNIFIED_IO_NET_BIND), so the NIC writes payload straight into region
 * buffers and UNIFIED_IO_OP_RECV hands them over without a copy.
 *
 * --armed (the way to use it): one RECV with UNIFIED_IO_RECV_F_ARM per
 * flow, submitted once. The module posts a chunk completion as the stack
 * delivers data and publishes the CQ tail itself, so the loop reads the CQ
 * (load-acquire of the tail, no system call), checks each chunk, gives its
 * buffer back through the refill ring (no system call) and enters the
 * kernel only when the CQ is empty: UNIFIED_IO_COMPLETE for --wait-batch
 * completions or --wait-usecs, whichever comes first (interrupt
 * coalescing, as ethtool's rx-frames and rx-usecs), and, when that found
 * nothing, for one completion with no limit but --timeout. A flow whose
 * armed RECV stopped for want of a CQ slot (ENOSPC) or of a buffer to copy
 * into (ENOBUFS) is armed again once the CQ is drained and the buffers are
 * back (counted in the report's retries); its final completion with res 0
 * is its end of stream.
 *
 * Without --armed, one round: poll() the sockets, one RECV descriptor per
 * readable socket in the SQ, one SUBMIT for the batch, reap every
 * completion and check each chunk at its stream offset, then give every
 * chunk's buffer back through the refill ring (no system call): the module
 * counts one application reference per chunk, on the buffers the NIC
 * filled and on those RECV copied into alike.
 *
 * With --store the buffers of a batch are written to the NVMe namespace
 * before they go back (--armed --ring io_uring: on the same io_uring as the
 * receive, one completion queue for both); with --bpf-stats the RECVs carry
 * UNIFIED_IO_RECV_F_BPF and the module runs the stats program over each
 * chunk that starts a buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netstream.h"

/*
 * --armed: where each flow's armed RECV is. ENOSPC means the CQ was full, and
 * it is empty again when the loop arms; ENOBUFS means no buffer was free for
 * a copy, and arming at once could fail at once, again and again: that flow
 * waits for one short COMPLETE first.
 */
enum ns_arm { NS_ARMED, NS_ARM_NOW, NS_ARM_AFTER_WAIT };
/* How long that short wait is at most (the buffers are back by then). */
#define NS_REARM_WAIT_NS	(1000ULL * 1000)

/*
 * What a round gives back. RECV gives the application one reference on a
 * buffer per chunk (zero-copy or copied: once the region is bound, copies
 * come from the lent buffers too), and each refill entry drops one, so
 * every chunk gets its own entry. The ring has an entry per buffer; a
 * buffer holding several chunks may need more while the NIC is slow to
 * take them, and those wait here for the next round.
 */
struct ns_native {
	struct unio_refill *rf;		/* NULL: not bound, FREE instead */
	uint64_t *ret;			/* buffer starts to give back */
	unsigned int nret, cap;
	uint32_t buf_shift;
	/* --armed */
	bool armed;
	uint8_t rearm[NS_MAX_FLOWS];	/* enum ns_arm */
	unsigned int nrearm;		/* flows not NS_ARMED */
	/*
	 * --ring io_uring: descriptors go to the library's io_uring with
	 * unio_submit_descs() and completions come from unio_reap(); these
	 * are the descriptors not submitted yet and the reap buffer.
	 */
	bool uring;
	struct unified_io_desc *pend;
	unsigned int npend, cap_pend;
	struct unified_io_cqe *reaped;
	unsigned int cap_reaped;
};

/* A descriptor to fill: in the module's SQ, or for unio_submit_descs(). */
static struct unified_io_desc *ns_native_desc(struct ns_recv *rc, struct ns_native *nn)
{
	struct unified_io_desc *d;

	if (!nn->uring)
		return unio_get_sqe(rc->q);
	if (nn->npend == nn->cap_pend)
		return NULL;
	d = &nn->pend[nn->npend++];
	memset(d, 0, sizeof(*d));
	return d;
}

/* Descriptors waiting for the next submit. */
static bool ns_native_pending(struct ns_recv *rc, struct ns_native *nn)
{
	return nn->uring ? nn->npend : unio_sq_ready(rc->q);
}

/*
 * Submit what is waiting: one UNIFIED_IO_SUBMIT, or one unio_submit_descs()
 * (counted as one io_uring_enter; the kernel's count has what it really
 * made). What the CQ had no room for waits for the next call.
 */
static int ns_native_submit(struct ns_recv *rc, struct ns_native *nn)
{
	int ret;

	if (!nn->uring) {
		rc->rep->sc[NS_SC_IOCTL]++;
		ret = unio_submit(rc->q);
	} else {
		rc->rep->sc[NS_SC_IO_URING_ENTER]++;
		ret = unio_submit_descs(rc->r, nn->pend, nn->npend);
		if (ret > 0) {
			memmove(nn->pend, nn->pend + ret, (nn->npend - ret) * sizeof(*nn->pend));
			nn->npend -= ret;
		}
	}
	if (ret < 0 && ret != -EBUSY && ret != -EINTR) {
		tool_err("%s: %s", nn->uring ? "unio_submit_descs" : "SUBMIT", strerror(-ret));
		return ret;
	}
	return 0;
}

static int ns_native_give_back(struct ns_native *nn, uint64_t off)
{
	if (nn->nret == nn->cap) {
		unsigned int cap = nn->cap * 2;
		uint64_t *n = realloc(nn->ret, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		nn->ret = n;
		nn->cap = cap;
	}
	nn->ret[nn->nret++] = off >> nn->buf_shift << nn->buf_shift;
	return 0;
}

static int ns_native_stored(void *arg, uint64_t off)
{
	return ns_native_give_back(arg, off);
}

/*
 * Push what fits to the refill ring and publish it: no system call. Not
 * bound (--no-bind): FREE descriptors instead, which go to the kernel with
 * the next round's RECVs.
 */
static void ns_native_refill(struct ns_recv *rc, struct ns_native *nn)
{
	unsigned int i;

	if (!nn->rf) {
		for (i = 0; i < nn->nret; i++) {
			struct unified_io_desc *d = ns_native_desc(rc, nn);

			if (!d)
				break;
			unio_prep_free(d, NS_OWNER, nn->ret[i], UINT64_MAX);
		}
		memmove(nn->ret, nn->ret + i, (nn->nret - i) * sizeof(*nn->ret));
		nn->nret -= i;
		return;
	}
	for (i = 0; i < nn->nret; i++)
		if (!unio_refill_push(nn->rf, nn->ret[i], NS_OWNER))
			break;
	if (i)
		unio_refill_flush(nn->rf);
	memmove(nn->ret, nn->ret + i, (nn->nret - i) * sizeof(*nn->ret));
	nn->nret -= i;
}

static int ns_native_cqe(struct ns_recv *rc, struct ns_native *nn,
			 const struct unified_io_cqe *cqe)
{
	struct ns_report *rep = rc->rep;
	struct ns_flow *f;
	uint64_t soff;
	int ret;

	if (cqe->user_data == UINT64_MAX && cqe->opcode == UNIFIED_IO_OP_FREE) {
		if (cqe->res < 0) {
			tool_err("FREE of buffer %#llx: %s", (unsigned long long)cqe->addr,
			       strerror(-cqe->res));
			return cqe->res;
		}
		return 0;
	}
	if (cqe->user_data >= rc->nflows || cqe->opcode != UNIFIED_IO_OP_RECV) {
		tool_err("unexpected completion: opcode %u user_data %llu res %d",
		       cqe->opcode, (unsigned long long)cqe->user_data, cqe->res);
		return -EPROTO;
	}
	f = &rc->flows[cqe->user_data];
	if (!(cqe->flags & UNIFIED_IO_CQE_F_MORE) && nn->armed) {
		/* An armed RECV stopped: the peer closed, or it ran out of room. */
		if (cqe->res == 0) {
			ns_flow_eof(rc, f);
		} else if (cqe->res == -ENOSPC || cqe->res == -ENOBUFS) {
			/* Nothing lost: the next RECV goes on from the first byte left. */
			rep->retries++;
			if (cqe->res == -ENOSPC)
				rep->retries_enospc++;
			else
				rep->retries_enobufs++;
			if (nn->rearm[f->slot] == NS_ARMED)
				nn->nrearm++;
			nn->rearm[f->slot] = cqe->res == -ENOSPC ? NS_ARM_NOW : NS_ARM_AFTER_WAIT;
		} else {
			tool_err("flow %u: armed RECV stopped: %s", f->slot,
				 cqe->res > 0 ? "a byte count in its final completion" :
				 strerror(-cqe->res));
			return cqe->res < 0 ? cqe->res : -EPROTO;
		}
		return 0;
	}
	if (!(cqe->flags & UNIFIED_IO_CQE_F_MORE)) {
		/* The final completion of the descriptor. */
		if (cqe->res == 0) {
			ns_flow_eof(rc, f);
		} else if (cqe->res == -EAGAIN) {
			/* POLLIN without data: nothing to do. */
		} else if (cqe->res == -ENOSPC || cqe->res == -ENOBUFS) {
			/* CQ or copy buffers ran out: the rest next round. */
			rep->retries++;
		} else if (cqe->res < 0) {
			tool_err("flow %u: RECV: %s", f->slot, strerror(-cqe->res));
			return cqe->res;
		}
		return 0;
	}
	if (cqe->res < 0 || cqe->addr + (uint64_t)cqe->res > rc->q->data_size) {
		tool_err("flow %u: RECV chunk at %#llx, %d bytes: outside the data area",
		       f->slot, (unsigned long long)cqe->addr, cqe->res);
		return -EPROTO;
	}
	if (!cqe->res)		/* dropped by the BPF chain: already recycled */
		return 0;
	/* A stream store gives the buffer back once its bytes are stored. */
	if (!ns_store_holds_buffers(rc)) {
		ret = ns_native_give_back(nn, cqe->addr);
		if (ret)
			return ret;
	}
	soff = f->stream_off;
	ns_flow_consume(f, unio_data_ptr(rc->q, cqe->addr), cqe->res);
	rep->chunks++;
	if (cqe->flags & UNIFIED_IO_CQE_F_COPIED) {
		f->copied_chunks++;
		f->copied_bytes += cqe->res;
		rep->copied_chunks++;
		rep->copied_bytes += cqe->res;
	}
	if (rc->store) {
		uint64_t buf = cqe->addr >> nn->buf_shift << nn->buf_shift;

		ret = ns_store_add(rc, f, buf, cqe->addr - buf, cqe->res, soff);
		if (ret)
			return ret;
	}
	return 0;
}

/* Without --armed: poll(), then one RECV per readable socket, per round. */
static int ns_native_poll_loop(struct ns_recv *rc, struct ns_native *nn)
{
	struct ns_report *rep = rc->rep;
	struct pollfd pfds[NS_MAX_FLOWS];
	unsigned int map[NS_MAX_FLOWS];
	int ret, n;

	while ((n = ns_poll_flows(rc, pfds, map)) > 0) {
		struct unified_io_cqe *cqe;

		for (int k = 0; k < n; k++) {
			struct unified_io_desc *d;

			if (!pfds[k].revents)
				continue;
			d = unio_get_sqe(rc->q);
			if (!d)
				break;
			unio_prep_recv(d, rc->flows[map[k]].fd, NS_OWNER, 0,
				       rc->bpf ? UNIFIED_IO_RECV_F_BPF : 0, map[k]);
		}
		rep->sc[NS_SC_IOCTL]++;
		ret = unio_submit(rc->q);
		if (ret < 0) {
			tool_err("SUBMIT: %s", strerror(-ret));
			return ret;
		}
		ret = 0;
		while ((cqe = unio_peek_cqe(rc->q))) {
			ret = ns_native_cqe(rc, nn, cqe);
			unio_cqe_seen(rc->q);
			if (ret)
				return ret;
		}
		/*
		 * The drive has the buffers before the NIC gets them back. RECVs
		 * the kernel left in the SQ (no CQ room for their chunks) go in
		 * with the store's writes, and their chunks come back held.
		 */
		while (rc->store) {
			ret = ns_store_flush_to(rc, ns_native_stored, nn);
			if (ret || !rc->nheld)
				break;
			for (unsigned int i = 0; i < rc->nheld && !ret; i++)
				ret = ns_native_cqe(rc, nn, &rc->held[i]);
			rc->nheld = 0;
		}
		if (ret)
			return ret;
		ns_native_refill(rc, nn);
		ns_recv_progress(rc, false);
	}
	return n;
}

/*
 * --ring io_uring: reap into rc->held, with no system call when @min is 0
 * (unio_reap() only looks, or runs the task work that holds completions:
 * io_uring_get_events()), else waiting at most @timeout_ns for @min. Counted
 * as one io_uring_enter per waiting call; the kernel's count is exact.
 */
static int ns_native_reap(struct ns_recv *rc, struct ns_native *nn, unsigned int min,
			  uint64_t timeout_ns)
{
	int ret, i;

	if (min)
		rc->rep->sc[NS_SC_IO_URING_ENTER]++;
	ret = unio_reap(rc->r, nn->reaped, nn->cap_reaped, min, timeout_ns);
	for (i = 0; i < ret; i++) {
		int err = ns_hold_cqe(rc, &nn->reaped[i]);

		if (err)
			return err;
	}
	return ret;
}

/*
 * Take every completion in order: first those the store's reaping took out
 * of the CQ (rc->held), then the CQ's own, at most a CQ's worth, so that
 * the buffers go back before the NIC runs dry. The number taken, or -errno.
 */
static int ns_native_drain(struct ns_recv *rc, struct ns_native *nn)
{
	unsigned int limit = rc->q->cq.ring_entries, i;
	struct unified_io_cqe *cqe;
	int n = 0, ret = 0;

	if (nn->uring) {
		ret = ns_native_reap(rc, nn, 0, 0);
		if (ret < 0)
			return ret;
		ret = 0;
	}
	for (i = 0; i < rc->nheld && !ret; i++)
		ret = ns_native_cqe(rc, nn, &rc->held[i]);
	n = rc->nheld;
	rc->nheld = 0;
	if (ret)
		return ret;
	while (n < (int)limit && (cqe = unio_peek_cqe(rc->q))) {
		ret = ns_native_cqe(rc, nn, cqe);
		unio_cqe_seen(rc->q);
		if (ret)
			return ret;
		n++;
	}
	return n;
}

/* Queue an armed RECV for each flow that needs one; false if the SQ is full. */
static bool ns_native_arm(struct ns_recv *rc, struct ns_native *nn)
{
	uint32_t flags = UNIFIED_IO_RECV_F_ARM | (rc->bpf ? UNIFIED_IO_RECV_F_BPF : 0);

	for (unsigned int i = 0; i < rc->nflows && nn->nrearm; i++) {
		struct unified_io_desc *d;

		if (nn->rearm[i] != NS_ARM_NOW)
			continue;
		if (rc->flows[i].eof) {
			nn->rearm[i] = NS_ARMED;
			nn->nrearm--;
			continue;
		}
		d = ns_native_desc(rc, nn);
		if (!d)
			return false;
		unio_prep_recv(d, rc->flows[i].fd, NS_OWNER, 0, flags, i);
		nn->rearm[i] = NS_ARMED;
		nn->nrearm--;
	}
	return true;
}

/*
 * How many completions to wait for: --wait-batch, but never more than are
 * sure to come. A flow's stream header announces its length, a chunk lies
 * in one buffer, and an armed flow ends with one final completion: at least
 * ceil(bytes left / buffer size) + 1 completions are still to come for a
 * flow that is armed, and 1 for one whose header is not in yet. So the end
 * of a transfer does not wait out --wait-usecs for a batch that cannot fill.
 */
static unsigned int ns_native_batch(struct ns_recv *rc, struct ns_native *nn)
{
	uint64_t sure = 0, bs = 1ULL << nn->buf_shift;
	unsigned int i;

	for (i = 0; i < rc->nflows && sure < rc->o->wait_batch; i++) {
		const struct ns_flow *f = &rc->flows[i];
		uint64_t end;

		if (f->eof || nn->rearm[i] != NS_ARMED)
			continue;
		end = f->hdr_ok ? f->hdr.bytes + NS_HDR_SIZE : 0;
		sure += 1 + (end > f->stream_off ? (end - f->stream_off + bs - 1) / bs : 0);
	}
	if (!sure)
		return 1;
	return sure < rc->o->wait_batch ? sure : rc->o->wait_batch;
}

/* Stream bytes received so far, every flow. */
static uint64_t ns_native_bytes(const struct ns_recv *rc)
{
	uint64_t b = 0;

	for (unsigned int i = 0; i < rc->nflows; i++)
		b += rc->flows[i].stream_off;
	return b;
}

/* A flow waits to be armed again after ENOBUFS (NS_ARM_AFTER_WAIT). */
static bool ns_native_stalled(const struct ns_native *nn, unsigned int nflows)
{
	for (unsigned int i = 0; nn->nrearm && i < nflows; i++)
		if (nn->rearm[i] == NS_ARM_AFTER_WAIT)
			return true;
	return false;
}

/*
 * Sleep until @min completions are ready or @ns passed: UNIFIED_IO_COMPLETE
 * on the module's ring; unio_reap() on io_uring, whose completions go to
 * rc->held. The number ready (0 when none came in time), or -errno.
 */
static int ns_native_wait(struct ns_recv *rc, struct ns_native *nn, unsigned int min,
			  uint64_t ns)
{
	int ret;

	if (nn->uring) {
		ret = ns_native_reap(rc, nn, min, ns);
		return ret == -ETIME ? 0 : ret;
	}
	rc->rep->sc[NS_SC_IOCTL]++;
	ret = unio_wait_cqes(rc->q, min, ns);
	return ret == -ETIME ? 0 : ret;
}

/*
 * --armed: every flow armed once; then completions straight from the CQ
 * and buffers back through the refill ring, both without a system call,
 * and UNIFIED_IO_COMPLETE only when the CQ is empty. System calls: the
 * SUBMITs that arm (at the start and after a stop), those of the FREEs with
 * --no-bind, and the COMPLETEs. With --ring io_uring the same loop runs on
 * libunifiedio's io_uring: arming and FREEs by unio_submit_descs(), the
 * completions (chunks, and --store's NVMe writes, on the same CQ) from
 * unio_reap(), which looks without a system call when asked for none and
 * sleeps in io_uring_enter otherwise; each of those calls is counted as one
 * io_uring_enter (the kernel's count has the exact figure).
 */
static int ns_native_armed_loop(struct ns_recv *rc, struct ns_native *nn)
{
	const struct ns_recv_opts *o = rc->o;
	uint64_t batch_ns = (uint64_t)o->wait_usecs * 1000;
	uint64_t idle_ns = (uint64_t)o->timeout_s * 1000000000ULL;
	uint64_t stall_since = 0, stall_bytes = 0;
	unsigned int i;
	bool stalled;
	int ret, n;

	for (i = 0; i < rc->nflows; i++)
		nn->rearm[i] = NS_ARM_NOW;
	nn->nrearm = rc->nflows;
	while (rc->active) {
		/* Arm what needs it; --no-bind's FREEs go with them. */
		ns_native_arm(rc, nn);
		if (ns_native_pending(rc, nn)) {
			ret = ns_native_submit(rc, nn);
			if (ret)
				return ret;
		}
		n = ns_native_drain(rc, nn);
		if (n < 0)
			return n;
		if (n) {
			/* The drive has the buffers before the NIC gets them back. */
			if (rc->store) {
				ret = ns_store_flush_to(rc, ns_native_stored, nn);
				if (ret)
					return ret;
			}
			ns_native_refill(rc, nn);
			ns_recv_progress(rc, false);
			continue;
		}
		if (!rc->active)
			break;
		/*
		 * The CQ is empty: a batch, or what came within --wait-usecs.
		 * A flow stopped for want of buffers is armed again after a
		 * short wait: when every flow stopped, nothing would end a long
		 * one but its timeout, and their senders would stall as long.
		 */
		stalled = ns_native_stalled(nn, rc->nflows);
		if (stalled) {
			uint64_t now = tool_now_ns(), b = ns_native_bytes(rc);

			/* No byte for --timeout while stopped: give up. */
			if (!stall_since || b != stall_bytes) {
				stall_since = now;
				stall_bytes = b;
			} else if (now - stall_since >= idle_ns) {
				tool_err("no buffer for %u s: armed RECVs stopped by ENOBUFS "
					 "(%u of %u flows still open)", o->timeout_s,
					 rc->active, rc->nflows);
				return -ENOBUFS;
			}
		}
		ret = ns_native_wait(rc, nn, ns_native_batch(rc, nn),
				     stalled && batch_ns > NS_REARM_WAIT_NS ?
				     NS_REARM_WAIT_NS : batch_ns);
		/* A flow out of buffers tries again after each short wait. */
		for (i = 0; i < rc->nflows; i++) {
			if (nn->rearm[i] == NS_ARM_AFTER_WAIT)
				nn->rearm[i] = NS_ARM_NOW;
		}
		if (ret > 0 || ret == -EINTR || unio_cq_ready(rc->q) || rc->nheld ||
		    (nn->nrearm && !ret))
			continue;
		if (ret) {
			tool_err("%s: %s", nn->uring ? "unio_reap" : "COMPLETE", strerror(-ret));
			return ret;
		}
		/* Idle: sleep until the next completion, at most --timeout. */
		ret = ns_native_wait(rc, nn, 1, idle_ns);
		if (!ret) {
			tool_err("no data for %u s (%u of %u flows still open)", o->timeout_s,
				 rc->active, rc->nflows);
			return -ETIMEDOUT;
		}
		if (ret < 0 && ret != -EINTR) {
			tool_err("%s: %s", nn->uring ? "unio_reap" : "COMPLETE", strerror(-ret));
			return ret;
		}
	}
	/* --no-bind: the last FREEs and their completions. */
	for (i = 0; !nn->rf && (nn->nret || ns_native_pending(rc, nn)); i++) {
		if (i == 100) {
			tool_err("FREE: %u buffers not taken back", nn->nret);
			return -EIO;
		}
		ns_native_refill(rc, nn);
		ret = ns_native_submit(rc, nn);
		n = ret ? ret : ns_native_drain(rc, nn);
		if (!n)
			n = ns_native_wait(rc, nn, 1, 100000000ULL);
		if (n < 0)
			return n;
	}
	return 0;
}

int ns_recv_native(struct ns_recv *rc)
{
	const struct ns_recv_opts *o = rc->o;
	struct ns_report *rep = rc->rep;
	struct ns_native nn = { .armed = o->armed, .uring = o->ring_uring };
	uint64_t verify_bufs[16];
	unsigned int nverify = 0, nbufs;
	uint32_t ps = 4096, nic_bufs;
	char msg[128];
	int ifindex, ret;

	ifindex = o->no_bind ? 0 : ns_ifindex(o, rep);
	if (ifindex < 0)
		return ifindex;
	ret = ns_region_create(rc, ps, o->data_size, o->cq_entries);
	if (ret)
		return ret;
	if (nn.uring && unio_region_ring(rc->r) != UNIO_RING_IO_URING) {
		tool_err("--ring io_uring: the region's operations are not on io_uring");
		return -EOPNOTSUPP;
	}
	nbufs = rc->q->data_size / ps;
	nn.buf_shift = __builtin_ctz(ps);
	nn.rf = unio_region_refill(rc->r);
	if (!nn.rf) {
		tool_err("the kernel returned no refill ring (no UNIFIED_IO_FEAT_NET_RECV)");
		return -EOPNOTSUPP;
	}
	if (o->no_bind)
		nn.rf = NULL;
	if (nn.armed) {
		struct unified_io_info info;

		ret = unio_region_get_info(rc->r, &info);
		if (ret)
			return ret;
		if (!(info.config.features & UNIFIED_IO_FEAT_RECV_ARM)) {
			tool_err("--armed: the module has no UNIFIED_IO_FEAT_RECV_ARM "
				 "(features %#x)", info.config.features);
			snprintf(rep->verify_msg, sizeof(rep->verify_msg),
				 "no UNIFIED_IO_FEAT_RECV_ARM");
			return -EOPNOTSUPP;
		}
	}
	nic_bufs = o->nic_bufs ? o->nic_bufs : nbufs / 4 * 3;
	nn.cap = 1024;
	nn.ret = calloc(nn.cap, sizeof(*nn.ret));
	if (nn.uring) {
		nn.cap_pend = rc->q->sq.ring_entries;
		nn.pend = calloc(nn.cap_pend, sizeof(*nn.pend));
		nn.cap_reaped = o->cq_entries;
		nn.reaped = calloc(nn.cap_reaped, sizeof(*nn.reaped));
	}
	if (!nn.ret || (nn.uring && (!nn.pend || !nn.reaped))) {
		ret = -ENOMEM;
		goto out;
	}
	if (o->bpf_stats) {
		ret = ns_bpf_open(rc);
		if (ret)
			goto out;
	}
	/*
	 * Before NET_BIND: a stream store takes buffers in a row for copies;
	 * the NIC gets 3/4 of what is left.
	 */
	if (o->store) {
		ret = ns_store_open(rc, ps);
		if (ret)
			goto out;
		if (!o->nic_bufs)
			nic_bufs = (nbufs - ns_store_bufs_taken(rc)) / 4 * 3;
	}
	ret = o->no_bind ? 0 : unio_net_bind(rc->r, ifindex, o->rxq, nic_bufs, msg,
					     sizeof(msg));
	if (ret) {
		tool_err("NET_BIND %s (ifindex %d) queue %u, %u buffers: %s%s%s; %s",
		       rep->ifname, ifindex, o->rxq, nic_bufs, strerror(-ret),
		       msg[0] ? ": " : "", msg,
		       tool_explain(UNIO_CALL_NET_BIND, ret, NULL));
		snprintf(rep->verify_msg, sizeof(rep->verify_msg), "NET_BIND: %s%s%s",
			 strerror(-ret), msg[0] ? ": " : "", msg);
		goto out;
	}
	if (o->no_bind)
		tool_info(o->quiet, "recv: region not bound (--no-bind): RECV copies every byte");
	else
		tool_info(o->quiet, "recv: region bound to %s queue %u: %u of %u buffers lent to the NIC",
			rep->ifname, o->rxq, nic_bufs, nbufs);
	/*
	 * The sockets' receive buffers together at most a quarter of the lent
	 * memory (NET_BIND in the uapi header): a segment that fills a gap
	 * must find a buffer while the others wait out of order.
	 */
	if (!o->no_bind)
		rc->rcvbuf_max = (uint64_t)nic_bufs * ps / 4 / o->nflows;
	ret = ns_recv_listen(rc);
	if (!ret)
		ret = ns_recv_accept_all(rc);
	if (ret)
		goto out;

	/* Completions the store's reaps meet are kept for the loop. */
	rc->hold_cqes = true;
	ret = nn.armed ? ns_native_armed_loop(rc, &nn) : ns_native_poll_loop(rc, &nn);
	ns_recv_stop_clock(rc);
	ns_native_refill(rc, &nn);
	/* Not bound: the FREEs of the last round. */
	if (!ret && !nn.rf && unio_sq_ready(rc->q)) {
		struct unified_io_cqe *cqe;

		ret = unio_submit(rc->q);
		ret = ret < 0 ? ret : 0;
		while ((cqe = unio_peek_cqe(rc->q))) {
			if (!ret)
				ret = ns_native_cqe(rc, &nn, cqe);
			unio_cqe_seen(rc->q);
		}
	}
	if (nn.nret)
		tool_info(o->quiet, "recv: %u refill entries did not fit the ring", nn.nret);
	if (!unio_net_get_info(rc->r, &rep->net)) {
		rep->have_net_info = true;
		rep->kcopy_source = "GET_INFO net.copy_bytes";
		rep->kcopy_chunks = rep->net.copy_chunks;
		rep->kcopy_bytes = rep->net.copy_bytes;
	}
	if (!ret && rc->store) {
		/* Read back into buffers of the region's own free list. */
		while (nverify < 16 && !unio_buf_alloc(rc->q, NS_OWNER, &verify_bufs[nverify]))
			nverify++;
		if (!nverify) {
			tool_err("--store: no free buffer to read back into");
			ret = -ENOBUFS;
		} else {
			ret = ns_store_verify(rc, verify_bufs, nverify);
		}
	}
out:
	if (rc->bpf)
		ns_bpf_read(rc);
	for (unsigned int i = 0; i < nverify; i++)
		unio_buf_free(rc->q, NS_OWNER, verify_bufs[i]);
	free(nn.ret);
	free(nn.pend);
	free(nn.reaped);
	return ret;
}
