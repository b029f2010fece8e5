// SPDX-License-Identifier: GPL-2.0
/*
 * unio_nic statistics: per-queue counters as ethtool -S, netdev queue stats
 * (netlink qstats) and the device totals.
 *
 * Counters live in the port's private data for every allocated queue, so
 * they survive queue restarts and channel changes. RX queues count in NAPI
 * (u64_stats, one writer) and, for frames their ring could not take, in
 * atomics bumped by the peer's transmit. TX queues count under the TX queue
 * lock. Readers take no lock. Queues beyond the active count report through
 * get_base_stats, so the netlink device totals stay monotonic.
 */
#include <linux/netdevice.h>
#include <net/netdev_queues.h>

#include "unionic.h"

void unionic_rx_counters(const struct unionic_rxq *rq,
			struct unionic_rx_counters *c)
{
	const struct unionic_rxq_stats *s = &rq->stats;
	unsigned int start;

	do {
		start = u64_stats_fetch_begin(&s->syncp);
		c->packets = u64_stats_read(&s->packets);
		c->bytes = u64_stats_read(&s->bytes);
		c->hds_packets = u64_stats_read(&s->hds_packets);
		c->hds_bytes = u64_stats_read(&s->hds_bytes);
		c->alloc_fail = u64_stats_read(&s->alloc_fail);
		c->drops = u64_stats_read(&s->drops);
		c->length_errors = u64_stats_read(&s->length_errors);
	} while (u64_stats_fetch_retry(&s->syncp, start));
	c->ring_full = atomic_long_read(&rq->ring_full);
	c->wire_drops = atomic_long_read(&rq->wire_drops);
}

void unionic_tx_counters(const struct unionic_txq_stats *ts,
			struct unionic_tx_counters *c)
{
	unsigned int start;

	do {
		start = u64_stats_fetch_begin(&ts->syncp);
		c->packets = u64_stats_read(&ts->packets);
		c->bytes = u64_stats_read(&ts->bytes);
		c->drops = u64_stats_read(&ts->drops);
	} while (u64_stats_fetch_retry(&ts->syncp, start));
}

void unionic_get_stats64(struct net_device *dev,
			struct rtnl_link_stats64 *stats)
{
	struct unionic_priv *priv = netdev_priv(dev);
	unsigned int q;

	for (q = 0; q < UNIONIC_MAX_QUEUES; q++) {
		struct unionic_rx_counters rx;
		struct unionic_tx_counters tx;

		unionic_rx_counters(&priv->rxq[q], &rx);
		stats->rx_packets += rx.packets;
		stats->rx_bytes += rx.bytes;
		stats->rx_dropped += rx.drops + rx.wire_drops;
		stats->rx_missed_errors += rx.ring_full;
		stats->rx_length_errors += rx.length_errors;
		stats->rx_errors += rx.length_errors;

		unionic_tx_counters(&priv->txq[q], &tx);
		stats->tx_packets += tx.packets;
		stats->tx_bytes += tx.bytes;
		stats->tx_dropped += tx.drops;
	}
}

static void unionic_qstats_rx_add(struct netdev_queue_stats_rx *rx,
				 const struct unionic_rx_counters *c)
{
	rx->packets += c->packets;
	rx->bytes += c->bytes;
	rx->alloc_fail += c->alloc_fail;
	rx->hw_drops += c->drops + c->wire_drops;
	rx->hw_drop_overruns += c->ring_full;
}

static void unionic_get_queue_stats_rx(struct net_device *dev, int idx,
				      struct netdev_queue_stats_rx *rx)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct unionic_rx_counters c;

	unionic_rx_counters(&priv->rxq[idx], &c);
	rx->packets = 0;
	rx->bytes = 0;
	rx->alloc_fail = 0;
	rx->hw_drops = 0;
	rx->hw_drop_overruns = 0;
	unionic_qstats_rx_add(rx, &c);
}

static void unionic_get_queue_stats_tx(struct net_device *dev, int idx,
				      struct netdev_queue_stats_tx *tx)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct unionic_tx_counters c;

	unionic_tx_counters(&priv->txq[idx], &c);
	tx->packets = c.packets;
	tx->bytes = c.bytes;
	tx->hw_drops = c.drops;
}

static void unionic_get_base_stats(struct net_device *dev,
				  struct netdev_queue_stats_rx *rx,
				  struct netdev_queue_stats_tx *tx)
{
	struct unionic_priv *priv = netdev_priv(dev);
	unsigned int q;

	rx->packets = 0;
	rx->bytes = 0;
	rx->alloc_fail = 0;
	rx->hw_drops = 0;
	rx->hw_drop_overruns = 0;
	tx->packets = 0;
	tx->bytes = 0;
	tx->hw_drops = 0;

	for (q = dev->real_num_rx_queues; q < UNIONIC_MAX_QUEUES; q++) {
		struct unionic_rx_counters c;

		unionic_rx_counters(&priv->rxq[q], &c);
		unionic_qstats_rx_add(rx, &c);
	}
	for (q = dev->real_num_tx_queues; q < UNIONIC_MAX_QUEUES; q++) {
		struct unionic_tx_counters c;

		unionic_tx_counters(&priv->txq[q], &c);
		tx->packets += c.packets;
		tx->bytes += c.bytes;
		tx->hw_drops += c.drops;
	}
}

const struct netdev_stat_ops unionic_stat_ops = {
	.get_queue_stats_rx	= unionic_get_queue_stats_rx,
	.get_queue_stats_tx	= unionic_get_queue_stats_tx,
	.get_base_stats		= unionic_get_base_stats,
};
