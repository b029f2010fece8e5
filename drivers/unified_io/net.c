// SPDX-License-Identifier: GPL-2.0
/*
 * unified_io network side: RECV from TCP sockets into region buffers, and the
 * region as the memory provider of a NIC receive queue.
 *
 * RECV walks a TCP socket's receive queue with tcp_read_sock() and posts one
 * completion per chunk. A chunk in a net_iov of this region's provider is
 * handed over as it is: the application gets a user reference on the buffer
 * (and the chunk a page pool reference, so the buffer is not recycled while
 * the application reads it). Anything else (linear skb data, page frags) is
 * copied into a free buffer and counted.
 *
 * The provider (UNIFIED_IO_NET_BIND, modelled on io_uring/zcrx.c) lends
 * nr_bufs buffers of the data area to the network side until the binding ends
 * and every one of them is back (a later BIND retires it then). Each buffer is
 * one net_iov (buf_size == PAGE_SIZE), DMA-mapped for the queue's DMA device.
 * A lent buffer is in exactly one of these places: the provider's free list; a
 * page pool (its caches, the NIC's ring, an skb); the application (user
 * references > 0). The page pool's alloc_netmems takes buffers from the refill
 * ring first (those the application gives back) and from the free list when
 * the ring is empty; release_netmem puts buffers back on the free list. Copies
 * for RECV also come from the free list once a region has lent buffers, so
 * every buffer RECV hands out returns the same way (refill ring or FREE).
 *
 * A provider that lives in a module needs a kernel that exports the
 * provider interface to modules, accepts provider ops from module read-only
 * data and pins the ops' owner module while a queue or a page pool uses them
 * (kernel/patches/). The build detects it (UIOR_NET_PROVIDER: the exports in
 * Module.symvers and memory_provider_ops.owner, scripts/kapi/); without it
 * the module builds and loads, RECV works with copies, and NET_BIND fails
 * with EOPNOTSUPP.
 *
 * Locking, outermost first:
 *   ctx->lock		SUBMIT (RECV, FREE), BIND, UNBIND, GET_INFO
 *   netdev instance lock	BIND (netdev_get_by_index_lock), UNBIND, and
 *			the core around ->uninstall
 *   lock_sock()	RECV's walk of the socket
 *   net->pp_lock	(mutex) the netdev reference, DMA mapping, binding state
 *   net->rq_lock	(spin, BH) user references and owners of lent buffers,
 *			their ctx->bufs entries and buffer table mirror, the
 *			refill ring head, net->ctx
 *   net->freelist_lock	(spin, BH) the provider's free list
 * Page pool callbacks run in softirq (NAPI) context and take only the last
 * two. The struct uior_net outlives the region: page pools that still hold
 * its net_iovs keep a reference (->init to ->destroy), the core keeps this
 * module loaded for as long as a queue or a page pool can call the ops
 * (uior_mp_ops.owner), and it holds its own references on the data pages.
 */
#include <linux/bitmap.h>
#include <linux/capability.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/netdevice.h>
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
#include <net/sock.h>
#include <net/tcp.h>

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

void uior_net_info(struct uior_ctx *ctx, struct unified_io_net_info *ni)
{
	struct uior_net *net = ctx->net;

	lockdep_assert_held(&ctx->lock);
	ni->recv_bytes = ctx->recv.recv_bytes;
	ni->zc_chunks = ctx->recv.zc_chunks;
	ni->zc_bytes = ctx->recv.zc_bytes;
	ni->copy_chunks = ctx->recv.copy_chunks;
	ni->copy_bytes = ctx->recv.copy_bytes;
	ni->bpf_drops = ctx->recv.bpf_drops;
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
 * The memory provider. Needs kernel/patches/ (see the top of this file).
 */
#if UIOR_NET_PROVIDER

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

/* While no queue is bound, SUBMIT takes the refill ring's entries. */
void uior_net_drain_refill(struct uior_ctx *ctx)
{
	struct uior_net *net = ctx->net;

	lockdep_assert_held(&ctx->lock);
	if (net && READ_ONCE(net->state) != UNIFIED_IO_NET_BOUND)
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

static const struct memory_provider_ops uior_mp_ops;

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

static bool uior_net_is_ours(struct uior_net *net, struct page_pool *pp)
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

static const bool uior_net_provider = true;

#else /* !UIOR_NET_PROVIDER */

static bool uior_net_is_ours(struct uior_net *net, struct page_pool *pp)
{
	return false;
}

static void uior_net_close_queue(struct uior_net *net)
{
}

void uior_net_drain_refill(struct uior_ctx *ctx)
{
}

static const bool uior_net_provider;

#endif /* UIOR_NET_PROVIDER */

/* The features of this build: all but a provider the kernel cannot take. */
u32 uior_features(void)
{
	return UNIFIED_IO_FEATURES &
	       ~(uior_net_provider ? 0 : UNIFIED_IO_FEAT_NET_PROVIDER);
}

/* ------------------------------------------------------------------------
 * BIND and UNBIND.
 */

#if UIOR_NET_PROVIDER
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

#endif

#if UIOR_NET_PROVIDER
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
#endif

static int uior_net_bind_check(struct uior_ctx *ctx,
			       struct unified_io_net_bind *p,
			       struct netlink_ext_ack *extack)
{
	if (p->flags || p->resv || !mem_is_zero(p->resv2, sizeof(p->resv2))) {
		NL_SET_ERR_MSG(extack, "unknown flag or reserved field set");
		return -EINVAL;
	}
	if (!uior_net_provider) {
		NL_SET_ERR_MSG(extack,
			       "kernel lets no module provide page pool memory");
		return -EOPNOTSUPP;
	}
	/*
	 * In the initial user namespace, as io_uring zcrx asks (devmem's
	 * bind-rx settles for the netns owner's, GENL_UNS_ADMIN_PERM): a
	 * bound queue receives every flow the NIC steers to it, other
	 * users' too, into memory the binder reads, and a queue can be
	 * reachable from a user namespace (a VF moved there, a netkit lease).
	 */
	if (!capable(CAP_NET_ADMIN)) {
		NL_SET_ERR_MSG(extack, "CAP_NET_ADMIN needed (initial user ns)");
		return -EPERM;
	}
	if (!p->nr_bufs) {
		NL_SET_ERR_MSG(extack, "nr_bufs is zero");
		return -EINVAL;
	}
	if (ctx->layout.buf_size != PAGE_SIZE) {
		NL_SET_ERR_MSG(extack, "buf_size is not PAGE_SIZE");
		return -EINVAL;
	}
	return 0;
}

int uior_net_bind(struct uior_ctx *ctx, struct unified_io_net_bind *p)
{
	struct netlink_ext_ack extack = {};
	int ret;

	memset(p->msg, 0, sizeof(p->msg));
	ret = uior_net_bind_check(ctx, p, &extack);
#if UIOR_NET_PROVIDER
	if (!ret) {
		if (mutex_lock_interruptible(&ctx->lock))
			return -EINTR;
		ret = uior_net_bind_locked(ctx, p, &extack);
		mutex_unlock(&ctx->lock);
	}
#endif
	if (extack._msg)
		strscpy(p->msg, extack._msg, sizeof(p->msg));
	return ret;
}

int uior_net_unbind(struct uior_ctx *ctx, struct unified_io_net_bind *p)
{
	struct uior_net *net;

	memset(p->msg, 0, sizeof(p->msg));
	if (p->flags || p->ifindex || p->rxq || p->nr_bufs || p->resv ||
	    !mem_is_zero(p->resv2, sizeof(p->resv2))) {
		strscpy(p->msg, "UNBIND takes no argument", sizeof(p->msg));
		return -EINVAL;
	}
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
	 * a region can lend 2^18 buffers.
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

/* ------------------------------------------------------------------------
 * RECV.
 */

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
	struct uior_ctx *ctx = r->ctx;
	struct uior_net *net = r->net;
	struct net_iov *niov;

	if (!net) {
		struct uior_buf *b;

		if (!ctx->nr_free)
			return -ENOBUFS;
		*idx = ctx->free_list[--ctx->nr_free];
		b = &ctx->bufs[*idx];
		b->owner = r->d->owner;
		b->state = UNIFIED_IO_BUF_APP;
		b->refs = 1;
		uior_buf_mirror(ctx, *idx);
		ctx->stats.bufs_free--;
		ctx->stats.bufs_app++;
		return 0;
	}
	scoped_guard(spinlock_bh, &net->freelist_lock)
		niov = uior_net_freelist_pop(net);
	if (!niov)
		return -ENOBUFS;
	/* Like a fresh page pool page: one reference, the user's. */
	page_pool_fragment_netmem(net_iov_to_netmem(niov), 1);
	*idx = net_iov_idx(niov);
	/* Off the free list: nobody else holds it. */
	WARN_ON_ONCE(!uior_net_get_uref(net, *idx, r->d->owner));
	return 0;
}

/* Give back a copy buffer the application never saw. */
static void uior_recv_copy_buf_put(struct uior_recv *r, u32 idx)
{
	struct uior_ctx *ctx = r->ctx;

	if (r->net) {
		guard(spinlock_bh)(&r->net->rq_lock);
		uior_net_release_user(r->net, idx, r->d->owner);
		return;
	}
	ctx->bufs[idx] = (struct uior_buf){ .state = UNIFIED_IO_BUF_FREE };
	uior_buf_mirror(ctx, idx);
	ctx->free_list[ctx->nr_free++] = idx;
	ctx->stats.bufs_app--;
	ctx->stats.bufs_free++;
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
	 * The descriptor's owner takes the buffer first (before the user
	 * reference, a page pool one: no recycling while user space reads),
	 * so programs never run over bytes that are not delivered.
	 */
	page_pool_ref_netmem(net_iov_to_netmem(niov));
	if (!uior_net_get_uref(r->net, idx, r->d->owner)) {
		/* The skb holds the buffer too: this is never the last ref. */
		if (page_pool_unref_and_test(net_iov_to_netmem(niov)))
			uior_net_return_niov(niov);
		r->err = -EBUSY;
		return -EBUSY;
	}
	/* A chunk inside a buffer has no room for the programs' metadata. */
	if (!pos && (r->d->net.flags & UNIFIED_IO_RECV_F_BPF))
		verdict = uior_recv_bpf(r, idx, &res, &cflags);
	if (verdict) {
		/* Not delivered: it recycles with the skb, which holds it. */
		scoped_guard(spinlock_bh, &r->net->rq_lock)
			uior_net_release_user(r->net, idx, r->d->owner);
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
