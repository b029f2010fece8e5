// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/*
 * The unified path: unio_submit_descs() takes descriptors of every type and
 * unio_reap() returns completions of every type, as struct unified_io_cqe.
 *
 * Module opcodes go to the region's SQ and come back through its CQ.
 * UNIFIED_IO_OP_NVME descriptors become commands (struct unio_nvme_cmd, one
 * slot each, from a table as large as the region's CQ). A command is queued
 * on its namespace's backlog, issued as one or more passthrough pieces of at
 * most max_transfer bytes as the namespace's queue depth and the io_uring SQ
 * allow, and finished when its last piece completes; finished commands wait
 * in a FIFO until unio_reap() turns them into unified completions and frees
 * their slots. Both calls move the backlog along, so a batch larger than the
 * queue depth needs nothing more than reaping. An NVMe READ into a buffer
 * with sends in flight (UNIFIED_IO_BUF_SENDING in the buffer table) is not
 * issued: it goes to the done FIFO with -EBUSY.
 *
 * Armed RECVs (since 1.7) post completions with no SUBMIT: their user_data
 * is kept in r->armed from submission until their final completion is taken
 * from the CQ, so that unio_submit_and_wait() can run beside them. It moves
 * completions that are not its own to r->held, which unio_reap() returns
 * first.
 *
 * Not locked: one thread uses a region's unified path at a time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <linux/nvme_ioctl.h>

#include "internal.h"

static void unio_fifo_push(struct unio_nvme_cmd *cmds, uint32_t *head,
			   uint32_t *tail, uint32_t idx)
{
	cmds[idx].next = UNIO_NVME_NIL;
	if (*tail == UNIO_NVME_NIL)
		*head = idx;
	else
		cmds[*tail].next = idx;
	*tail = idx;
}

static uint32_t unio_fifo_pop(struct unio_nvme_cmd *cmds, uint32_t *head,
			      uint32_t *tail)
{
	uint32_t idx = *head;

	if (idx == UNIO_NVME_NIL)
		return idx;
	*head = cmds[idx].next;
	if (*head == UNIO_NVME_NIL)
		*tail = UNIO_NVME_NIL;
	return idx;
}

/* Room in r->held for @more completions besides those it holds. */
static int unio_held_reserve(struct unio_region *r, uint32_t more)
{
	struct unio_cqe_fifo *f = &r->held;
	uint32_t cap = f->cap ? f->cap : 16, need = f->count + more, i;
	struct unified_io_cqe *v;

	if (need < f->count)
		return -ENOMEM;
	if (need <= f->cap)
		return 0;
	while (cap < need) {
		if (cap > UINT32_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	v = malloc((size_t)cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < f->count; i++)
		v[i] = f->v[(f->head + i) & (f->cap - 1)];
	free(f->v);
	f->v = v;
	f->head = 0;
	f->cap = cap;
	return 0;
}

static struct unified_io_cqe *unio_held_at(struct unio_region *r, uint32_t i)
{
	return &r->held.v[(r->held.head + i) & (r->held.cap - 1)];
}

/* Append @cqe; the caller reserved room. */
static void unio_held_push(struct unio_region *r,
			   const struct unified_io_cqe *cqe)
{
	*unio_held_at(r, r->held.count) = *cqe;
	r->held.count++;
}

/* Remove the @i-th oldest, keeping the order of the others. */
static void unio_held_remove(struct unio_region *r, uint32_t i)
{
	for (; i + 1 < r->held.count; i++)
		*unio_held_at(r, i) = *unio_held_at(r, i + 1);
	r->held.count--;
}

static struct unified_io_cqe unio_held_pop(struct unio_region *r)
{
	struct unified_io_cqe c = *unio_held_at(r, 0);

	r->held.head = (r->held.head + 1) & (r->held.cap - 1);
	r->held.count--;
	return c;
}

static bool unio_armed_find(const struct unio_region *r, uint64_t user_data,
			    uint32_t *idx)
{
	for (uint32_t i = 0; i < r->nr_armed; i++)
		if (r->armed[i] == user_data) {
			if (idx)
				*idx = i;
			return true;
		}
	return false;
}

static int unio_armed_reserve(struct unio_region *r, uint32_t more)
{
	uint32_t cap = r->armed_cap ? r->armed_cap : 8;
	uint64_t *v;

	if (r->nr_armed + more < r->nr_armed)
		return -ENOMEM;
	if (r->nr_armed + more <= r->armed_cap)
		return 0;
	while (cap < r->nr_armed + more) {
		if (cap > UINT32_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	v = realloc(r->armed, (size_t)cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->armed = v;
	r->armed_cap = cap;
	return 0;
}

/* Add one armed RECV; the caller reserved room. */
static void unio_armed_add(struct unio_region *r, uint64_t user_data)
{
	r->armed[r->nr_armed++] = user_data;
}

static void unio_armed_del(struct unio_region *r, uint64_t user_data)
{
	uint32_t i;

	if (unio_armed_find(r, user_data, &i))
		r->armed[i] = r->armed[--r->nr_armed];
}

static bool unio_desc_is_armed(const struct unified_io_desc *d)
{
	return d->opcode == UNIFIED_IO_OP_RECV &&
	       (d->net.flags & UNIFIED_IO_RECV_F_ARM);
}

/* A completion of an armed RECV submitted on the unified path. */
static bool unio_cqe_of_armed(const struct unio_region *r,
			      const struct unified_io_cqe *cqe)
{
	return cqe->opcode == UNIFIED_IO_OP_RECV &&
	       unio_armed_find(r, cqe->user_data, NULL);
}

/* Every completion taken from a ring passes here. */
static void unio_track(struct unio_region *r, const struct unified_io_cqe *cqe)
{
	if (cqe->opcode == UNIFIED_IO_OP_RECV &&
	    !(cqe->flags & UNIFIED_IO_CQE_F_MORE))
		unio_armed_del(r, cqe->user_data);
}

void unio_held_push_track(struct unio_region *r,
			  const struct unified_io_cqe *cqe)
{
	unio_held_push(r, cqe);
	unio_track(r, cqe);
}

void unio_unified_fini(struct unio_region *r)
{
	free(r->held.v);
	free(r->armed);
	r->held.v = NULL;
	r->armed = NULL;
	r->held.count = r->held.cap = r->nr_armed = r->armed_cap = 0;
}

/* The namespace a descriptor names: its nsid, or 0 for the only one. */
struct unio_nvme *unio_nvme_lookup(struct unio_nvme_ring *nr, uint32_t nsid)
{
	struct unio_nvme *found = NULL;

	if (!nr)
		return NULL;
	for (unsigned int i = 0; i < UNIO_NVME_MAX_NS; i++) {
		struct unio_nvme *ns = nr->ns[i];

		if (!ns)
			continue;
		if (nsid && ns->nsid == nsid)
			return ns;
		if (!nsid) {
			if (found)
				return NULL;	/* 0 is ambiguous */
			found = ns;
		}
	}
	return found;
}

/* Every check unio_submit_descs() makes before it submits anything. */
static int unio_nvme_validate(struct unio_region *r,
			      const struct unified_io_desc *d,
			      struct unio_nvme **nsp, uint32_t *bytes)
{
	struct unio_nvme *ns;
	uint64_t want;

	if (d->flags || d->owner || d->nvme.resv[0] || d->nvme.resv[1] ||
	    d->nvme.resv[2] || d->nvme.resv2[0] || d->nvme.resv2[1])
		return -EINVAL;
	ns = unio_nvme_lookup(r->nvme, d->nvme.nsid);
	if (!ns)
		return -EINVAL;

	switch (d->nvme.opcode) {
	case UNIFIED_IO_NVME_FLUSH:
		if (d->addr || d->len || d->nvme.slba || d->nvme.nlb ||
		    d->nvme.cdw12_flags)
			return -EINVAL;
		*bytes = 0;
		break;
	case UNIFIED_IO_NVME_WRITE_ZEROES:
		if (d->addr || d->len || !d->nvme.nlb ||
		    d->nvme.cdw12_flags & 0xffff)
			return -EINVAL;
		if (d->nvme.slba + d->nvme.nlb < d->nvme.slba)
			return -EINVAL;
		*bytes = 0;
		break;
	case UNIFIED_IO_NVME_READ:
	case UNIFIED_IO_NVME_WRITE:
		if (!d->nvme.nlb || d->nvme.cdw12_flags & 0xffff)
			return -EINVAL;
		if (d->nvme.slba + d->nvme.nlb < d->nvme.slba)
			return -EINVAL;
		want = (uint64_t)d->nvme.nlb << ns->lba_shift;
		if (want > UINT32_MAX || (d->len && d->len != want))
			return -EINVAL;
		if (d->addr % 4 || d->len % 4)
			return -EINVAL;
		if (d->addr > r->q.data_size || want > r->q.data_size - d->addr)
			return -EINVAL;
		*bytes = want;
		break;
	default:
		return -EINVAL;
	}
	*nsp = ns;
	return 0;
}

static void unio_nvme_prep_piece(struct unio_nvme_cmd *c, uint32_t idx,
				 struct io_uring_sqe *sqe)
{
	struct unio_nvme *ns = c->ns;
	const struct unio_nvme_vec *v = c->vec;
	struct nvme_uring_cmd *cmd;
	uint64_t first = v ? v->lba[c->issued] : (uint64_t)c->issued * c->piece_lbas;
	uint32_t nlb = v ? v->lba[c->issued + 1] - first :
		c->nlb - first < c->piece_lbas ? c->nlb - first : c->piece_lbas;
	uint64_t slba = c->slba + first;

	memset(sqe, 0, 128);	/* SQE128: the command lives in the second half */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->cmd_op = v ? NVME_URING_CMD_IO_VEC : NVME_URING_CMD_IO;
	sqe->user_data = (uint64_t)idx << 32 | c->issued;
	if (ns->file_index >= 0) {
		sqe->fd = ns->file_index;
		sqe->flags = IOSQE_FIXED_FILE;
	} else {
		sqe->fd = ns->fd;
	}
	cmd = (struct nvme_uring_cmd *)sqe->cmd;
	cmd->opcode = c->opcode;
	cmd->nsid = ns->nsid;
	if (v) {
		/*
		 * The kernel reads the iovecs when it issues the piece, and
		 * again if io-wq issues it after -EAGAIN: they stay until the
		 * command is reaped.
		 */
		cmd->addr = (uintptr_t)&v->iov[v->first[c->issued]];
		cmd->data_len = v->first[c->issued + 1] - v->first[c->issued];
	} else if (c->opcode == UNIFIED_IO_NVME_READ ||
		   c->opcode == UNIFIED_IO_NVME_WRITE) {
		cmd->addr = (uintptr_t)unio_data_ptr(&ns->r->q,
						     c->addr + (first << ns->lba_shift));
		cmd->data_len = nlb << ns->lba_shift;
	}
	if (c->opcode == UNIFIED_IO_NVME_READ || c->opcode == UNIFIED_IO_NVME_WRITE) {
		if (!(ns->flags & UNIO_NVME_F_NO_FIXED)) {
			sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
			sqe->buf_index = 0;
		}
	}
	if (c->opcode != UNIFIED_IO_NVME_FLUSH) {
		cmd->cdw10 = (uint32_t)slba;
		cmd->cdw11 = (uint32_t)(slba >> 32);
		cmd->cdw12 = (nlb - 1) | c->cdw12_flags;
	}
}

/*
 * True when [@off, @off + @len) of the data area overlaps a buffer with
 * sends in flight, as the kernel's buffer table says. The kernel writes the
 * table before SUBMIT returns and before it posts a notification, so a SEND
 * this process submitted shows here, and a buffer shows SENDING until its
 * last notification is in the CQ.
 */
static bool unio_range_sending(const struct unio_region *r, uint64_t off,
			       uint64_t len)
{
	const struct unified_io_region_layout *l = &r->layout;
	const struct unified_io_buf_entry *bt;
	uint64_t i, last;

	if (!len)
		return false;
	bt = (const struct unified_io_buf_entry *)((const char *)r->map +
						    l->desc_off + l->buf_table);
	last = (off + len - 1) / l->buf_size;
	for (i = off / l->buf_size; i <= last && i < l->nr_bufs; i++)
		if (__atomic_load_n(&bt[i].state, __ATOMIC_RELAXED) ==
		    UNIFIED_IO_BUF_SENDING)
			return true;
	return false;
}

/*
 * A READ must not write into a buffer the stack may still read (and
 * retransmit) from: true when the next piece of @c would.
 */
static bool unio_nvme_piece_sending(const struct unio_nvme_cmd *c)
{
	const struct unio_nvme *ns = c->ns;
	uint64_t first = (uint64_t)c->issued * c->piece_lbas;
	uint64_t nlb = c->nlb - first < c->piece_lbas ? c->nlb - first : c->piece_lbas;

	if (c->opcode != UNIFIED_IO_NVME_READ)
		return false;
	return unio_range_sending(ns->r, c->addr + (first << ns->lba_shift),
				  nlb << ns->lba_shift);
}

/*
 * Stop issuing @c, the head of its namespace's backlog, with -EBUSY: it
 * completes once the pieces already issued (none, for a READ refused before
 * its first) have, with the error of the lowest failing piece.
 */
static void unio_nvme_refuse(struct unio_nvme_ring *nr, struct unio_nvme *ns,
			     struct unio_nvme_cmd *c, uint32_t idx)
{
	unio_fifo_pop(nr->cmds, &ns->bl_head, &ns->bl_tail);
	if (!c->err || c->issued < c->err_piece) {
		c->err = -EBUSY;
		c->err_piece = c->issued;
		c->status = 0;
	}
	c->nr_pieces = c->issued;
	if (c->done == c->nr_pieces)
		unio_fifo_push(nr->cmds, &nr->done_head, &nr->done_tail, idx);
}

/*
 * Put backlogged pieces in SQEs while queue depths and SQEs allow; the SQ
 * goes to the kernel here only when it is full. unio_reap() leaves the rest
 * for the io_uring_enter() of its wait, which submits and waits in one call.
 */
static void unio_nvme_issue(struct unio_nvme_ring *nr)
{
	bool more = true;

	if (!nr)
		return;
	/* Round robin over namespaces, one piece each per pass. */
	while (more && nr->inflight < UNIO_NVME_MAX_QD) {
		more = false;
		for (unsigned int i = 0; i < UNIO_NVME_MAX_NS; i++) {
			struct unio_nvme *ns = nr->ns[i];
			struct io_uring_sqe *sqe;
			struct unio_nvme_cmd *c;
			uint32_t idx;

			if (!ns || ns->bl_head == UNIO_NVME_NIL ||
			    ns->inflight >= ns->queue_depth ||
			    nr->inflight >= UNIO_NVME_MAX_QD)
				continue;
			idx = ns->bl_head;
			c = &nr->cmds[idx];
			if (unio_nvme_piece_sending(c)) {
				unio_nvme_refuse(nr, ns, c, idx);
				more = true;
				continue;
			}
			sqe = io_uring_get_sqe(&nr->ring);
			if (!sqe) {
				io_uring_submit(&nr->ring);
				sqe = io_uring_get_sqe(&nr->ring);
				if (!sqe)
					return;
			}
			unio_nvme_prep_piece(c, idx, sqe);
			c->issued++;
			ns->inflight++;
			nr->inflight++;
			if (c->issued == c->nr_pieces)
				unio_fifo_pop(nr->cmds, &ns->bl_head, &ns->bl_tail);
			more = true;
		}
	}
}

/*
 * Hand the kernel what the SQ holds. It takes only part when it cannot
 * allocate a request: try again a few times, as unio_submit_chain() does.
 */
static void unio_nvme_flush(struct unio_nvme_ring *nr)
{
	for (int i = 0; nr && i < 4 && io_uring_sq_ready(&nr->ring); i++)
		if (io_uring_submit(&nr->ring) <= 0)
			break;
}

/* Issue backlogged pieces while queue depths and SQEs allow, then submit. */
void unio_nvme_pump(struct unio_nvme_ring *nr)
{
	unio_nvme_issue(nr);
	unio_nvme_flush(nr);
}

/* Account the io_uring completions; finished commands go to the done FIFO. */
int unio_nvme_process_cqes(struct unio_nvme_ring *nr)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;

	nr->nomem = false;
	/* Completions waiting in task work (COOP_TASKRUN) come out first. */
	if (IO_URING_READ_ONCE(*nr->ring.sq.kflags) & IORING_SQ_TASKRUN)
		io_uring_get_events(&nr->ring);
	io_uring_for_each_cqe(&nr->ring, head, cqe) {
		uint64_t ud = cqe->user_data;
		uint32_t idx = ud >> 32, piece = (uint32_t)ud;
		struct unio_nvme_cmd *c;
		struct unio_nvme *ns;
		int err = 0;

		if (ud == UNIO_NVME_POLL_TAG) {
			seen++;
			nr->poll_armed = false;
			continue;
		}
		if (ud & UNIO_UOP_TAG) {
			/* No room for its completions: leave it for later. */
			if (unio_held_reserve(nr->r, UNIO_UOP_MAX_EXPAND)) {
				nr->nomem = true;
				break;
			}
			seen++;
			unio_uop_complete(nr->r, cqe);
			continue;
		}
		seen++;
		if (idx >= nr->nr_cmds)
			continue;
		c = &nr->cmds[idx];
		ns = c->ns;
		ns->inflight--;
		nr->inflight--;
		c->done++;
		if (cqe->res < 0)
			err = cqe->res;
		else if (cqe->res > 0)
			err = -EIO;	/* the NVMe status field */
		if (err && (!c->err || piece < c->err_piece)) {
			c->err = err;
			c->err_piece = piece;
			c->status = cqe->res > 0 ? cqe->res & 0x7fff : 0;
		}
		/* After a failure, pieces not yet issued never will be. */
		if (err && c->issued < c->nr_pieces) {
			unio_fifo_pop(nr->cmds, &ns->bl_head, &ns->bl_tail);
			c->nr_pieces = c->issued;
		}
		if (c->done == c->nr_pieces) {
			if (c->stream)
				unio_nvme_stream_done(nr, idx);
			else
				unio_fifo_push(nr->cmds, &nr->done_head, &nr->done_tail, idx);
		}
	}
	io_uring_cq_advance(&nr->ring, seen);
	return seen;
}

/*
 * Take a command slot for @d; it goes on its namespace's backlog, or with
 * !@backlog is left to the caller to issue (a chain). Returns the slot.
 */
static int unio_nvme_accept(struct unio_nvme_ring *nr, struct unio_nvme *ns,
			    const struct unified_io_desc *d, uint32_t bytes,
			    bool backlog)
{
	struct unio_nvme_cmd *c;
	uint32_t idx, per;

	idx = nr->free_head;
	if (idx == UNIO_NVME_NIL)
		return -EBUSY;
	c = &nr->cmds[idx];
	nr->free_head = c->next;
	memset(c, 0, sizeof(*c));
	c->ns = ns;
	c->user_data = d->user_data;
	c->addr = d->addr;
	c->slba = d->nvme.slba;
	c->nlb = d->nvme.nlb;
	c->cdw12_flags = d->nvme.cdw12_flags;
	c->opcode = d->nvme.opcode;
	c->bytes = bytes;
	switch (c->opcode) {
	case UNIFIED_IO_NVME_FLUSH:
		per = 1;
		c->nr_pieces = 1;
		break;
	case UNIFIED_IO_NVME_WRITE_ZEROES:
		per = ns->max_wz_lbas;
		break;
	default:
		per = ns->max_io_lbas;
		break;
	}
	c->piece_lbas = per;
	if (!c->nr_pieces)
		c->nr_pieces = c->nlb / per + !!(c->nlb % per);
	nr->unreaped++;
	if (backlog)
		unio_fifo_push(nr->cmds, &ns->bl_head, &ns->bl_tail, idx);
	return idx;
}

UNIO_API int unio_submit_descs(struct unio_region *r,
			       const struct unified_io_desc *descs,
			       unsigned int nr)
{
	struct unio_queue *q;
	unsigned int i, accepted = 0, module = 0, armed = 0;
	int ret = 0;

	if (!r || !r->map || (!descs && nr))
		return -EINVAL;
	if (!nr)
		return 0;
	if (nr > INT32_MAX)
		nr = INT32_MAX;
	q = &r->q;

	/*
	 * Nothing is queued unless every NVMe descriptor is valid and no RECV
	 * reuses the user_data of an armed one (its completions could not be
	 * told apart).
	 */
	for (i = 0; i < nr; i++) {
		struct unio_nvme *ns;
		uint32_t bytes;

		if (descs[i].opcode == UNIFIED_IO_OP_RECV) {
			if (unio_armed_find(r, descs[i].user_data, NULL))
				return -EINVAL;
			for (unsigned int j = 0; j < i; j++)
				if (unio_desc_is_armed(&descs[j]) &&
				    descs[j].user_data == descs[i].user_data)
					return -EINVAL;
			armed += unio_desc_is_armed(&descs[i]);
		}
		if (descs[i].opcode != UNIFIED_IO_OP_NVME)
			continue;
		ret = unio_nvme_validate(r, &descs[i], &ns, &bytes);
		if (ret)
			return ret;
	}
	ret = unio_armed_reserve(r, armed);
	if (ret)
		return ret;

	for (i = 0; i < nr; i++) {
		const struct unified_io_desc *d = &descs[i];

		if (d->opcode == UNIFIED_IO_OP_NVME) {
			struct unio_nvme *ns;
			uint32_t bytes;

			unio_nvme_validate(r, d, &ns, &bytes);
			ret = unio_nvme_accept(r->nvme, ns, d, bytes, true);
			if (ret < 0)
				break;
			ret = 0;
		} else if (unio_uop_runs(r, d)) {
			ret = unio_uop_prep(r, d, 0);
			if (ret == -EBUSY && io_uring_sq_space_left(&r->nvme->ring) == 0) {
				io_uring_submit(&r->nvme->ring);
				ret = unio_uop_prep(r, d, 0);
			}
			if (ret)
				break;
			if (unio_desc_is_armed(d))
				unio_armed_add(r, d->user_data);
		} else {
			struct unified_io_desc *sqe = unio_get_sqe(q);

			if (!sqe) {
				/* Hand the SQ to the kernel; it may be out of CQ room. */
				ret = unio_submit(q);
				if (ret < 0 && ret != -EBUSY)
					break;
				sqe = unio_get_sqe(q);
				if (!sqe) {
					ret = -EBUSY;
					break;
				}
			}
			*sqe = *d;
			if (unio_desc_is_armed(d))
				unio_armed_add(r, d->user_data);
			module++;
		}
		accepted++;
	}

	if (unio_sq_ready(q)) {
		int sret = unio_submit(q);

		/* Entries the kernel did not take stay queued for unio_reap(). */
		if (sret < 0 && sret != -EBUSY && !accepted)
			ret = sret;
	}
	unio_nvme_pump(r->nvme);
	if (accepted)
		return accepted;
	return ret ? ret : -EBUSY;
}

void unio_nvme_vec_free(struct unio_nvme_cmd *c)
{
	if (!c->vec)
		return;
	free(c->vec->iov);
	free(c->vec->first);
	free(c->vec->lba);
	free(c->vec);
	c->vec = NULL;
}

/* Memory segments [@p, @p + @len) can take: one per page, at worst. */
static uint32_t unio_pages(uintptr_t p, uint32_t len)
{
	return (p + len - 1) / 4096 - p / 4096 + 1;
}

/*
 * Planning a gather: the iovecs so far, and the current piece's iovecs,
 * block-layer segments (one per page touched, at worst: the data area's
 * pages need not be contiguous) and bytes.
 */
struct unio_gather {
	uint32_t nr_iov;
	uint32_t last_len;	/* length of iov[nr_iov - 1] */
	uint32_t piece_iovs;
	uint32_t piece_segs;
	uint32_t piece_bytes;
	unsigned int si;	/* next byte: segs[si], offset so */
	uint32_t so;
};

/*
 * Add one block of the segments to the current piece. -EOPNOTSUPP when two
 * of its iovecs would meet off the queue's virtual boundary (PRPs): the
 * kernel would bounce the whole command through a copy.
 */
static int unio_gather_block(struct unio_region *r, const struct unio_nvme *ns,
			     const struct unio_seg *segs, struct unio_nvme_vec *v,
			     struct unio_gather *g)
{
	uint32_t want = ns->lba_size;

	while (want) {
		uint32_t take = segs[g->si].len - g->so;
		uintptr_t p = (uintptr_t)unio_data_ptr(&r->q, segs[g->si].off + g->so);
		struct iovec *last = g->piece_iovs ? &v->iov[g->nr_iov - 1] : NULL;
		uintptr_t end = last ? (uintptr_t)last->iov_base + last->iov_len : 0;

		if (take > want)
			take = want;
		/* A cut at a block boundary keeps the DMA alignment too. */
		if ((p | take) & (ns->dma_align - 1))
			return -EINVAL;
		if (last && end == p) {
			uintptr_t base = (uintptr_t)last->iov_base;

			g->piece_segs -= unio_pages(base, last->iov_len);
			last->iov_len += take;
			g->piece_segs += unio_pages(base, last->iov_len);
		} else {
			if (last && ((p | end) & ns->virt_boundary))
				return -EOPNOTSUPP;
			v->iov[g->nr_iov].iov_base = (void *)p;
			v->iov[g->nr_iov].iov_len = take;
			g->nr_iov++;
			g->piece_iovs++;
			g->piece_segs += unio_pages(p, take);
		}
		g->piece_bytes += take;
		want -= take;
		g->so += take;
		if (g->so == segs[g->si].len) {
			g->si++;
			g->so = 0;
		}
	}
	g->last_len = v->iov[g->nr_iov - 1].iov_len;
	return 0;
}

/*
 * Plan a gather of @nlb blocks into pieces: block by block into the current
 * piece while it stays within the namespace's transfer size, segment count
 * and UIO_MAXIOV iovecs, so that the kernel maps each piece as it is; a
 * block that does not fit starts the next piece (a segment across the
 * boundary goes in both). The number of pieces, -EINVAL when one block alone
 * is more than a command takes, or -EOPNOTSUPP (unio_gather_block()).
 */
static int unio_gather_plan(struct unio_region *r, const struct unio_nvme *ns,
			    const struct unio_seg *segs, uint32_t nlb,
			    struct unio_nvme_vec *v)
{
	struct unio_gather g = {}, save;
	uint32_t piece = 0;
	int ret;

	v->first[0] = 0;
	v->lba[0] = 0;
	for (uint32_t b = 0; b < nlb; b++) {
		save = g;
		ret = unio_gather_block(r, ns, segs, v, &g);
		if (!ret && g.piece_bytes <= ns->max_transfer &&
		    g.piece_segs <= ns->max_segs && g.piece_iovs <= UIO_MAXIOV)
			continue;
		if (!save.piece_bytes)
			return ret ? ret : -EINVAL;
		/* Take the block back out, close the piece, and add it anew. */
		g = save;
		if (g.nr_iov)
			v->iov[g.nr_iov - 1].iov_len = g.last_len;
		v->first[++piece] = g.nr_iov;
		v->lba[piece] = b;
		g.piece_iovs = g.piece_segs = g.piece_bytes = 0;
		ret = unio_gather_block(r, ns, segs, v, &g);
		if (ret)
			return ret;
		if (g.piece_bytes > ns->max_transfer || g.piece_segs > ns->max_segs ||
		    g.piece_iovs > UIO_MAXIOV)
			return -EINVAL;
	}
	v->first[++piece] = g.nr_iov;
	v->lba[piece] = nlb;
	return piece;
}

/* Give back what a plan of @pieces pieces does not use (never fails). */
static void unio_gather_trim(struct unio_nvme_vec *v, uint32_t pieces)
{
	struct iovec *iov = realloc(v->iov, v->first[pieces] * sizeof(*iov));
	uint32_t *first = realloc(v->first, (pieces + 1) * sizeof(*first));
	uint64_t *lba = realloc(v->lba, (pieces + 1) * sizeof(*lba));

	if (iov)
		v->iov = iov;
	if (first)
		v->first = first;
	if (lba)
		v->lba = lba;
}

/*
 * Queue a gather of @segs (checked against @ns) to blocks from @slba, for
 * @owner (a stream: its completion goes there) or for the caller. The
 * number of passthrough commands, or -errno with nothing queued.
 */
int unio_nvme_gather(struct unio_region *r, struct unio_nvme *ns,
		     const struct unio_seg *segs, unsigned int nr_segs,
		     uint64_t slba, uint64_t user_data, struct unio_stream *owner)
{
	struct unio_nvme_vec *v;
	struct unio_nvme_cmd *c;
	uint64_t total = 0;
	uint32_t nlb, idx;
	int ret;

	for (unsigned int i = 0; i < nr_segs; i++) {
		const struct unio_seg *s = &segs[i];

		if (s->resv || !s->len || s->off > r->q.data_size ||
		    s->len > r->q.data_size - s->off ||
		    (s->off | s->len) % ns->dma_align)
			return -EINVAL;
		total += s->len;
	}
	if (total % ns->lba_size || total > INT32_MAX)
		return -EINVAL;
	nlb = total >> ns->lba_shift;
	if (slba + nlb < slba)
		return -EINVAL;
	if (r->nvme->free_head == UNIO_NVME_NIL)
		return -EBUSY;		/* before the plan: no work for nothing */

	/* A block boundary inside a segment splits it: nlb more at most. */
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->iov = calloc((size_t)nr_segs + nlb, sizeof(*v->iov));
	v->first = calloc((size_t)nlb + 1, sizeof(*v->first));
	v->lba = calloc((size_t)nlb + 1, sizeof(*v->lba));
	ret = -ENOMEM;
	if (v->iov && v->first && v->lba)
		ret = unio_gather_plan(r, ns, segs, nlb, v);
	if (ret >= 0 && r->nvme->free_head == UNIO_NVME_NIL)
		ret = -EBUSY;
	if (ret < 0) {
		struct unio_nvme_cmd tmp = { .vec = v };

		unio_nvme_vec_free(&tmp);
		return ret;
	}
	/* The plan is worst case until here: keep what it uses. */
	unio_gather_trim(v, ret);

	idx = r->nvme->free_head;
	c = &r->nvme->cmds[idx];
	r->nvme->free_head = c->next;
	memset(c, 0, sizeof(*c));
	c->ns = ns;
	c->vec = v;
	c->stream = owner;
	c->user_data = user_data;
	c->addr = segs[0].off;
	c->slba = slba;
	c->nlb = nlb;
	c->opcode = UNIFIED_IO_NVME_WRITE;
	c->bytes = total;
	c->nr_pieces = ret;
	/* A stream's write completes to the stream, never to the caller. */
	if (!owner)
		r->nvme->unreaped++;
	unio_fifo_push(r->nvme->cmds, &ns->bl_head, &ns->bl_tail, idx);
	unio_nvme_pump(r->nvme);
	return ret;
}

UNIO_API int unio_nvme_writev(struct unio_region *r, uint32_t nsid,
			      const struct unio_seg *segs, unsigned int nr_segs,
			      uint64_t slba, uint64_t user_data)
{
	struct unio_nvme *ns;
	int ret;

	if (!r || !r->map || !segs || !nr_segs || nr_segs > UNIO_NVME_WRITEV_MAX_SEGS)
		return -EINVAL;
	ns = unio_nvme_lookup(r->nvme, nsid);
	if (!ns)
		return -EINVAL;
	ret = unio_nvme_gather(r, ns, segs, nr_segs, slba, user_data, NULL);
	return ret < 0 ? ret : 0;
}

/* Free entries of a slot list (command or region-operation slots), up to @want. */
static uint32_t unio_free_count(uint32_t head, const void *base, size_t stride,
				size_t next_off, uint32_t want)
{
	uint32_t n = 0;

	while (n < want && head != UNIO_NVME_NIL) {
		n++;
		head = *(const uint32_t *)((const char *)base + head * stride +
					   next_off);
	}
	return n;
}

/* Passthrough pieces of an NVMe descriptor that unio_nvme_validate() took. */
static uint32_t unio_nvme_nr_pieces(const struct unio_nvme *ns,
				    const struct unified_io_desc *d)
{
	uint32_t per;

	switch (d->nvme.opcode) {
	case UNIFIED_IO_NVME_FLUSH:
		return 1;
	case UNIFIED_IO_NVME_WRITE_ZEROES:
		per = ns->max_wz_lbas;
		break;
	default:
		per = ns->max_io_lbas;
		break;
	}
	return d->nvme.nlb / per + !!(d->nvme.nlb % per);
}

/*
 * A link chain on the library's io_uring ring: every descriptor (every
 * passthrough piece of an NVMe one) with IOSQE_IO_LINK but the last, all in
 * one submission, so io_uring runs them in order and completes the rest
 * with -ECANCELED after a negative result. NVMe commands of a chain skip
 * their namespace's backlog and queue depth.
 */
UNIO_API int unio_submit_chain(struct unio_region *r,
			       const struct unified_io_desc *descs,
			       unsigned int nr)
{
	uint32_t sqes = 0, cmds = 0, uops = 0, i, p, n;
	struct unio_nvme_ring *ur;
	int ret;

	if (!r || !r->map || !descs || !nr)
		return -EINVAL;
	if (r->ring != UNIO_RING_IO_URING)
		return -EOPNOTSUPP;
	ur = r->nvme;
	if (nr > ur->ring.sq.ring_entries)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		const struct unified_io_desc *d = &descs[i];
		struct unio_nvme *ns;
		uint32_t bytes;

		if (d->opcode == UNIFIED_IO_OP_NVME) {
			ret = unio_nvme_validate(r, d, &ns, &bytes);
			if (ret)
				return ret;
			if (d->nvme.opcode == UNIFIED_IO_NVME_READ &&
			    unio_range_sending(r, d->addr, bytes))
				return -EBUSY;
			sqes += unio_nvme_nr_pieces(ns, d);
			cmds++;
			continue;
		}
		/*
		 * A one-shot RECV has no uring_cmd form, and an armed one never
		 * completes: neither can be linked.
		 */
		if (d->opcode == UNIFIED_IO_OP_RECV)
			return -EINVAL;
		sqes++;
		uops++;
	}
	if (sqes > ur->ring.sq.ring_entries)
		return -EINVAL;
	if (unio_free_count(ur->free_head, ur->cmds, sizeof(*ur->cmds),
			    offsetof(struct unio_nvme_cmd, next), cmds) < cmds)
		return -EBUSY;
	if (uops) {
		ret = unio_uop_alloc(ur);
		if (ret)
			return ret;
		if (unio_free_count(ur->uop_free, ur->uops, sizeof(*ur->uops),
				    offsetof(struct unio_uop, next), uops) < uops)
			return -EBUSY;
	}
	if (io_uring_sq_space_left(&ur->ring) < sqes) {
		io_uring_submit(&ur->ring);
		if (io_uring_sq_space_left(&ur->ring) < sqes)
			return -EBUSY;
	}

	for (i = 0, n = 0; i < nr; i++) {
		const struct unified_io_desc *d = &descs[i];
		struct unio_nvme_cmd *c;
		struct unio_nvme *ns;
		uint32_t bytes;
		int idx;

		/*
		 * Neither call can fail: slots, SQEs and the slot table were
		 * checked above, and no RECV (provided buffers) is linked.
		 */
		if (d->opcode != UNIFIED_IO_OP_NVME) {
			unio_uop_prep(r, d, ++n < sqes ? IOSQE_IO_LINK : 0);
			continue;
		}
		unio_nvme_validate(r, d, &ns, &bytes);
		idx = unio_nvme_accept(ur, ns, d, bytes, false);
		c = &ur->cmds[idx];
		for (p = 0; p < c->nr_pieces; p++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ur->ring);

			unio_nvme_prep_piece(c, idx, sqe);
			if (++n < sqes)
				sqe->flags |= IOSQE_IO_LINK;
			c->issued++;
			ns->inflight++;
			ur->inflight++;
		}
	}
	/*
	 * io_uring takes fewer SQEs than queued only when it cannot allocate
	 * a request (or the CQ overflowed): hand it the rest now, so the chain
	 * is not left split until the next call that enters the kernel.
	 */
	for (i = 0; i < 4 && io_uring_sq_ready(&ur->ring); i++)
		if (io_uring_submit(&ur->ring) <= 0)
			break;
	return nr;
}

/* The oldest finished NVMe command as a unified completion; its slot freed. */
static bool unio_pop_nvme_done(struct unio_region *r, struct unified_io_cqe *out)
{
	struct unio_nvme_ring *nr = r->nvme;
	struct unio_nvme_cmd *c;
	uint32_t idx;

	if (!nr || nr->done_head == UNIO_NVME_NIL)
		return false;
	idx = unio_fifo_pop(nr->cmds, &nr->done_head, &nr->done_tail);
	c = &nr->cmds[idx];
	memset(out, 0, sizeof(*out));
	out->user_data = c->user_data;
	out->res = c->err ? c->err : (int32_t)c->bytes;
	out->flags = c->err == -EIO ? c->status : 0;
	out->addr = c->addr;
	out->opcode = UNIFIED_IO_OP_NVME;
	unio_nvme_vec_free(c);
	c->ns = NULL;
	c->next = nr->free_head;
	nr->free_head = idx;
	nr->unreaped--;
	return true;
}

/* The oldest completion of the module's CQ, consumed. */
static bool unio_pop_cq(struct unio_region *r, struct unified_io_cqe *out)
{
	struct unified_io_cqe *cqe = unio_peek_cqe(&r->q);

	if (!cqe)
		return false;
	*out = *cqe;
	unio_cqe_seen(&r->q);
	unio_track(r, out);
	return true;
}

/*
 * Take completions to @out: the io_uring ring's (region operations go to
 * r->held), those held, finished NVMe commands, the module's CQ.
 */
static unsigned int unio_take(struct unio_region *r, struct unified_io_cqe *out,
			      unsigned int max)
{
	unsigned int n = 0;

	if (r->nvme)
		unio_nvme_process_cqes(r->nvme);
	while (n < max && r->held.count)
		out[n++] = unio_held_pop(r);
	while (n < max && unio_pop_nvme_done(r, &out[n]))
		n++;
	while (n < max && unio_pop_cq(r, &out[n]))
		n++;
	return n;
}

/*
 * Move completions to @out. Room was made: queued module descriptors and
 * NVMe pieces move on. Neither is a system call when nothing is queued:
 * reaping an armed RECV's chunks from the module's CQ costs none. The NVMe
 * pieces are only put in SQEs unless @submit: the caller then either sleeps
 * in io_uring_enter(), which submits them, or calls unio_nvme_flush().
 */
static unsigned int unio_collect(struct unio_region *r, struct unified_io_cqe *out,
				 unsigned int max, bool submit)
{
	struct unio_queue *q = &r->q;
	unsigned int n;

	n = unio_take(r, out, max);
	if (unio_sq_ready(q))
		unio_submit(q);
	if (submit)
		unio_nvme_pump(r->nvme);
	else
		unio_nvme_issue(r->nvme);
	return n;
}

/* Move every completion the rings have to the end of r->held. */
static int unio_hold_all(struct unio_region *r)
{
	struct unified_io_cqe c;
	int ret = 0;

	if (r->nvme)
		unio_nvme_process_cqes(r->nvme);
	for (;;) {
		ret = unio_held_reserve(r, 1);
		if (ret)
			break;
		if (!unio_pop_nvme_done(r, &c) && !unio_pop_cq(r, &c))
			break;
		unio_held_push(r, &c);
	}
	if (unio_sq_ready(&r->q))
		unio_submit(&r->q);
	unio_nvme_pump(r->nvme);
	return ret;
}

/* Completions are ready to be taken without sleeping. */
static bool unio_any_ready(struct unio_region *r)
{
	struct unio_nvme_ring *nr = r->nvme;

	return r->held.count || unio_cq_ready(&r->q) ||
	       (nr && (nr->done_head != UNIO_NVME_NIL ||
		       io_uring_cq_ready(&nr->ring)));
}

uint64_t unio_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * How many io_uring completions to sleep for when the caller needs @need
 * more: those certain to come are the NVMe pieces in flight (io_uring waits
 * only when it took the whole SQ, and the CQ was drained), and armed RECVs,
 * region operations and the region's poll only ever add to them. A
 * namespace with commands backlogged behind its queue depth is refilled at
 * half that depth, so the drive does not idle while its queue empties
 * (*@backlog says whether one has). One CQE once the kernel has dropped
 * one (-EBADR): the count is off.
 */
static unsigned int unio_wait_nr(const struct unio_nvme_ring *nr, unsigned int need,
				 bool *backlog)
{
	unsigned int sure = nr->inflight;

	*backlog = false;
	for (unsigned int i = 0; i < UNIO_NVME_MAX_NS; i++) {
		const struct unio_nvme *ns = nr->ns[i];

		if (!ns || ns->bl_head == UNIO_NVME_NIL)
			continue;
		*backlog = true;
		if (ns->inflight / 2 < sure)
			sure = ns->inflight / 2;
	}
	if (nr->cqe_lost)
		return 1;
	if (need > sure)
		need = sure;
	return need ? need : 1;
}

/*
 * How many runs of the armed RECVs on io_uring a sleep may stay in the
 * kernel for, as UNIFIED_IO_COMPLETE does on the module's ring; 0 where it
 * must not. Each of their CQEs brings at most a buffer of records, and no
 * other CQE of the ring stands for more completions but the region's poll:
 * so where the ring alone can meet the need (the module's SQ is empty, no
 * command waits for queue depth, which only user space issues), @need
 * completions never come in fewer CQEs than this. The poll may still stand
 * for many (descriptors another thread or process put on the module's
 * ring): the caller bounds such a sleep at UNIO_WAIT_RUNS_USECS. At most a
 * quarter of the provided buffers: they come back only when the CQEs are
 * taken.
 */
static unsigned int unio_wait_runs(const struct unio_region *r, unsigned int need,
				   bool backlog)
{
	const struct unio_nvme_ring *nr = r->nvme;
	unsigned int runs;

	if (!nr->uops_armed || nr->cqe_lost || backlog || unio_sq_ready(&r->q) ||
	    !(nr->ring.features & IORING_FEAT_MIN_TIMEOUT))
		return 0;
	runs = need / UNIO_UOP_MAX_EXPAND + !!(need % UNIO_UOP_MAX_EXPAND);
	return runs < UNIO_UOP_NR_BUFS / 4 ? runs : UNIO_UOP_NR_BUFS / 4;
}

/*
 * Sleep until something may have completed, at most @ns (0: no limit);
 * @need completions would satisfy the caller.
 */
static int unio_wait_any(struct unio_region *r, uint64_t ns, unsigned int need)
{
	struct unio_nvme_ring *nr = r->nvme;
	struct __kernel_timespec ts, *tsp = NULL;
	struct io_uring_cqe *cqe;
	unsigned int wait_nr, runs, min_usecs;
	bool backlog;
	int ret;

	if (!nr)
		return unio_wait_cqes(&r->q, unio_cq_ready(&r->q) + 1, ns);
	if (ns) {
		ts.tv_sec = ns / 1000000000ULL;
		ts.tv_nsec = ns % 1000000000ULL;
		tsp = &ts;
	}
	/* The region's completions wake the same wait, through a poll. */
	if (!nr->poll_armed) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&nr->ring);

		/* unio_nvme_issue() may have filled the SQ. */
		if (!sqe) {
			unio_nvme_flush(nr);
			sqe = io_uring_get_sqe(&nr->ring);
		}
		if (sqe) {
			memset(sqe, 0, 128);
			io_uring_prep_poll_add(sqe, r->fd, POLLIN);
			sqe->user_data = UNIO_NVME_POLL_TAG;
			nr->poll_armed = true;
		}
	}
	wait_nr = unio_wait_nr(nr, need, &backlog);
	runs = unio_wait_runs(r, need, backlog);
	min_usecs = UNIO_WAIT_MIN_USECS;
	if (runs > wait_nr) {
		wait_nr = runs;
		min_usecs = UNIO_WAIT_RUNS_USECS;
	}
	/* The kernel looks at the timeout only once the minimum is over. */
	if (ns && ns / 1000 < min_usecs)
		min_usecs = ns / 1000;
	if (wait_nr > 1 && (nr->ring.features & IORING_FEAT_MIN_TIMEOUT)) {
		/*
		 * io_uring counts CQEs, the caller completions: the region's
		 * poll stands for all the module's CQ holds, and an armed RECV's
		 * CQE for several records. So past the minimum any CQE ends the
		 * wait, or those would wait for the drive or the next run. A
		 * minimum wait with no timeout ends the wait at the minimum:
		 * give one.
		 */
		if (!tsp) {
			ts.tv_sec = 3600;
			ts.tv_nsec = 0;
			tsp = &ts;
		}
		ret = io_uring_submit_and_wait_min_timeout(&nr->ring, &cqe, wait_nr, tsp,
							   min_usecs, NULL);
	} else {
		ret = io_uring_submit_and_wait_timeout(&nr->ring, &cqe, 1, tsp, NULL);
	}
	if (ret == -EBADR)
		nr->cqe_lost = true;
	return ret < 0 ? ret : 0;
}

UNIO_API int unio_reap(struct unio_region *r, struct unified_io_cqe *cqes,
		       unsigned int max, unsigned int min, uint64_t timeout_ns)
{
	uint64_t deadline = 0, now;
	unsigned int n = 0;
	int ret;

	if (!r || !r->map || !cqes || !max || min > max)
		return -EINVAL;
	if (max > INT32_MAX)
		max = INT32_MAX;
	if (timeout_ns)
		deadline = unio_now_ns() + timeout_ns;
	for (;;) {
		n += unio_collect(r, cqes + n, max - n, false);
		if (n >= min || n == max)
			break;
		/* A CQE stays in the io_uring CQ: do not spin on it. */
		if (r->nvme && r->nvme->nomem) {
			ret = n ? (int)n : -ENOMEM;
			goto out;
		}
		/*
		 * unio_collect() submits what the module's SQ still holds after
		 * it drained the CQ (a SUBMIT that failed earlier, EINTR say;
		 * the io_uring SQ goes with the wait below), and SUBMIT
		 * completes synchronously, and its pump may refuse an NVMe READ
		 * (unio_nvme_refuse()), which completes at once: take those
		 * before sleeping, or the sleep waits for one completion more
		 * than will ever come.
		 */
		if (unio_any_ready(r))
			continue;
		now = deadline ? unio_now_ns() : 0;
		if (deadline && now >= deadline) {
			ret = n ? (int)n : -ETIME;
			goto out;
		}
		/* Submits the pieces unio_collect() put in SQEs, and waits. */
		ret = unio_wait_any(r, deadline ? deadline - now : 0, min - n);
		if (ret && ret != -ETIME) {
			n += unio_collect(r, cqes + n, max - n, true);
			return n ? (int)n : ret;
		}
	}
	ret = n;
out:
	/* Returning without a wait: what unio_collect() issued goes now. */
	unio_nvme_flush(r->nvme);
	return ret;
}

/*
 * SENDs whose notification the kernel has not posted yet, whoever consumed
 * their completion: GET_INFO's count, asked only of a region that has ever
 * sent (the SUBMIT counters the kernel mirrors in the control area).  True
 * when GET_INFO fails: the caller cannot tell, so it must not go on.
 */
static bool unio_sends_unnotified(struct unio_region *r)
{
	const struct unified_io_stats *st =
		(const void *)((const char *)r->map + r->layout.stats);
	struct unified_io_info info;

	if (!__atomic_load_n(&st->ops[UNIFIED_IO_OP_SEND], __ATOMIC_RELAXED))
		return false;
	if (unio_region_get_info(r, &info))
		return true;
	return info.send.inflight;
}

/*
 * Anything on the unified path the caller has not reaped, besides armed
 * RECVs and their completions: descriptors left in the SQ, other
 * completions in the CQ or held, NVMe commands queued, running or finished,
 * SEND notifications to come.  (Module descriptors complete inside SUBMIT:
 * past it, only a SEND's notification and armed RECVs are in flight.)
 */
static bool unio_unified_busy(struct unio_region *r)
{
	struct unio_queue *q = &r->q;
	uint32_t i, head, tail;

	if (unio_sq_ready(q) ||
	    (r->nvme && (r->nvme->unreaped || r->nvme->uops_busy)))
		return true;
	for (i = 0; i < r->held.count; i++)
		if (!unio_cqe_of_armed(r, unio_held_at(r, i)))
			return true;
	head = *q->cq.khead;
	tail = unio_smp_load_acquire(q->cq.ktail);
	for (; head != tail; head++)
		if (!unio_cqe_of_armed(r, &q->cq.cqes[head & q->cq.ring_mask]))
			return true;
	return unio_sends_unnotified(r);
}

UNIO_API int unio_submit_and_wait(struct unio_region *r,
				  const struct unified_io_desc *desc,
				  struct unified_io_cqe *cqe,
				  uint64_t timeout_ns)
{
	uint64_t deadline = 0, now;
	uint32_t i;
	int ret;

	if (!r || !r->map || !desc || !cqe)
		return -EINVAL;
	if (unio_armed_find(r, desc->user_data, NULL))
		return -EINVAL;
	if (unio_unified_busy(r))
		return -EBUSY;
	ret = unio_submit_descs(r, desc, 1);
	if (ret < 0)
		return ret;
	if (timeout_ns)
		deadline = unio_now_ns() + timeout_ns;
	/*
	 * Nothing else was outstanding but armed RECVs, whose user_data differ
	 * from @desc's: the first completion with @desc's is this one's. The
	 * others stay held, in order, for unio_reap().
	 */
	for (;;) {
		ret = unio_hold_all(r);
		if (ret)
			return ret;
		for (i = 0; i < r->held.count; i++) {
			if (unio_held_at(r, i)->user_data != desc->user_data)
				continue;
			*cqe = *unio_held_at(r, i);
			unio_held_remove(r, i);
			return 0;
		}
		if (r->nvme && r->nvme->nomem)
			return -ENOMEM;
		if (unio_cq_ready(&r->q) ||
		    (r->nvme && (r->nvme->done_head != UNIO_NVME_NIL ||
				 io_uring_cq_ready(&r->nvme->ring))))
			continue;
		now = deadline ? unio_now_ns() : 0;
		if (deadline && now >= deadline)
			return -ETIME;
		ret = unio_wait_any(r, deadline ? deadline - now : 0, 1);
		if (ret && ret != -ETIME)
			return ret;
	}
}
