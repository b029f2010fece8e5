// SPDX-License-Identifier: GPL-2.0
/*
 * unified_io on io_uring: the region's operations as IORING_OP_URING_CMD
 * requests on the region fd (struct unified_io_uring_cmd), next to NVMe
 * passthrough and the application's other requests, completed on its own
 * ring and linked with IOSQE_IO_LINK.
 *
 * A command carries one descriptor, copied once from the SQE's 80-byte
 * command area; of the rest of the SQE an armed RECV reads buf_index once
 * at issue (recv.c), after io_uring checked it at prep.  NOP, ALLOC, FREE,
 * BPF and CANCEL run the SQ path's functions under ctx->lock and complete
 * at once (io_uring_cmd_done32(): res, and the completion's address and
 * flags packed in big_cqe[0]).  SEND completes when its notification would
 * be posted (send.c), or at once when it queued nothing; it takes no slot
 * of the module's CQ.  An armed RECV completes in its task work (recv.c).
 * The module's CQ gets nothing of an io_uring command but the final
 * completions of the module ring's armed RECVs a CANCEL stops.
 *
 * Object model: the io_uring request is io_uring's; an io_uring SEND's
 * notif (send.c) points at it until it completes it, and the command's pdu
 * (struct uior_uring_pdu) points back, under ctx->uring_lock, so that
 * io_uring's cancellation (IO_URING_F_CANCEL: the submitting task execs,
 * or the ring goes) and the notification complete it exactly once.  A
 * task's exit cancels nothing: the completion comes when the stack lets go
 * of the bytes, through io_uring's fallback work.  A request in
 * flight holds the region file, so the region outlives it.
 *
 * Locking: the operations run under ctx->lock, which an issue that must
 * not block (IO_URING_F_NONBLOCK) only tries: on contention -EAGAIN has
 * io_uring issue the command again from io-wq, where it may sleep.  The
 * order is io_uring's ring lock (held by an inline issue, by task work and
 * by the cancellation), then ctx->lock, then the socket lock; nothing of
 * ours calls into io_uring with ctx->lock held in a way that takes the
 * ring lock (io_uring_cmd_mark_cancelable() takes it only from io-wq, and
 * there before ctx->lock; task work and done calls with the ring's own
 * issue_flags).  A SEND's cancellation takes ctx->uring_lock only, a
 * spinlock inside all of those.
 *
 * Calls: main.c calls in (uior_fops.uring_cmd), send.c to complete a SEND;
 * this file calls ring.c (uior_op_dispatch(), the SQ's switch of the
 * operations), send.c and recv.c.
 */
#include <linux/io_uring/cmd.h>
#include <linux/string.h>

#include "uior.h"

static_assert(sizeof(struct unified_io_uring_cmd) == 80);
static_assert(offsetof(struct unified_io_uring_cmd, resv) == 64);

static void uior_uring_tw(struct io_tw_req tw_req, io_tw_token_t tw)
{
	struct io_uring_cmd *ioucmd = io_uring_cmd_from_tw(tw_req);
	struct uior_uring_pdu *pdu = uior_uring_pdu(ioucmd);

	io_uring_cmd_done32(ioucmd, pdu->res, pdu->res2,
			    IO_URING_CMD_TASK_WORK_ISSUE_FLAGS);
}

/*
 * Complete @ioucmd from outside its issue (send.c's work), in the task
 * that submitted it, where io_uring's completion may run.
 */
void uior_uring_complete(struct io_uring_cmd *ioucmd, s32 res, u64 addr,
			 u32 flags)
{
	struct uior_uring_pdu *pdu = uior_uring_pdu(ioucmd);

	pdu->res = res;
	pdu->res2 = uior_uring_res2(addr, flags);
	io_uring_cmd_complete_in_task(ioucmd, uior_uring_tw);
}

/*
 * io_uring cancels a command we marked cancelable, under its ring lock: a
 * SEND completes now unless its notification did first (ctx->uring_lock
 * only); an armed RECV is stopped under ctx->lock, and completes in its
 * task work.
 */
static int uior_uring_cancel(struct uior_ctx *ctx, struct io_uring_cmd *ioucmd,
			     unsigned int issue_flags)
{
	u64 addr;

	/* An armed RECV completes in its task work (recv.c). */
	if (uior_uring_pdu(ioucmd)->arm) {
		uior_uring_recv_cancel(ctx, ioucmd);
		return 0;
	}
	if (uior_send_uring_cancel(ctx, ioucmd, &addr))
		io_uring_cmd_done32(ioucmd, -ECANCELED, uior_uring_res2(addr, 0),
				    issue_flags);
	return 0;
}

/*
 * The command's descriptor and io_uring's flags, before anything runs:
 * EINVAL for what the uapi header lists.
 */
static int uior_uring_check(struct io_uring_cmd *ioucmd,
			    const struct unified_io_uring_cmd *c)
{
	const struct unified_io_desc *d = &c->desc;
	bool mshot = ioucmd->flags & IORING_URING_CMD_MULTISHOT;

	if (c->resv[0] || c->resv[1])
		return -EINVAL;
	if (d->opcode == UNIFIED_IO_OP_RECV)
		return mshot && d->net.flags & UNIFIED_IO_RECV_F_ARM ?
		       0 : -EINVAL;
	return mshot ? -EINVAL : 0;
}

/*
 * Run @d, a kernel copy, under ctx->lock as SUBMIT would, but with no CQ of
 * the module's: the result is the command's.  -EIOCBQUEUED for a SEND the
 * notification completes.
 */
static int uior_uring_issue(struct uior_ctx *ctx, struct io_uring_cmd *ioucmd,
			    const struct unified_io_desc *d, u64 *addr,
			    u32 *cflags)
{
	int res = uior_op_dispatch(ctx, d, ioucmd, 0, addr, cflags);

	ctx->uring.cmds++;
	if (res < 0 && res != -EIOCBQUEUED)
		ctx->uring.errors++;
	/*
	 * The final completions a CANCEL posted to the module's CQ for its
	 * arms.  The counters reach the control area with them, or at the
	 * next SUBMIT: GET_INFO and fdinfo read them at once.
	 */
	if (ctx->cq_tail != ctx->cq_committed)
		uior_commit(ctx);
	return res;
}

/* file_operations.uring_cmd of the region fd. */
int uior_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct uior_ctx *ctx = ioucmd->file->private_data;
	struct unified_io_uring_cmd c;
	u32 cflags = 0;
	u64 addr = 0;
	int res;

	if (issue_flags & IO_URING_F_CANCEL)
		return uior_uring_cancel(ctx, ioucmd, issue_flags);

	if (ioucmd->cmd_op != UNIFIED_IO_URING_CMD_DESC)
		return -ENOTTY;
	/* The command is 80 bytes, the completion packs res2: as NVMe's. */
	if (!(issue_flags & IO_URING_F_SQE128) ||
	    !(issue_flags & IO_URING_F_CQE32))
		return -EINVAL;
	/* No registered buffer: the region's memory is the data. */
	if (ioucmd->flags & IORING_URING_CMD_FIXED)
		return -EINVAL;
	/* Pairs with the store-release in SETUP: geometry is then stable. */
	if (!smp_load_acquire(&ctx->ready))
		return -EBADFD;

	/*
	 * The SQE stays user-writable: the command area is copied once, and
	 * every field of the descriptor is read from the copy.
	 */
	memcpy(&c, io_uring_sqe128_cmd(ioucmd->sqe, struct unified_io_uring_cmd),
	       sizeof(c));
	barrier();
	res = uior_uring_check(ioucmd, &c);
	if (res)
		return res;
	uior_uring_pdu(ioucmd)->notif = NULL;
	uior_uring_pdu(ioucmd)->arm = NULL;
	/* Armed RECV: recv.c marks it cancelable once armed, ctx->lock released. */
	if (c.desc.opcode == UNIFIED_IO_OP_RECV) {
		res = uior_uring_recv(ctx, ioucmd, &c.desc, issue_flags);
		if (res == -EAGAIN || res == -EIOCBQUEUED)
			return res;
		io_uring_cmd_done32(ioucmd, res, 0, issue_flags);
		return -EIOCBQUEUED;
	}
	/*
	 * A SEND may wait for the stack: io_uring may cancel it (exec, ring
	 * teardown), so it is marked cancelable before the notification can
	 * complete it, and once nothing returns -EAGAIN any more: io_uring
	 * takes a command off its cancelable list only in
	 * io_uring_cmd_done32(), and would free one that failed on its way to
	 * io-wq while still on it.  Never under ctx->lock with io_uring's
	 * ring lock to take: the cancellation of an armed RECV takes
	 * ctx->lock under it.  Inline (IO_URING_F_NONBLOCK) io_uring holds
	 * its lock and marking takes none; from io-wq marking takes it, so
	 * before ours.
	 */
	if (issue_flags & IO_URING_F_NONBLOCK) {
		if (!mutex_trylock(&ctx->lock))
			return -EAGAIN;
		if (c.desc.opcode == UNIFIED_IO_OP_SEND)
			io_uring_cmd_mark_cancelable(ioucmd, issue_flags);
	} else {
		if (c.desc.opcode == UNIFIED_IO_OP_SEND)
			io_uring_cmd_mark_cancelable(ioucmd, issue_flags);
		mutex_lock(&ctx->lock);
	}
	res = uior_uring_issue(ctx, ioucmd, &c.desc, &addr, &cflags);
	mutex_unlock(&ctx->lock);

	if (res != -EIOCBQUEUED)
		io_uring_cmd_done32(ioucmd, res, uior_uring_res2(addr, cflags),
				    issue_flags);
	return -EIOCBQUEUED;
}
