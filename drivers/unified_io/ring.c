// SPDX-License-Identifier: GPL-2.0
/*
 * unified_io rings: the submission and completion queues, SUBMIT's
 * dispatch of descriptors to their operations, COMPLETE and poll().
 *
 * The SQ and CQ live in memory user space can write at any time. The kernel
 * keeps its own SQ head and CQ tail (struct uior_ctx) and only publishes them;
 * the user-written SQ tail and CQ head are read once per SUBMIT with
 * load-acquire and clamped to the ring size. Each SQ entry is copied into a
 * local snapshot before any field is looked at, so a concurrent writer cannot
 * change a field between its check and its use.
 *
 * A descriptor is consumed only when its completion has a CQ slot; all
 * operations complete synchronously, inside SUBMIT, under ctx->lock, and
 * post their completions with uior_post_cqe() (uior.h). SUBMIT publishes
 * them at its end (uior_commit()). Waiters in COMPLETE and poll() read the
 * committed CQ tail locklessly and are woken only when it moves.
 *
 * Locking: ctx->lock guards the SQ head, the CQ tail and the statistics;
 * ctx->cq_committed is written under it and read without it.
 *
 * Calls: main.c calls in, uring.c (uior_op_dispatch()), and send.c's work
 * (uior_commit()); this file calls
 * the operations (buf.c, recv.c, send.c),
 * provider.c (the refill ring, lent buffers' counters) and the inline
 * helpers of uior.h.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/nospec.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/wait.h>

#include "uior.h"

/* UNIFIED_IO_OP_NOP, from the SQ and from io_uring (uring.c). */
int uior_op_nop(struct uior_ctx *ctx, const struct unified_io_desc *d,
		u64 *addr)
{
	if (d->flags || d->owner || d->len || d->addr ||
	    !mem_is_zero(d->pad, sizeof(d->pad)))
		return -EINVAL;
	return 0;
}

/*
 * Run @d, a kernel copy (every field is read from it, never from the SQ),
 * under ctx->lock, and count it by opcode: from the SQ (@ioucmd NULL), or
 * as the io_uring command @ioucmd (uring.c), whose RECV runs in recv.c
 * instead.  Returns the result, *@addr and *@cflags the completion's; a
 * SEND or an armed RECV that completes later returns -EIOCBQUEUED.
 * @space: the SQ's free CQ slots, at least one (two for a SEND).
 */
int uior_op_dispatch(struct uior_ctx *ctx, const struct unified_io_desc *d,
		     struct io_uring_cmd *ioucmd, u32 space, u64 *addr,
		     u32 *cflags)
{
	int res;

	lockdep_assert_held(&ctx->lock);

	switch (d->opcode) {
	case UNIFIED_IO_OP_NOP:
		res = uior_op_nop(ctx, d, addr);
		break;
	case UNIFIED_IO_OP_ALLOC:
		res = uior_op_alloc(ctx, d, addr);
		break;
	case UNIFIED_IO_OP_FREE:
		res = uior_op_free(ctx, d, addr);
		break;
	case UNIFIED_IO_OP_BPF:
		res = uior_op_bpf(ctx, d, addr, cflags);
		break;
	case UNIFIED_IO_OP_RECV:
		if (WARN_ON_ONCE(ioucmd))
			return -EINVAL;
		/* Chunks first, in the slots the final completion leaves. */
		res = uior_op_recv(ctx, d, space - 1);
		break;
	case UNIFIED_IO_OP_SEND:
		/* SQ: the caller left two slots, the second for the notif. */
		res = ioucmd ? uior_op_send_uring(ctx, d, ioucmd, addr, cflags) :
			       uior_op_send(ctx, d, addr, cflags);
		break;
	case UNIFIED_IO_OP_CANCEL:
		res = uior_op_cancel(ctx, d);
		break;
	default:
		res = -EOPNOTSUPP;
		break;
	}
	if (d->opcode < UNIFIED_IO_OP_LAST)
		ctx->stats.ops[array_index_nospec(d->opcode,
						  UNIFIED_IO_OP_LAST)]++;
	return res;
}

/*
 * One descriptor of the SQ, with @space free CQ slots.  Returns the slots
 * used: completions posted, and a slot reserved for a SEND's notification.
 */
static u32 uior_issue(struct uior_ctx *ctx, const struct unified_io_desc *d,
		      u32 space)
{
	u32 cflags = 0, tail = ctx->cq_tail, reserved = ctx->cq_reserved;
	u64 addr = 0;
	int res;

	res = uior_op_dispatch(ctx, d, NULL, space, &addr, &cflags);
	/* An armed RECV posts its final completion when it stops. */
	if (res != -EIOCBQUEUED)
		uior_post_cqe(ctx, d, res, addr, cflags);
	return ctx->cq_tail - tail + ctx->cq_reserved - reserved;
}

/*
 * Free CQ slots a descriptor needs to be consumed: a SEND's completion and
 * its notification's; an armed RECV's final completion and a chunk's; but
 * on a CQ of one entry, where both fail with EINVAL (they would never be
 * consumed, and block the SQ).
 */
static u32 uior_slots_needed(struct uior_ctx *ctx,
			     const struct unified_io_desc *d)
{
	bool two = d->opcode == UNIFIED_IO_OP_SEND ||
		   (d->opcode == UNIFIED_IO_OP_RECV &&
		    d->net.flags & UNIFIED_IO_RECV_F_ARM);

	return two && ctx->config.cq_entries > 1 ? 2 : 1;
}

/*
 * Completions user space has not consumed, from the committed tail and the
 * user-written head. False if the head is outside the ring.
 */
static bool uior_cq_used(struct uior_ctx *ctx, u32 tail, u32 *used)
{
	/* User space reads a CQE before it releases the slot with the head. */
	u32 head = smp_load_acquire(&ctx->ctrl->cq_head);

	*used = tail - head;
	return *used <= ctx->config.cq_entries;
}

static u32 uior_cq_ready(struct uior_ctx *ctx)
{
	u32 used;

	if (!uior_cq_used(ctx, READ_ONCE(ctx->cq_committed), &used))
		return 0;
	return used;
}

/*
 * Free CQ slots, less those reserved for SEND notifications and armed
 * RECVs' final completions; a hostile head counts as a full CQ.
 */
u32 uior_cq_space(struct uior_ctx *ctx)
{
	u32 used;

	lockdep_assert_held(&ctx->lock);

	if (!uior_cq_used(ctx, ctx->cq_tail, &used)) {
		ctx->stats.cq_bad_head++;
		return 0;
	}
	used += ctx->cq_reserved;
	return used < ctx->config.cq_entries ? ctx->config.cq_entries - used : 0;
}

/* Publish counters and posted completions; wake waiters if there are new. */
void uior_commit(struct uior_ctx *ctx)
{
	lockdep_assert_held(&ctx->lock);

	uior_stats_snapshot(ctx, &ctx->ctrl->stats);
	if (ctx->cq_committed == ctx->cq_tail)
		return;
	/* CQEs are written before user space can see the new tail. */
	smp_store_release(&ctx->ctrl->cq_tail, ctx->cq_tail);
	WRITE_ONCE(ctx->cq_committed, ctx->cq_tail);
	/* wq_has_sleeper() orders the tail before the waiters' check. */
	if (wq_has_sleeper(&ctx->cq_wait))
		wake_up_interruptible_poll(&ctx->cq_wait, EPOLLIN | EPOLLRDNORM);
}

static int uior_submit_sq(struct uior_ctx *ctx, u32 to_submit)
{
	/* User space writes the SQEs before it releases the tail. */
	u32 tail = smp_load_acquire(&ctx->ctrl->sq_tail);
	u32 head = ctx->sq_head;
	u32 nr = tail - head, space, i;

	lockdep_assert_held(&ctx->lock);

	if (nr > ctx->config.sq_entries) {
		ctx->stats.sq_bad_tail++;
		nr = ctx->config.sq_entries;
	}
	nr = min(nr, to_submit);
	if (!nr)
		return 0;
	space = uior_cq_space(ctx);

	/*
	 * RECV may post several completions and SEND reserves a slot: stop
	 * when the next descriptor's completions have no room.
	 */
	for (i = 0; i < nr; i++, head++) {
		struct unified_io_desc d;

		memcpy(&d, &ctx->sqes[head & ctx->sq_mask], sizeof(d));
		/* Snapshot taken: no field may be re-read from the SQ. */
		barrier();
		if (space < uior_slots_needed(ctx, &d))
			break;
		space -= uior_issue(ctx, &d, space);
	}
	if (!i) {
		ctx->stats.cq_full++;
		return -EBUSY;
	}
	nr = i;
	ctx->sq_head = head;
	/* The SQEs are copied before user space may reuse their slots. */
	smp_store_release(&ctx->ctrl->sq_head, head);
	return nr;
}

static int uior_submit_inline(struct uior_ctx *ctx,
			      const struct unified_io_desc *d)
{
	lockdep_assert_held(&ctx->lock);

	u32 space = uior_cq_space(ctx);

	if (space < uior_slots_needed(ctx, d)) {
		ctx->stats.cq_full++;
		return -EBUSY;
	}
	uior_issue(ctx, d, space);
	return 1;
}

int uior_submit(struct uior_ctx *ctx, struct unified_io_submit *p)
{
	bool inl = p->flags & UNIFIED_IO_SUBMIT_F_INLINE;
	int ret;

	if (p->flags & ~UNIFIED_IO_SUBMIT_F_INLINE || p->resv)
		return -EINVAL;
	if (inl ? p->to_submit != 0 : !mem_is_zero(&p->desc, sizeof(p->desc)))
		return -EINVAL;

	if (mutex_lock_interruptible(&ctx->lock))
		return -EINTR;
	uior_net_drain_refill(ctx);
	uior_send_begin(ctx);
	ret = inl ? uior_submit_inline(ctx, &p->desc) :
		    uior_submit_sq(ctx, p->to_submit);
	if (ret > 0) {
		ctx->stats.submit_calls++;
		ctx->stats.sqes += ret;
	}
	uior_commit(ctx);
	mutex_unlock(&ctx->lock);
	return ret;
}

/*
 * Sleep until @min completions are ready, @timeout_ns at most (0: no
 * limit), running in this task the armed RECVs woken meanwhile (recv.c);
 * as wait_event_interruptible_hrtimeout(), with one timer for the whole
 * wait however often a run wakes it.
 */
static int uior_complete_wait(struct uior_ctx *ctx, u32 min, u64 timeout_ns)
{
	/* A region without armed RECVs waits for completions only. */
	bool arms = uior_recv_any_armed(ctx);
	struct hrtimer_sleeper t;
	DEFINE_WAIT(wait);
	DEFINE_WAIT(arm);
	int ret = 0;

	hrtimer_setup_sleeper_on_stack(&t, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	if (timeout_ns) {
		hrtimer_set_expires_range_ns(&t.timer,
					     ns_to_ktime(min_t(u64, timeout_ns,
							       KTIME_MAX)),
					     current->timer_slack_ns);
		hrtimer_sleeper_start_expires(&t, HRTIMER_MODE_REL);
	}
	if (arms)
		uior_recv_wait_begin(ctx);
	for (;;) {
		/*
		 * New completions wake us there, a due run here: one waiter
		 * of several (one that leaves instead hands the run to the
		 * work, uior_recv_wait_end()).
		 */
		prepare_to_wait(&ctx->cq_wait, &wait, TASK_INTERRUPTIBLE);
		if (arms)
			prepare_to_wait_exclusive(&ctx->arm_wait, &arm,
						  TASK_INTERRUPTIBLE);
		if (uior_cq_ready(ctx) >= min)
			break;
		if (!t.task) {
			ret = -ETIME;
			break;
		}
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (arms && uior_recv_woken(ctx)) {
			/* Still queued: a wake meanwhile only sets it running. */
			__set_current_state(TASK_RUNNING);
			uior_recv_wait_run(ctx);
			continue;
		}
		schedule();
	}
	finish_wait(&ctx->cq_wait, &wait);
	if (arms) {
		finish_wait(&ctx->arm_wait, &arm);
		uior_recv_wait_end(ctx);
	}
	hrtimer_cancel(&t.timer);
	destroy_hrtimer_on_stack(&t.timer);
	return ret;
}

int uior_complete(struct uior_ctx *ctx, struct unified_io_complete *p)
{
	u32 min = p->min_complete;
	int ret = 0;

	if (p->flags || p->resv || min > ctx->config.cq_entries)
		return -EINVAL;

	if (uior_cq_ready(ctx) < min) {
		atomic64_inc(&ctx->waits);
		ret = uior_complete_wait(ctx, min, p->timeout_ns);
	}
	p->ready = uior_cq_ready(ctx);
	return ret ? ret : p->ready;
}

/*
 * EPOLLIN only: CQ space appears when user space moves the CQ head, which no
 * system call reports, so an EPOLLOUT could never be signalled.
 */
__poll_t uior_poll_mask(struct uior_ctx *ctx)
{
	return uior_cq_ready(ctx) ? EPOLLIN | EPOLLRDNORM : 0;
}

void uior_stats_snapshot(struct uior_ctx *ctx, struct unified_io_stats *out)
{
	lockdep_assert_held(&ctx->lock);
	ctx->stats.waits = atomic64_read(&ctx->waits);
	memcpy(out, &ctx->stats, sizeof(*out));
	/* Buffers lent to the network side change hands in softirq. */
	uior_net_stats(ctx, out);
}
