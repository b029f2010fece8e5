// SPDX-License-Identifier: GPL-2.0
/*
 * unio_nic ethtool operations: driver info, link, rings and header split,
 * channels, per-queue statistics, a debug priv flag, and ntuple rules.
 *
 * All of them run under the instance lock; only set_channels asks for RTNL
 * as well (op_needs_rtnl), which netif_set_real_num_queues() needs for the
 * qdiscs. ntuple rules live in an array sorted by location that is replaced
 * as a whole on every change and freed after a grace period: the peer's
 * ndo_start_xmit reads it under RCU (see tx.c).
 *
 * Priv flag "fail-rx-alloc": while set, every payload buffer allocation of
 * the receive path fails, as when a memory provider has no free buffer; the
 * frames are dropped and counted in rxN_alloc_fail.
 */
#include <linux/etherdevice.h>
#include <linux/slab.h>
#include <net/ipv6.h>
#include <net/netdev_lock.h>

#include "unionic.h"

static const char unionic_pflag_names[UNIONIC_PFLAG_COUNT][ETH_GSTRING_LEN] = {
	"fail-rx-alloc",
};

static const char unionic_rx_stat_names[][ETH_GSTRING_LEN] = {
	"packets", "bytes", "drops", "alloc_fail", "hds_packets", "hds_bytes",
	"ring_full", "length_errors",
};

static const char unionic_tx_stat_names[][ETH_GSTRING_LEN] = {
	"packets", "bytes", "drops",
};

#define UNIONIC_RX_NSTATS	ARRAY_SIZE(unionic_rx_stat_names)
#define UNIONIC_TX_NSTATS	ARRAY_SIZE(unionic_tx_stat_names)

static void unionic_get_drvinfo(struct net_device *dev,
			       struct ethtool_drvinfo *info)
{
	struct unionic_priv *priv = netdev_priv(dev);

	strscpy(info->driver, UNIONIC_DRV_NAME, sizeof(info->driver));
	strscpy(info->bus_info, dev_name(priv->dma_dev),
		sizeof(info->bus_info));
}

static void unionic_get_ringparam(struct net_device *dev,
				 struct ethtool_ringparam *ring,
				 struct kernel_ethtool_ringparam *kring,
				 struct netlink_ext_ack *extack)
{
	struct unionic_priv *priv = netdev_priv(dev);

	ring->rx_max_pending = UNIONIC_MAX_RING;
	ring->rx_pending = priv->ring_size;
	kring->tcp_data_split = priv->hds ? ETHTOOL_TCP_DATA_SPLIT_ENABLED :
					    ETHTOOL_TCP_DATA_SPLIT_DISABLED;
	kring->hds_thresh = priv->hds_thresh;
	kring->hds_thresh_max = UNIONIC_HDS_THRESH_MAX;
}

static int unionic_set_ringparam(struct net_device *dev,
				struct ethtool_ringparam *ring,
				struct kernel_ethtool_ringparam *kring,
				struct netlink_ext_ack *extack)
{
	struct unionic_priv *priv = netdev_priv(dev);
	int err;

	if (ring->rx_pending < UNIONIC_MIN_RING) {
		NL_SET_ERR_MSG_FMT(extack, "RX ring needs at least %u entries",
				   UNIONIC_MIN_RING);
		return -EINVAL;
	}
	/* The core refuses changes that would break a bound provider. */
	err = unionic_set_ring_size(dev, ring->rx_pending, extack);
	if (err)
		return err;

	/* "auto" means on */
	WRITE_ONCE(priv->hds,
		   kring->tcp_data_split != ETHTOOL_TCP_DATA_SPLIT_DISABLED);
	WRITE_ONCE(priv->hds_thresh, kring->hds_thresh);
	return 0;
}

static void unionic_get_channels(struct net_device *dev,
				struct ethtool_channels *ch)
{
	ch->max_combined = min(dev->num_rx_queues, dev->num_tx_queues);
	ch->combined_count = dev->real_num_rx_queues;
}

static int unionic_set_channels(struct net_device *dev,
			       struct ethtool_channels *ch)
{
	if (ch->rx_count || ch->tx_count || ch->other_count ||
	    !ch->combined_count)
		return -EINVAL;
	if (ch->combined_count == dev->real_num_rx_queues)
		return 0;
	return unionic_set_queue_count(dev, ch->combined_count);
}

static int unionic_get_sset_count(struct net_device *dev, int sset)
{
	switch (sset) {
	case ETH_SS_STATS:
		return dev->real_num_rx_queues * UNIONIC_RX_NSTATS +
		       dev->real_num_tx_queues * UNIONIC_TX_NSTATS;
	case ETH_SS_PRIV_FLAGS:
		return UNIONIC_PFLAG_COUNT;
	default:
		return -EOPNOTSUPP;
	}
}

static void unionic_get_strings(struct net_device *dev, u32 sset, u8 *data)
{
	unsigned int q, i;

	switch (sset) {
	case ETH_SS_STATS:
		for (q = 0; q < dev->real_num_rx_queues; q++)
			for (i = 0; i < UNIONIC_RX_NSTATS; i++)
				ethtool_sprintf(&data, "rx%u_%s", q,
						unionic_rx_stat_names[i]);
		for (q = 0; q < dev->real_num_tx_queues; q++)
			for (i = 0; i < UNIONIC_TX_NSTATS; i++)
				ethtool_sprintf(&data, "tx%u_%s", q,
						unionic_tx_stat_names[i]);
		break;
	case ETH_SS_PRIV_FLAGS:
		for (i = 0; i < UNIONIC_PFLAG_COUNT; i++)
			ethtool_puts(&data, unionic_pflag_names[i]);
		break;
	}
}

static void unionic_get_ethtool_stats(struct net_device *dev,
				     struct ethtool_stats *stats, u64 *data)
{
	struct unionic_priv *priv = netdev_priv(dev);
	unsigned int q;

	for (q = 0; q < dev->real_num_rx_queues; q++) {
		struct unionic_rx_counters c;

		unionic_rx_counters(&priv->rxq[q], &c);
		*data++ = c.packets;
		*data++ = c.bytes;
		*data++ = c.drops + c.wire_drops;
		*data++ = c.alloc_fail;
		*data++ = c.hds_packets;
		*data++ = c.hds_bytes;
		*data++ = c.ring_full;
		*data++ = c.length_errors;
	}
	for (q = 0; q < dev->real_num_tx_queues; q++) {
		struct unionic_tx_counters c;

		unionic_tx_counters(&priv->txq[q], &c);
		*data++ = c.packets;
		*data++ = c.bytes;
		*data++ = c.drops;
	}
}

static u32 unionic_get_priv_flags(struct net_device *dev)
{
	struct unionic_priv *priv = netdev_priv(dev);

	return priv->pflags;
}

static int unionic_set_priv_flags(struct net_device *dev, u32 flags)
{
	struct unionic_priv *priv = netdev_priv(dev);

	if (flags & ~(BIT(UNIONIC_PFLAG_COUNT) - 1))
		return -EINVAL;
	WRITE_ONCE(priv->pflags, flags);
	return 0;
}

/* ntuple rules */

static struct unionic_rules *unionic_rules(struct net_device *dev)
{
	struct unionic_priv *priv = netdev_priv(dev);

	return netdev_lock_dereference(priv->rules, dev);
}

void unionic_rules_free(struct unionic_priv *priv)
{
	/* From priv_destructor: no reader is left. */
	kfree(rcu_dereference_protected(priv->rules, true));
	RCU_INIT_POINTER(priv->rules, NULL);
}

static int unionic_rule_find(const struct unionic_rules *rules, u32 loc)
{
	unsigned int i;

	for (i = 0; rules && i < rules->n; i++)
		if (rules->rule[i].fs.location == loc)
			return i;
	return -ENOENT;
}

static bool unionic_rule_loc_used(const struct unionic_rules *rules, u32 loc)
{
	return unionic_rule_find(rules, loc) >= 0;
}

static int unionic_rule_parse(struct net_device *dev,
			     const struct ethtool_rx_flow_spec *fs,
			     struct unionic_rule *r)
{
	u32 type = fs->flow_type;
	u64 queue;

	/* Exact destination port, nothing else. */
	switch (type) {
	case TCP_V4_FLOW:
	case UDP_V4_FLOW: {
		const struct ethtool_tcpip4_spec *m = &fs->m_u.tcp_ip4_spec;

		if (m->ip4src || m->ip4dst || m->psrc || m->tos ||
		    m->pdst != htons(0xffff))
			return -EOPNOTSUPP;
		r->dport = fs->h_u.tcp_ip4_spec.pdst;
		break;
	}
	case TCP_V6_FLOW:
	case UDP_V6_FLOW: {
		const struct ethtool_tcpip6_spec *m = &fs->m_u.tcp_ip6_spec;

		if (!ipv6_addr_any((const struct in6_addr *)m->ip6src) ||
		    !ipv6_addr_any((const struct in6_addr *)m->ip6dst) ||
		    m->psrc || m->tclass || m->pdst != htons(0xffff))
			return -EOPNOTSUPP;
		r->dport = fs->h_u.tcp_ip6_spec.pdst;
		break;
	}
	default:
		return -EOPNOTSUPP;
	}

	if (fs->ring_cookie == RX_CLS_FLOW_DISC ||
	    ethtool_get_flow_spec_ring_vf(fs->ring_cookie))
		return -EOPNOTSUPP;
	queue = ethtool_get_flow_spec_ring(fs->ring_cookie);
	if (queue >= dev->real_num_rx_queues)
		return -EINVAL;

	r->fs = *fs;
	r->flow_type = type;
	r->queue = queue;
	return 0;
}

static int unionic_rule_loc(const struct unionic_rules *rules, u32 loc)
{
	int i;

	switch (loc) {
	case RX_CLS_LOC_ANY:
	case RX_CLS_LOC_FIRST:
		for (i = 0; i < UNIONIC_MAX_RULES; i++)
			if (!unionic_rule_loc_used(rules, i))
				return i;
		return -ENOSPC;
	case RX_CLS_LOC_LAST:
		for (i = UNIONIC_MAX_RULES - 1; i >= 0; i--)
			if (!unionic_rule_loc_used(rules, i))
				return i;
		return -ENOSPC;
	default:
		return loc < UNIONIC_MAX_RULES ? loc : -EINVAL;
	}
}

/*
 * Publish a copy of the rules with @r added (replacing a rule at the same
 * location) or, without @r, with the rule at index @del removed.
 */
static int unionic_rules_replace(struct net_device *dev,
				const struct unionic_rule *r, int del)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct unionic_rules *old = unionic_rules(dev), *new = NULL;
	unsigned int n = old ? old->n : 0, i, j = 0;
	bool inserted = false;

	if (!r)
		n--;
	else if (unionic_rule_find(old, r->fs.location) < 0)
		n++;

	if (n) {
		new = kzalloc_flex(*new, rule, n);
		if (!new)
			return -ENOMEM;
		new->n = n;
	}

	for (i = 0; old && i < old->n; i++) {
		const struct unionic_rule *o = &old->rule[i];

		if ((int)i == del || (r && o->fs.location == r->fs.location))
			continue;
		if (r && !inserted && o->fs.location > r->fs.location) {
			new->rule[j++] = *r;
			inserted = true;
		}
		new->rule[j++] = *o;
	}
	if (r && !inserted)
		new->rule[j++] = *r;
	WARN_ON_ONCE(j != n);

	rcu_assign_pointer(priv->rules, new);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

static int unionic_rule_ins(struct net_device *dev, struct ethtool_rxnfc *cmd)
{
	struct unionic_rules *rules = unionic_rules(dev);
	struct unionic_rule r;
	int loc, err;

	err = unionic_rule_parse(dev, &cmd->fs, &r);
	if (err)
		return err;
	loc = unionic_rule_loc(rules, cmd->fs.location);
	if (loc < 0)
		return loc;
	r.fs.location = loc;
	err = unionic_rules_replace(dev, &r, -1);
	if (err)
		return err;
	cmd->fs.location = loc;
	return 0;
}

static int unionic_rule_del(struct net_device *dev, struct ethtool_rxnfc *cmd)
{
	int i = unionic_rule_find(unionic_rules(dev), cmd->fs.location);

	if (i < 0)
		return i;
	return unionic_rules_replace(dev, NULL, i);
}

static int unionic_get_rxnfc(struct net_device *dev, struct ethtool_rxnfc *cmd,
			    u32 *rule_locs)
{
	const struct unionic_rules *rules = unionic_rules(dev);
	unsigned int n = rules ? rules->n : 0, i;
	int idx;

	switch (cmd->cmd) {
	case ETHTOOL_GRXCLSRLCNT:
		cmd->rule_cnt = n;
		cmd->data = UNIONIC_MAX_RULES | RX_CLS_LOC_SPECIAL;
		return 0;
	case ETHTOOL_GRXCLSRULE:
		idx = unionic_rule_find(rules, cmd->fs.location);
		if (idx < 0)
			return idx;
		cmd->fs = rules->rule[idx].fs;
		return 0;
	case ETHTOOL_GRXCLSRLALL:
		if (cmd->rule_cnt < n)
			return -EMSGSIZE;
		for (i = 0; i < n; i++)
			rule_locs[i] = rules->rule[i].fs.location;
		cmd->rule_cnt = n;
		cmd->data = UNIONIC_MAX_RULES;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int unionic_set_rxnfc(struct net_device *dev, struct ethtool_rxnfc *cmd)
{
	switch (cmd->cmd) {
	case ETHTOOL_SRXCLSRLINS:
		return unionic_rule_ins(dev, cmd);
	case ETHTOOL_SRXCLSRLDEL:
		return unionic_rule_del(dev, cmd);
	default:
		return -EOPNOTSUPP;
	}
}

static u32 unionic_get_rx_ring_count(struct net_device *dev)
{
	return dev->real_num_rx_queues;
}

const struct ethtool_ops unionic_ethtool_ops = {
	.supported_ring_params	= ETHTOOL_RING_USE_TCP_DATA_SPLIT |
				  ETHTOOL_RING_USE_HDS_THRS,
	/* netif_set_real_num_queues() updates the qdiscs: RTNL */
	.op_needs_rtnl		= ETHTOOL_OP_NEEDS_RTNL_SCHANNELS,
	.get_drvinfo		= unionic_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_ringparam		= unionic_get_ringparam,
	.set_ringparam		= unionic_set_ringparam,
	.get_channels		= unionic_get_channels,
	.set_channels		= unionic_set_channels,
	.get_sset_count		= unionic_get_sset_count,
	.get_strings		= unionic_get_strings,
	.get_ethtool_stats	= unionic_get_ethtool_stats,
	.get_priv_flags		= unionic_get_priv_flags,
	.set_priv_flags		= unionic_set_priv_flags,
	.get_rxnfc		= unionic_get_rxnfc,
	.set_rxnfc		= unionic_set_rxnfc,
	.get_rx_ring_count	= unionic_get_rx_ring_count,
};
