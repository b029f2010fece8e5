// SPDX-License-Identifier: GPL-2.0
/*
 * unified_io RECV: TCP payload into region buffers.
 *
 * UNIFIED_IO_OP_RECV walks a TCP socket's receive queue with tcp_read_sock()
 * and posts one completion per chunk (UNIFIED_IO_CQE_F_MORE), then the
 * final one. A chunk in a net_iov of the region's own memory provider
 * (provider.c) is handed over as it is: the descriptor's owner gets a user
 * reference on the buffer, and the chunk a page pool reference, so the
 * buffer is not recycled while the application reads it. Anything else
 * (linear skb data, page frags) is copied into a free buffer and counted:
 * from the provider's free list once the region has lent buffers, else from
 * the region's. With UNIFIED_IO_RECV_F_BPF the region's BPF chain (bpf.c)
 * runs over every chunk that starts a buffer before it is delivered.
 *
 * Object model: one struct uior_recv per RECV, on the stack.
 *
 * Locking: RECV runs inside SUBMIT, under ctx->lock, and walks the socket
 * under lock_sock(); buffers of the provider change hands under its locks
 * (provider.c).
 *
 * Calls: ring.c calls in (uior_op_recv()), main.c for the counters; this
 * file calls provider.c, bpf.c and the inline helpers of uior.h.
 */
#include <linux/highmem.h>
#include <linux/list.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched/deadline.h>	/* dl_task(): kcompat.h's fallback */
#include <linux/sched/isolation.h>
#include <linux/sched/rt.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/netmem.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <linux/io_uring/cmd.h>

#include "uior.h"

struct uior_recv {
	struct uior_ctx *ctx;
	struct uior_net *net;		/* NULL: copies go to the region */
	const struct unified_io_desc *d;
	u32 slots;			/* chunk completions left */
	int err;			/* why the walk stopped early */
	/* io_uring: chunk completions go to @recs, not to the CQ */
	struct unified_io_cqe *recs;
	u32 nrecs;
};

static void uior_recv_post(struct uior_recv *r, s32 res, u64 addr, u32 flags)
{
	flags |= UNIFIED_IO_CQE_F_MORE;
	if (r->recs)
		r->recs[r->nrecs++] = (struct unified_io_cqe){
			.user_data	= r->d->user_data,
			.res		= res,
			.flags		= flags,
			.addr		= addr,
			.opcode		= r->d->opcode,
		};
	else
		uior_post_cqe(r->ctx, r->d, res, addr, flags);
	r->slots--;
}

/*
 * Run the chain over a chunk that starts buffer @idx. Returns 0 to deliver
 * the chunk (*@len is then the length the programs left), 1 if a program
 * dropped it, or the error of a failed run (the chunk is not delivered).
 */
static int uior_recv_bpf(struct uior_recv *r, u32 idx, u32 *len, u32 *cflags)
{
	struct unified_io_desc d = *r->d;
	int ret;

	d.addr = (u64)idx << r->ctx->buf_shift;
	d.len = *len;
	ret = uior_bpf_run(r->ctx, &d, idx, cflags);
	if (ret < 0)
		return ret;
	if (*cflags & UNIFIED_IO_CQE_F_BPF_DROP) {
		r->ctx->recv.bpf_drops++;
		return 1;
	}
	*len = ret;
	return 0;
}

/* A free buffer for a copy, now held by the descriptor's owner. */
static int uior_recv_copy_buf(struct uior_recv *r, u32 *idx)
{
	if (r->net)
		return uior_net_copy_buf(r->net, r->d->owner, idx);
	return uior_buf_get(r->ctx, r->d->owner, idx);
}

/* Give back a copy buffer the application never saw. */
static void uior_recv_copy_buf_put(struct uior_recv *r, u32 idx)
{
	if (r->net)
		uior_net_put_buf(r->net, idx, r->d->owner);
	else
		uior_buf_put(r->ctx, idx);
}

/* Copy @len bytes at @off of @page (a compound page, or linear memory). */
static void uior_recv_memcpy(struct uior_ctx *ctx, u32 idx, struct page *page,
			     size_t off, u32 len)
{
	size_t doff = (size_t)idx << ctx->buf_shift;
	u32 done = 0;

	while (done < len) {
		size_t s = off + done, t = doff + done;
		u32 n = min3((size_t)(len - done),
			     PAGE_SIZE - offset_in_page(s),
			     PAGE_SIZE - offset_in_page(t));

		memcpy_page(ctx->pages[ctx->meta_pages + t / PAGE_SIZE],
			    offset_in_page(t), page + s / PAGE_SIZE,
			    offset_in_page(s), n);
		done += n;
	}
}

/* Copy bytes the NIC did not put in this region into free buffers. */
static int uior_recv_copy(struct uior_recv *r, struct page *page, size_t off,
			  size_t len)
{
	struct uior_ctx *ctx = r->ctx;
	bool bpf = r->d->net.flags & UNIFIED_IO_RECV_F_BPF;
	size_t done = 0;
	int ret = 0;

	while (done < len) {
		u32 idx, cflags = UNIFIED_IO_CQE_F_COPIED, n, res;
		int verdict = 0;

		if (!r->slots) {
			ret = -ENOSPC;
			break;
		}
		ret = uior_recv_copy_buf(r, &idx);
		if (ret)
			break;
		n = min_t(size_t, len - done, ctx->layout.buf_size);
		uior_recv_memcpy(ctx, idx, page, off + done, n);
		ctx->recv.copy_chunks++;
		ctx->recv.copy_bytes += n;
		done += n;

		res = n;
		if (bpf)
			verdict = uior_recv_bpf(r, idx, &res, &cflags);
		if (verdict) {
			uior_recv_copy_buf_put(r, idx);
			uior_recv_post(r, verdict < 0 ? verdict : 0,
				       (u64)idx << ctx->buf_shift, cflags);
		} else {
			uior_recv_post(r, res, (u64)idx << ctx->buf_shift,
				       cflags);
		}
	}
	if (ret)
		r->err = ret;
	return done ? done : ret;
}

/* A frag: handed over if it is one of this region's buffers, else copied. */
static int uior_recv_frag(struct uior_recv *r, const skb_frag_t *frag,
			  u32 off, u32 len)
{
	struct uior_ctx *ctx = r->ctx;
	struct net_iov *niov;
	u32 idx, pos, cflags = 0, res = len;
	int verdict = 0;

	if (!skb_frag_is_net_iov(frag))
		return uior_recv_copy(r, skb_frag_page(frag),
				      skb_frag_off(frag) + off, len);

	niov = netmem_to_net_iov(frag->netmem);
	if (!r->net || !uior_net_is_ours(r->net, niov->desc.pp)) {
		/* Another provider's memory: the CPU cannot read it. */
		r->err = -EFAULT;
		return -EFAULT;
	}
	if (!r->slots) {
		r->err = -ENOSPC;
		return -ENOSPC;
	}
	idx = net_iov_idx(niov);
	pos = skb_frag_off(frag) + off;
	/*
	 * The descriptor's owner takes the buffer first, so programs never
	 * run over bytes that are not delivered.
	 */
	if (uior_net_take_frag(r->net, niov, r->d->owner)) {
		r->err = -EBUSY;
		return -EBUSY;
	}
	/* A chunk inside a buffer has no room for the programs' metadata. */
	if (!pos && (r->d->net.flags & UNIFIED_IO_RECV_F_BPF))
		verdict = uior_recv_bpf(r, idx, &res, &cflags);
	if (verdict) {
		/* Not delivered: it recycles with the skb, which holds it. */
		uior_net_put_buf(r->net, idx, r->d->owner);
		uior_recv_post(r, verdict < 0 ? verdict : 0,
			       (u64)idx << ctx->buf_shift, cflags);
		return len;
	}
	uior_recv_post(r, res, ((u64)idx << ctx->buf_shift) + pos, cflags);
	ctx->recv.zc_chunks++;
	ctx->recv.zc_bytes += len;
	return len;
}

static int uior_recv_skb(read_descriptor_t *desc, struct sk_buff *skb,
			 unsigned int offset, size_t len)
{
	struct uior_recv *r = desc->arg.data;
	unsigned int start, start_off = offset, end;
	struct sk_buff *frag_iter;
	int i, ret = 0;
	u32 copy;

	len = min_t(size_t, len, desc->count);
	/* tcp_read_sock() calls once more with nothing left to take. */
	if (!len)
		return 0;

	if (offset < skb_headlen(skb)) {
		copy = min_t(size_t, skb_headlen(skb) - offset, len);
		ret = uior_recv_copy(r, virt_to_page(skb->data),
				     offset_in_page(skb->data) + offset, copy);
		if (ret < 0)
			goto out;
		offset += ret;
		len -= ret;
		if (!len || ret != copy)
			goto out;
	}

	start = skb_headlen(skb);
	for (i = 0; i < skb_shinfo(skb)->nr_frags; i++) {
		const skb_frag_t *frag = &skb_shinfo(skb)->frags[i];

		end = start + skb_frag_size(frag);
		if (offset < end) {
			copy = min_t(size_t, end - offset, len);
			ret = uior_recv_frag(r, frag, offset - start, copy);
			if (ret < 0)
				goto out;
			offset += ret;
			len -= ret;
			if (!len || ret != copy)
				goto out;
		}
		start = end;
	}

	skb_walk_frags(skb, frag_iter) {
		end = start + frag_iter->len;
		if (offset < end) {
			size_t count = desc->count;

			copy = min_t(size_t, end - offset, len);
			ret = uior_recv_skb(desc, frag_iter, offset - start,
					    copy);
			desc->count = count;
			if (ret < 0)
				goto out;
			offset += ret;
			len -= ret;
			if (!len || ret != copy)
				goto out;
		}
		start = end;
	}
out:
	if (offset == start_off)
		return ret;
	desc->count -= offset - start_off;
	return offset - start_off;
}

/*
 * An armed RECV: the socket's wait queue wakes the region's work item,
 * which takes what the stack queued; the io_uring form (@cmd) queues task
 * work on the submitter instead (uior_arm_tw()), which gathers the chunk
 * completions in @recs and copies them into provided buffers.  Records
 * whose bytes left the socket but that did not reach the ring (@npend)
 * stay there when the RECV stops: the arm is then parked (@cmd NULL, off
 * the wait queue) until the next io_uring RECV on the socket takes it
 * over, or a CANCEL drops them.  On ctx->arms under ctx->lock; the entry
 * holds the socket's file.
 */
struct uior_arm {
	struct list_head node;
	struct uior_ctx *ctx;
	struct socket *sock;
	struct wait_queue_entry wait;
	bool waiting;			/* on the socket's wait queue */
	unsigned long flags;		/* UIOR_ARM_* bits */
	struct unified_io_desc d;	/* kernel copy of the RECV */
	/* io_uring form: the multishot command, its provided buffers */
	struct io_uring_cmd *cmd;
	u16 buf_group;
	int stop;			/* stopping with this result */
	struct unified_io_cqe *recs;	/* UIOR_ARM_RECS records */
	u32 npend;			/* of them, not delivered */
	u64 lost_buf;			/* big_cqe[0]: buffer taken, no CQE */
};

/*
 * A stopped io_uring RECV whose last records did not reach the ring (a
 * full CQ, a bad provided buffer, no buffer large enough, or any final
 * result before a takeover's first run delivered them): it stays on
 * ctx->arms, off the wait queue, for the next io_uring RECV on its socket
 * to deliver them.
 */
static bool uior_arm_parked(const struct uior_arm *arm)
{
	return !arm->cmd && arm->recs;
}

enum {
	UIOR_ARM_WOKEN,			/* the socket has news for a run */
	UIOR_ARM_TW,			/* io_uring: task work queued */
};

enum {
	UIOR_CTX_ARMS_WOKEN,		/* ctx->arm_state: a run is due */
};

/* Records gathered per provided buffer: one page. */
#define UIOR_ARM_RECS	(PAGE_SIZE / sizeof(struct unified_io_cqe))

static void uior_arm_tw(struct io_tw_req tw_req, io_tw_token_t tw);

/* The arms' work: per-CPU (uior_arm_queue()), and unbound for the rest. */
static struct workqueue_struct *uior_recv_wq;
static struct workqueue_struct *uior_recv_any_wq;

/*
 * Where the work runs for the calling task (it arms, or waits in
 * COMPLETE): its CPU, where the work runs while the application is off it
 * or preempts it briefly (a nice -20 kworker), taking in one run what came
 * meanwhile, as task work would, instead of taking the CPU the softirq and
 * the sender need (on an unbound queue it ran once per skb beside the
 * application and cost 18% more CPU per byte at four flows in the network
 * bench).  Not beside a real-time task, which would starve a normal
 * kworker, nor on a CPU isolated from kernel work (nohz_full, isolcpus):
 * -1 there, the unbound queue.
 */
static int uior_arm_cpu_here(void)
{
	int cpu = raw_smp_processor_id();

	/*
	 * The isolated set can change (cpuset partitions: HK_TYPE_DOMAIN
	 * since 7.3), its masks freed after a grace period.  The CPU picked
	 * here stays until the next arm or COMPLETE picks again;
	 * uior_arm_queue() looks once more before each run it queues there.
	 */
	guard(rcu)();
	if (rt_or_dl_task_policy(current) ||
	    !housekeeping_cpu(cpu, HK_TYPE_WQ) ||
	    !housekeeping_cpu(cpu, HK_TYPE_DOMAIN))
		return -1;
	return cpu;
}

/*
 * A CPU gone offline since it was picked only means another runs the work
 * (queue_work_on()); one isolated since (a cpuset partition) gets none:
 * the unbound queue runs it, as memcg's drain does.
 */
static void uior_arm_queue(struct uior_ctx *ctx)
{
	int cpu = READ_ONCE(ctx->arm_cpu);

	if (cpu >= 0) {
		guard(rcu)();
		if (housekeeping_cpu(cpu, HK_TYPE_DOMAIN)) {
			queue_work_on(cpu, uior_recv_wq, &ctx->arm_work);
			return;
		}
	}
	queue_work(uior_recv_any_wq, &ctx->arm_work_any);
}

/*
 * Who runs the arms a wake marked (UIOR_ARM_WOKEN): a task sleeping in
 * COMPLETE on this region if there is one, as io_uring's task work runs
 * on the waiting submitter, so no third context stands between the
 * softirq and the application; the work item if none waits.  Any context.
 */
static void uior_arm_kick(struct uior_ctx *ctx)
{
	/*
	 * The caller set its arm's bit.  A run already due reads it: the
	 * runner clears the region's bit, fully ordered, before it reads the
	 * arms' (store buffering: with this barrier, one of the two sees the
	 * other's store).  So no locked operation per skb while a run is due.
	 */
	smp_mb__after_atomic();
	if (test_bit(UIOR_CTX_ARMS_WOKEN, &ctx->arm_state))
		return;
	if (test_and_set_bit(UIOR_CTX_ARMS_WOKEN, &ctx->arm_state))
		return;			/* a run is coming */
	/* Fully ordered: pairs with uior_recv_wait_end()'s barrier. */
	if (atomic_read(&ctx->arm_waiters))
		wake_up_interruptible(&ctx->arm_wait);
	else
		uior_arm_queue(ctx);
}

/*
 * The socket's wait queue: new data, FIN, reset, error. Called with the
 * queue's lock held, from softirq too: only note it and wake the work.
 */
static int uior_arm_wake(struct wait_queue_entry *wait, unsigned int mode,
			 int sync, void *key)
{
	struct uior_arm *arm = container_of(wait, struct uior_arm, wait);
	__poll_t mask = key_to_poll(key);

	if (mask && !(mask & (EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLHUP |
			      EPOLLERR)))
		return 0;
	if (arm->cmd) {
		/* The submitter's task posts to its ring (uior_arm_tw()). */
		if (!test_and_set_bit(UIOR_ARM_TW, &arm->flags))
			__io_uring_cmd_do_in_task(arm->cmd, uior_arm_tw,
						  IOU_F_TWQ_IN_WAKE);
		return 0;
	}
	set_bit(UIOR_ARM_WOKEN, &arm->flags);
	uior_arm_kick(arm->ctx);
	return 0;
}

static void uior_arm_unwait(struct uior_arm *arm)
{
	if (arm->waiting)
		remove_wait_queue(&arm->sock->wq.wait, &arm->wait);
	arm->waiting = false;
}

static void uior_arm_free(struct uior_arm *arm)
{
	list_del(&arm->node);
	sockfd_put(arm->sock);
	kfree(arm->recs);
	kfree(arm);
}

/*
 * Why a RECV stopped taking bytes, in tcp_recvmsg()'s order (a reset also
 * shuts the socket); -EAGAIN when it did not.  Under the socket lock.
 */
static int uior_recv_why(struct sock *sk, const struct uior_recv *r)
{
	if (r->err)
		return r->err;
	if (sock_flag(sk, SOCK_DONE))
		return 0;
	if (sk->sk_err)
		return sock_error(sk);
	if (sk->sk_shutdown & RCV_SHUTDOWN)
		return 0;
	if (sk->sk_state == TCP_CLOSE)
		return -ENOTCONN;
	return -EAGAIN;
}

/*
 * Bytes are queued and tcp_read_sock() took none: it stops at urgent data
 * (MSG_OOB), which only tcp_recvmsg() steps over.  Under the socket lock.
 */
static int uior_recv_urgent(struct sock *sk)
{
	return READ_ONCE(tcp_sk(sk)->urg_data) ? -EPROTO : -EAGAIN;
}

/*
 * Take what is queued on @sk into chunk completions, under ctx->lock.
 * One-shot (@stop NULL): returns the final result.  Armed: returns 0 and
 * sets *@stop to the final result when the RECV stops, to -EAGAIN when it
 * stays armed, and to -EINPROGRESS when bytes are left that another run
 * must take.
 */
static int uior_recv_sk(struct uior_recv *r, struct sock *sk, size_t count,
			int *stop)
{
	read_descriptor_t rd = {
		.count	= count,
		.arg.data = r,
	};
	int ret;

	lock_sock(sk);
	/*
	 * Plain TCP only: not kTLS, sockmap or MPTCP, which change sk_prot
	 * and take the receive queue over.  Under the socket lock, which
	 * installing a ULP (setsockopt TCP_ULP, TLS_RX) or a sockmap entry
	 * takes too: checked before it, a change in between would let
	 * tcp_read_sock() eat skbs kTLS already points to.
	 */
	if (READ_ONCE(sk->sk_prot)->recvmsg != tcp_prot.recvmsg)
		ret = -EPROTONOSUPPORT;
	else
		ret = tcp_read_sock(sk, &rd, uior_recv_skb);
	if (ret > 0)
		r->ctx->recv.recv_bytes += ret;
	if (stop) {
		if (ret < 0)
			*stop = ret;
		else if (r->err || skb_queue_empty(&sk->sk_receive_queue))
			*stop = uior_recv_why(sk, r);
		else if (ret)
			*stop = -EINPROGRESS;
		else
			*stop = uior_recv_urgent(sk);
		ret = 0;
	} else if (!ret) {
		ret = uior_recv_why(sk, r);
		if (ret == -EAGAIN && !skb_queue_empty(&sk->sk_receive_queue))
			ret = uior_recv_urgent(sk);
	}
	release_sock(sk);
	return ret;
}

/* The socket of a RECV or CANCEL: a plain TCP socket's, with a reference. */
static struct socket *uior_recv_sock(int fd, int *err)
{
	struct socket *sock = sockfd_lookup(fd, err);
	struct sock *sk;

	if (!sock)
		return NULL;
	sk = sock->sk;
	if (!sk || sk->sk_type != SOCK_STREAM ||
	    sk->sk_protocol != IPPROTO_TCP) {
		sockfd_put(sock);
		*err = -EPROTONOSUPPORT;
		return NULL;
	}
	return sock;
}

/*
 * A record's buffer back, as FREE under the RECV's owner would give it:
 * to the binding it was lent to, else to the region's free list.  The
 * buffer cannot have changed hands (no FREE names it, and a binding with
 * a buffer out is never retired), but the same checks as FREE keep a
 * guessed FREE from making this a second put.  Under ctx->lock.
 */
static void uior_recv_buf_drop(struct uior_ctx *ctx, u32 idx, u16 owner)
{
	struct uior_buf *b = &ctx->bufs[idx];

	if (uior_net_buf_lent(ctx, idx))
		uior_net_free_buf(ctx, idx, owner);
	else if (b->state == UNIFIED_IO_BUF_APP && b->owner == owner)
		uior_buf_put(ctx, idx);
}

/*
 * CANCEL of a parked arm: its records are dropped, and the buffer each
 * delivered chunk holds goes back (one put per record: a zero-copy chunk
 * took a user reference of its own).  A dropped chunk (XDP_DROP) or a
 * failed program run put its buffer already.
 */
static void uior_arm_drop_recs(struct uior_ctx *ctx, struct uior_arm *arm)
{
	u32 i;

	lockdep_assert_held(&ctx->lock);
	for (i = 0; i < arm->npend; i++) {
		const struct unified_io_cqe *c = &arm->recs[i];

		if (c->res < 0 || c->flags & UNIFIED_IO_CQE_F_BPF_DROP)
			continue;
		uior_recv_buf_drop(ctx, c->addr >> ctx->buf_shift,
				   arm->d.owner);
	}
	arm->npend = 0;
}

/*
 * Stop an armed RECV with its final completion @res, in the CQ slot it
 * held; under ctx->lock.  Once off the wait queue nothing wakes it, and
 * the work finds it only on ctx->arms.
 */
static void uior_arm_stop(struct uior_ctx *ctx, struct uior_arm *arm, int res)
{
	lockdep_assert_held(&ctx->lock);
	if (uior_arm_parked(arm)) {
		/* CANCEL: its records are dropped, their buffers go back. */
		uior_arm_drop_recs(ctx, arm);
		uior_arm_free(arm);
		return;
	}
	uior_arm_unwait(arm);
	if (arm->cmd) {
		/*
		 * io_uring: the command completes in its task work, which a
		 * wake may have queued already; if not, queue it.
		 */
		if (arm->stop)
			return;
		arm->stop = res;
		if (!test_and_set_bit(UIOR_ARM_TW, &arm->flags))
			io_uring_cmd_complete_in_task(arm->cmd, uior_arm_tw);
		return;
	}
	ctx->cq_reserved--;
	uior_post_cqe(ctx, &arm->d, res, 0, 0);
	uior_arm_free(arm);
}

/* One run of an armed RECV: everything queued, in the CQ's free slots. */
static void uior_arm_run(struct uior_ctx *ctx, struct uior_arm *arm)
{
	struct uior_recv r = {
		.ctx	= ctx,
		.net	= ctx->net,
		.d	= &arm->d,
		.slots	= uior_cq_space(ctx),
	};
	int stop;

	uior_recv_sk(&r, arm->sock->sk, INT_MAX, &stop);
	if (stop == -EINPROGRESS) {
		/* INT_MAX bytes in one run: the rest in the next. */
		set_bit(UIOR_ARM_WOKEN, &arm->flags);
		uior_arm_kick(ctx);
	} else if (stop != -EAGAIN) {
		uior_arm_stop(ctx, arm, stop);
	}
}

/*
 * Run the arms woken since UIOR_CTX_ARMS_WOKEN was cleared (a fully
 * ordered clear: a wake sets its arm's bit before the region's).
 */
static void uior_arm_run_woken(struct uior_ctx *ctx, bool task)
{
	struct uior_arm *arm, *tmp;

	mutex_lock(&ctx->lock);
	if (task)
		ctx->recv.arm_runs_task++;
	else
		ctx->recv.arm_runs_work++;
	uior_net_drain_refill(ctx);
	list_for_each_entry_safe(arm, tmp, &ctx->arms, node)
		if (test_and_clear_bit(UIOR_ARM_WOKEN, &arm->flags))
			uior_arm_run(ctx, arm);
	uior_commit(ctx);
	mutex_unlock(&ctx->lock);
}

/*
 * Nothing to do if a task in COMPLETE took the run meanwhile; the fully
 * ordered clear comes before the arms' bits are read (uior_arm_kick()).
 */
static void uior_arm_work_run(struct uior_ctx *ctx)
{
	if (test_and_clear_bit(UIOR_CTX_ARMS_WOKEN, &ctx->arm_state))
		uior_arm_run_woken(ctx, false);
}

static void uior_arm_work(struct work_struct *work)
{
	uior_arm_work_run(container_of(work, struct uior_ctx, arm_work));
}

static void uior_arm_work_any(struct work_struct *work)
{
	uior_arm_work_run(container_of(work, struct uior_ctx, arm_work_any));
}

/*
 * COMPLETE sleeping for completions (ring.c): from uior_recv_wait_begin()
 * to uior_recv_wait_end() a wake of an armed RECV wakes the caller (on
 * ctx->arm_wait, where poll() does not wait) instead of the work item, and
 * uior_recv_wait_run() runs the arms in its task.
 */
void uior_recv_wait_begin(struct uior_ctx *ctx)
{
	WRITE_ONCE(ctx->arm_cpu, uior_arm_cpu_here());
	atomic_inc(&ctx->arm_waiters);
	/* Before the wait's first look at UIOR_CTX_ARMS_WOKEN. */
	smp_mb__after_atomic();
}

/* Armed RECVs on the region (a hint, no lock): COMPLETE serves them. */
bool uior_recv_any_armed(struct uior_ctx *ctx)
{
	/* A racing arm or stop only decides who runs: the work runs the rest. */
	return data_race(!list_empty_careful(&ctx->arms));
}

bool uior_recv_woken(struct uior_ctx *ctx)
{
	return test_bit(UIOR_CTX_ARMS_WOKEN, &ctx->arm_state);
}

void uior_recv_wait_run(struct uior_ctx *ctx)
{
	if (test_and_clear_bit(UIOR_CTX_ARMS_WOKEN, &ctx->arm_state))
		uior_arm_run_woken(ctx, true);
}

void uior_recv_wait_end(struct uior_ctx *ctx)
{
	atomic_dec(&ctx->arm_waiters);
	/*
	 * A wake that saw this waiter may have come after its last run: the
	 * work takes it over.  Pairs with uior_arm_kick()'s test_and_set_bit().
	 */
	smp_mb__after_atomic();
	if (uior_recv_woken(ctx))
		uior_arm_queue(ctx);
}

/*
 * The arm that holds @sock: armed, or with records whose bytes left the
 * socket (parked, or stopping with its final task work still to park
 * them); NULL if none.  Those records go first, before any new byte: no
 * other RECV may read the socket until an io_uring RECV has taken them.
 */
static struct uior_arm *uior_arm_find(struct uior_ctx *ctx,
				      struct socket *sock)
{
	struct uior_arm *arm;

	list_for_each_entry(arm, &ctx->arms, node)
		if (arm->sock == sock && (!arm->stop || arm->npend))
			return arm;
	return NULL;
}

/*
 * A new arm on @sock (whose reference it takes), on ctx->arms; EBUSY if
 * one is armed there already, or holds records not yet parked.  An
 * io_uring RECV (@uring) under the same owner takes over a parked arm and
 * its records: their buffers are that owner's.  They carry the new RECV's
 * user_data.
 */
static struct uior_arm *uior_arm_new(struct uior_ctx *ctx,
				     const struct unified_io_desc *d,
				     struct socket *sock, bool uring)
{
	struct uior_arm *arm = uior_arm_find(ctx, sock);
	u32 i;

	if (arm) {
		if (!uring || !uior_arm_parked(arm) ||
		    arm->d.owner != d->owner)
			return ERR_PTR(-EBUSY);
		sockfd_put(sock);
		arm->d = *d;
		arm->stop = 0;
		arm->flags = 0;
		for (i = 0; i < arm->npend; i++)
			arm->recs[i].user_data = d->user_data;
		return arm;
	}
	arm = kzalloc_obj(*arm, GFP_KERNEL_ACCOUNT);
	if (!arm)
		return ERR_PTR(-ENOMEM);
	arm->ctx = ctx;
	arm->sock = sock;
	arm->d = *d;
	init_waitqueue_func_entry(&arm->wait, uior_arm_wake);
	list_add_tail(&arm->node, &ctx->arms);
	return arm;
}

static void uior_arm_wait(struct uior_arm *arm)
{
	add_wait_queue(&arm->sock->wq.wait, &arm->wait);
	arm->waiting = true;
}

/* UNIFIED_IO_OP_RECV with UNIFIED_IO_RECV_F_ARM: @sock is the arm's now. */
static int uior_recv_arm(struct uior_ctx *ctx, const struct unified_io_desc *d,
			 struct socket *sock)
{
	struct uior_arm *arm = uior_arm_new(ctx, d, sock, false);

	if (IS_ERR(arm))
		return PTR_ERR(arm);
	ctx->cq_reserved++;
	WRITE_ONCE(ctx->arm_cpu, uior_arm_cpu_here());
	/* Armed first: data that comes during the first run wakes the work. */
	uior_arm_wait(arm);
	uior_arm_run(ctx, arm);
	return -EIOCBQUEUED;
}

/* A RECV's fields, before its socket is looked at. */
static int uior_recv_check(struct uior_ctx *ctx,
			   const struct unified_io_desc *d)
{
	if (d->flags || !d->owner || d->addr ||
	    d->net.flags & ~(UNIFIED_IO_RECV_F_BPF | UNIFIED_IO_RECV_F_ARM) ||
	    !mem_is_zero(d->net.resv, sizeof(d->net.resv)))
		return -EINVAL;
	if (d->net.flags & UNIFIED_IO_RECV_F_ARM && d->len)
		return -EINVAL;
	if ((d->net.flags & UNIFIED_IO_RECV_F_BPF) &&
	    !rcu_access_pointer(ctx->bpf_chain))
		return -ENOENT;
	return 0;
}

/*
 * UNIFIED_IO_OP_RECV, under ctx->lock. Posts the chunk completions itself
 * (at most @slots: the free ones less the final one's) and returns the
 * final result, or
 * -EIOCBQUEUED for an armed RECV, which posts its final completion when it
 * stops.
 */
int uior_op_recv(struct uior_ctx *ctx, const struct unified_io_desc *d,
		 u32 slots)
{
	struct uior_recv r = {
		.ctx	= ctx,
		.net	= ctx->net,
		.d	= d,
		.slots	= slots,
	};
	bool arm = d->net.flags & UNIFIED_IO_RECV_F_ARM;
	struct socket *sock;
	int ret;

	lockdep_assert_held(&ctx->lock);

	/* An armed RECV needs a slot for a chunk besides its final one. */
	if (arm && ctx->config.cq_entries < 2)
		return -EINVAL;
	ret = uior_recv_check(ctx, d);
	if (ret)
		return ret;
	sock = uior_recv_sock(d->net.fd, &ret);
	if (!sock)
		return ret;
	if (arm) {
		ret = uior_recv_arm(ctx, d, sock);
		/* The arm holds the socket from now on. */
		if (ret == -EIOCBQUEUED)
			return ret;
	} else if (!r.slots) {
		ret = -ENOSPC;
	} else if (uior_arm_find(ctx, sock)) {
		/* Armed, or records of a stopping io_uring RECV wait. */
		ret = -EBUSY;
	} else {
		ret = uior_recv_sk(&r, sock->sk, d->len ? d->len : INT_MAX,
				   NULL);
	}
	sockfd_put(sock);
	return ret;
}

/* UNIFIED_IO_OP_CANCEL, under ctx->lock: stop armed RECVs. */
int uior_op_cancel(struct uior_ctx *ctx, const struct unified_io_desc *d)
{
	struct uior_arm *arm, *tmp;
	struct socket *sock;
	int ret = -ENOENT;

	lockdep_assert_held(&ctx->lock);

	if (d->flags || d->owner || d->len || d->addr ||
	    d->net.flags & ~UNIFIED_IO_CANCEL_F_ALL ||
	    !mem_is_zero(d->net.resv, sizeof(d->net.resv)))
		return -EINVAL;
	if (d->net.flags & UNIFIED_IO_CANCEL_F_ALL) {
		if (d->net.fd != -1)
			return -EINVAL;
		ret = 0;
		list_for_each_entry_safe(arm, tmp, &ctx->arms, node) {
			if (arm->stop && !uior_arm_parked(arm))
				continue;	/* io_uring: stopping */
			uior_arm_stop(ctx, arm, -ECANCELED);
			ret++;
		}
		return ret;
	}
	sock = sockfd_lookup(d->net.fd, &ret);
	if (!sock)
		return ret;
	ret = -ENOENT;
	list_for_each_entry(arm, &ctx->arms, node) {
		if (arm->sock == sock &&
		    (!arm->stop || uior_arm_parked(arm))) {
			uior_arm_stop(ctx, arm, -ECANCELED);
			ret = 1;
			break;
		}
	}
	sockfd_put(sock);
	return ret;
}

/*
 * For fdinfo, under ctx->lock: the RECVs armed on this region (not those
 * stopping), and in *@parked the stopped io_uring RECVs whose records
 * wait for the next.
 */
u32 uior_recv_armed(struct uior_ctx *ctx, u32 *parked)
{
	struct uior_arm *arm;
	u32 n = 0;

	lockdep_assert_held(&ctx->lock);
	*parked = 0;
	list_for_each_entry(arm, &ctx->arms, node) {
		if (uior_arm_parked(arm))
			(*parked)++;
		else if (!arm->stop)
			n++;
	}
	return n;
}

void uior_recv_ctx_init(struct uior_ctx *ctx)
{
	INIT_LIST_HEAD(&ctx->arms);
	ctx->arm_cpu = -1;
	init_waitqueue_head(&ctx->arm_wait);
	INIT_WORK(&ctx->arm_work, uior_arm_work);
	INIT_WORK(&ctx->arm_work_any, uior_arm_work_any);
}

/*
 * Release: stop every armed RECV without a final completion (nobody is
 * left to read it).  Off their wait queues first, so nothing queues the
 * work again; then the work is done, and the arms are ours alone.  None
 * is an io_uring command's: io_uring holds the region's file until the
 * command completes.
 */
void uior_recv_destroy(struct uior_ctx *ctx)
{
	struct uior_arm *arm, *tmp;
	LIST_HEAD(dead);

	/*
	 * A run of the work that a wake queued may be waiting for ctx->lock:
	 * cancel_work_sync() waits for it, and it must find no arm.
	 */
	mutex_lock(&ctx->lock);
	list_for_each_entry(arm, &ctx->arms, node)
		uior_arm_unwait(arm);
	list_splice_init(&ctx->arms, &dead);
	mutex_unlock(&ctx->lock);
	cancel_work_sync(&ctx->arm_work);
	cancel_work_sync(&ctx->arm_work_any);
	list_for_each_entry_safe(arm, tmp, &dead, node)
		uior_arm_free(arm);
}

/*
 * The io_uring form (uring.c calls in, without ctx->lock): a multishot
 * IORING_OP_URING_CMD with buffer select.  The socket's wake queues task
 * work on the submitter's task (uior_arm_tw()), which takes ctx->lock,
 * gathers chunk completions as records in a page, and copies each batch
 * into a provided buffer of the command's group with one CQE
 * (IORING_CQE_F_MORE).  The command completes there too, and only there:
 * UIOR_ARM_TW says task work is queued, so a stop from elsewhere (CANCEL,
 * io_uring's cancellation) sets @stop and leaves the completion to it.
 */

/* Provided buffers one run of the task work fills at most, as io_uring's. */
#define UIOR_ARM_BUFS	32

/*
 * The provided buffer a post that failed took, as the final CQE names it:
 * its id (bid) and UNIFIED_IO_CQE_F_BUFFER, or 0 if none.
 * io_uring_mshot_cmd_post_cqe() committed the buffer and left the flags of
 * the CQE it could not post in the request, where io_uring_cmd_done32()
 * clears them.
 */
static u64 uior_arm_lost_buf(struct io_uring_cmd *cmd)
{
	u32 cflags = cmd_to_io_kiocb(cmd)->cqe.flags;

	/*
	 * IORING_CQE_F_BUF_MORE: part of an incremental ring's buffer, which
	 * stays in its ring; adding it back would put it there twice.
	 */
	if (!(cflags & IORING_CQE_F_BUFFER) || cflags & IORING_CQE_F_BUF_MORE)
		return 0;
	return uior_uring_res2(cflags >> IORING_CQE_BUFFER_SHIFT,
			       UNIFIED_IO_CQE_F_BUFFER);
}

/*
 * Copy the @nrecs records of @arm->recs into a provided buffer and post its
 * CQE.  On failure the records stay in @arm->recs (@arm->npend): their
 * bytes left the socket, so the next RECV on io_uring gets them first.
 */
static int uior_arm_uring_post(struct uior_arm *arm, struct io_br_sel *sel,
			       u32 nrecs, unsigned int issue_flags)
{
	size_t bytes = nrecs * sizeof(*arm->recs);

	arm->npend = nrecs;
	if (copy_to_user(sel->addr, arm->recs, bytes)) {
		sel->val = 0;
		io_uring_mshot_cmd_post_cqe(arm->cmd, sel, issue_flags);
		return -EFAULT;
	}
	sel->val = bytes;
	/*
	 * The CQ is full: io_uring ends a multishot request there, and has
	 * taken the buffer; the final CQE names it for the application.
	 */
	if (io_uring_mshot_cmd_post_cqe(arm->cmd, sel, issue_flags)) {
		arm->lost_buf = uior_arm_lost_buf(arm->cmd);
		return -ENOSPC;
	}
	arm->npend = 0;
	return 0;
}

/*
 * Take what is queued into provided buffers.  Returns -EAGAIN to stay
 * armed, -EINPROGRESS when there is more for another run, else the final
 * result.
 */
static int uior_arm_uring_run(struct uior_ctx *ctx, struct uior_arm *arm,
			      unsigned int issue_flags)
{
	struct sock *sk = arm->sock->sk;
	int n;

	for (n = 0; n < UIOR_ARM_BUFS; n++) {
		struct uior_recv r = {
			.ctx	= ctx,
			.net	= ctx->net,
			.d	= &arm->d,
			.recs	= arm->recs,
		};
		struct io_br_sel sel;
		size_t len = 0;
		int stop, ret;

		if (!arm->npend &&
		    skb_queue_empty_lockless(&sk->sk_receive_queue)) {
			lock_sock(sk);
			/* kTLS or a sockmap came: their queue, not ours. */
			if (READ_ONCE(sk->sk_prot)->recvmsg != tcp_prot.recvmsg)
				stop = -EPROTONOSUPPORT;
			else
				stop = uior_recv_why(sk, &r);
			release_sock(sk);
			return stop;
		}
		sel = io_uring_cmd_buffer_select(arm->cmd, arm->buf_group,
						 &len, issue_flags);
		if (sel.val < 0)
			return sel.val;
		if (!sel.addr) {
			if (arm->npend)
				return -ENOBUFS;
			/*
			 * A FIN, or urgent data, needs no buffer: the walk
			 * takes no byte, and ends the RECV as it would with
			 * one.  Bytes to deliver: ENOBUFS.
			 */
			uior_recv_sk(&r, sk, INT_MAX, &stop);
			return stop == -ENOSPC ? -ENOBUFS : stop;
		}
		r.slots = min_t(size_t, len / sizeof(*r.recs), UIOR_ARM_RECS);
		if (r.slots < max(arm->npend, 1U)) {
			/* Smaller than a record, or than what waits. */
			sel.val = 0;
			io_uring_mshot_cmd_post_cqe(arm->cmd, &sel, issue_flags);
			return -ENOBUFS;
		}
		if (arm->npend) {
			/* A stopped RECV's last records, before new bytes. */
			ret = uior_arm_uring_post(arm, &sel, arm->npend,
						  issue_flags);
			if (ret)
				return ret;
			continue;
		}
		uior_recv_sk(&r, sk, INT_MAX, &stop);
		if (r.nrecs) {
			ret = uior_arm_uring_post(arm, &sel, r.nrecs,
						  issue_flags);
			if (ret)
				return ret;
		} else {
			/* Nothing taken: the buffer goes back to its ring. */
			sel.val = 0;
			io_uring_mshot_cmd_post_cqe(arm->cmd, &sel, issue_flags);
		}
		/* A full buffer, or INT_MAX bytes: on with the next. */
		if (stop == -EINPROGRESS || (stop == -ENOSPC && r.nrecs))
			continue;
		return stop;
	}
	return -EINPROGRESS;
}

static void uior_arm_tw(struct io_tw_req tw_req, io_tw_token_t tw)
{
	struct io_uring_cmd *cmd = io_uring_cmd_from_tw(tw_req);
	struct uior_uring_pdu *pdu = uior_uring_pdu(cmd);
	unsigned int issue_flags = IO_URING_CMD_TASK_WORK_ISSUE_FLAGS;
	struct uior_arm *arm = pdu->arm;
	struct uior_ctx *ctx = arm->ctx;
	int res;

	mutex_lock(&ctx->lock);
	/* Ordered before the socket's queue is read: no wake is lost. */
	test_and_clear_bit(UIOR_ARM_TW, &arm->flags);
	/* The ring goes, the task exits, or a kthread runs the leftovers. */
	if (!arm->stop &&
	    (tw.cancel || current->flags & (PF_EXITING | PF_KTHREAD)))
		arm->stop = -ECANCELED;
	uior_net_drain_refill(ctx);
	res = arm->stop ? arm->stop :
			  uior_arm_uring_run(ctx, arm, issue_flags);
	if (res == -EINPROGRESS) {
		/* Others' task work runs first: the rest in another run. */
		if (!test_and_set_bit(UIOR_ARM_TW, &arm->flags))
			io_uring_cmd_complete_in_task(cmd, uior_arm_tw);
	} else if (res != -EAGAIN) {
		uior_arm_unwait(arm);
		arm->stop = res;
		/* A wake before the unwait queued us again: that run ends it. */
		if (!test_and_set_bit(UIOR_ARM_TW, &arm->flags)) {
			u64 lost = arm->lost_buf;

			pdu->arm = NULL;
			arm->cmd = NULL;
			arm->lost_buf = 0;
			/* Records that did not reach the ring wait for the next. */
			if (!arm->npend)
				uior_arm_free(arm);
			io_uring_cmd_done32(cmd, res, lost, issue_flags);
		}
	}
	/* Nothing for the module's CQ: the counters go out at SUBMIT. */
	mutex_unlock(&ctx->lock);
}

/*
 * RECV as a multishot IORING_OP_URING_CMD; @d is a kernel copy.  Takes
 * ctx->lock itself: io_uring_cmd_mark_cancelable() may take the ring's
 * lock, which is taken before ctx->lock (task work, cancellation).
 * Returns -EIOCBQUEUED, or the error the command completes with.
 */
int uior_uring_recv(struct uior_ctx *ctx, struct io_uring_cmd *cmd,
		    const struct unified_io_desc *d, unsigned int issue_flags)
{
	struct uior_uring_pdu *pdu = uior_uring_pdu(cmd);
	struct uior_arm *arm;
	struct socket *sock;
	int ret;

	/* uior_uring_check() let only an armed multishot RECV here. */
	if (issue_flags & IO_URING_F_NONBLOCK) {
		if (!mutex_trylock(&ctx->lock))
			return -EAGAIN;
	} else {
		mutex_lock(&ctx->lock);
	}
	/* Counted as uring.c counts the other commands. */
	ctx->stats.ops[UNIFIED_IO_OP_RECV]++;
	ctx->uring.cmds++;
	ret = uior_recv_check(ctx, d);
	if (ret)
		goto out_unlock;
	sock = uior_recv_sock(d->net.fd, &ret);
	if (!sock)
		goto out_unlock;
	arm = uior_arm_new(ctx, d, sock, true);
	if (IS_ERR(arm)) {
		sockfd_put(sock);
		ret = PTR_ERR(arm);
		goto out_unlock;
	}
	if (!arm->recs)
		arm->recs = kmalloc_array(UIOR_ARM_RECS, sizeof(*arm->recs),
					  GFP_KERNEL_ACCOUNT);
	if (!arm->recs) {
		uior_arm_free(arm);
		ret = -ENOMEM;
		goto out_unlock;
	}
	arm->cmd = cmd;
	arm->buf_group = READ_ONCE(cmd->sqe->buf_index);
	pdu->arm = arm;
	/* Ours until the first run is queued below: no wake queues it. */
	set_bit(UIOR_ARM_TW, &arm->flags);
	uior_arm_wait(arm);
	mutex_unlock(&ctx->lock);

	/* Cancelable before any run can complete it. */
	io_uring_cmd_mark_cancelable(cmd, issue_flags);
	io_uring_cmd_complete_in_task(cmd, uior_arm_tw);
	return -EIOCBQUEUED;

out_unlock:
	ctx->uring.errors++;
	mutex_unlock(&ctx->lock);
	return ret;
}

/* io_uring cancels the command (ring exit, task exit). */
void uior_uring_recv_cancel(struct uior_ctx *ctx, struct io_uring_cmd *cmd)
{
	struct uior_uring_pdu *pdu = uior_uring_pdu(cmd);

	guard(mutex)(&ctx->lock);
	/* NULL once its task work completed it. */
	if (pdu->arm)
		uior_arm_stop(ctx, pdu->arm, -ECANCELED);
}

int __init uior_recv_init(void)
{
	/*
	 * The work sleeps on ctx->lock and the socket lock, which a
	 * concurrency-managed per-CPU pool allows.
	 */
	uior_recv_wq = alloc_workqueue("unified_io_recv",
				       WQ_PERCPU | WQ_HIGHPRI, 0);
	if (!uior_recv_wq)
		return -ENOMEM;
	uior_recv_any_wq = alloc_workqueue("unified_io_recv_any",
					   WQ_UNBOUND | WQ_HIGHPRI, 0);
	if (!uior_recv_any_wq) {
		destroy_workqueue(uior_recv_wq);
		return -ENOMEM;
	}
	return 0;
}

void uior_recv_exit(void)
{
	/* Every region is released: no arm is left to queue work. */
	destroy_workqueue(uior_recv_any_wq);
	destroy_workqueue(uior_recv_wq);
}

/* RECV's part of GET_INFO's net info; under ctx->lock. */
void uior_recv_info(struct uior_ctx *ctx, struct unified_io_net_info *ni)
{
	lockdep_assert_held(&ctx->lock);
	ni->recv_bytes = ctx->recv.recv_bytes;
	ni->zc_chunks = ctx->recv.zc_chunks;
	ni->zc_bytes = ctx->recv.zc_bytes;
	ni->copy_chunks = ctx->recv.copy_chunks;
	ni->copy_bytes = ctx->recv.copy_bytes;
	ni->bpf_drops = ctx->recv.bpf_drops;
}
