// SPDX-License-Identifier: GPL-2.0-only
/*
 * regsend: the NVMe -> region -> (BPF) -> TCP send loop (regsend.h).
 *
 * One thread, one region. Every descriptor goes through the library's
 * unified path (unio_submit_descs(), unio_reap()): NVMe reads by
 * passthrough into the buffers, UNIFIED_IO_OP_BPF, UNIFIED_IO_OP_SEND.
 * A SEND completes inside the SUBMIT that consumed it; its notification
 * comes later, through the same CQ, when the stack lets go of the pages.
 *
 * Buffers: FREE -> READ (passthrough in flight) -> [BPF] -> READY, and back
 * to FREE once every chunk of the slot is sent and every notification of
 * those sends has come back. Connections: at most one SEND in flight each
 * (a partial SEND must be finished before anything after it is queued);
 * a connection whose socket was full waits for POLLOUT.
 *
 * user_data: kind (bits 60-63), buffer (bits 24-59), connection (0-23).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <unifiedio.h>

#include "regsend.h"
#include "tool.h"

enum { RS_READ = 1, RS_BPF = 2, RS_SEND = 3 };
#define RS_UD(kind, buf, conn) \
	((uint64_t)(kind) << 60 | (uint64_t)(buf) << 24 | (uint64_t)(conn))
#define RS_UD_KIND(ud)	((unsigned int)((ud) >> 60))
#define RS_UD_BUF(ud)	((size_t)(((ud) >> 24) & ((1ULL << 36) - 1)))
#define RS_UD_CONN(ud)	((unsigned int)((ud) & 0xffffff))
/* The module refuses a buffer's 255th send in flight (ETOOMANYREFS). */
#define RS_MAX_BUF_SENDS	200
#define RS_PROGRESS_NS		2000000000ULL
#define RS_NONE			SIZE_MAX

enum rs_buf_state { RB_FREE, RB_READ, RB_BPF, RB_READY };

struct rs_buf {
	enum rs_buf_state state;
	size_t slot;
	uint32_t chunks_left;	/* chunks of the slot not sent in full */
	uint32_t inflight;	/* SENDs whose notification has not come */
	uint32_t busy;		/* SEND descriptors not completed */
};

struct rs_conn {
	size_t cur;		/* chunk being sent, RS_NONE when done */
	uint32_t sent;		/* bytes of it queued */
	bool busy;		/* a SEND of it not completed */
	bool blocked;		/* waiting for POLLOUT */
	bool bpf;		/* that SEND has UNIFIED_IO_SEND_F_BPF */
	bool bpf_ran;		/* the chain ran over the chunk's buffer */
};

struct rs {
	const struct rs_plan *p;
	const struct rs_opts *o;
	struct rs_stats *st;
	char *msg;
	size_t msg_size;
	struct unio_queue *q;
	struct rs_buf *bufs;
	struct rs_conn *conns;
	size_t *next;		/* next chunk of the same connection */
	size_t *slot_first;	/* first chunk of each slot */
	uint32_t *slot_count;	/* its chunks */
	long *slot_buf;		/* buffer holding each slot, -1 */
	unsigned int *free;	/* free buffers, a stack */
	unsigned int nfree;
	size_t next_read;
	unsigned int reading;	/* buffers in READ or BPF */
	uint32_t inflight, busy;
	uint32_t budget;	/* most SENDs in flight or pending, all buffers */
	unsigned int conns_left;
	struct unified_io_desc *pend;
	unsigned int npend, cap_pend;
	uint64_t total_bytes;
};

static int __attribute__((format(printf, 3, 4)))
rs_fail(struct rs *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->msg, s->msg_size, fmt, ap);
	va_end(ap);
	return err;
}

int rs_plan_check(const struct rs_plan *p, unsigned int nconns, uint64_t nr_lbas,
		  uint32_t buf_size, char *msg, size_t msg_size)
{
	size_t i;

	if (!p->lba_size || buf_size % p->lba_size) {
		snprintf(msg, msg_size, "%u-byte buffers are not whole %u-byte blocks",
			 buf_size, p->lba_size);
		return -EINVAL;
	}
	for (i = 0; i < p->nslots; i++) {
		const struct rs_slot *sl = &p->slots[i];
		uint64_t bytes = (uint64_t)sl->nlb * p->lba_size;

		if (!sl->nlb || bytes > buf_size) {
			snprintf(msg, msg_size, "slot %zu: %u blocks, not 1 to %u", i,
				 sl->nlb, buf_size / p->lba_size);
			return -EINVAL;
		}
		if (sl->slba >= nr_lbas || sl->nlb > nr_lbas - sl->slba) {
			snprintf(msg, msg_size, "slot %zu: blocks %" PRIu64 "+%u past the "
				 "namespace's %" PRIu64, i, sl->slba, sl->nlb, nr_lbas);
			return -EINVAL;
		}
		if (sl->used > bytes) {
			snprintf(msg, msg_size, "slot %zu: %u bytes used of %" PRIu64, i,
				 sl->used, bytes);
			return -EINVAL;
		}
	}
	for (i = 0; i < p->nchunks; i++) {
		const struct rs_chunk *c = &p->chunks[i];

		if (c->conn >= nconns || c->slot >= p->nslots || !c->len ||
		    (i && c->slot < p->chunks[i - 1].slot) ||
		    (uint64_t)c->off + c->len > p->slots[c->slot].used) {
			snprintf(msg, msg_size, "chunk %zu (connection %u, slot %u, bytes "
				 "%u+%u) is not inside a slot, in slot order", i, c->conn,
				 c->slot, c->off, c->len);
			return -EINVAL;
		}
	}
	return 0;
}

uint32_t rs_cq_entries(unsigned int nbufs, unsigned int nconns)
{
	uint64_t want = 4 * ((uint64_t)nbufs + nconns) + 64;
	uint32_t cq = 256;

	while (cq < want && cq < 32768)
		cq *= 2;
	return cq;
}

static struct unified_io_desc *rs_desc(struct rs *s)
{
	struct unified_io_desc *d;

	if (s->npend == s->cap_pend)
		return NULL;
	d = &s->pend[s->npend++];
	memset(d, 0, sizeof(*d));
	return d;
}

static bool rs_slot_bpf_op(const struct rs *s, size_t slot)
{
	const struct rs_chunk *c = &s->p->chunks[s->slot_first[slot]];

	/* F_BPF covers [0, len) of the one chunk; anything else needs OP_BPF. */
	return s->o->bpf && !(s->slot_count[slot] == 1 && c->off == 0 &&
			       c->len == s->p->slots[slot].used);
}

/* Read ahead into free buffers, in slot order. */
static void rs_queue_reads(struct rs *s)
{
	while (s->nfree && s->next_read < s->p->nslots) {
		size_t slot = s->next_read;
		const struct rs_slot *sl = &s->p->slots[slot];
		struct unified_io_desc *d;
		unsigned int b;

		if (!s->slot_count[slot]) {
			s->next_read++;
			continue;
		}
		d = rs_desc(s);
		if (!d)
			return;
		b = s->free[--s->nfree];
		s->bufs[b] = (struct rs_buf){ .state = RB_READ, .slot = slot,
			.chunks_left = s->slot_count[slot] };
		s->slot_buf[slot] = b;
		unio_prep_nvme_read(d, s->o->bufs[b], sl->slba, sl->nlb, RS_UD(RS_READ, b, 0));
		s->reading++;
		s->next_read++;
	}
}

/* The next SEND of every connection whose chunk is in a buffer. */
static void rs_queue_sends(struct rs *s)
{
	for (unsigned int i = 0; i < s->o->nconns; i++) {
		struct rs_conn *c = &s->conns[i];
		const struct rs_chunk *ch;
		struct unified_io_desc *d;
		struct rs_buf *rb;
		long b;

		if (c->cur == RS_NONE || c->busy || c->blocked)
			continue;
		ch = &s->p->chunks[c->cur];
		b = s->slot_buf[ch->slot];
		if (b < 0 || s->bufs[b].state != RB_READY)
			continue;
		rb = &s->bufs[b];
		if (rb->inflight + rb->busy >= RS_MAX_BUF_SENDS ||
		    s->inflight + s->busy >= s->budget)
			continue;
		d = rs_desc(s);
		if (!d)
			return;
		/*
		 * F_BPF until the chain has run (UNIFIED_IO_CQE_F_BPF_RAN),
		 * even if that SEND queued nothing: never twice.
		 */
		c->bpf = s->o->bpf && !c->bpf_ran && !rs_slot_bpf_op(s, ch->slot);
		unio_prep_send(d, s->o->fds[i], s->o->owner, s->o->bufs[b] + ch->off + c->sent,
			       ch->len - c->sent, c->bpf ? UNIFIED_IO_SEND_F_BPF : 0,
			       RS_UD(RS_SEND, b, i));
		c->busy = true;
		rb->busy++;
		s->busy++;
		s->st->send_descs++;
	}
}

static int rs_submit(struct rs *s)
{
	int ret;

	if (!s->npend)
		return 0;
	s->st->submits++;
	ret = unio_submit_descs(s->o->r, s->pend, s->npend);
	if (ret == -EBUSY)
		return 0;	/* the CQ is full: reaping makes room */
	if (ret < 0)
		return rs_fail(s, ret, "submit: %s", strerror(-ret));
	memmove(s->pend, s->pend + ret, (s->npend - ret) * sizeof(*s->pend));
	s->npend -= ret;
	return ret;
}

static void rs_release(struct rs *s, size_t b)
{
	struct rs_buf *rb = &s->bufs[b];

	if (rb->state != RB_READY || rb->chunks_left || rb->inflight || rb->busy)
		return;
	s->slot_buf[rb->slot] = -1;
	rb->state = RB_FREE;
	s->free[s->nfree++] = b;
}

static int rs_chunk_done(struct rs *s, unsigned int conn, size_t b)
{
	struct rs_conn *c = &s->conns[conn];

	s->bufs[b].chunks_left--;
	c->cur = s->next[c->cur];
	c->sent = 0;
	c->bpf_ran = false;
	if (c->cur != RS_NONE)
		return 0;
	s->conns_left--;
	if (s->o->shutdown && shutdown(s->o->fds[conn], SHUT_WR))
		return rs_fail(s, -errno, "connection %u: shutdown: %s", conn, strerror(errno));
	return 0;
}

static int rs_complete(struct rs *s, const struct unified_io_cqe *cqe)
{
	unsigned int kind = RS_UD_KIND(cqe->user_data), conn = RS_UD_CONN(cqe->user_data);
	size_t b = RS_UD_BUF(cqe->user_data);
	struct rs_buf *rb;

	if (b >= s->o->nbufs || conn >= s->o->nconns || !kind)
		return rs_fail(s, -EPROTO, "a completion not of this loop (opcode %u, "
			       "user_data %#" PRIx64 ")", cqe->opcode, (uint64_t)cqe->user_data);
	rb = &s->bufs[b];
	switch (kind) {
	case RS_READ: {
		const struct rs_slot *sl = &s->p->slots[rb->slot];
		uint64_t want = (uint64_t)sl->nlb * s->p->lba_size;

		if (cqe->opcode != UNIFIED_IO_OP_NVME || rb->state != RB_READ)
			return rs_fail(s, -EPROTO, "unexpected NVMe completion");
		if (cqe->res < 0 || (uint64_t)cqe->res != want)
			return rs_fail(s, cqe->res < 0 ? cqe->res : -EIO,
				       "NVMe read of blocks %" PRIu64 "+%u: %s%s%s", sl->slba,
				       sl->nlb, cqe->res < 0 ? strerror(-cqe->res) : "short",
				       cqe->res == -EIO ? ": " : "",
				       cqe->res == -EIO ? unio_nvme_status_str(cqe->flags) : "");
		s->st->nvme_reads++;
		s->st->nvme_bytes += want;
		if (rs_slot_bpf_op(s, rb->slot)) {
			struct unified_io_desc *d = rs_desc(s);

			if (!d)
				return rs_fail(s, -EOVERFLOW, "descriptor queue full");
			unio_prep_bpf(d, s->o->owner, s->o->bufs[b], sl->used,
				      RS_UD(RS_BPF, b, 0));
			rb->state = RB_BPF;
			s->st->bpf_ops++;
			return 0;
		}
		rb->state = RB_READY;
		s->reading--;
		return 0;
	}
	case RS_BPF: {
		uint32_t used = s->p->slots[rb->slot].used;

		if (cqe->opcode != UNIFIED_IO_OP_BPF || rb->state != RB_BPF)
			return rs_fail(s, -EPROTO, "unexpected BPF completion");
		if (cqe->res < 0)
			return rs_fail(s, cqe->res, "UNIFIED_IO_OP_BPF over slot %zu: %s",
				       rb->slot, strerror(-cqe->res));
		if (unio_cqe_bpf_dropped(cqe, NULL) || (uint32_t)cqe->res != used)
			return rs_fail(s, -EMSGSIZE, "the BPF chain %s slot %zu (%d of %u "
				       "bytes): the sender needs a chain that keeps the length",
				       unio_cqe_bpf_dropped(cqe, NULL) ? "dropped" : "resized",
				       rb->slot, cqe->res, used);
		rb->state = RB_READY;
		s->reading--;
		return 0;
	}
	case RS_SEND:
		break;
	default:
		return rs_fail(s, -EPROTO, "a completion of unknown kind %u", kind);
	}

	if (cqe->opcode != UNIFIED_IO_OP_SEND)
		return rs_fail(s, -EPROTO, "SEND's user_data on opcode %u", cqe->opcode);
	if (unio_cqe_is_notif(cqe)) {
		/* The uapi orders it after its SEND's completion, always. */
		if (cqe->res <= 0 || !rb->inflight || !s->inflight)
			return rs_fail(s, -EPROTO, "a notification of %d bytes with %u sends "
				       "of buffer %zu in flight", cqe->res, rb->inflight, b);
		rb->inflight--;
		s->inflight--;
		s->st->notifs++;
		if (cqe->flags & UNIFIED_IO_CQE_F_COPIED) {
			s->st->notifs_copied++;
			s->st->notif_copied_bytes += cqe->res;
		}
		rs_release(s, b);
		return 0;
	}

	/* The SEND's own completion. */
	{
		struct rs_conn *c = &s->conns[conn];
		const struct rs_chunk *ch;
		int ret;

		if (!c->busy || !rb->busy || c->cur == RS_NONE)
			return rs_fail(s, -EPROTO, "a SEND completion for connection %u, "
				       "which has none in flight", conn);
		c->busy = false;
		rb->busy--;
		s->busy--;
		ch = &s->p->chunks[c->cur];
		if (cqe->flags & UNIFIED_IO_CQE_F_BPF_RAN) {
			if (!c->bpf)
				return rs_fail(s, -EPROTO, "connection %u: F_BPF_RAN on a "
					       "SEND without F_BPF", conn);
			c->bpf_ran = true;
			s->st->bpf_sends++;
		}
		if (cqe->res < 0) {
			if (cqe->res != -EAGAIN)
				return rs_fail(s, cqe->res, "connection %u: SEND: %s", conn,
					       strerror(-cqe->res));
			s->st->eagain++;
			c->blocked = true;
			return 0;
		}
		if (cqe->flags & UNIFIED_IO_CQE_F_BPF_DROP)
			return rs_fail(s, -EMSGSIZE, "connection %u: the BPF chain dropped "
				       "slot %u: the sender needs a chain that keeps every byte",
				       conn, ch->slot);
		if ((uint32_t)cqe->res > ch->len - c->sent)
			return rs_fail(s, -EPROTO, "connection %u: SEND queued %d of %u bytes",
				       conn, cqe->res, ch->len - c->sent);
		if (cqe->flags & UNIFIED_IO_CQE_F_MORE) {
			rb->inflight++;
			s->inflight++;
			if (s->inflight > s->st->max_inflight)
				s->st->max_inflight = s->inflight;
			s->st->sends++;
		} else if (cqe->res) {
			return rs_fail(s, -EPROTO, "connection %u: SEND queued %d bytes with "
				       "no notification to follow", conn, cqe->res);
		}
		s->st->bytes += cqe->res;
		c->sent += cqe->res;
		if (c->sent < ch->len) {
			/* The socket's buffer filled: the rest after POLLOUT. */
			if (cqe->res)
				s->st->partial++;
			else
				s->st->eagain++;
			c->blocked = true;
			return 0;
		}
		ret = rs_chunk_done(s, conn, b);
		if (ret)
			return ret;
		rs_release(s, b);
		return 0;
	}
}

/* Wait for a socket to take bytes, a completion, or a notification. */
static int rs_wait(struct rs *s, struct pollfd *pfds)
{
	unsigned int n = 0, i;
	int ret;

	for (i = 0; i < s->o->nconns; i++)
		if (s->conns[i].blocked)
			pfds[n++] = (struct pollfd){ .fd = s->o->fds[i], .events = POLLOUT };
	if (!n) {
		struct unified_io_cqe cqes[64];

		s->st->reaps++;
		ret = unio_reap(s->o->r, cqes, 64, 1, 100000000ULL);
		if (ret == -ETIME || ret == -EINTR)
			return 0;
		if (ret < 0)
			return rs_fail(s, ret, "reap: %s", strerror(-ret));
		for (int k = 0; k < ret; k++) {
			int err = rs_complete(s, &cqes[k]);

			if (err)
				return err;
		}
		return ret;
	}
	pfds[n++] = (struct pollfd){ .fd = unio_region_fd(s->o->r), .events = POLLIN };
	s->st->polls++;
	/* NVMe completions wake no poll() here: look again soon while reads run. */
	ret = poll(pfds, n, s->reading ? 1 : 100);
	if (ret < 0) {
		if (errno == EINTR)
			return 0;
		return rs_fail(s, -errno, "poll: %s", strerror(errno));
	}
	for (i = 0, n = 0; i < s->o->nconns; i++) {
		if (!s->conns[i].blocked)
			continue;
		if (pfds[n].revents & (POLLOUT | POLLERR | POLLHUP)) {
			s->conns[i].blocked = false;
			ret++;
		}
		n++;
	}
	return ret;
}

int rs_run(const struct rs_plan *p, const struct rs_opts *o, struct rs_stats *st,
	   char *msg, size_t msg_size)
{
	struct rs s = { .p = p, .o = o, .st = st, .msg = msg, .msg_size = msg_size };
	struct pollfd *pfds = NULL;
	uint64_t t0 = tool_now_ns(), last_progress, last_print;
	size_t *last = NULL, i;
	int ret = -ENOMEM;

	memset(st, 0, sizeof(*st));
	msg[0] = '\0';
	if (!o->nbufs || !o->nconns || o->nconns > (1U << 24))
		return rs_fail(&s, -EINVAL, "no buffers or no connections");
	s.q = unio_region_queue(o->r);
	s.bufs = calloc(o->nbufs, sizeof(*s.bufs));
	s.free = calloc(o->nbufs, sizeof(*s.free));
	s.conns = calloc(o->nconns, sizeof(*s.conns));
	s.next = calloc(p->nchunks ? p->nchunks : 1, sizeof(*s.next));
	s.slot_first = calloc(p->nslots ? p->nslots : 1, sizeof(*s.slot_first));
	s.slot_count = calloc(p->nslots ? p->nslots : 1, sizeof(*s.slot_count));
	s.slot_buf = calloc(p->nslots ? p->nslots : 1, sizeof(*s.slot_buf));
	last = calloc(o->nconns, sizeof(*last));
	pfds = calloc(o->nconns + 1, sizeof(*pfds));
	s.cap_pend = o->nbufs + o->nconns + 1;
	s.pend = calloc(s.cap_pend, sizeof(*s.pend));
	if (!s.bufs || !s.free || !s.conns || !s.next || !s.slot_first || !s.slot_count ||
	    !s.slot_buf || !last || !pfds || !s.pend) {
		rs_fail(&s, -ENOMEM, "out of memory");
		goto out;
	}
	/* Each SEND in flight keeps a CQ slot for its notification. */
	s.budget = s.q->cq.ring_entries / 2;
	if (s.budget > s.cap_pend + 2)
		s.budget -= s.cap_pend + 2;
	else
		s.budget = 1;
	for (i = 0; i < o->nbufs; i++)
		s.free[s.nfree++] = o->nbufs - 1 - i;
	for (i = 0; i < p->nslots; i++)
		s.slot_buf[i] = -1;
	for (i = 0; i < o->nconns; i++) {
		s.conns[i].cur = RS_NONE;
		last[i] = RS_NONE;
	}
	for (i = 0; i < p->nchunks; i++) {
		const struct rs_chunk *c = &p->chunks[i];

		if (!s.slot_count[c->slot]++)
			s.slot_first[c->slot] = i;
		s.next[i] = RS_NONE;
		if (last[c->conn] == RS_NONE)
			s.conns[c->conn].cur = i;
		else
			s.next[last[c->conn]] = i;
		last[c->conn] = i;
		s.total_bytes += c->len;
	}
	for (i = 0; i < o->nconns; i++) {
		if (s.conns[i].cur != RS_NONE) {
			s.conns_left++;
		} else if (o->shutdown && shutdown(o->fds[i], SHUT_WR)) {
			ret = rs_fail(&s, -errno, "connection %zu: shutdown: %s", i,
				      strerror(errno));
			goto out;
		}
	}

	t0 = last_progress = last_print = tool_now_ns();
	while (s.conns_left || s.inflight || s.busy || s.reading) {
		struct unified_io_cqe cqes[64];
		uint64_t now;
		int moved = 0, n;

		rs_queue_reads(&s);
		rs_queue_sends(&s);
		ret = rs_submit(&s);
		if (ret < 0)
			goto out;
		moved += ret;
		n = unio_reap(o->r, cqes, 64, 0, 0);
		if (n < 0) {
			ret = rs_fail(&s, n, "reap: %s", strerror(-n));
			goto out;
		}
		for (int k = 0; k < n; k++) {
			ret = rs_complete(&s, &cqes[k]);
			if (ret)
				goto out;
		}
		moved += n;
		if (!moved) {
			/* Nothing moved: wait for a socket, a completion or a notification. */
			ret = rs_wait(&s, pfds);
			if (ret < 0)
				goto out;
			moved += ret;
		}
		now = tool_now_ns();
		if (moved)
			last_progress = now;
		else if (now - last_progress > (uint64_t)o->timeout_s * 1000000000ULL) {
			ret = rs_fail(&s, -ETIMEDOUT, "no progress for %u s (%u connections "
				      "sending, %u notifications outstanding, %u reads)",
				      o->timeout_s, s.conns_left, s.inflight, s.reading);
			goto out;
		}
		if (!o->quiet && now - last_print >= RS_PROGRESS_NS) {
			fprintf(stderr, "%s: %.1f / %.1f MiB sent, %" PRIu64
				" notifications, %u in flight\n", o->name ? o->name : "send",
				st->bytes / 1048576.0, s.total_bytes / 1048576.0, st->notifs,
				s.inflight);
			last_print = now;
		}
	}
	st->ns = tool_now_ns() - t0;
	ret = 0;
	if (st->bytes != s.total_bytes)
		ret = rs_fail(&s, -EIO, "%" PRIu64 " of %" PRIu64 " bytes sent", st->bytes,
			      s.total_bytes);
out:
	if (!st->ns)
		st->ns = tool_now_ns() - t0;
	free(s.bufs);
	free(s.free);
	free(s.conns);
	free(s.next);
	free(s.slot_first);
	free(s.slot_count);
	free(s.slot_buf);
	free(s.pend);
	free(last);
	free(pfds);
	return ret;
}
