// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/*
 * The system-call side of the rings: SUBMIT (SQ batch or one inline
 * descriptor), COMPLETE, and the synchronous buffer helpers built on them.
 *
 * A struct unio_queue is not locked: one thread submits and reaps at a time.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

UNIO_API int unio_submit(struct unio_queue *q)
{
	struct unified_io_submit s;
	unsigned int pending;
	int ret;

	if (!q)
		return -EINVAL;
	unio_sq_flush(q);
	pending = unio_sq_ready(q);
	if (!pending)
		return 0;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.to_submit = pending;
	ret = ioctl(q->fd, UNIFIED_IO_SUBMIT, &s);
	return ret < 0 ? -errno : ret;
}

UNIO_API int unio_submit_inline(struct unio_queue *q,
				const struct unified_io_desc *desc)
{
	struct unified_io_submit s;
	int ret;

	if (!q || !desc)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.flags = UNIFIED_IO_SUBMIT_F_INLINE;
	s.desc = *desc;
	ret = ioctl(q->fd, UNIFIED_IO_SUBMIT, &s);
	return ret < 0 ? -errno : ret;
}

UNIO_API int unio_wait_cqes(struct unio_queue *q, unsigned int min_complete,
			    uint64_t timeout_ns)
{
	struct unified_io_complete c;
	int ret;

	if (!q)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.min_complete = min_complete;
	c.timeout_ns = timeout_ns;
	ret = ioctl(q->fd, UNIFIED_IO_COMPLETE, &c);
	return ret < 0 ? -errno : ret;
}

/*
 * Find the newest completion of a synchronous helper, copy it to @out and
 * remove it from the CQ. User space owns the slots in [head, tail), so the
 * older completions are moved up one slot and the head advanced by one: the
 * other completions keep their order and are neither reaped nor lost.
 */
static bool unio_take_sync_cqe(struct unio_queue *q, uint8_t opcode,
			       struct unified_io_cqe *out)
{
	uint32_t head = *q->cq.khead;
	uint32_t tail = unio_smp_load_acquire(q->cq.ktail);
	uint32_t mask = q->cq.ring_mask;
	uint32_t i;

	for (i = tail; i != head; i--) {
		struct unified_io_cqe *cqe = &q->cq.cqes[(i - 1) & mask];

		if (cqe->user_data != UNIO_SYNC_USER_DATA || cqe->opcode != opcode)
			continue;
		*out = *cqe;
		for (i = i - 1; i != head; i--)
			q->cq.cqes[i & mask] = q->cq.cqes[(i - 1) & mask];
		unio_cq_advance(q, 1);
		return true;
	}
	return false;
}

static int unio_sync_op(struct unio_queue *q, const struct unified_io_desc *d,
			struct unified_io_cqe *cqe)
{
	int ret;

	ret = unio_submit_inline(q, d);
	if (ret < 0)
		return ret;
	if (ret != 1)
		return -EPROTO;

	/*
	 * ABI v1 posts the completion before SUBMIT returns; wait only if a
	 * later kernel completes asynchronously.
	 */
	while (!unio_take_sync_cqe(q, d->opcode, cqe)) {
		unsigned int ready = unio_cq_ready(q);

		if (ready >= q->cq.ring_entries)
			return -EPROTO;
		ret = unio_wait_cqes(q, ready + 1, 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

UNIO_API int unio_buf_alloc(struct unio_queue *q, uint16_t owner,
			    uint64_t *offset)
{
	struct unified_io_desc d;
	struct unified_io_cqe cqe;
	int ret;

	if (!q || !offset || !owner)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	unio_prep_alloc(&d, owner, UNIO_SYNC_USER_DATA);
	ret = unio_sync_op(q, &d, &cqe);
	if (ret)
		return ret;
	if (cqe.res < 0)
		return cqe.res;
	if (cqe.addr >= q->data_size)
		return -EPROTO;
	*offset = cqe.addr;
	return 0;
}

UNIO_API int unio_buf_free(struct unio_queue *q, uint16_t owner,
			   uint64_t offset)
{
	struct unified_io_desc d;
	struct unified_io_cqe cqe;
	int ret;

	if (!q || !owner)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, owner, offset, UNIO_SYNC_USER_DATA);
	ret = unio_sync_op(q, &d, &cqe);
	if (ret)
		return ret;
	return cqe.res < 0 ? cqe.res : 0;
}
