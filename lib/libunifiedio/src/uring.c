// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/*
 * io_uring glue: the data area as one fixed buffer, so io_uring requests
 * (READ_FIXED, WRITE_FIXED, NVMe passthrough with IORING_URING_CMD_FIXED)
 * address region buffers by data-area offset.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <liburing.h>

#include "internal.h"

UNIO_API int unio_register_io_uring(const struct unio_region *r,
				    struct io_uring *ring)
{
	struct iovec iov;

	if (!r || !ring || !r->map)
		return -EINVAL;
	iov.iov_base = r->q.data;
	iov.iov_len = r->q.data_size;
	return io_uring_register_buffers(ring, &iov, 1);
}

/*
 * The region's operations on the library's io_uring ring (since 1.7, on a
 * kernel with UNIFIED_IO_FEAT_URING_CMD): each module descriptor becomes an
 * IORING_OP_URING_CMD on the region fd with cmd_op UNIFIED_IO_URING_CMD_DESC,
 * the descriptor in the SQE's command area, and user_data UNIO_UOP_TAG | its
 * slot in nr->uops[]. The slot keeps what the CQE lacks: the descriptor's
 * user_data and opcode. An armed RECV is multishot: its CQEs name provided
 * buffers (group UNIO_UOP_BGID) that hold struct unified_io_cqe records;
 * they are copied out and the buffer goes back to the ring at once.
 */

bool unio_uop_runs(const struct unio_region *r, const struct unified_io_desc *d)
{
	if (r->ring != UNIO_RING_IO_URING || d->opcode == UNIFIED_IO_OP_NVME)
		return false;
	/* A one-shot RECV has no uring_cmd form: the module ring runs it. */
	return d->opcode != UNIFIED_IO_OP_RECV ||
	       (d->net.flags & UNIFIED_IO_RECV_F_ARM);
}

static int unio_uop_br_setup(struct unio_nvme_ring *nr)
{
	struct io_uring_buf_ring *br;
	void *mem;
	int ret, i;

	if (nr->br)
		return 0;
	mem = aligned_alloc(4096, (size_t)UNIO_UOP_NR_BUFS * UNIO_UOP_BUF_SIZE);
	if (!mem)
		return -ENOMEM;
	br = io_uring_setup_buf_ring(&nr->ring, UNIO_UOP_NR_BUFS, UNIO_UOP_BGID,
				     0, &ret);
	if (!br) {
		free(mem);
		return ret;
	}
	for (i = 0; i < UNIO_UOP_NR_BUFS; i++)
		io_uring_buf_ring_add(br, (char *)mem + i * UNIO_UOP_BUF_SIZE,
				      UNIO_UOP_BUF_SIZE, i,
				      io_uring_buf_ring_mask(UNIO_UOP_NR_BUFS), i);
	io_uring_buf_ring_advance(br, UNIO_UOP_NR_BUFS);
	nr->br = br;
	nr->br_mem = mem;
	return 0;
}

/*
 * Before the ring goes: unregister the provided buffer ring. Its buffers
 * (nr->br_mem) and the slots are freed after io_uring_queue_exit(), once no
 * request can write to them.
 */
void unio_uop_fini(struct unio_nvme_ring *nr)
{
	if (nr->br)
		io_uring_free_buf_ring(&nr->ring, nr->br, UNIO_UOP_NR_BUFS,
				       UNIO_UOP_BGID);
	nr->br = NULL;
}

int unio_uop_alloc(struct unio_nvme_ring *nr)
{
	uint32_t i;

	if (nr->uops)
		return 0;
	nr->nr_uops = UNIO_NVME_MAX_QD;
	nr->uops = calloc(nr->nr_uops, sizeof(*nr->uops));
	if (!nr->uops)
		return -ENOMEM;
	for (i = 0; i < nr->nr_uops; i++)
		nr->uops[i].next = i + 1 < nr->nr_uops ? i + 1 : UNIO_NVME_NIL;
	nr->uop_free = 0;
	return 0;
}

int unio_uop_prep(struct unio_region *r, const struct unified_io_desc *d,
		  unsigned int sqe_flags)
{
	struct unio_nvme_ring *nr = r->nvme;
	struct unified_io_uring_cmd *cmd;
	struct io_uring_sqe *sqe;
	bool armed = d->opcode == UNIFIED_IO_OP_RECV;
	struct unio_uop *u;
	uint32_t slot;
	int ret;

	_Static_assert(sizeof(*cmd) <= 80, "the SQE128 command area is 80 bytes");
	ret = unio_uop_alloc(nr);
	if (!ret && armed)
		ret = unio_uop_br_setup(nr);
	if (ret)
		return ret;
	if (nr->uop_free == UNIO_NVME_NIL)
		return -EBUSY;
	sqe = io_uring_get_sqe(&nr->ring);
	if (!sqe)
		return -EBUSY;
	slot = nr->uop_free;
	u = &nr->uops[slot];
	nr->uop_free = u->next;
	u->user_data = d->user_data;
	u->opcode = d->opcode;
	u->armed = armed;
	if (armed)
		nr->uops_armed++;
	else
		nr->uops_busy++;

	memset(sqe, 0, 128);	/* SQE128: the command lives in the second half */
	io_uring_prep_uring_cmd(sqe, UNIFIED_IO_URING_CMD_DESC, r->fd);
	sqe->user_data = UNIO_UOP_TAG | slot;
	sqe->flags = sqe_flags;
	if (armed) {
		sqe->uring_cmd_flags = IORING_URING_CMD_MULTISHOT;
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = UNIO_UOP_BGID;
	}
	cmd = (struct unified_io_uring_cmd *)sqe->cmd;
	memset(cmd, 0, sizeof(*cmd));
	cmd->desc = *d;
	return 0;
}

static void unio_uop_put(struct unio_nvme_ring *nr, uint32_t slot)
{
	struct unio_uop *u = &nr->uops[slot];

	if (u->armed)
		nr->uops_armed--;
	else
		nr->uops_busy--;
	u->next = nr->uop_free;
	nr->uop_free = slot;
}

/* Copy the records of provided buffer @bid out, then give it back. */
static void unio_uop_records(struct unio_region *r, const struct unio_uop *u,
			     unsigned int bid, int32_t len)
{
	struct unio_nvme_ring *nr = r->nvme;
	char *buf = (char *)nr->br_mem + (size_t)bid * UNIO_UOP_BUF_SIZE;
	struct unified_io_cqe c;
	int32_t off;

	if (bid >= UNIO_UOP_NR_BUFS)
		return;	/* not ours: nothing to copy or recycle */
	if (len > UNIO_UOP_BUF_SIZE)
		len = UNIO_UOP_BUF_SIZE;
	for (off = 0; off + (int32_t)sizeof(c) <= len; off += sizeof(c)) {
		memcpy(&c, buf + off, sizeof(c));
		/* The module writes them; the stream is the RECV's whatever. */
		c.user_data = u->user_data;
		c.opcode = UNIFIED_IO_OP_RECV;
		unio_held_push_track(r, &c);
	}
	io_uring_buf_ring_add(nr->br, buf, UNIO_UOP_BUF_SIZE, bid,
			      io_uring_buf_ring_mask(UNIO_UOP_NR_BUFS), 0);
	io_uring_buf_ring_advance(nr->br, 1);
}

/* A provided buffer, by the id the module gave, back to the ring. */
static void unio_uop_buf_return(struct unio_nvme_ring *nr, uint64_t bid)
{
	if (bid >= UNIO_UOP_NR_BUFS)
		return;	/* not ours */
	io_uring_buf_ring_add(nr->br,
			      (char *)nr->br_mem + (size_t)bid * UNIO_UOP_BUF_SIZE,
			      UNIO_UOP_BUF_SIZE, bid,
			      io_uring_buf_ring_mask(UNIO_UOP_NR_BUFS), 0);
	io_uring_buf_ring_advance(nr->br, 1);
}

void unio_uop_complete(struct unio_region *r, const struct io_uring_cqe *cqe)
{
	struct unio_nvme_ring *nr = r->nvme;
	uint64_t slot = cqe->user_data & UNIO_UOP_SLOT_MASK;
	uint64_t res2 = cqe->big_cqe[0];
	struct unified_io_cqe c;
	struct unio_uop *u;

	if (!nr->uops || slot >= nr->nr_uops)
		return;
	u = &nr->uops[slot];
	memset(&c, 0, sizeof(c));
	c.user_data = u->user_data;
	c.opcode = u->opcode;
	c.res = cqe->res;

	if (u->armed) {
		if (cqe->flags & IORING_CQE_F_BUFFER)
			unio_uop_records(r, u, cqe->flags >> IORING_CQE_BUFFER_SHIFT,
					 cqe->res);
		if (cqe->flags & IORING_CQE_F_MORE)
			return;
		/*
		 * The final result. A last CQE that carries a buffer is io_uring
		 * ending the multishot request because it could not post (its
		 * @res is the buffer's length): the RECV stopped for want of a
		 * CQ slot, which the module ring reports as ENOSPC.
		 */
		if (cqe->flags & IORING_CQE_F_BUFFER)
			c.res = -ENOSPC;
		/*
		 * The CQ was full: io_uring took a provided buffer for records
		 * it could not post (the module keeps them for the next RECV)
		 * and the module names it by id in big_cqe[0]: back to the
		 * ring.
		 */
		if (c.res == -ENOSPC &&
		    UNIFIED_IO_URING_RES2_FLAGS(res2) & UNIFIED_IO_CQE_F_BUFFER)
			unio_uop_buf_return(nr, UNIFIED_IO_URING_RES2_ADDR(res2));
		/* The final completion of an armed RECV names no buffer. */
		c.addr = 0;
		c.flags = 0;
		unio_uop_put(nr, slot);
		unio_held_push_track(r, &c);
		return;
	}

	c.addr = UNIFIED_IO_URING_RES2_ADDR(res2);
	c.flags = UNIFIED_IO_URING_RES2_FLAGS(res2);
	unio_uop_put(nr, slot);
	/*
	 * A SEND that queued bytes completes once on io_uring, when the module
	 * ring would post its notification: give the application the same two
	 * completions, the first with F_MORE, then the notification.
	 */
	if (c.opcode == UNIFIED_IO_OP_SEND && c.res > 0 &&
	    (c.flags & UNIFIED_IO_CQE_F_NOTIF)) {
		struct unified_io_cqe first = c;

		first.flags &= ~(UNIFIED_IO_CQE_F_NOTIF | UNIFIED_IO_CQE_F_COPIED);
		first.flags |= UNIFIED_IO_CQE_F_MORE;
		unio_held_push_track(r, &first);
	}
	unio_held_push_track(r, &c);
}
