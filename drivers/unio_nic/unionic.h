/* SPDX-License-Identifier: GPL-2.0 */
/*
 * unio_nic: a pair of software Ethernet ports that behave like a header-split
 * NIC, so that page_pool memory providers (io_uring zcrx, devmem) can be
 * tested without hardware.
 *
 * Objects and lifetimes
 *
 *   struct unionic_pair	the "adapter" both ports hang off: a platform device
 *			with a 64-bit DMA mask (dma-direct), the parent and the
 *			DMA device of both netdevs. Refcounted: each registered
 *			port holds a reference from ndo_init until its
 *			priv_destructor, so the platform device is unregistered
 *			only after both netdevs are gone.
 *   struct unionic_priv	one port (netdev private data).
 *   struct unionic_rxq	one RX queue of a port: NAPI context, statistics and
 *			the queue memory (struct unionic_qmem) it runs on.
 *   struct unionic_qmem	what queue_mgmt_ops allocate and swap: the frame ring
 *			the peer's transmit fills and the payload page_pool.
 *
 * Locking
 *
 *   RTNL		unionic_priv.peer (writers; readers use RCU), creation
 *			and deletion of pairs, carrier, the queue count (with
 *			the instance lock). ndo_open/ndo_stop and set_channels
 *			hold it; other ethtool ops and queue_mgmt ops do not.
 *   instance lock	(netdev_lock, held by the core around every ndo,
 *			ethtool op and queue_mgmt op since the device sets
 *			request_ops_lock) unionic_priv.rules (writers),
 *			ring_size, the queue count, and unionic_rxq.mem, which
 *			changes only while that queue's NAPI is disabled.
 *   RCU		the peer's ndo_start_xmit reads .peer, the receiver's
 *			.rules and unionic_rxq.xmit_ring; writers unpublish and
 *			wait for a grace period (synchronize_net) before they
 *			disable NAPI and free.
 *   NAPI		unionic_rxq.mem and the u64_stats of an RX queue are
 *			used by its poll only (one writer).
 *   TX queue lock	unionic_priv.txq[i] statistics (one writer per queue).
 *   atomics		RX-queue drop counters bumped by the peer's transmit,
 *			which may run on several CPUs at once.
 */
#ifndef _UIONIC_H
#define _UIONIC_H

#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/ptr_ring.h>
#include <linux/u64_stats_sync.h>
#include <kcompat.h>

#define UNIONIC_KIND		"unionic"
#define UNIONIC_DRV_NAME		"unio_nic"

#define UNIONIC_MAX_QUEUES	8	/* allocated queues (max channels) */
#define UNIONIC_DEF_QUEUES	4	/* combined channels at creation */
#define UNIONIC_DEF_RING		1024	/* RX ring entries */
#define UNIONIC_MIN_RING		64
#define UNIONIC_MAX_RING		8192
#define UNIONIC_MAX_MTU		9216
#define UNIONIC_HDS_THRESH_MAX	1024
#define UNIONIC_MAX_HDR		256	/* largest header that is split off */
#define UNIONIC_MAX_RULES	64	/* ntuple rule locations */

/* Priv flags (ethtool --set-priv-flags). */
#define UNIONIC_PFLAG_FAIL_RX_ALLOC	BIT(0)
#define UNIONIC_PFLAG_COUNT		1

/*
 * What the transmitting port learned of a frame while steering it; the
 * receiving port's NAPI reads it from skb->cb (the frame is the driver's
 * from ndo_start_xmit on).
 */
struct unionic_frame_cb {
	u16 hdr_len;		/* Ethernet + IP + TCP; 0: not splittable */
	u8 l4_csum;		/* TCP or UDP: checksum verified on receive */
};

#define UNIONIC_CB(skb)	((struct unionic_frame_cb *)(skb)->cb)

/* Memory of one RX queue, as queue_mgmt_ops allocate, start and stop it. */
struct unionic_qmem {
	struct ptr_ring *ring;		/* frames from the peer, not yet DMA'd */
	struct page_pool *pp;		/* payload buffers */
	unsigned int idx;
};

struct unionic_rxq_stats {
	struct u64_stats_sync syncp;
	u64_stats_t packets;
	u64_stats_t bytes;
	u64_stats_t hds_packets;	/* payload placed in page_pool buffers */
	u64_stats_t hds_bytes;
	u64_stats_t alloc_fail;		/* no buffer: frame dropped */
	u64_stats_t drops;		/* dropped in NAPI, whatever the cause */
	u64_stats_t length_errors;	/* frame longer than the MTU */
};

struct unionic_rxq {
	struct napi_struct napi;
	/* Published to the peer's ndo_start_xmit while the queue runs. */
	struct ptr_ring __rcu *xmit_ring;
	struct unionic_qmem mem;
	struct net_device *dev;
	unsigned int idx;
	struct unionic_rxq_stats stats;
	atomic_long_t ring_full;	/* frames that found the ring full */
	atomic_long_t wire_drops;	/* ring full, queue stopped, purged */
} ____cacheline_aligned_in_smp;

struct unionic_txq_stats {
	struct u64_stats_sync syncp;
	u64_stats_t packets;
	u64_stats_t bytes;
	u64_stats_t drops;
} ____cacheline_aligned_in_smp;

/* One ntuple rule: TCP or UDP over IPv4 or IPv6, exact destination port. */
struct unionic_rule {
	struct ethtool_rx_flow_spec fs;	/* as inserted, for ETHTOOL_GRXCLSRULE */
	u32 flow_type;
	__be16 dport;
	u32 queue;
};

/* Replaced as a whole (copy on write); sorted by location. */
struct unionic_rules {
	struct rcu_head rcu;
	unsigned int n;
	struct unionic_rule rule[] __counted_by(n);
};

struct unionic_pair;

struct unionic_priv {
	struct net_device __rcu *peer;
	struct unionic_pair *pair;
	struct device *dma_dev;
	struct unionic_rules __rcu *rules;
	u32 ring_size;
	/* Data-path copies of dev->cfg (the core swaps and frees dev->cfg). */
	bool hds;
	u32 hds_thresh;
	u32 pflags;
	struct unionic_rxq rxq[UNIONIC_MAX_QUEUES];
	struct unionic_txq_stats txq[UNIONIC_MAX_QUEUES];
};

/* Counters of one queue, as read. */
struct unionic_rx_counters {
	u64 packets, bytes, hds_packets, hds_bytes, alloc_fail, drops;
	u64 length_errors, ring_full, wire_drops;
};

struct unionic_tx_counters {
	u64 packets, bytes, drops;
};

/* rx.c */
extern const struct netdev_queue_mgmt_ops unionic_queue_mgmt_ops;
int unionic_queues_up(struct net_device *dev);
void unionic_queues_down(struct net_device *dev);
int unionic_set_queue_count(struct net_device *dev, unsigned int n);
int unionic_set_ring_size(struct net_device *dev, u32 size,
			 struct netlink_ext_ack *extack);

/* tx.c */
netdev_tx_t unionic_start_xmit(struct sk_buff *skb, struct net_device *dev);

/* ethtool.c */
extern const struct ethtool_ops unionic_ethtool_ops;
void unionic_rules_free(struct unionic_priv *priv);

/* stats.c */
extern const struct netdev_stat_ops unionic_stat_ops;
void unionic_rx_counters(const struct unionic_rxq *rq,
			struct unionic_rx_counters *c);
void unionic_tx_counters(const struct unionic_txq_stats *ts,
			struct unionic_tx_counters *c);
void unionic_get_stats64(struct net_device *dev,
			struct rtnl_link_stats64 *stats);

#endif /* _UIONIC_H */
