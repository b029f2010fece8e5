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
#include <linux/net.h>
#include <linux/skbuff.h>
#include <net/netmem.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "uior.h"

struct uior_recv {
	struct uior_ctx *ctx;
	struct uior_net *net;		/* NULL: copies go to the region */
	const struct unified_io_desc *d;
	u32 slots;			/* chunk completions left */
	int err;			/* why the walk stopped early */
};

static void uior_recv_post(struct uior_recv *r, s32 res, u64 addr, u32 flags)
{
	uior_post_cqe(r->ctx, r->d, res, addr, flags | UNIFIED_IO_CQE_F_MORE);
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
 * UNIFIED_IO_OP_RECV, under ctx->lock. Posts the chunk completions itself
 * (at most @slots) and returns the final result.
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
	read_descriptor_t rd = {
		.count	= d->len ? d->len : INT_MAX,
		.arg.data = &r,
	};
	struct socket *sock;
	struct sock *sk;
	int ret;

	lockdep_assert_held(&ctx->lock);

	if (d->flags || !d->owner || d->addr ||
	    d->net.flags & ~UNIFIED_IO_RECV_F_BPF ||
	    !mem_is_zero(d->net.resv, sizeof(d->net.resv)))
		return -EINVAL;
	if ((d->net.flags & UNIFIED_IO_RECV_F_BPF) &&
	    !rcu_access_pointer(ctx->bpf_chain))
		return -ENOENT;

	sock = sockfd_lookup(d->net.fd, &ret);
	if (!sock)
		return ret;
	sk = sock->sk;
	if (!sk || sk->sk_type != SOCK_STREAM ||
	    sk->sk_protocol != IPPROTO_TCP) {
		ret = -EPROTONOSUPPORT;
		goto out_put;
	}
	if (!slots) {
		ret = -ENOSPC;
		goto out_put;
	}

	lock_sock(sk);
	/*
	 * Plain TCP only: not kTLS, sockmap or MPTCP, which change sk_prot
	 * and take the receive queue over.  Under the socket lock, which
	 * installing a ULP (setsockopt TCP_ULP, TLS_RX) or a sockmap entry
	 * takes too: checked before it, a change in between would let
	 * tcp_read_sock() eat skbs kTLS already points to.
	 */
	if (READ_ONCE(sk->sk_prot)->recvmsg != tcp_prot.recvmsg) {
		ret = -EPROTONOSUPPORT;
		goto out_release;
	}
	ret = tcp_read_sock(sk, &rd, uior_recv_skb);
	if (ret > 0) {
		ctx->recv.recv_bytes += ret;
	} else if (!ret) {
		/* In tcp_recvmsg()'s order: a reset also shuts the socket. */
		if (r.err)
			ret = r.err;
		else if (sock_flag(sk, SOCK_DONE))
			ret = 0;
		else if (sk->sk_err)
			ret = sock_error(sk);
		else if (sk->sk_shutdown & RCV_SHUTDOWN)
			ret = 0;
		else if (sk->sk_state == TCP_CLOSE)
			ret = -ENOTCONN;
		else
			ret = -EAGAIN;
	}
out_release:
	release_sock(sk);
out_put:
	sockfd_put(sock);
	return ret;
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
