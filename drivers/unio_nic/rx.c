// SPDX-License-Identifier: GPL-2.0
/*
 * unio_nic receive path: RX queues, their memory, NAPI and queue_mgmt_ops.
 *
 * The peer's ndo_start_xmit puts the frame (the sender's skb) on the ring of
 * the RX queue steering picked and schedules that queue's NAPI; this is the
 * wire plus the NIC's descriptor FIFO. The poll then does what a header-split
 * NIC's DMA engine and driver do together: it never passes the sender's skb
 * up, but builds a new one. The headers (Ethernet, IPv4/IPv6, TCP with
 * options) are copied into the linear part of an skb from napi_alloc_skb();
 * the TCP payload is "DMA'd" into buffers from the queue's page_pool, which
 * may be pages or a memory provider's net_iovs (readable or not): the bus
 * address the pool holds for the buffer is turned back into a physical
 * address (dma-direct: the pair's platform device has no IOMMU and no bounce
 * buffers) and written through a temporary kernel mapping. Frames that are
 * not TCP, carry no payload, or arrive with header split off, go whole into
 * the linear part. With no buffer in the pool the frame is dropped and
 * counted (alloc_fail), as hardware does; TCP retransmits.
 *
 * A queue's memory (struct unionic_qmem: the ring and the payload pool) is
 * allocated, started, stopped and freed through queue_mgmt_ops, so the core
 * can restart a queue with a memory provider bound (netif_mp_open_rxq) or
 * unbound, and the same functions serve ndo_open/ndo_stop. The NAPI
 * contexts live from ndo_open to ndo_stop; a queue restart only disables and
 * re-enables its NAPI.
 */
#include <linux/dma-direct.h>
#include <linux/etherdevice.h>
#include <linux/highmem.h>
#include <linux/if_vlan.h>
#include <linux/slab.h>
#include <net/netdev_lock.h>
#include <net/netdev_queues.h>
#include <net/netdev_rx_queue.h>
#include <net/page_pool/helpers.h>

#include "unionic.h"

static struct page_pool *unionic_pp_create(struct net_device *dev,
					  unsigned int idx,
					  struct napi_struct *napi)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct page_pool_params pp = {
		.flags		= PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV |
				  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
		.order		= 0,
		.pool_size	= priv->ring_size,
		.nid		= NUMA_NO_NODE,
		.dev		= priv->dma_dev,
		.napi		= napi,
		.dma_dir	= DMA_FROM_DEVICE,
		.max_len	= PAGE_SIZE,
		.offset		= 0,
		.netdev		= dev,
		.queue_idx	= idx,
	};

	return page_pool_create(&pp);
}

/*
 * @napi: the queue's NAPI if the device is up (enables direct recycling),
 * else NULL: page_pool_destroy() may only see a disabled or unused NAPI.
 */
static int unionic_qmem_alloc(struct net_device *dev, struct unionic_qmem *qm,
			     unsigned int idx, struct napi_struct *napi)
{
	struct unionic_priv *priv = netdev_priv(dev);
	int err;

	netdev_assert_locked(dev);

	qm->idx = idx;
	qm->ring = kzalloc_obj(*qm->ring);
	if (!qm->ring)
		return -ENOMEM;
	err = ptr_ring_init(qm->ring, priv->ring_size, GFP_KERNEL);
	if (err)
		goto err_free_ring;

	qm->pp = unionic_pp_create(dev, idx, napi);
	if (IS_ERR(qm->pp)) {
		err = PTR_ERR(qm->pp);
		qm->pp = NULL;
		goto err_cleanup_ring;
	}
	return 0;

err_cleanup_ring:
	ptr_ring_cleanup(qm->ring, NULL);
err_free_ring:
	kfree(qm->ring);
	qm->ring = NULL;
	return err;
}

/* The queue is stopped (or never ran): nobody produces or consumes. */
static void unionic_qmem_free(struct net_device *dev, struct unionic_qmem *qm)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct sk_buff *frame;
	long purged = 0;

	if (qm->ring) {
		while ((frame = __ptr_ring_consume(qm->ring))) {
			kfree_skb_reason(frame, SKB_DROP_REASON_QUEUE_PURGE);
			purged++;
		}
		ptr_ring_cleanup(qm->ring, NULL);
		kfree(qm->ring);
		qm->ring = NULL;
	}
	if (purged)
		atomic_long_add(purged, &priv->rxq[qm->idx].wire_drops);

	page_pool_destroy(qm->pp);
	qm->pp = NULL;
}

/*
 * Copy of frame bytes into receive buffers, computing the checksum the
 * sender left to the NIC (CHECKSUM_PARTIAL) over the bytes it copies.
 */
struct unionic_copy {
	const struct sk_buff *frame;
	int csum_start;			/* < 0: nothing to compute */
	__wsum csum;
};

static int unionic_copy_bits(struct unionic_copy *c, int off, void *to,
			    int len)
{
	int pre;

	if (c->csum_start < 0 || off + len <= c->csum_start)
		return skb_copy_bits(c->frame, off, to, len);

	pre = max(c->csum_start - off, 0);
	if (pre) {
		int err = skb_copy_bits(c->frame, off, to, pre);

		if (err)
			return err;
		off += pre;
		to += pre;
		len -= pre;
	}
	c->csum = csum_block_add(c->csum,
				 skb_copy_and_csum_bits(c->frame, off, to, len),
				 off - c->csum_start);
	return 0;
}

/* The device writes @len frame bytes from @off to bus address @dma. */
static int unionic_dma_write(struct device *dma_dev, dma_addr_t dma,
			    struct unionic_copy *c, int off, unsigned int len)
{
	phys_addr_t pa = dma_to_phys(dma_dev, dma);

	while (len) {
		unsigned long pfn = PHYS_PFN(pa);
		unsigned int poff = offset_in_page(pa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - poff);
		void *va;
		int err;

		if (unlikely(!pfn_valid(pfn)))
			return -EFAULT;
		va = kmap_local_pfn(pfn);
		err = unionic_copy_bits(c, off, va + poff, n);
		kunmap_local(va);
		if (err)
			return err;
		pa += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Place @len payload bytes from @off in pool buffers, as frags of @skb. */
static int unionic_rx_payload(struct unionic_rxq *rq, struct unionic_copy *c,
			     struct sk_buff *skb, int off, unsigned int len)
{
	struct unionic_priv *priv = netdev_priv(rq->dev);
	struct page_pool *pp = rq->mem.pp;
	unsigned int buf_len = PAGE_SIZE << pp->p.order;
	int i = 0;

	while (len) {
		unsigned int n = min(len, buf_len);
		netmem_ref netmem = 0;
		dma_addr_t dma;
		int err;

		if (i == MAX_SKB_FRAGS)
			return -EMSGSIZE;
		if (likely(!(READ_ONCE(priv->pflags) &
			     UNIONIC_PFLAG_FAIL_RX_ALLOC)))
			netmem = page_pool_dev_alloc_netmems(pp);
		if (!netmem)
			return -ENOMEM;

		dma = page_pool_get_dma_addr_netmem(netmem) + pp->p.offset;
		err = unionic_dma_write(priv->dma_dev, dma, c, off, n);
		if (err) {
			page_pool_put_full_netmem(pp, netmem, true);
			return err;
		}
		page_pool_dma_sync_netmem_for_cpu(pp, netmem, 0, n);
		skb_add_rx_frag_netmem(skb, i++, netmem, pp->p.offset, n,
				       buf_len);
		off += n;
		len -= n;
	}
	return 0;
}

static void unionic_rx_drop(struct unionic_rxq *rq, bool alloc_fail,
			   bool length)
{
	struct unionic_rxq_stats *s = &rq->stats;

	u64_stats_update_begin(&s->syncp);
	u64_stats_inc(&s->drops);
	if (alloc_fail)
		u64_stats_inc(&s->alloc_fail);
	if (length)
		u64_stats_inc(&s->length_errors);
	u64_stats_update_end(&s->syncp);
}

static void unionic_rx_frame(struct unionic_rxq *rq, struct sk_buff *frame,
			    int budget)
{
	const struct unionic_frame_cb *cb = UNIONIC_CB(frame);
	struct net_device *dev = rq->dev;
	struct unionic_priv *priv = netdev_priv(dev);
	struct unionic_copy c = { .frame = frame, .csum_start = -1 };
	struct unionic_rxq_stats *s = &rq->stats;
	unsigned int len = frame->len;
	unsigned int hlen = len;
	struct sk_buff *skb;
	int csum_off = 0;
	bool split;
	int err;

	if (unlikely(len > READ_ONCE(dev->mtu) + VLAN_ETH_HLEN)) {
		unionic_rx_drop(rq, false, true);
		goto out;
	}

	if (frame->ip_summed == CHECKSUM_PARTIAL) {
		c.csum_start = skb_checksum_start_offset(frame);
		csum_off = c.csum_start + frame->csum_offset;
		if (unlikely(c.csum_start < 0 ||
			     csum_off + sizeof(__sum16) > len)) {
			unionic_rx_drop(rq, false, false);
			goto out;
		}
	}

	split = cb->hdr_len && cb->hdr_len < len && READ_ONCE(priv->hds) &&
		len > READ_ONCE(priv->hds_thresh) &&
		(c.csum_start < 0 || csum_off + sizeof(__sum16) <= cb->hdr_len);
	if (split)
		hlen = cb->hdr_len;

	skb = napi_alloc_skb(&rq->napi, hlen);
	if (unlikely(!skb)) {
		unionic_rx_drop(rq, true, false);
		goto out;
	}
	/* Before any frag: a dropped skb must return them to the pool. */
	skb_mark_for_recycle(skb);

	err = unionic_copy_bits(&c, 0, skb_put(skb, hlen), hlen);
	if (!err && split)
		err = unionic_rx_payload(rq, &c, skb, hlen, len - hlen);
	if (unlikely(err)) {
		unionic_rx_drop(rq, err == -ENOMEM, false);
		kfree_skb_reason(skb, err == -ENOMEM ? SKB_DROP_REASON_NOMEM :
				 SKB_DROP_REASON_NOT_SPECIFIED);
		goto out;
	}
	if (c.csum_start >= 0)
		*(__sum16 *)(skb->data + csum_off) =
			csum_fold(c.csum) ?: CSUM_MANGLED_0;

	skb->ip_summed = cb->l4_csum ? CHECKSUM_UNNECESSARY : CHECKSUM_NONE;
	skb_record_rx_queue(skb, rq->idx);
	skb->protocol = eth_type_trans(skb, dev);

	u64_stats_update_begin(&s->syncp);
	u64_stats_inc(&s->packets);
	u64_stats_add(&s->bytes, len);
	if (split) {
		u64_stats_inc(&s->hds_packets);
		u64_stats_add(&s->hds_bytes, len - hlen);
	}
	u64_stats_update_end(&s->syncp);

	napi_gro_receive(&rq->napi, skb);
out:
	/* The transmit completes: the sender's skb is done with. */
	napi_consume_skb(frame, budget);
}

static int unionic_poll(struct napi_struct *napi, int budget)
{
	struct unionic_rxq *rq = container_of(napi, struct unionic_rxq, napi);
	struct sk_buff *frame;
	int done = 0;

	/* The only consumer of the ring: no consumer lock. */
	while (done < budget && (frame = __ptr_ring_consume(rq->mem.ring))) {
		unionic_rx_frame(rq, frame, budget);
		done++;
	}
	if (done < budget)
		napi_complete_done(napi, done);
	return done;
}

/* Run queue @idx on the memory in rq->mem. */
static void unionic_rxq_enable(struct net_device *dev, unsigned int idx)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct unionic_rxq *rq = &priv->rxq[idx];

	netdev_assert_locked(dev);

	netif_queue_set_napi(dev, idx, NETDEV_QUEUE_TYPE_RX, &rq->napi);
	netif_queue_set_napi(dev, idx, NETDEV_QUEUE_TYPE_TX, &rq->napi);
	napi_enable_locked(&rq->napi);
	rcu_assign_pointer(rq->xmit_ring, rq->mem.ring);
}

/* Before unionic_rxq_disable(): the peer stops producing after a grace period. */
static void unionic_rxq_unpublish(struct unionic_rxq *rq)
{
	RCU_INIT_POINTER(rq->xmit_ring, NULL);
}

static void unionic_rxq_disable(struct unionic_rxq *rq)
{
	netdev_assert_locked(rq->dev);

	napi_disable_locked(&rq->napi);
	page_pool_disable_direct_recycling(rq->mem.pp);
}

int unionic_queues_up(struct net_device *dev)
{
	struct unionic_priv *priv = netdev_priv(dev);
	unsigned int n = dev->real_num_rx_queues;
	unsigned int i;
	int err;

	netdev_assert_locked(dev);

	for (i = 0; i < n; i++)
		netif_napi_add_config_locked(dev, &priv->rxq[i].napi,
					     unionic_poll, i);

	for (i = 0; i < n; i++) {
		err = unionic_qmem_alloc(dev, &priv->rxq[i].mem, i,
					&priv->rxq[i].napi);
		if (err)
			goto err_free;
	}

	for (i = 0; i < n; i++)
		unionic_rxq_enable(dev, i);
	return 0;

err_free:
	while (i--)
		unionic_qmem_free(dev, &priv->rxq[i].mem);
	for (i = 0; i < n; i++)
		__netif_napi_del_locked(&priv->rxq[i].napi);
	synchronize_net();
	return err;
}

void unionic_queues_down(struct net_device *dev)
{
	struct unionic_priv *priv = netdev_priv(dev);
	unsigned int n = dev->real_num_rx_queues;
	unsigned int i;

	netdev_assert_locked(dev);

	for (i = 0; i < n; i++)
		unionic_rxq_unpublish(&priv->rxq[i]);
	synchronize_net();

	for (i = 0; i < n; i++) {
		unionic_rxq_disable(&priv->rxq[i]);
		netif_queue_set_napi(dev, i, NETDEV_QUEUE_TYPE_RX, NULL);
		netif_queue_set_napi(dev, i, NETDEV_QUEUE_TYPE_TX, NULL);
		__netif_napi_del_locked(&priv->rxq[i].napi);
	}
	/* The NAPI structs are reused by the next ndo_open. */
	synchronize_net();

	for (i = 0; i < n; i++)
		unionic_qmem_free(dev, &priv->rxq[i].mem);
}

/* ethtool -L: queues are rebuilt; the core keeps bound providers' queues. */
int unionic_set_queue_count(struct net_device *dev, unsigned int n)
{
	bool running = netif_running(dev);
	int err, err_up;

	ASSERT_RTNL();
	netdev_assert_locked(dev);

	if (running)
		unionic_queues_down(dev);
	err = netif_set_real_num_queues(dev, n, n);
	if (!running)
		return err;
	err_up = unionic_queues_up(dev);
	if (err_up)
		netdev_err(dev, "cannot restart queues: %d\n", err_up);
	return err ?: err_up;
}

/* ethtool -G rx N: each running queue restarts on a ring of the new size. */
int unionic_set_ring_size(struct net_device *dev, u32 size,
			 struct netlink_ext_ack *extack)
{
	struct unionic_priv *priv = netdev_priv(dev);
	u32 old = priv->ring_size;
	unsigned int i;
	int err;

	netdev_assert_locked(dev);

	if (size == old)
		return 0;
	priv->ring_size = size;
	if (!netif_running(dev))
		return 0;

	for (i = 0; i < dev->real_num_rx_queues; i++) {
		err = netdev_rx_queue_restart(dev, i);
		if (err)
			goto err_restore;
	}
	return 0;

err_restore:
	NL_SET_ERR_MSG_FMT(extack, "restart of RX queue %u failed", i);
	priv->ring_size = old;
	while (i--)
		if (netdev_rx_queue_restart(dev, i))
			netdev_err(dev, "RX queue %u has a ring of %u entries\n",
				   i, size);
	return err;
}

static int unionic_queue_mem_alloc(struct net_device *dev,
				  struct netdev_queue_config *qcfg,
				  void *per_queue_mem, int idx)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct napi_struct *napi = NULL;

	if (netif_running(dev))
		napi = &priv->rxq[idx].napi;
	return unionic_qmem_alloc(dev, per_queue_mem, idx, napi);
}

static void unionic_queue_mem_free(struct net_device *dev, void *per_queue_mem)
{
	unionic_qmem_free(dev, per_queue_mem);
}

static int unionic_queue_start(struct net_device *dev,
			      struct netdev_queue_config *qcfg,
			      void *per_queue_mem, int idx)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct unionic_qmem *qm = per_queue_mem;

	netdev_assert_locked(dev);

	priv->rxq[idx].mem = *qm;
	memset(qm, 0, sizeof(*qm));
	unionic_rxq_enable(dev, idx);
	return 0;
}

static int unionic_queue_stop(struct net_device *dev, void *per_queue_mem,
			     int idx)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct unionic_rxq *rq = &priv->rxq[idx];

	netdev_assert_locked(dev);

	unionic_rxq_unpublish(rq);
	synchronize_net();
	unionic_rxq_disable(rq);

	/* Frames left on the ring are dropped when the memory is freed. */
	memcpy(per_queue_mem, &rq->mem, sizeof(rq->mem));
	memset(&rq->mem, 0, sizeof(rq->mem));
	return 0;
}

const struct netdev_queue_mgmt_ops unionic_queue_mgmt_ops = {
	.ndo_queue_mem_size	= sizeof(struct unionic_qmem),
	.ndo_queue_mem_alloc	= unionic_queue_mem_alloc,
	.ndo_queue_mem_free	= unionic_queue_mem_free,
	.ndo_queue_start	= unionic_queue_start,
	.ndo_queue_stop		= unionic_queue_stop,
};
