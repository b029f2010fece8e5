// SPDX-License-Identifier: GPL-2.0
/*
 * unio_nic transmit path: the wire and the receiving port's flow steering.
 *
 * ndo_start_xmit parses the frame's headers once, asks the *receiving* port
 * (the peer) which of its RX queues the frame belongs to, and puts the frame
 * on that queue's ring, or drops it and counts it there when the ring is full
 * or the queue is stopped, as a NIC with a full descriptor ring does. The
 * frame stays the sender's skb until the receiver's NAPI has copied it; then
 * the transmit completes (the skb is freed, the socket's TSQ budget returns).
 *
 * Steering, on the receiving port:
 *   1. ntuple rules (ethtool -N DEV flow-type tcp4|tcp6|udp4|udp6 dst-port P
 *      action Q [loc L]), lowest location first;
 *   2. other TCP and UDP flows: jhash_3words(source address, destination
 *      address, source port << 16 | destination port; initval: the IP
 *      protocol), IPv6 addresses folded with ipv6_addr_hash(), scaled onto
 *      the active queues; a flow keeps its queue as long as the queue count
 *      stays the same;
 *   3. everything else (ARP, ICMP, fragments, ...): queue 0.
 */
#include <linux/etherdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/jhash.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/ipv6.h>

#include "unionic.h"

struct unionic_flow {
	u32 flow_type;		/* TCP_V4_FLOW, ...; 0: no TCP/UDP flow */
	u32 saddr, daddr;	/* IPv6: folded */
	__be16 sport, dport;
	u16 hdr_len;		/* through the TCP header; 0: no split */
	u8 proto;
};

/* Offset of the transport header, or < 0; *proto gets its protocol. */
static int unionic_parse_ipv6(const struct sk_buff *skb, int off, u8 *proto,
			     struct unionic_flow *fl)
{
	struct ipv6hdr _ip6, *ip6;
	u8 nexthdr;

	ip6 = skb_header_pointer(skb, off, sizeof(_ip6), &_ip6);
	if (!ip6 || ip6->version != 6)
		return -EINVAL;
	fl->saddr = ipv6_addr_hash(&ip6->saddr);
	fl->daddr = ipv6_addr_hash(&ip6->daddr);
	nexthdr = ip6->nexthdr;
	off += sizeof(*ip6);

	for (;;) {
		struct ipv6_opt_hdr _hp, *hp;

		switch (nexthdr) {
		case NEXTHDR_HOP:
		case NEXTHDR_ROUTING:
		case NEXTHDR_DEST:
		case NEXTHDR_AUTH:
			break;
		case NEXTHDR_FRAGMENT:	/* no L4 to steer or split on */
		case NEXTHDR_NONE:
		case NEXTHDR_ESP:
			return -EINVAL;
		default:
			*proto = nexthdr;
			return off;
		}
		hp = skb_header_pointer(skb, off, sizeof(_hp), &_hp);
		if (!hp)
			return -EINVAL;
		off += nexthdr == NEXTHDR_AUTH ? ipv6_authlen(hp) :
						 ipv6_optlen(hp);
		nexthdr = hp->nexthdr;
	}
}

static void unionic_parse(const struct sk_buff *skb, struct unionic_flow *fl)
{
	struct ethhdr _eth, *eth;
	int off = ETH_HLEN;
	bool v6 = false;
	u8 proto;

	memset(fl, 0, sizeof(*fl));
	eth = skb_header_pointer(skb, 0, sizeof(_eth), &_eth);
	if (!eth)
		return;

	if (eth->h_proto == htons(ETH_P_IP)) {
		struct iphdr _iph, *iph;

		iph = skb_header_pointer(skb, off, sizeof(_iph), &_iph);
		if (!iph || iph->version != 4 || iph->ihl < 5 ||
		    ip_is_fragment(iph))
			return;
		fl->saddr = (__force u32)iph->saddr;
		fl->daddr = (__force u32)iph->daddr;
		proto = iph->protocol;
		off += iph->ihl * 4;
	} else if (eth->h_proto == htons(ETH_P_IPV6)) {
		off = unionic_parse_ipv6(skb, off, &proto, fl);
		if (off < 0)
			return;
		v6 = true;
	} else {
		return;
	}

	if (proto == IPPROTO_TCP) {
		struct tcphdr _th, *th;

		th = skb_header_pointer(skb, off, sizeof(_th), &_th);
		if (!th || th->doff < 5)
			return;
		fl->flow_type = v6 ? TCP_V6_FLOW : TCP_V4_FLOW;
		fl->sport = th->source;
		fl->dport = th->dest;
		off += th->doff * 4;
		if (off <= skb->len && off <= UNIONIC_MAX_HDR)
			fl->hdr_len = off;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr _uh, *uh;

		uh = skb_header_pointer(skb, off, sizeof(_uh), &_uh);
		if (!uh)
			return;
		fl->flow_type = v6 ? UDP_V6_FLOW : UDP_V4_FLOW;
		fl->sport = uh->source;
		fl->dport = uh->dest;
	} else {
		return;
	}
	fl->proto = proto;
}

/* The RX queue of the receiving port @rx that gets the flow. */
static struct unionic_rxq *unionic_steer(struct net_device *rx,
				       const struct unionic_flow *fl)
{
	struct unionic_priv *priv = netdev_priv(rx);
	const struct unionic_rules *rules;
	unsigned int i, nq;
	u32 hash;

	if (!fl->flow_type)
		return &priv->rxq[0];

	rules = rcu_dereference(priv->rules);
	for (i = 0; rules && i < rules->n; i++) {
		const struct unionic_rule *r = &rules->rule[i];

		if (r->flow_type == fl->flow_type && r->dport == fl->dport)
			return &priv->rxq[r->queue];
	}

	/* A concurrent ethtool -L is fine: stopped queues drop. */
	nq = min_t(unsigned int, READ_ONCE(rx->real_num_rx_queues),
		   UNIONIC_MAX_QUEUES);
	hash = jhash_3words(fl->saddr, fl->daddr,
			    (u32)ntohs(fl->sport) << 16 | ntohs(fl->dport),
			    fl->proto);
	return &priv->rxq[reciprocal_scale(hash, nq ?: 1)];
}

netdev_tx_t unionic_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct unionic_txq_stats *ts = &priv->txq[skb_get_queue_mapping(skb)];
	struct unionic_frame_cb *cb;
	struct unionic_flow fl;
	struct net_device *peer;
	struct unionic_rxq *rq;
	struct ptr_ring *ring;
	unsigned int len;

	/* Hardware pads short frames; eth_skb_pad() frees on failure. */
	if (eth_skb_pad(skb))
		goto count_drop;
	len = skb->len;

	rcu_read_lock();
	peer = rcu_dereference(priv->peer);
	if (unlikely(!peer)) {
		rcu_read_unlock();
		dev_kfree_skb_any_reason(skb, SKB_DROP_REASON_DEV_READY);
		goto count_drop;
	}

	unionic_parse(skb, &fl);
	rq = unionic_steer(peer, &fl);

	cb = UNIONIC_CB(skb);
	cb->hdr_len = fl.hdr_len;
	cb->l4_csum = fl.proto == IPPROTO_TCP || fl.proto == IPPROTO_UDP;
	skb_tx_timestamp(skb);

	/* On the wire now: from here on drops are the receiver's. */
	ring = rcu_dereference(rq->xmit_ring);
	if (unlikely(!ring)) {
		atomic_long_inc(&rq->wire_drops);
		dev_kfree_skb_any_reason(skb, SKB_DROP_REASON_DEV_READY);
	} else if (unlikely(ptr_ring_produce(ring, skb))) {
		atomic_long_inc(&rq->ring_full);
		atomic_long_inc(&rq->wire_drops);
		dev_kfree_skb_any_reason(skb, SKB_DROP_REASON_FULL_RING);
	} else {
		napi_schedule(&rq->napi);
	}
	rcu_read_unlock();

	u64_stats_update_begin(&ts->syncp);
	u64_stats_inc(&ts->packets);
	u64_stats_add(&ts->bytes, len);
	u64_stats_update_end(&ts->syncp);
	return NETDEV_TX_OK;

count_drop:
	u64_stats_update_begin(&ts->syncp);
	u64_stats_inc(&ts->drops);
	u64_stats_update_end(&ts->syncp);
	return NETDEV_TX_OK;
}
