// SPDX-License-Identifier: GPL-2.0
/*
 * unified_io BPF chain: XDP programs run over region buffers in place.
 *
 * A region has an ordered chain of up to UNIFIED_IO_BPF_MAX_PROGS programs of
 * type BPF_PROG_TYPE_XDP. An UNIFIED_IO_OP_BPF descriptor runs the chain over
 * one buffer, the way net/bpf/test_run.c runs an XDP program over a kernel
 * buffer: an xdp_buff over the buffer's bytes, under local_bh_disable(), RCU
 * and a bpf_net_context, with the verdict taken as a verdict only (nothing is
 * transmitted or redirected). Nothing is copied.
 *
 * Programs need a virtually contiguous buffer with room for metadata in front
 * of it. The first attach builds bpf_va: a vmap of the data area in which a
 * scratch page precedes every buffer (the same page each time) and follows
 * the last one, so [data_meta, data) lands in the scratch page and never in
 * the previous buffer, and the skb_shared_info tail that XDP reserves past
 * the end of a frame lies in the next scratch page: bpf_xdp_adjust_tail can
 * use the whole buffer. Runs are serialised by ctx->lock (SUBMIT), so one
 * scratch page is enough.
 *
 * The metadata is written once per run; a program may change it for the
 * programs after it, and only prog_index is rewritten between programs.
 *
 * The chain is an RCU-published array, replaced whole by attach and detach
 * under ctx->bpf_lock; runs read it under rcu_read_lock(), so programs can be
 * attached and detached while descriptors run. Per-program counters live in
 * struct uior_bpf_prog, which a new array shares with the old one. A detached
 * program's reference is dropped at once (the BPF core frees the program
 * after a grace period) and its counters are freed after a grace period.
 *
 * Calls: main.c (attach, detach, info), region.c (teardown), buf.c and
 * recv.c (runs) call in; this file calls no other.
 */
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/netdevice.h>
#include <linux/nospec.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <net/net_namespace.h>
#include <net/xdp.h>

#include "uior.h"

struct uior_bpf_prog {
	struct bpf_prog *prog;
	atomic64_t runs;
	atomic64_t bytes;
	atomic64_t pass;
	atomic64_t drop;
	atomic64_t aborted;
	atomic64_t other;
	atomic64_t run_ns;
	struct rcu_head rcu;
};

struct uior_bpf_chain {
	struct rcu_head rcu;
	void *va;		/* ctx->bpf_va, read by runs through the chain */
	u32 nr;
	struct uior_bpf_prog *progs[UNIFIED_IO_BPF_MAX_PROGS];
};

/* Distance from one buffer's scratch page to the next one's. */
static size_t uior_bpf_stride(struct uior_ctx *ctx)
{
	return PAGE_SIZE + ctx->layout.buf_size;
}

/* XDP frame: scratch page, buffer, and the shared-info tail XDP reserves. */
static u32 uior_bpf_frame_sz(struct uior_ctx *ctx)
{
	return uior_bpf_stride(ctx) +
	       SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
}

/* Map the data area with a scratch page in front of every buffer. */
static int uior_bpf_map(struct uior_ctx *ctx)
{
	unsigned long buf_pages = ctx->layout.buf_size >> PAGE_SHIFT;
	unsigned long nr_bufs = ctx->layout.nr_bufs;
	unsigned long nr = nr_bufs * (1 + buf_pages) + 1;
	struct page **pages, **src;
	unsigned long i, j, n = 0;

	lockdep_assert_held(&ctx->bpf_lock);

	ctx->bpf_scratch = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!ctx->bpf_scratch)
		return -ENOMEM;
	pages = kvmalloc_array(nr, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		goto err_scratch;

	src = &ctx->pages[ctx->meta_pages];
	for (i = 0; i < nr_bufs; i++) {
		pages[n++] = ctx->bpf_scratch;
		for (j = 0; j < buf_pages; j++)
			pages[n++] = *src++;
	}
	pages[n++] = ctx->bpf_scratch;
	ctx->bpf_va = vmap(pages, nr, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	if (!ctx->bpf_va)
		goto err_scratch;
	return 0;

err_scratch:
	__free_page(ctx->bpf_scratch);
	ctx->bpf_scratch = NULL;
	return -ENOMEM;
}

static struct uior_bpf_chain *uior_bpf_chain(struct uior_ctx *ctx)
{
	return rcu_dereference_protected(ctx->bpf_chain,
					 lockdep_is_held(&ctx->bpf_lock));
}

/* Publish @new (may be NULL) and retire the chain it replaces. */
static void uior_bpf_publish(struct uior_ctx *ctx, struct uior_bpf_chain *new)
{
	struct uior_bpf_chain *old = uior_bpf_chain(ctx);

	rcu_assign_pointer(ctx->bpf_chain, new);
	if (old)
		kfree_rcu(old, rcu);
}

static void uior_bpf_prog_release(struct uior_bpf_prog *p)
{
	bpf_prog_put(p->prog);
	kfree_rcu(p, rcu);
}

int uior_bpf_attach(struct uior_ctx *ctx, struct unified_io_bpf *p)
{
	struct uior_bpf_chain *old, *new;
	struct uior_bpf_prog *bp;
	struct bpf_prog *prog;
	int ret;
	u32 i;

	if (p->flags || !mem_is_zero(p->resv, sizeof(p->resv)))
		return -EINVAL;
	if (!bpf_capable())
		return -EPERM;

	prog = bpf_prog_get_type_dev(p->prog_fd, BPF_PROG_TYPE_XDP, false);
	if (IS_ERR(prog))
		return PTR_ERR(prog);
	/*
	 * Programs for devmap and cpumap entries may read the egress device
	 * (ctx->egress_ifindex becomes a load through xdp->txq), which a
	 * region has none of; bpf_prog_test_run_xdp() refuses them too.
	 */
	ret = -EINVAL;
	if (prog->expected_attach_type == BPF_XDP_DEVMAP ||
	    prog->expected_attach_type == BPF_XDP_CPUMAP)
		goto err_put;
	ret = -ENODEV;
	if (prog->aux->dev_bound)
		goto err_put;
	ret = -EOPNOTSUPP;
	if (prog->aux->xdp_has_frags)
		goto err_put;

	mutex_lock(&ctx->bpf_lock);
	old = uior_bpf_chain(ctx);
	ret = -EEXIST;
	for (i = 0; old && i < old->nr; i++)
		if (old->progs[i]->prog == prog)
			goto err_unlock;
	ret = -ENOSPC;
	if (old && old->nr == UNIFIED_IO_BPF_MAX_PROGS)
		goto err_unlock;
	if (!ctx->bpf_va) {
		ret = uior_bpf_map(ctx);
		if (ret)
			goto err_unlock;
	}

	ret = -ENOMEM;
	bp = kzalloc_obj(*bp, GFP_KERNEL_ACCOUNT);
	if (!bp)
		goto err_unlock;
	new = kzalloc_obj(*new, GFP_KERNEL_ACCOUNT);
	if (!new) {
		kfree(bp);
		goto err_unlock;
	}
	if (old) {
		memcpy(new->progs, old->progs, sizeof(new->progs));
		new->nr = old->nr;
	}
	new->va = ctx->bpf_va;
	bp->prog = prog;
	new->progs[new->nr++] = bp;
	p->prog_id = prog->aux->id;
	uior_bpf_publish(ctx, new);
	mutex_unlock(&ctx->bpf_lock);
	return 0;

err_unlock:
	mutex_unlock(&ctx->bpf_lock);
err_put:
	bpf_prog_put(prog);
	return ret;
}

int uior_bpf_detach(struct uior_ctx *ctx, struct unified_io_bpf *p)
{
	struct uior_bpf_chain *old, *new = NULL;
	struct uior_bpf_prog *gone = NULL;
	u32 id = p->prog_id, i;

	if (p->flags || !mem_is_zero(p->resv, sizeof(p->resv)))
		return -EINVAL;
	if ((p->prog_fd == -1) == (id == 0))
		return -EINVAL;
	if (!bpf_capable())
		return -EPERM;
	if (p->prog_fd != -1) {
		struct bpf_prog *prog;

		prog = bpf_prog_get_type_dev(p->prog_fd, BPF_PROG_TYPE_XDP,
					     false);
		if (IS_ERR(prog))
			return PTR_ERR(prog);
		id = prog->aux->id;
		bpf_prog_put(prog);
	}

	guard(mutex)(&ctx->bpf_lock);
	old = uior_bpf_chain(ctx);
	for (i = 0; old && i < old->nr; i++)
		if (old->progs[i]->prog->aux->id == id)
			gone = old->progs[i];
	if (!gone)
		return -ENOENT;

	if (old->nr > 1) {
		new = kzalloc_obj(*new, GFP_KERNEL_ACCOUNT);
		if (!new)
			return -ENOMEM;
		new->va = old->va;
		for (i = 0; i < old->nr; i++)
			if (old->progs[i] != gone)
				new->progs[new->nr++] = old->progs[i];
	}
	uior_bpf_publish(ctx, new);
	uior_bpf_prog_release(gone);
	p->prog_id = id;
	return 0;
}

/* Runs the chain over buffer @idx; called under ctx->lock from SUBMIT. */
int uior_bpf_run(struct uior_ctx *ctx, const struct unified_io_desc *d,
		 u32 idx, u32 *cflags)
{
	struct bpf_net_context __bpf_net_ctx, *bpf_net_ctx;
	u32 frame_sz = uior_bpf_frame_sz(ctx);
	struct unified_io_bpf_meta *m;
	struct unified_io_bpf_meta meta = {
		.user_data	= d->user_data,
		.offset		= d->addr,
		.len		= d->len,
		.owner		= d->owner,
		.opcode		= d->opcode,
	};
	struct xdp_rxq_info rxq = {
		/*
		 * ingress_ifindex reads through it, and helpers that take
		 * BPF_F_CURRENT_NETNS (bpf_sk_lookup_*, bpf_fib_lookup) act
		 * in its namespace: the loopback device of the namespace that
		 * created the region, which ctx->net_ns keeps alive.
		 */
		.dev		= ctx->net_ns->loopback_dev,
	};
	struct uior_bpf_chain *chain;
	void *hard, *data;
	u32 len = d->len, i;
	int ret;

	lockdep_assert_held(&ctx->lock);

	local_bh_disable();
	bpf_net_ctx = bpf_net_ctx_set(&__bpf_net_ctx);
	rcu_read_lock();

	chain = rcu_dereference(ctx->bpf_chain);
	if (!chain) {
		ret = -ENOENT;
		goto out;
	}
	/*
	 * Through the chain, not ctx: rcu_dereference() orders only loads
	 * made through the pointer it returns.
	 */
	hard = chain->va + (size_t)idx * uior_bpf_stride(ctx);
	data = hard + PAGE_SIZE;
	m = data - sizeof(*m);
	memcpy(m, &meta, sizeof(meta));

	for (i = 0; i < chain->nr; i++) {
		struct uior_bpf_prog *p = chain->progs[i];
		/* No transmit queue: zeroed, as test_run does. */
		struct xdp_buff xdp = {};
		u64 t0;
		u32 act;

		m->prog_index = i;
		xdp_init_buff(&xdp, frame_sz, &rxq);
		xdp_prepare_buff(&xdp, hard, PAGE_SIZE, len, true);
		xdp.data_meta = xdp.data - sizeof(meta);

		t0 = ktime_get_ns();
		act = bpf_prog_run_xdp(p->prog, &xdp);
		atomic64_add(ktime_get_ns() - t0, &p->run_ns);
		atomic64_inc(&p->runs);
		atomic64_add(len, &p->bytes);

		if (xdp.data != data) {
			atomic64_inc(&p->other);
			ret = -EPROTO;
			goto out;
		}
		len = xdp.data_end - xdp.data;

		switch (act) {
		case XDP_PASS:
			atomic64_inc(&p->pass);
			continue;
		case XDP_DROP:
			atomic64_inc(&p->drop);
			*cflags = UNIFIED_IO_CQE_F_BPF_DROP |
				  i << UNIFIED_IO_CQE_BPF_PROG_SHIFT;
			ret = 0;
			goto out;
		case XDP_ABORTED:
			atomic64_inc(&p->aborted);
			ret = -ECANCELED;
			goto out;
		default:
			atomic64_inc(&p->other);
			ret = -EOPNOTSUPP;
			goto out;
		}
	}
	ret = len;
out:
	rcu_read_unlock();
	bpf_net_ctx_clear(bpf_net_ctx);
	local_bh_enable();
	return ret;
}

void uior_bpf_info(struct uior_ctx *ctx, struct unified_io_info *info)
{
	struct uior_bpf_chain *chain;
	u32 i;

	rcu_read_lock();
	chain = rcu_dereference(ctx->bpf_chain);
	for (i = 0; chain && i < chain->nr; i++) {
		struct unified_io_bpf_prog_info *o = &info->bpf_progs[i];
		struct uior_bpf_prog *p = chain->progs[i];

		o->prog_id = p->prog->aux->id;
		o->runs = atomic64_read(&p->runs);
		o->bytes = atomic64_read(&p->bytes);
		o->pass = atomic64_read(&p->pass);
		o->drop = atomic64_read(&p->drop);
		o->aborted = atomic64_read(&p->aborted);
		o->other = atomic64_read(&p->other);
		o->run_ns = atomic64_read(&p->run_ns);
	}
	info->nr_bpf_progs = i;
	rcu_read_unlock();
}

/* Release every program; the file is going away, nothing runs any more. */
void uior_bpf_destroy(struct uior_ctx *ctx)
{
	struct uior_bpf_chain *chain;
	u32 i;

	mutex_lock(&ctx->bpf_lock);
	chain = uior_bpf_chain(ctx);
	for (i = 0; chain && i < chain->nr; i++)
		uior_bpf_prog_release(chain->progs[i]);
	uior_bpf_publish(ctx, NULL);
	mutex_unlock(&ctx->bpf_lock);

	if (ctx->bpf_va)
		vunmap(ctx->bpf_va);
	if (ctx->bpf_scratch)
		__free_page(ctx->bpf_scratch);
	ctx->bpf_va = NULL;
	ctx->bpf_scratch = NULL;
}
