// SPDX-License-Identifier: GPL-2.0
/*
 * unified_io buffer operations: UNIFIED_IO_OP_ALLOC, UNIFIED_IO_OP_FREE and
 * UNIFIED_IO_OP_BPF, the descriptors through which the application takes,
 * gives back and processes a buffer of the data area.
 *
 * Object model: a buffer is free, held by the application under an owner
 * (a non-zero u16 the application picks, one per pipeline stage), held with
 * sends in flight (send.c), or lent to the kernel. The region's buffers are on its free list or held; those
 * lent to a NIC queue's memory provider (provider.c) follow the provider
 * (uior_net_buf_lent()), and FREE and BPF of one go there. A buffer's state
 * is the kernel's (ctx->bufs), mirrored to the buffer table for user space
 * to read and never read back.
 *
 * Locking: every operation runs inside SUBMIT, under ctx->lock, which
 * guards the region's free list and the entries of buffers not lent; a lent
 * buffer changes hands under the provider's rq_lock.
 *
 * Calls: ring.c calls in; this file calls provider.c, bpf.c and the inline
 * helpers of uior.h.
 */
#include <linux/nospec.h>
#include <linux/string.h>

#include "uior.h"

/* The buffer at region offset @addr: -ERANGE or -EINVAL if there is none. */
static int uior_buf_index(struct uior_ctx *ctx, u64 addr, u32 *idx)
{
	if (addr >= ctx->layout.data_size)
		return -ERANGE;
	if (addr & (ctx->layout.buf_size - 1))
		return -EINVAL;
	/* Below data_size, so below 2^32 buffers: u32 for array_index_nospec. */
	*idx = array_index_nospec((u32)(addr >> ctx->buf_shift),
				  ctx->layout.nr_bufs);
	return 0;
}

int uior_op_alloc(struct uior_ctx *ctx, const struct unified_io_desc *d,
		  u64 *addr)
{
	u32 idx;
	int ret;

	lockdep_assert_held(&ctx->lock);

	if (d->flags || !d->owner || d->addr || d->len > ctx->layout.buf_size ||
	    !mem_is_zero(d->pad, sizeof(d->pad)))
		return -EINVAL;
	ret = uior_buf_get(ctx, d->owner, &idx);
	if (ret)
		return ret;
	*addr = (u64)idx << ctx->buf_shift;
	return ctx->layout.buf_size;
}

int uior_op_free(struct uior_ctx *ctx, const struct unified_io_desc *d,
		 u64 *addr)
{
	struct uior_buf *b;
	u32 idx;
	int ret;

	lockdep_assert_held(&ctx->lock);

	if (d->flags || !d->owner || d->len ||
	    !mem_is_zero(d->pad, sizeof(d->pad)))
		return -EINVAL;
	ret = uior_buf_index(ctx, d->addr, &idx);
	if (ret)
		return ret;
	/* Lent to the network side: it goes back there. */
	if (uior_net_buf_lent(ctx, idx)) {
		ret = uior_net_free_buf(ctx, idx, d->owner);
		if (!ret)
			*addr = d->addr;
		return ret;
	}
	b = &ctx->bufs[idx];
	if (b->state == UNIFIED_IO_BUF_FREE)
		return -EALREADY;
	if (b->owner != d->owner)
		return -EPERM;
	if (b->state == UNIFIED_IO_BUF_SENDING)
		return -EBUSY;
	uior_buf_put(ctx, idx);
	*addr = d->addr;
	return 0;
}

int uior_op_bpf(struct uior_ctx *ctx, const struct unified_io_desc *d,
		u64 *addr, u32 *cflags)
{
	struct uior_buf *b;
	u32 idx;
	int ret;

	lockdep_assert_held(&ctx->lock);

	if (d->flags || !d->owner || !mem_is_zero(d->pad, sizeof(d->pad)))
		return -EINVAL;
	ret = uior_buf_index(ctx, d->addr, &idx);
	if (ret)
		return ret;
	if (!d->len || d->len > ctx->layout.buf_size)
		return -EINVAL;
	/*
	 * A buffer lent to the network side changes hands under the
	 * provider's lock (the NIC's refill runs in softirq): the provider
	 * checks the owner there and keeps the buffer from the NIC for the
	 * run.
	 */
	if (uior_net_buf_lent(ctx, idx)) {
		ret = uior_net_hold_buf(ctx, idx, d->owner);
		if (ret)
			return ret;
		*addr = d->addr;
		ret = uior_bpf_run(ctx, d, idx, cflags);
		uior_net_unhold_buf(ctx, idx);
		return ret;
	}
	b = &ctx->bufs[idx];
	if (b->state == UNIFIED_IO_BUF_FREE || b->owner != d->owner)
		return -EPERM;
	/* The stack may still send (and resend) these bytes. */
	if (b->state == UNIFIED_IO_BUF_SENDING)
		return -EBUSY;
	*addr = d->addr;
	return uior_bpf_run(ctx, d, idx, cflags);
}
