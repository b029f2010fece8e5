// SPDX-License-Identifier: GPL-2.0
/*
 * unified_io memory provider: the region's data area as the memory of a NIC
 * receive queue's page pool (UNIFIED_IO_NET_BIND, modelled on
 * io_uring/zcrx.c), and the binding's life: NET_BIND, NET_UNBIND, DMA
 * mapping, the refill ring, and the teardown with the region.
 *
 * Object model: BIND lends nr_bufs buffers of the data area to a struct
 * uior_net until the binding ends and every one of them is back (a later
 * BIND retires it then). Each buffer is one net_iov (buf_size == PAGE_SIZE),
 * DMA-mapped for the queue's DMA device. A lent buffer is in exactly one of
 * these places: the provider's free list; a page pool (its caches, the NIC's
 * ring, an skb); the application (user references > 0). The page pool's
 * alloc_netmems takes buffers from the refill ring first (those the
 * application gives back) and from the free list when the ring is empty;
 * release_netmem puts buffers back on the free list. RECV's copies (recv.c)
 * also come from the free list once a region has lent buffers, so every
 * buffer RECV hands out returns the same way (refill ring or FREE).
 *
 * Built only for a kernel that exports the provider interface to modules,
 * accepts provider ops from module read-only data and pins the ops' owner
 * module while a queue or a page pool uses them (kernel/patches/; the
 * Kbuild file decides, from scripts/kapi.sh's probes).  Elsewhere uior.h's
 * stubs stand in: RECV copies, and NET_BIND fails with EOPNOTSUPP.
 *
 * Locking, outermost first:
 *   ctx->lock		SUBMIT (RECV, FREE, BPF), BIND, UNBIND, GET_INFO,
 *			fdinfo (trylock); alone, it covers lending and
 *			retiring a binding's buffers, when no page pool and
 *			no refill can reach them.  The teardown at release
 *			(uior_net_destroy()) runs without it: nothing else
 *			can reach the region then
 *   netdev instance lock	BIND (netdev_get_by_index_lock), UNBIND, and
 *			the core around ->uninstall
 *   lock_sock()	RECV's walk of the socket (recv.c)
 *   net->pp_lock	(mutex) the netdev reference, DMA mapping, binding state
 *   net->rq_lock	(spin, BH) user references and owners of lent buffers,
 *			their ctx->bufs entries and buffer table mirror, the
 *			refill ring head, net->ctx
 *   net->freelist_lock	(spin, BH) the provider's free list and its
 *			counters
 * Page pool callbacks run in softirq (NAPI) context and take only the last
 * two. The struct uior_net outlives the region: page pools that still hold
 * its net_iovs keep a reference (->init to ->destroy), the core keeps this
 * module loaded for as long as a queue or a page pool can call the ops
 * (uior_mp_ops.owner), and it holds its own references on the data pages.
 *
 * Calls: main.c (BIND, UNBIND, GET_INFO, fdinfo), region.c (teardown),
 * ring.c (refill ring, counters), buf.c (FREE and BPF of lent buffers) and
 * recv.c (buffers for RECV) call in; this file calls only the inline
 * helpers of uior.h.
 */
#include <linux/bitmap.h>
#include <linux/capability.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/netdevice.h>
#include <linux/nsproxy.h>
#include <linux/nospec.h>
#include <linux/refcount.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <net/netdev_queues.h>
#include <net/netdev_rx_queue.h>
#include <net/netmem.h>
#include <net/netlink.h>
#include <net/page_pool/helpers.h>
#include <net/page_pool/memory_provider.h>
#include <uapi/linux/netdev.h>

#include "uior.h"

struct uior_net {
	refcount_t refs;		/* the region, and each page pool */
	u32 id;				/* the region's: netdev netlink shows it */
	u32 nr_bufs;			/* buffers of the region (net_iovs) */
	u32 nr_lent;
	u32 buf_shift;
	struct net_iov_area nia;	/* one net_iov per buffer */
	struct page **pages;		/* data pages, referenced */
	unsigned long *lent;		/* buffers lent to the network side */

	spinlock_t rq_lock;
	struct uior_ctx *ctx;		/* NULL once unbound */
	u32 *urefs;			/* application references */
	u16 *owners;
	u32 bufs_app;
	u32 rfq_cached_head;
	u64 refills;
	u64 refill_bad_addr;
	u64 refill_not_held;

	spinlock_t freelist_lock;
	u32 *freelist;
	u32 free_count;
	u64 alloc_empty;
	u64 nic_allocs;

	struct mutex pp_lock;
	struct net_device *netdev;
	netdevice_tracker netdev_tracker;
	struct device *dma_dev;
	bool mapped;
	u32 state;			/* enum unified_io_net_state */
	u32 ifindex;
	u32 rxq;
};

static struct uior_net *uior_niov_net(const struct net_iov *niov)
{
	return container_of(net_iov_owner(niov), struct uior_net, nia);
}

static void uior_net_free(struct uior_net *net)
{
	unsigned long i;

	if (net->pages)
		for (i = 0; i < net->nr_bufs; i++)
			if (net->pages[i])
				put_page(net->pages[i]);
	if (net->dma_dev)
		put_device(net->dma_dev);
	kvfree(net->pages);
	kvfree(net->nia.niovs);
	bitmap_free(net->lent);
	kvfree(net->urefs);
	kvfree(net->owners);
	kvfree(net->freelist);
	mutex_destroy(&net->pp_lock);
	kfree(net);
}

static void uior_net_put(struct uior_net *net)
{
	if (refcount_dec_and_test(&net->refs))
		uior_net_free(net);
}

/* ctx->bufs and the buffer table of a lent buffer follow its user refs. */
static void uior_net_mirror(struct uior_net *net, u32 idx)
{
	struct uior_ctx *ctx = net->ctx;
	struct uior_buf *b;

	lockdep_assert_held(&net->rq_lock);
	if (!ctx)
		return;
	b = &ctx->bufs[idx];
	b->owner = net->urefs[idx] ? net->owners[idx] : 0;
	b->state = net->urefs[idx] ? UNIFIED_IO_BUF_APP : UNIFIED_IO_BUF_KERNEL;
	b->refs = min_t(u32, net->urefs[idx], U8_MAX);
	uior_buf_mirror(ctx, idx);
}

/*
 * One more user reference on @idx for @owner.  A buffer is held under one
 * owner at a time: false if another owner holds it (a RECV under a second
 * owner reached the rest of a buffer the first one holds).
 */
static bool uior_net_get_uref(struct uior_net *net, u32 idx, u16 owner)
{
	guard(spinlock_bh)(&net->rq_lock);
	if (net->urefs[idx] && net->owners[idx] != owner)
		return false;
	if (!net->urefs[idx]++) {
		net->owners[idx] = owner;
		net->bufs_app++;
	}
	uior_net_mirror(net, idx);
	return true;
}

/* Drop one user reference held under @owner; false if there is none. */
static bool uior_net_put_uref(struct uior_net *net, u32 idx, u16 owner)
{
	lockdep_assert_held(&net->rq_lock);
	if (!net->urefs[idx] || net->owners[idx] != owner)
		return false;
	if (!--net->urefs[idx]) {
		net->owners[idx] = 0;
		net->bufs_app--;
	}
	uior_net_mirror(net, idx);
	return true;
}

static void uior_net_freelist_push(struct uior_net *net, struct net_iov *niov)
{
	guard(spinlock_bh)(&net->freelist_lock);
	if (WARN_ON_ONCE(net->free_count >= net->nr_lent))
		return;
	net->freelist[net->free_count++] = net_iov_idx(niov);
}

static struct net_iov *uior_net_freelist_pop(struct uior_net *net)
{
	lockdep_assert_held(&net->freelist_lock);
	if (!net->free_count)
		return NULL;
	return &net->nia.niovs[net->freelist[--net->free_count]];
}

/* The last page pool reference of @niov is gone: back to its owner. */
static void uior_net_return_niov(struct net_iov *niov)
{
	if (!niov->desc.pp) {
		/* A copy buffer: it never belonged to a page pool. */
		uior_net_freelist_push(uior_niov_net(niov), niov);
		return;
	}
	page_pool_put_unrefed_netmem(niov->desc.pp, net_iov_to_netmem(niov),
				     -1, false);
}

/* Drop a user reference and, with it, the page pool reference it pinned. */
static bool uior_net_release_user(struct uior_net *net, u32 idx, u16 owner)
{
	struct net_iov *niov = &net->nia.niovs[idx];

	lockdep_assert_held(&net->rq_lock);
	if (!uior_net_put_uref(net, idx, owner))
		return false;
	if (page_pool_unref_and_test(net_iov_to_netmem(niov)))
		uior_net_return_niov(niov);
	return true;
}

bool uior_net_buf_lent(struct uior_ctx *ctx, u32 idx)
{
	return ctx->net && test_bit(idx, ctx->net->lent);
}

/* UNIFIED_IO_OP_FREE of a lent buffer: -EPERM unless @owner holds it. */
int uior_net_free_buf(struct uior_ctx *ctx, u32 idx, u16 owner)
{
	struct uior_net *net = ctx->net;

	lockdep_assert_held(&ctx->lock);
	guard(spinlock_bh)(&net->rq_lock);
	return uior_net_release_user(net, idx, owner) ? 0 : -EPERM;
}

/*
 * OP_BPF over lent buffer @idx: -EPERM unless @owner holds it.  The page
 * pool reference taken here keeps the buffer from the NIC until
 * uior_net_unhold_buf(), even if the application gives it back through the
 * refill ring while the programs run.
 */
int uior_net_hold_buf(struct uior_ctx *ctx, u32 idx, u16 owner)
{
	struct uior_net *net = ctx->net;

	lockdep_assert_held(&ctx->lock);
	guard(spinlock_bh)(&net->rq_lock);
	if (!net->urefs[idx] || net->owners[idx] != owner)
		return -EPERM;
	page_pool_ref_netmem(net_iov_to_netmem(&net->nia.niovs[idx]));
	return 0;
}

void uior_net_unhold_buf(struct uior_ctx *ctx, u32 idx)
{
	struct net_iov *niov = &ctx->net->nia.niovs[idx];

	lockdep_assert_held(&ctx->lock);
	if (page_pool_unref_and_test(net_iov_to_netmem(niov)))
		uior_net_return_niov(niov);
}

/*
 * RECV's buffer for a copy, from the provider's free list, now held by
 * @owner: one page pool reference (like a fresh page pool page), the user's.
 */
int uior_net_copy_buf(struct uior_net *net, u16 owner, u32 *idx)
{
	struct net_iov *niov;

	scoped_guard(spinlock_bh, &net->freelist_lock)
		niov = uior_net_freelist_pop(net);
	if (!niov)
		return -ENOBUFS;
	page_pool_fragment_netmem(net_iov_to_netmem(niov), 1);
	*idx = net_iov_idx(niov);
	/* Off the free list: nobody else holds it. */
	WARN_ON_ONCE(!uior_net_get_uref(net, *idx, owner));
	return 0;
}

/* Drop @owner's reference on @idx (a buffer RECV did not deliver). */
void uior_net_put_buf(struct uior_net *net, u32 idx, u16 owner)
{
	guard(spinlock_bh)(&net->rq_lock);
	uior_net_release_user(net, idx, owner);
}

/*
 * RECV hands over @niov, a frag of this provider's page pool, to @owner:
 * -EBUSY if another owner holds the buffer.  The page pool reference comes
 * first, before the user reference: no recycling while user space reads.
 */
int uior_net_take_frag(struct uior_net *net, struct net_iov *niov, u16 owner)
{
	page_pool_ref_netmem(net_iov_to_netmem(niov));
	if (uior_net_get_uref(net, net_iov_idx(niov), owner))
		return 0;
	/* The skb holds the buffer too: this is never the last reference. */
	if (page_pool_unref_and_test(net_iov_to_netmem(niov)))
		uior_net_return_niov(niov);
	return -EBUSY;
}

/* Counters for GET_INFO and the control area; under ctx->lock. */
void uior_net_stats(struct uior_ctx *ctx, struct unified_io_stats *s)
{
	struct uior_net *net = ctx->net;
	u32 app;

	lockdep_assert_held(&ctx->lock);
	if (!net)
		return;
	app = READ_ONCE(net->bufs_app);
	s->bufs_app += app;
	s->bufs_kernel += net->nr_lent - app;
}

/* The binding's part of GET_INFO's and fdinfo's net info. */
void uior_net_info(struct uior_ctx *ctx, struct unified_io_net_info *ni)
{
	struct uior_net *net = ctx->net;

	lockdep_assert_held(&ctx->lock);
	if (!net)
		return;
	scoped_guard(spinlock_bh, &net->rq_lock) {
		ni->bufs_app = net->bufs_app;
		ni->refills = net->refills;
		ni->refill_bad_addr = net->refill_bad_addr;
		ni->refill_not_held = net->refill_not_held;
	}
	scoped_guard(spinlock_bh, &net->freelist_lock) {
		ni->alloc_empty = net->alloc_empty;
		ni->nic_allocs = net->nic_allocs;
	}
	ni->state = READ_ONCE(net->state);
	ni->ifindex = net->ifindex;
	ni->rxq = net->rxq;
	ni->nr_bufs = net->nr_lent;
	ni->bufs_nic = net->nr_lent - ni->bufs_app;
}

/* ------------------------------------------------------------------------
 * The page pool's side.
 */

MODULE_IMPORT_NS("NETDEV_INTERNAL");

static const struct memory_provider_ops uior_mp_ops;

static struct uior_net *uior_pp_to_net(struct page_pool *pp)
{
	return pp->mp_priv;
}

/*
 * Take the buffers the application returned through the refill ring. Every
 * entry is copied and checked before use; bad ones are skipped and counted.
 * Buffers of @pp go to @netmems (at most @to_alloc); others, and all of them
 * when @pp is NULL, go back to their own page pool or the free list.
 */
static unsigned int uior_net_refill(struct page_pool *pp, struct uior_net *net,
				    netmem_ref *netmems, unsigned int to_alloc)
{
	struct unified_io_rfqe *rfqes;
	struct uior_ctx *ctx;
	unsigned int n = 0;
	u32 tail, entries, mask;

	guard(spinlock_bh)(&net->rq_lock);
	ctx = net->ctx;
	if (!ctx)
		return 0;
	rfqes = ctx->rfqes;
	mask = ctx->layout_refill.ring_mask;
	/* User space writes the entries before it releases the tail. */
	tail = smp_load_acquire(&ctx->ctrl->rfq_tail);
	entries = min(tail - net->rfq_cached_head,
		      ctx->layout_refill.ring_entries);

	while (entries-- && (!pp || n < to_alloc)) {
		struct unified_io_rfqe e;
		struct net_iov *niov;
		netmem_ref netmem;
		u32 idx;

		memcpy(&e, &rfqes[net->rfq_cached_head++ & mask], sizeof(e));
		barrier();
		if (e.addr >= ctx->layout.data_size ||
		    e.addr & (ctx->layout.buf_size - 1) ||
		    !mem_is_zero(e.resv, sizeof(e.resv))) {
			net->refill_bad_addr++;
			continue;
		}
		idx = array_index_nospec((u32)(e.addr >> net->buf_shift),
					 net->nr_bufs);
		if (!test_bit(idx, net->lent) ||
		    !uior_net_put_uref(net, idx, e.owner)) {
			net->refill_not_held++;
			continue;
		}
		net->refills++;
		niov = &net->nia.niovs[idx];
		netmem = net_iov_to_netmem(niov);
		if (!page_pool_unref_and_test(netmem))
			continue;
		if (!pp || unlikely(niov->desc.pp != pp)) {
			uior_net_return_niov(niov);
			continue;
		}
		netmems[n++] = netmem;
	}
	/* The entries are read before user space may reuse their slots. */
	smp_store_release(&ctx->ctrl->rfq_head, net->rfq_cached_head);
	return n;
}

/*
 * While no queue is bound, SUBMIT and the armed RECVs' runs take the
 * refill ring's entries.  An unchanged tail is the common case (every
 * run of an io_uring arm comes here): no lock, no store to the ring.
 */
void uior_net_drain_refill(struct uior_ctx *ctx)
{
	struct uior_net *net = ctx->net;

	lockdep_assert_held(&ctx->lock);
	if (!net || READ_ONCE(net->state) == UNIFIED_IO_NET_BOUND)
		return;
	/*
	 * data_race(): the head moves under rq_lock, which a page pool still
	 * draining takes too; a stale head only means a drain that finds
	 * nothing, and a head it moves meanwhile is met again next time.
	 */
	if (READ_ONCE(ctx->ctrl->rfq_tail) == data_race(net->rfq_cached_head))
		return;
	uior_net_refill(NULL, net, NULL, 0);
}

static unsigned int uior_net_refill_slow(struct page_pool *pp,
					 struct uior_net *net,
					 netmem_ref *netmems,
					 unsigned int to_alloc)
{
	unsigned int n;

	guard(spinlock_bh)(&net->freelist_lock);
	for (n = 0; n < to_alloc; n++) {
		struct net_iov *niov = uior_net_freelist_pop(net);

		if (!niov)
			break;
		net_mp_niov_set_page_pool(pp, niov);
		netmems[n] = net_iov_to_netmem(niov);
	}
	if (!n)
		net->alloc_empty++;
	net->nic_allocs += n;
	return n;
}

static void uior_net_sync_for_device(struct page_pool *pp,
				     netmem_ref *netmems, unsigned int nr)
{
	struct device *dev = pp->p.dev;
	unsigned int i;

	if (!dma_dev_need_sync(dev))
		return;
	for (i = 0; i < nr; i++)
		dma_sync_single_for_device(dev,
					   page_pool_get_dma_addr_netmem(netmems[i]),
					   PAGE_SIZE, pp->p.dma_dir);
}

static netmem_ref uior_pp_alloc_netmems(struct page_pool *pp, gfp_t gfp)
{
	struct uior_net *net = uior_pp_to_net(pp);
	netmem_ref *netmems = pp->alloc.cache;
	unsigned int n;

	/* The page pool calls only with an empty cache. */
	if (WARN_ON_ONCE(pp->alloc.count))
		return 0;

	n = uior_net_refill(pp, net, netmems, PP_ALLOC_CACHE_REFILL);
	if (!n)
		n = uior_net_refill_slow(pp, net, netmems,
					 PP_ALLOC_CACHE_REFILL);
	if (!n)
		return 0;
	uior_net_sync_for_device(pp, netmems, n);
	pp->alloc.count += n - 1;
	return netmems[n - 1];
}

static bool uior_pp_release_netmem(struct page_pool *pp, netmem_ref netmem)
{
	struct net_iov *niov;

	if (WARN_ON_ONCE(!netmem_is_net_iov(netmem)))
		return false;
	niov = netmem_to_net_iov(netmem);
	net_mp_niov_clear_page_pool(niov);
	uior_net_freelist_push(uior_niov_net(niov), niov);
	/* Never to the page allocator: the region owns the memory. */
	return false;
}

static int uior_pp_init(struct page_pool *pp)
{
	struct uior_net *net = uior_pp_to_net(pp);

	if (WARN_ON_ONCE(!net))
		return -EINVAL;
	if (pp->p.dev != net->dma_dev || !pp->dma_map)
		return -EOPNOTSUPP;
	if (pp->p.order || pp->p.dma_dir != DMA_FROM_DEVICE)
		return -EINVAL;
	/* The core pins this module from before ->init to after ->destroy. */
	refcount_inc(&net->refs);
	return 0;
}

static void uior_pp_destroy(struct page_pool *pp)
{
	uior_net_put(uior_pp_to_net(pp));
}

/*
 * Queue and page pool dumps: a module-provider nest, which the core names
 * after this module (uior_mp_ops.owner), with the region's id.
 */
static int uior_pp_nl_fill(void *mp_priv, struct sk_buff *rsp,
			   struct netdev_rx_queue *rxq)
{
	struct uior_net *net = mp_priv;
	struct nlattr *nest;

	nest = net_mp_nl_module_start(rsp, &uior_mp_ops, rxq);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_uint(rsp, NETDEV_A_MODULE_PROVIDER_INFO_ID, net->id)) {
		nla_nest_cancel(rsp, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(rsp, nest);
	return 0;
}

static void uior_net_unmap(struct uior_net *net)
{
	unsigned long i;

	lockdep_assert_held(&net->pp_lock);
	if (!net->mapped)
		return;
	net->mapped = false;
	for_each_set_bit(i, net->lent, net->nr_bufs) {
		struct net_iov *niov = &net->nia.niovs[i];
		dma_addr_t dma = page_pool_get_dma_addr_netmem(net_iov_to_netmem(niov));

		net_mp_niov_set_dma_addr(niov, 0);
		dma_unmap_page_attrs(net->dma_dev, dma, PAGE_SIZE,
				     DMA_FROM_DEVICE, DMA_ATTR_SKIP_CPU_SYNC);
	}
}

/* The interface is going away with the binding in place. */
static void uior_pp_uninstall(void *mp_priv, struct netdev_rx_queue *rxq)
{
	struct pp_memory_provider_params *p = &rxq->mp_params;
	struct uior_net *net = mp_priv;

	/* Unmapped while the device is still there, as zcrx does. */
	scoped_guard(mutex, &net->pp_lock) {
		uior_net_unmap(net);
		if (net->netdev) {
			netdev_put(net->netdev, &net->netdev_tracker);
			net->netdev = NULL;
			WRITE_ONCE(net->state, UNIFIED_IO_NET_GONE);
		}
	}
	p->mp_ops = NULL;
	p->mp_priv = NULL;
}

static const struct memory_provider_ops uior_mp_ops = {
	.alloc_netmems	= uior_pp_alloc_netmems,
	.release_netmem	= uior_pp_release_netmem,
	.init		= uior_pp_init,
	.destroy	= uior_pp_destroy,
	.nl_fill	= uior_pp_nl_fill,
	.uninstall	= uior_pp_uninstall,
	.owner		= THIS_MODULE,
};

bool uior_net_is_ours(struct uior_net *net, struct page_pool *pp)
{
	return pp && pp->mp_ops == &uior_mp_ops && pp->mp_priv == net;
}

static int uior_net_map(struct uior_net *net)
{
	unsigned long i;

	lockdep_assert_held(&net->pp_lock);
	for_each_set_bit(i, net->lent, net->nr_bufs) {
		dma_addr_t dma;

		dma = dma_map_page_attrs(net->dma_dev, net->pages[i], 0,
					 PAGE_SIZE, DMA_FROM_DEVICE,
					 DMA_ATTR_SKIP_CPU_SYNC);
		if (dma_mapping_error(net->dma_dev, dma))
			goto err;
		if (net_mp_niov_set_dma_addr(&net->nia.niovs[i], dma)) {
			dma_unmap_page_attrs(net->dma_dev, dma, PAGE_SIZE,
					     DMA_FROM_DEVICE,
					     DMA_ATTR_SKIP_CPU_SYNC);
			goto err;
		}
	}
	net->mapped = true;
	return 0;
err:
	/* Unmap what was mapped: the entries before @i. */
	while (i--) {
		struct net_iov *niov = &net->nia.niovs[i];
		dma_addr_t dma;

		if (!test_bit(i, net->lent))
			continue;
		dma = page_pool_get_dma_addr_netmem(net_iov_to_netmem(niov));
		net_mp_niov_set_dma_addr(niov, 0);
		dma_unmap_page_attrs(net->dma_dev, dma, PAGE_SIZE,
				     DMA_FROM_DEVICE, DMA_ATTR_SKIP_CPU_SYNC);
	}
	return -ENOMEM;
}

/*
 * Open the queue with the region as its provider. Called with the netdev
 * instance lock held (netdev_get_by_index_lock()).
 */
static int uior_net_open_queue(struct uior_net *net, struct net_device *dev,
			       struct unified_io_net_bind *p,
			       struct netlink_ext_ack *extack)
{
	struct pp_memory_provider_params mp = {
		.mp_ops		= &uior_mp_ops,
		.mp_priv	= net,
	};
	struct device *dma_dev;
	unsigned int rxq;
	int ret;

	if (!dev->queue_mgmt_ops) {
		NL_SET_ERR_MSG(extack, "device has no queue management");
		return -EOPNOTSUPP;
	}
	if (p->rxq >= dev->real_num_rx_queues) {
		NL_SET_ERR_MSG(extack, "rx queue index out of range");
		return -ERANGE;
	}
	/* It indexes dev->_rx[]. */
	rxq = array_index_nospec(p->rxq, dev->real_num_rx_queues);
	dma_dev = netdev_queue_get_dma_dev(dev, rxq, NETDEV_QUEUE_TYPE_RX);
	if (!dma_dev) {
		NL_SET_ERR_MSG(extack, "queue has no DMA device");
		return -EOPNOTSUPP;
	}
	net->dma_dev = get_device(dma_dev);

	scoped_guard(mutex, &net->pp_lock) {
		ret = uior_net_map(net);
		if (ret) {
			NL_SET_ERR_MSG(extack, "DMA mapping of the buffers failed");
			return ret;
		}
		/* Before the queue restarts: ->init checks it. */
		net->netdev = dev;
		netdev_hold(dev, &net->netdev_tracker, GFP_KERNEL);
	}

	ret = netif_mp_open_rxq(dev, rxq, &mp, extack);
	if (ret) {
		scoped_guard(mutex, &net->pp_lock) {
			netdev_put(dev, &net->netdev_tracker);
			net->netdev = NULL;
			uior_net_unmap(net);
		}
		return ret;
	}
	net->ifindex = dev->ifindex;
	net->rxq = rxq;
	WRITE_ONCE(net->state, UNIFIED_IO_NET_BOUND);
	return 0;
}

/* Close the queue if the binding is still in place; the queue restarts. */
static void uior_net_close_queue(struct uior_net *net)
{
	struct pp_memory_provider_params mp = {
		.mp_ops		= &uior_mp_ops,
		.mp_priv	= net,
	};
	netdevice_tracker tracker;
	struct net_device *dev;

	scoped_guard(mutex, &net->pp_lock) {
		dev = net->netdev;
		tracker = net->netdev_tracker;
		net->netdev = NULL;
	}
	if (dev) {
		/*
		 * The mappings go while the device is locked and referenced
		 * (zcrx's io_close_queue() does the same): once the reference
		 * is dropped the device, and the IOMMU domain the buffers are
		 * mapped in, may be gone.
		 */
		netdev_lock(dev);
		netif_mp_close_rxq(dev, net->rxq, &mp);
		scoped_guard(mutex, &net->pp_lock)
			uior_net_unmap(net);
		netdev_unlock(dev);
		netdev_put(dev, &tracker);
		WRITE_ONCE(net->state, UNIFIED_IO_NET_UNBOUND);
		return;
	}
	/* The interface went away first: ->uninstall unmapped. */
	scoped_guard(mutex, &net->pp_lock)
		uior_net_unmap(net);
}

/* ------------------------------------------------------------------------
 * BIND and UNBIND.
 */

static struct uior_net *uior_net_alloc(struct uior_ctx *ctx, u32 nr_lent)
{
	u32 nr = ctx->layout.nr_bufs, i;
	struct uior_net *net;

	net = kzalloc_obj(*net, GFP_KERNEL_ACCOUNT);
	if (!net)
		return NULL;
	refcount_set(&net->refs, 1);
	net->id = ctx->id;
	spin_lock_init(&net->rq_lock);
	spin_lock_init(&net->freelist_lock);
	mutex_init(&net->pp_lock);
	net->nr_bufs = nr;
	net->nr_lent = nr_lent;
	net->buf_shift = ctx->buf_shift;

	net->pages = kvcalloc(nr, sizeof(*net->pages), GFP_KERNEL_ACCOUNT);
	net->nia.niovs = kvcalloc(nr, sizeof(*net->nia.niovs),
				  GFP_KERNEL_ACCOUNT);
	net->lent = bitmap_zalloc(nr, GFP_KERNEL_ACCOUNT);
	net->urefs = kvcalloc(nr, sizeof(*net->urefs), GFP_KERNEL_ACCOUNT);
	net->owners = kvcalloc(nr, sizeof(*net->owners), GFP_KERNEL_ACCOUNT);
	net->freelist = kvcalloc(nr_lent, sizeof(*net->freelist),
				 GFP_KERNEL_ACCOUNT);
	if (!net->pages || !net->nia.niovs || !net->lent || !net->urefs ||
	    !net->owners || !net->freelist) {
		uior_net_free(net);
		return NULL;
	}
	net->nia.num_niovs = nr;
	for (i = 0; i < nr; i++) {
		net_iov_init(&net->nia.niovs[i], &net->nia, NET_IOV_MODULE);
		net->pages[i] = ctx->pages[ctx->meta_pages + i];
		get_page(net->pages[i]);
	}
	return net;
}

/* Move @nr buffers from the region's free list to the provider's. */
static void uior_net_lend(struct uior_ctx *ctx, struct uior_net *net, u32 nr)
{
	u32 i;

	lockdep_assert_held(&ctx->lock);
	for (i = 0; i < nr; i++) {
		u32 idx = ctx->free_list[--ctx->nr_free];
		struct uior_buf *b = &ctx->bufs[idx];

		set_bit(idx, net->lent);
		b->owner = 0;
		b->state = UNIFIED_IO_BUF_KERNEL;
		b->refs = 0;
		uior_buf_mirror(ctx, idx);
		net->freelist[net->free_count++] = idx;
	}
	ctx->stats.bufs_free -= nr;
}

/* Give back buffers no page pool has seen. */
static void uior_net_unlend(struct uior_ctx *ctx, struct uior_net *net)
{
	lockdep_assert_held(&ctx->lock);
	while (net->free_count) {
		u32 idx = net->freelist[--net->free_count];

		ctx->bufs[idx].state = UNIFIED_IO_BUF_FREE;
		uior_buf_mirror(ctx, idx);
		ctx->free_list[ctx->nr_free++] = idx;
		ctx->stats.bufs_free++;
	}
}

/*
 * Every buffer of a binding that has ended is home: on the provider's free
 * list, and no page pool is left that could hand one out or give one back
 * (each holds a reference from ->init to ->destroy).  Only BIND and RECV,
 * under ctx->lock, take buffers off the free list once the pools are gone.
 */
static bool uior_net_idle(struct uior_net *net)
{
	guard(spinlock_bh)(&net->freelist_lock);
	return refcount_read(&net->refs) == 1 && net->free_count == net->nr_lent;
}

/* An ended, idle binding: its buffers go back to the region. */
static void uior_net_retire(struct uior_ctx *ctx, struct uior_net *net)
{
	lockdep_assert_held(&ctx->lock);
	uior_net_unlend(ctx, net);
	scoped_guard(spinlock_bh, &net->rq_lock) {
		ctx->rfq_head = net->rfq_cached_head;
		net->ctx = NULL;
	}
	if (ctx->net == net)
		ctx->net = NULL;
	uior_net_put(net);
}

static int uior_net_bind_locked(struct uior_ctx *ctx,
				struct unified_io_net_bind *p,
				struct netlink_ext_ack *extack)
{
	struct net_device *dev;
	struct uior_net *net;
	int ret;

	lockdep_assert_held(&ctx->lock);
	if (ctx->net) {
		/* One binding at a time; a new one once the last is home. */
		if (READ_ONCE(ctx->net->state) == UNIFIED_IO_NET_BOUND) {
			NL_SET_ERR_MSG(extack, "region is bound");
			return -EBUSY;
		}
		/* What the application gave back through the ring is home. */
		uior_net_drain_refill(ctx);
		if (!uior_net_idle(ctx->net)) {
			NL_SET_ERR_MSG(extack,
				       "buffers of the last binding are still out");
			return -EBUSY;
		}
		uior_net_retire(ctx, ctx->net);
	}
	if (p->nr_bufs > ctx->nr_free) {
		NL_SET_ERR_MSG(extack, "fewer free buffers than nr_bufs");
		return -ENOBUFS;
	}
	net = uior_net_alloc(ctx, p->nr_bufs);
	if (!net)
		return -ENOMEM;
	/* The buffers, not yet visible to any page pool. */
	uior_net_lend(ctx, net, p->nr_bufs);
	net->ctx = ctx;
	/* The kernel's own head, never the one in shared memory. */
	net->rfq_cached_head = ctx->rfq_head;

	dev = netdev_get_by_index_lock(current->nsproxy->net_ns, p->ifindex);
	if (!dev) {
		NL_SET_ERR_MSG(extack, "no such interface");
		ret = -ENODEV;
	} else {
		ret = uior_net_open_queue(net, dev, p, extack);
		netdev_unlock(dev);
	}
	if (!ret) {
		ctx->net = net;
	} else if (uior_net_idle(net)) {
		uior_net_retire(ctx, net);
	} else {
		/*
		 * A page pool of the failed restart still holds some buffers:
		 * they stay lent and come home to the provider's free list,
		 * and the next BIND retires this binding once they have.
		 */
		WRITE_ONCE(net->state, UNIFIED_IO_NET_UNBOUND);
		ctx->net = net;
	}
	return ret;
}

/*
 * UNIFIED_IO_NET_BIND; main.c has checked the flags and reserved fields and
 * cleared @p->msg, which says why on failure.
 */
int uior_net_bind(struct uior_ctx *ctx, struct unified_io_net_bind *p)
{
	struct netlink_ext_ack extack = {};
	int ret;

	/*
	 * In the initial user namespace, as io_uring zcrx asks (devmem's
	 * bind-rx settles for the netns owner's, GENL_UNS_ADMIN_PERM): a
	 * bound queue receives every flow the NIC steers to it, other
	 * users' too, into memory the binder reads, and a queue can be
	 * reachable from a user namespace (a VF moved there, a netkit lease).
	 */
	if (!capable(CAP_NET_ADMIN)) {
		NL_SET_ERR_MSG(&extack, "CAP_NET_ADMIN needed (initial user ns)");
		ret = -EPERM;
	} else if (!p->nr_bufs) {
		NL_SET_ERR_MSG(&extack, "nr_bufs is zero");
		ret = -EINVAL;
	} else if (ctx->layout.buf_size != PAGE_SIZE) {
		NL_SET_ERR_MSG(&extack, "buf_size is not PAGE_SIZE");
		ret = -EINVAL;
	} else {
		if (mutex_lock_interruptible(&ctx->lock))
			return -EINTR;
		ret = uior_net_bind_locked(ctx, p, &extack);
		mutex_unlock(&ctx->lock);
	}
	if (extack._msg)
		strscpy(p->msg, extack._msg, sizeof(p->msg));
	return ret;
}

/* UNIFIED_IO_NET_UNBIND; main.c has checked that @p is all zero. */
int uior_net_unbind(struct uior_ctx *ctx, struct unified_io_net_bind *p)
{
	struct uior_net *net;

	scoped_cond_guard(mutex_intr, return -EINTR, &ctx->lock) {
		net = ctx->net;
		if (!net || READ_ONCE(net->state) == UNIFIED_IO_NET_UNBOUND) {
			strscpy(p->msg, "region is not bound", sizeof(p->msg));
			return -ENOENT;
		}
		/* ctx->lock keeps a second UNBIND and the release out. */
		uior_net_close_queue(net);
		if (READ_ONCE(net->state) == UNIFIED_IO_NET_GONE)
			WRITE_ONCE(net->state, UNIFIED_IO_NET_UNBOUND);
	}
	return 0;
}

/*
 * The region is going away: unbind, take back every user reference, and
 * drop the region's reference. Buffers still in sockets return to the
 * provider's free list when the stack frees them; the last page pool to go
 * frees struct uior_net.
 */
void uior_net_destroy(struct uior_ctx *ctx)
{
	struct uior_net *net = ctx->net;
	u32 i;

	if (!net)
		return;
	uior_net_close_queue(net);

	/*
	 * Once net->ctx is NULL nothing but this function touches the user
	 * references: the refill path needs the region, and FREE, RECV and
	 * BPF run under its lock, which no one can take any more.  So the
	 * references are dropped without rq_lock and with bottom halves on:
	 * a region can lend UNIFIED_IO_MAX_BUFS (65536) buffers.
	 */
	scoped_guard(spinlock_bh, &net->rq_lock)
		net->ctx = NULL;
	for_each_set_bit(i, net->lent, net->nr_bufs) {
		struct net_iov *niov = &net->nia.niovs[i];
		u32 nr = net->urefs[i];

		if (nr) {
			net->urefs[i] = 0;
			net->bufs_app--;
			if (!page_pool_unref_netmem(net_iov_to_netmem(niov), nr))
				uior_net_return_niov(niov);
		}
		cond_resched();
	}
	ctx->net = NULL;
	uior_net_put(net);
}
