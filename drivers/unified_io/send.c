// SPDX-License-Identifier: GPL-2.0
/*
 * unified_io SEND: region buffers onto TCP sockets without a copy.
 *
 * UNIFIED_IO_OP_SEND hands the stack the region's pages themselves: the
 * descriptor's range becomes a bvec iterator, and sock_sendmsg() with
 * MSG_ZEROCOPY and msg_ubuf (the interface io_uring's SEND_ZC and vhost-net
 * use; through the LSM's send hook like any send) turns it into skb frags
 * that take page references, with our own struct ubuf_info, one per SEND
 * (struct uior_notif), attached to every skb.  Each SEND has its own: two
 * SENDs never share an skb (no ->link_skb), so UNIFIED_IO_SEND_F_MORE only
 * delays the push of a partial segment.
 * The stack calls uior_notif_complete() for each skb that drops it; when the
 * last reference goes, the notification is posted.  Until then the buffer
 * is UNIFIED_IO_BUF_SENDING and keeps one reference per SEND in flight; the
 * operations that would change or recycle its bytes (FREE, BPF) refuse it.
 *
 * The notification is posted from process context: the last reference can
 * go in softirq (an ACK frees the skb), where ctx->lock cannot be taken, so
 * uior_notif_complete() only queues the notif on its region's struct uior_tx
 * and the module's workqueue posts it under ctx->lock.  Each SEND that may
 * need a notification reserves a CQ slot for it (ctx->cq_reserved), so the
 * post never finds the CQ full and sends in flight never exceed the CQ.
 *
 * Object model: struct uior_tx is the region's send side, refcounted: the
 * region holds one reference, each notif one.  It outlives the region when
 * skbs do (a peer that does not read, a socket closed with data unsent): the
 * region's release detaches it (tx->ctx = NULL) without waiting, the pages
 * stay alive through the stack's page references, and late notifs are only
 * freed.  The region's RLIMIT_MEMLOCK charge moves to the tx then and ends
 * with it, at the last notification, as io_uring's fixed buffers stay
 * charged until their last notification: closing a region does not free a
 * charge while its pages are still pinned.  Each notif also holds a
 * reference on this module, dropped by the work after the notif is freed,
 * so the module cannot go while the stack still has a ubuf_info pointing at
 * its code; module exit destroys the workqueue (the last work has returned)
 * and waits for every task to pass a voluntary context switch (RCU Tasks:
 * the last uior_notif_complete(), which queued it, has returned, even if it
 * was preempted before it did).
 *
 * Locking: SEND runs inside SUBMIT, under ctx->lock; the BPF chain of
 * UNIFIED_IO_SEND_F_BPF runs under lock_sock(), as RECV's does.  The work takes tx->lock, then ctx->lock;
 * the region's release takes tx->lock alone, so a running work is done with
 * the context before the context goes.  Nothing takes tx->lock under
 * ctx->lock.
 *
 * Calls: ring.c calls in (uior_op_send()), main.c for the counters and the
 * module's init and exit, region.c at teardown; this file calls bpf.c, and
 * from its work ring.c (uior_commit()) and region.c (uior_unaccount_user()),
 * and the inline helpers of uior.h.
 */
#include <linux/bvec.h>
#include <linux/io_uring/cmd.h>
#include <linux/llist.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/rcupdate.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "uior.h"

#define UIOR_SEND_FLAGS		(UNIFIED_IO_SEND_F_BPF | UNIFIED_IO_SEND_F_MORE)
/* Sends in flight on one buffer: its refs (a u8) less the holder's one. */
#define UIOR_SEND_MAX_REFS	U8_MAX

struct uior_tx {
	struct kref ref;
	struct mutex lock;		/* orders @ctx against the work */
	struct uior_ctx *ctx;		/* NULL once the region is gone */
	struct user_struct *acct_user;	/* the region's charge, once it is */
	unsigned long acct_pages;
	struct llist_head done;		/* notifs with no reference left */
	struct work_struct work;
};

struct uior_notif {
	struct ubuf_info uarg;
	struct llist_node node;
	struct uior_tx *tx;
	u64 user_data;
	u64 addr;
	u32 idx;			/* the buffer */
	u32 len;			/* bytes queued; 0: nothing to notify */
	bool zc_used;			/* an skb was freed with its frags */
	bool zc_copied;			/* the stack copied an skb's frags */
	/*
	 * An io_uring SEND (uring.c) holds no CQ slot: its one completion,
	 * when the notification would be posted, completes @ioucmd on the
	 * application's ring.  @ioucmd is under ctx->uring_lock: io_uring's
	 * cancellation may take it first (uior_send_uring_cancel()).
	 */
	bool uring;
	u32 cflags;			/* the SEND's BPF flags, for @ioucmd */
	struct io_uring_cmd *ioucmd;
};

static struct workqueue_struct *uior_send_wq;

static void uior_tx_free(struct kref *ref)
{
	struct uior_tx *tx = container_of(ref, struct uior_tx, ref);

	if (tx->acct_user)
		uior_unaccount_user(tx->acct_user, tx->acct_pages);
	mutex_destroy(&tx->lock);
	kfree(tx);
}

/*
 * An io_uring SEND's notification: its one completion, unless io_uring
 * cancelled the command first.  Under ctx->lock.
 */
static void uior_send_uring_done(struct uior_ctx *ctx, struct uior_notif *n,
				 u32 flags)
{
	struct io_uring_cmd *ioucmd;

	scoped_guard(spinlock, &ctx->uring_lock) {
		ioucmd = n->ioucmd;
		n->ioucmd = NULL;
		if (ioucmd)
			uior_uring_pdu(ioucmd)->notif = NULL;
	}
	if (ioucmd)
		uior_uring_complete(ioucmd, n->len, n->addr, flags);
}

/*
 * The notif's SEND is over: give back its CQ slot and its buffer reference,
 * and post the notification if the SEND queued bytes.  Under ctx->lock.
 */
static void uior_notif_finish(struct uior_ctx *ctx, struct uior_notif *n)
{
	struct uior_buf *b = &ctx->bufs[n->idx];

	lockdep_assert_held(&ctx->lock);

	if (n->uring)
		ctx->uring.sends--;
	else
		ctx->cq_reserved--;
	ctx->send.inflight--;
	if (n->len) {
		/* As io_uring's: no skb ever carried the frags, or one copied. */
		bool copied = READ_ONCE(n->zc_copied) || !READ_ONCE(n->zc_used);
		u32 flags = UNIFIED_IO_CQE_F_NOTIF |
			    (copied ? UNIFIED_IO_CQE_F_COPIED : 0);
		struct unified_io_desc d = {
			.opcode		= UNIFIED_IO_OP_SEND,
			.user_data	= n->user_data,
		};

		if (n->uring)
			uior_send_uring_done(ctx, n, flags | n->cflags);
		else
			uior_post_cqe(ctx, &d, n->len, n->addr, flags);
		ctx->send.notifs++;
		if (copied)
			ctx->send.copied_bytes += n->len;
		else
			ctx->send.zc_bytes += n->len;
	}
	if (WARN_ON_ONCE(b->state != UNIFIED_IO_BUF_SENDING || b->refs < 2))
		return;
	if (--b->refs == 1) {
		b->state = UNIFIED_IO_BUF_APP;
		ctx->send.bufs_sending--;
	}
	uior_buf_mirror(ctx, n->idx);
}

/* A notif is gone: its references on the send side and on the module. */
static void uior_notif_free(struct uior_notif *n)
{
	struct uior_tx *tx = n->tx;

	kfree(n);
	kref_put(&tx->ref, uior_tx_free);
	module_put(THIS_MODULE);
}

static void uior_tx_work(struct work_struct *work)
{
	struct uior_tx *tx = container_of(work, struct uior_tx, work);
	struct llist_node *list = llist_del_all(&tx->done);
	struct uior_notif *n, *tmp;
	struct uior_ctx *ctx;

	/* In the order the stack released them. */
	list = llist_reverse_order(list);
	mutex_lock(&tx->lock);
	ctx = tx->ctx;
	if (ctx) {
		mutex_lock(&ctx->lock);
		llist_for_each_entry(n, list, node)
			uior_notif_finish(ctx, n);
		uior_commit(ctx);
		mutex_unlock(&ctx->lock);
	}
	mutex_unlock(&tx->lock);
	/* May free @tx, with this work in it: nothing touches it after. */
	llist_for_each_entry_safe(n, tmp, list, node)
		uior_notif_free(n);
}

/* struct ubuf_info_ops.complete: any context, once per skb and our own put. */
static void uior_notif_complete(struct sk_buff *skb, struct ubuf_info *uarg,
				bool success)
{
	struct uior_notif *n = container_of(uarg, struct uior_notif, uarg);
	struct uior_tx *tx = n->tx;

	/* Module exit waits for a grace period after the last work (above). */
	guard(rcu)();
	if (success && skb)
		WRITE_ONCE(n->zc_used, true);
	else if (!success)
		WRITE_ONCE(n->zc_copied, true);
	if (!refcount_dec_and_test(&uarg->refcnt))
		return;
	if (llist_add(&n->node, &tx->done))
		queue_work(uior_send_wq, &tx->work);
}

static const struct ubuf_info_ops uior_notif_ops = {
	.complete	= uior_notif_complete,
};

/* The region's send side, made at its first SEND. Under ctx->lock. */
static int uior_tx_get(struct uior_ctx *ctx)
{
	struct uior_tx *tx;
	u32 nr = (ctx->layout.buf_size >> PAGE_SHIFT) + 1;

	lockdep_assert_held(&ctx->lock);

	if (ctx->tx)
		return 0;
	ctx->send_bvec = kvmalloc_array(nr, sizeof(*ctx->send_bvec),
					GFP_KERNEL_ACCOUNT);
	if (!ctx->send_bvec)
		return -ENOMEM;
	tx = kzalloc_obj(*tx, GFP_KERNEL_ACCOUNT);
	if (!tx) {
		kvfree(ctx->send_bvec);
		ctx->send_bvec = NULL;
		return -ENOMEM;
	}
	kref_init(&tx->ref);
	mutex_init(&tx->lock);
	init_llist_head(&tx->done);
	INIT_WORK(&tx->work, uior_tx_work);
	tx->ctx = ctx;
	ctx->tx = tx;
	return 0;
}

/* The bvec of [@addr, @addr + @len), one entry per page. */
static unsigned int uior_send_bvec(struct uior_ctx *ctx, u64 addr, u32 len)
{
	unsigned int nr = 0;

	while (len) {
		u32 off = offset_in_page(addr);
		u32 n = min_t(u32, len, PAGE_SIZE - off);

		bvec_set_page(&ctx->send_bvec[nr++],
			      ctx->pages[ctx->meta_pages + (addr >> PAGE_SHIFT)],
			      n, off);
		addr += n;
		len -= n;
	}
	return nr;
}

/*
 * Whether @sk can take data now, for a SEND whose programs must not run
 * over bytes that will not be sent: 0, or the error tcp_sendmsg_locked()
 * would give without blocking.  Under the socket lock, where the send
 * buffer only grows (ACKs wait in the backlog) and the state holds.
 */
static int uior_send_ready(struct sock *sk)
{
	/* Installing kTLS or a sockmap takes the socket lock. */
	if (READ_ONCE(sk->sk_prot)->sendmsg != tcp_prot.sendmsg)
		return -EPROTONOSUPPORT;
	if (sk->sk_err)
		return sock_error(sk);
	if (sk->sk_shutdown & SEND_SHUTDOWN)
		return -EPIPE;
	/* Fast Open: the first send carries the SYN, or goes with it. */
	if ((1 << sk->sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV) &&
	    !inet_test_bit(DEFER_CONNECT, sk) && !tcp_passive_fastopen(sk))
		return -EAGAIN;
	if ((1 << sk->sk_state) &
	    ~(TCPF_ESTABLISHED | TCPF_CLOSE_WAIT | TCPF_SYN_SENT | TCPF_SYN_RECV))
		return -EPIPE;
	if (!sk_stream_memory_free(sk))
		return -EAGAIN;
	return 0;
}

/*
 * Run the chain (with UNIFIED_IO_SEND_F_BPF) and queue @n's bytes on @sock,
 * with @n as the skbs' ubuf_info.  Returns the bytes queued, 0 for a
 * program's XDP_DROP (or nothing left to send), or an error.
 */
static int uior_send_sock(struct uior_ctx *ctx,
			  const struct unified_io_desc *d, struct socket *sock,
			  struct uior_notif *n, u32 *cflags, u32 *want)
{
	struct msghdr msg = {
		.msg_flags	= MSG_DONTWAIT | MSG_NOSIGNAL | MSG_ZEROCOPY,
		.msg_ubuf	= &n->uarg,
	};
	u32 len = d->len;
	unsigned int nr;
	int ret;

	if (d->net.flags & UNIFIED_IO_SEND_F_MORE)
		msg.msg_flags |= MSG_MORE;

	if (d->net.flags & UNIFIED_IO_SEND_F_BPF) {
		struct sock *sk = sock->sk;

		/*
		 * Programs change the bytes only for a send that can happen:
		 * under the socket lock the state holds and the send buffer
		 * only grows (ACKs wait in the backlog).  The send itself
		 * goes through sock_sendmsg() below, LSM hook included, which
		 * takes the lock again.
		 */
		lock_sock(sk);
		ret = uior_send_ready(sk);
		if (!ret)
			ret = uior_bpf_run(ctx, d, n->idx, cflags);
		release_sock(sk);
		if (ret < 0)
			return ret;
		if (*cflags & UNIFIED_IO_CQE_F_BPF_DROP) {
			ctx->send.bpf_drops++;
			return 0;
		}
		/* The buffer is the programs' now, whatever the send does. */
		*cflags |= UNIFIED_IO_CQE_F_BPF_RAN;
		/* XDP_PASS with nothing left: nothing to send. */
		if (!ret)
			return 0;
		len = ret;
		*want = len;
	}
	nr = uior_send_bvec(ctx, d->addr, len);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, ctx->send_bvec, nr, len);
	return sock_sendmsg(sock, &msg);
}

/*
 * The fds whose SEND fell short in this SUBMIT call, compared by number
 * (a dup() of one escapes: the application's own stream then).  Past the
 * array's size, every fd counts as short for the rest of the call.
 */
static bool uior_send_fd_short(struct uior_ctx *ctx, int fd)
{
	if (ctx->send_short.all)
		return true;
	for (unsigned int i = 0; i < ctx->send_short.nr; i++)
		if (ctx->send_short.fd[i] == fd)
			return true;
	return false;
}

static void uior_send_fd_mark(struct uior_ctx *ctx, int fd)
{
	if (uior_send_fd_short(ctx, fd))
		return;
	if (ctx->send_short.nr == ARRAY_SIZE(ctx->send_short.fd))
		ctx->send_short.all = true;
	else
		ctx->send_short.fd[ctx->send_short.nr++] = fd;
}

/* The buffer of a SEND: checks in the order of the uapi header. */
static int uior_send_check(struct uior_ctx *ctx,
			   const struct unified_io_desc *d, bool uring,
			   u32 *idx)
{
	const struct uior_buf *b;
	u64 end;

	if (d->flags || !d->owner || d->net.flags & ~UIOR_SEND_FLAGS ||
	    !mem_is_zero(d->net.resv, sizeof(d->net.resv)))
		return -EINVAL;
	if (d->addr >= ctx->layout.data_size)
		return -ERANGE;
	end = d->addr + d->len;
	if (!d->len || (d->addr >> ctx->buf_shift) != ((end - 1) >> ctx->buf_shift))
		return -EINVAL;
	if ((d->net.flags & UNIFIED_IO_SEND_F_BPF) &&
	    (d->addr & (ctx->layout.buf_size - 1)))
		return -EINVAL;
	/* No slot for the notification besides the completion's. */
	if (!uring && ctx->config.cq_entries < 2)
		return -EINVAL;
	/* Below data_size, so below 2^32 buffers: u32 for array_index_nospec. */
	*idx = array_index_nospec((u32)(d->addr >> ctx->buf_shift),
				  ctx->layout.nr_bufs);
	if (uior_net_buf_lent(ctx, *idx))
		return -EXDEV;
	b = &ctx->bufs[*idx];
	if (b->state == UNIFIED_IO_BUF_FREE || b->owner != d->owner)
		return -EPERM;
	if ((d->net.flags & UNIFIED_IO_SEND_F_BPF) &&
	    b->state == UNIFIED_IO_BUF_SENDING)
		return -EBUSY;
	if (b->refs == UIOR_SEND_MAX_REFS)
		return -ETOOMANYREFS;
	if ((d->net.flags & UNIFIED_IO_SEND_F_BPF) &&
	    !rcu_access_pointer(ctx->bpf_chain))
		return -ENOENT;
	return 0;
}

/*
 * UNIFIED_IO_OP_SEND, under ctx->lock.  From the SQ (@ioucmd NULL), with two
 * free CQ slots: one for the completion the caller posts, one reserved here
 * for the notification.  From io_uring (@ioucmd), with no CQ slot: when
 * bytes were queued the notification completes @ioucmd, and the caller
 * completes nothing.
 */
static int __uior_op_send(struct uior_ctx *ctx, const struct unified_io_desc *d,
			  struct io_uring_cmd *ioucmd, u64 *addr, u32 *cflags,
			  u32 *want)
{
	struct uior_notif *n;
	u32 idx;
	struct uior_buf *b;
	struct socket *sock;
	int ret;

	ret = uior_send_check(ctx, d, !!ioucmd, &idx);
	if (ret)
		return ret;
	*addr = d->addr;

	sock = sockfd_lookup(d->net.fd, &ret);
	if (!sock)
		return ret;
	/*
	 * Plain TCP only, as for RECV: not MPTCP, and not kTLS or a sockmap,
	 * which replace sk_prot (and, a ULP, clear SOCK_SUPPORT_ZC, which
	 * io_uring's SEND_ZC checks too) and would copy or redirect the
	 * bytes.  Unlocked here, to refuse before allocating; F_BPF checks
	 * again under the socket lock.
	 */
	if (!sock->sk || sock->sk->sk_type != SOCK_STREAM ||
	    sock->sk->sk_protocol != IPPROTO_TCP ||
	    READ_ONCE(sock->sk->sk_prot)->sendmsg != tcp_prot.sendmsg ||
	    !test_bit(SOCK_SUPPORT_ZC, &sock->flags)) {
		ret = -EPROTONOSUPPORT;
		goto out_put;
	}
	/*
	 * An earlier SEND of this SUBMIT on this fd fell short: no byte may
	 * pass it.  An io_uring SEND is a SUBMIT of its own: IOSQE_IO_LINK
	 * orders those.
	 */
	if (!ioucmd && uior_send_fd_short(ctx, d->net.fd)) {
		ret = -EAGAIN;
		goto out_put;
	}
	ret = uior_tx_get(ctx);
	if (ret)
		goto out_put;

	n = kzalloc_obj(*n, GFP_KERNEL_ACCOUNT);
	if (!n) {
		ret = -ENOMEM;
		goto out_put;
	}
	n->uarg.ops = &uior_notif_ops;
	/* As MSG_ZEROCOPY's: page references keep the frags, no orphan copy. */
	n->uarg.flags = SKBFL_ZEROCOPY_FRAG | SKBFL_DONT_ORPHAN;
	refcount_set(&n->uarg.refcnt, 1);
	n->tx = ctx->tx;
	n->user_data = d->user_data;
	n->addr = d->addr;
	n->idx = idx;
	n->uring = !!ioucmd;
	kref_get(&ctx->tx->ref);
	/* Our ioctl is running: the module is live. */
	__module_get(THIS_MODULE);

	/* Held by the notif from now on, whatever the send does. */
	b = &ctx->bufs[idx];
	if (b->state == UNIFIED_IO_BUF_APP) {
		b->state = UNIFIED_IO_BUF_SENDING;
		ctx->send.bufs_sending++;
	}
	b->refs++;
	if (ioucmd)
		ctx->uring.sends++;
	else
		ctx->cq_reserved++;
	ctx->send.inflight++;

	ret = uior_send_sock(ctx, d, sock, n, cflags, want);
	if (ret > 0) {
		n->len = ret;
		ctx->send.sends++;
		ctx->send.send_bytes += ret;
		if (ioucmd) {
			/* Our reference keeps the notif: completed after. */
			n->cflags = *cflags;
			scoped_guard(spinlock, &ctx->uring_lock) {
				n->ioucmd = ioucmd;
				uior_uring_pdu(ioucmd)->notif = n;
			}
			ret = -EIOCBQUEUED;
		} else {
			*cflags |= UNIFIED_IO_CQE_F_MORE;
		}
	}
	/*
	 * Our reference.  The last one when nothing was queued: the SEND is
	 * over, and holds nothing from here.  Bytes queued can be released
	 * already (no skb took the frags on a route without scatter-gather,
	 * or loopback's ACK freed them before the socket lock was released):
	 * the work posts that notification, after the completion the caller
	 * posts under ctx->lock.
	 */
	if (!n->len) {
		if (refcount_dec_and_test(&n->uarg.refcnt)) {
			uior_notif_finish(ctx, n);
			uior_notif_free(n);
			goto out_put;
		}
		/* An skb has the ubuf_info but no byte of ours: it posts none. */
	} else {
		uior_notif_complete(NULL, &n->uarg, true);
	}
	uior_buf_mirror(ctx, idx);
out_put:
	sockfd_put(sock);
	return ret;
}

int uior_op_send(struct uior_ctx *ctx, const struct unified_io_desc *d,
		 u64 *addr, u32 *cflags)
{
	u32 want = d->len;
	int ret;

	lockdep_assert_held(&ctx->lock);

	ret = __uior_op_send(ctx, d, NULL, addr, cflags, &want);
	/*
	 * Bytes this SEND did not queue (refused, failed, or the send buffer
	 * filled) must go before any later SEND's on the same stream: the
	 * later SENDs of this SUBMIT on the fd queue nothing.  A buffer the
	 * programs dropped was meant not to be sent.
	 */
	if (ret < (int)want && !(*cflags & UNIFIED_IO_CQE_F_BPF_DROP))
		uior_send_fd_mark(ctx, d->net.fd);
	return ret;
}

/*
 * UNIFIED_IO_OP_SEND from io_uring (uring.c), under ctx->lock: -EIOCBQUEUED
 * when bytes were queued (the notification completes @ioucmd), otherwise
 * the result to complete it with now.
 */
int uior_op_send_uring(struct uior_ctx *ctx, const struct unified_io_desc *d,
		       struct io_uring_cmd *ioucmd, u64 *addr, u32 *cflags)
{
	u32 want = d->len;

	lockdep_assert_held(&ctx->lock);
	return __uior_op_send(ctx, d, ioucmd, addr, cflags, &want);
}

/*
 * io_uring cancels @ioucmd, a SEND whose notification may still be coming
 * (uring.c): true if it was, and the caller completes it (*@addr: the
 * SEND's); the notification then completes nothing.  The bytes stay queued,
 * the buffer held (UNIFIED_IO_BUF_SENDING) until the stack releases them.
 * Takes only ctx->uring_lock (innermost; uring.c says the order).
 */
bool uior_send_uring_cancel(struct uior_ctx *ctx, struct io_uring_cmd *ioucmd,
			    u64 *addr)
{
	struct uior_notif *n;

	guard(spinlock)(&ctx->uring_lock);
	n = uior_uring_pdu(ioucmd)->notif;
	if (!n)
		return false;
	n->ioucmd = NULL;
	uior_uring_pdu(ioucmd)->notif = NULL;
	*addr = n->addr;
	return true;
}

/* A SUBMIT call starts: no fd has fallen short in it yet. */
void uior_send_begin(struct uior_ctx *ctx)
{
	lockdep_assert_held(&ctx->lock);
	ctx->send_short.nr = 0;
	ctx->send_short.all = false;
}

/*
 * The region is going (->release, or a failed SETUP): late notifications
 * find no context and are only freed.  Does not wait for them.
 */
void uior_send_destroy(struct uior_ctx *ctx)
{
	struct uior_tx *tx = ctx->tx;

	if (!tx)
		return;
	mutex_lock(&tx->lock);
	tx->ctx = NULL;
	mutex_unlock(&tx->lock);
	/* Pages of sends in flight stay pinned: so does the charge. */
	tx->acct_user = ctx->acct_user;
	tx->acct_pages = ctx->acct_pages;
	ctx->acct_user = NULL;
	ctx->acct_pages = 0;
	ctx->tx = NULL;
	kref_put(&tx->ref, uior_tx_free);
	kvfree(ctx->send_bvec);
	ctx->send_bvec = NULL;
}

/* GET_INFO's send side; under ctx->lock. */
void uior_send_info(struct uior_ctx *ctx, struct unified_io_send_info *si)
{
	lockdep_assert_held(&ctx->lock);
	si->sends = ctx->send.sends;
	si->send_bytes = ctx->send.send_bytes;
	si->notifs = ctx->send.notifs;
	si->zc_bytes = ctx->send.zc_bytes;
	si->copied_bytes = ctx->send.copied_bytes;
	si->bpf_drops = ctx->send.bpf_drops;
	si->inflight = ctx->send.inflight;
	si->bufs_sending = ctx->send.bufs_sending;
}

int __init uior_send_init(void)
{
	/*
	 * Posting sleeps on ctx->lock: unbound.  One region's notifications
	 * stay in order because its one work item never runs twice at once.
	 */
	uior_send_wq = alloc_workqueue("unified_io_send", WQ_UNBOUND, 0);
	return uior_send_wq ? 0 : -ENOMEM;
}

void uior_send_exit(void)
{
	/* No notif is left (each pinned the module): the last work is done. */
	destroy_workqueue(uior_send_wq);
	/*
	 * And the last uior_notif_complete(), which queued it, has returned:
	 * it may have been preempted after its RCU section, so RCU Tasks.
	 */
	synchronize_rcu();
	synchronize_rcu_tasks();
}
