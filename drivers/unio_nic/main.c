// SPDX-License-Identifier: GPL-2.0
/*
 * unio_nic: creation and removal of port pairs, and the netdev ops.
 *
 * "ip link add NAME type unionic" creates NAME and its peer NAME + "p"
 * (iproute2 passes no peer attributes for kinds it does not know, so the peer
 * name is derived). It needs CAP_NET_ADMIN in the initial user namespace, and
 * the module is loaded by hand, never on demand. Both ports start in the
 * namespace of the request; either may be moved to another namespace. Deleting
 * either port, or the namespace of either, deletes both, as for veth.
 * Unloading the module deletes every pair.
 *
 * Each pair gets its own platform device "unionic.N" with a 64-bit DMA mask:
 * the ports' parent (SET_NETDEV_DEV), so netdev_queue_get_dma_dev() finds a
 * DMA device, and the device the page pools map buffers for. The "DMA" of
 * the receive path turns bus addresses back into physical ones, which holds
 * only where a mapping is the identity (dma-direct, no bounce buffer);
 * creation maps a page to check, and fails otherwise.
 *
 * See unionic.h for the locking rules.
 */
#include <linux/capability.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/etherdevice.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <net/netdev_lock.h>
#include <net/netdev_queues.h>
#include <net/rtnetlink.h>

#include "unionic.h"

struct unionic_pair {
	struct kref ref;
	struct platform_device *pdev;
	int id;
};

static DEFINE_IDA(unionic_ida);
static struct rtnl_link_ops unionic_link_ops;

static void unionic_pair_release(struct kref *ref)
{
	struct unionic_pair *pair = container_of(ref, struct unionic_pair, ref);

	platform_device_unregister(pair->pdev);
	ida_free(&unionic_ida, pair->id);
	kfree(pair);
}

static void unionic_pair_put(struct unionic_pair *pair)
{
	kref_put(&pair->ref, unionic_pair_release);
}

/*
 * The receive path writes payload at dma_to_phys() of a buffer's DMA
 * address, so a mapping for @dev must be the identity.  Map a page and see,
 * rather than ask how the platform maps: an IOMMU, swiotlb=force and, since
 * 7.3, the per-mapping bounce of memory-encrypted guests (7.2 forced
 * swiotlb for those, which is_swiotlb_force_bounce() reported; 7.3 removed
 * SWIOTLB_FORCE) all show up here the same way on every series.
 */
static int unionic_check_dma(struct device *dev)
{
	struct page *page = alloc_page(GFP_KERNEL);
	dma_addr_t dma;
	int err = 0;

	if (!page)
		return -ENOMEM;
	dma = dma_map_page(dev, page, 0, PAGE_SIZE, DMA_FROM_DEVICE);
	if (dma_mapping_error(dev, dma)) {
		err = -EOPNOTSUPP;
	} else {
		if (dma_to_phys(dev, dma) != page_to_phys(page))
			err = -EOPNOTSUPP;
		dma_unmap_page(dev, dma, PAGE_SIZE, DMA_FROM_DEVICE);
	}
	__free_page(page);
	return err;
}

static struct unionic_pair *unionic_pair_create(struct netlink_ext_ack *extack)
{
	struct platform_device_info info = {
		.name = UNIONIC_KIND,
		.dma_mask = DMA_BIT_MASK(64),
	};
	struct unionic_pair *pair;
	struct device *dma_dev;
	int err;

	pair = kzalloc_obj(*pair);
	if (!pair)
		return ERR_PTR(-ENOMEM);
	kref_init(&pair->ref);

	pair->id = ida_alloc(&unionic_ida, GFP_KERNEL);
	if (pair->id < 0) {
		err = pair->id;
		goto err_free;
	}

	info.id = pair->id;
	pair->pdev = platform_device_register_full(&info);
	if (IS_ERR(pair->pdev)) {
		err = PTR_ERR(pair->pdev);
		goto err_ida;
	}

	dma_dev = &pair->pdev->dev;
	/*
	 * The NIC moves data with the CPU through the direct map: no limit on
	 * a segment's length.  Say so, as NICs that take zcrx do (mlx5: 2 GiB):
	 * with the platform default of 64 KiB, DMA-API debugging flags the sg
	 * table io_uring maps a zcrx area with, whose runs of contiguous pages
	 * are longer.
	 */
	dma_set_max_seg_size(dma_dev, UINT_MAX);
	err = unionic_check_dma(dma_dev);
	if (err) {
		NL_SET_ERR_MSG(extack,
			       "unionic needs dma-direct without bounce buffers");
		goto err_unregister;
	}
	return pair;

err_unregister:
	platform_device_unregister(pair->pdev);
err_ida:
	ida_free(&unionic_ida, pair->id);
err_free:
	kfree(pair);
	return ERR_PTR(err);
}

/* Called by register_netdevice(); the reference goes in priv_destructor. */
static int unionic_init(struct net_device *dev)
{
	struct unionic_priv *priv = netdev_priv(dev);

	/*
	 * Own lock classes, and the instance locks of several ports may nest
	 * under RTNL (batched unregistration: both ports of a pair, a netns).
	 */
	netdev_lockdep_set_classes(dev);
	kref_get(&priv->pair->ref);
	return 0;
}

/*
 * After unregistration and the last reference to the netdev (or when
 * register_netdevice() fails after ndo_init), without RTNL.
 */
static void unionic_destructor(struct net_device *dev)
{
	struct unionic_priv *priv = netdev_priv(dev);

	unionic_rules_free(priv);
	unionic_pair_put(priv->pair);
}

static int unionic_open(struct net_device *dev)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct net_device *peer;
	int err;

	ASSERT_RTNL();
	netdev_assert_locked(dev);

	err = unionic_queues_up(dev);
	if (err)
		return err;

	peer = rtnl_dereference(priv->peer);
	if (peer && netif_running(peer)) {
		netif_carrier_on(dev);
		netif_carrier_on(peer);
	}
	return 0;
}

static int unionic_stop(struct net_device *dev)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct net_device *peer;

	ASSERT_RTNL();
	netdev_assert_locked(dev);

	netif_carrier_off(dev);
	peer = rtnl_dereference(priv->peer);
	if (peer)
		netif_carrier_off(peer);

	unionic_queues_down(dev);
	return 0;
}

static int unionic_get_iflink(const struct net_device *dev)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct net_device *peer;
	int iflink;

	rcu_read_lock();
	peer = rcu_dereference(priv->peer);
	iflink = peer ? READ_ONCE(peer->ifindex) : 0;
	rcu_read_unlock();
	return iflink;
}

static const struct net_device_ops unionic_netdev_ops = {
	.ndo_init		= unionic_init,
	.ndo_open		= unionic_open,
	.ndo_stop		= unionic_stop,
	.ndo_start_xmit		= unionic_start_xmit,
	.ndo_get_stats64	= unionic_get_stats64,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
	.ndo_get_iflink		= unionic_get_iflink,
};

static void unionic_setup(struct net_device *dev)
{
	ether_setup(dev);

	dev->netdev_ops = &unionic_netdev_ops;
	dev->ethtool_ops = &unionic_ethtool_ops;
	dev->stat_ops = &unionic_stat_ops;
	dev->queue_mgmt_ops = &unionic_queue_mgmt_ops;
	/* ndos, ethtool and queue ops run under the instance lock */
	dev->request_ops_lock = true;
	dev->needs_free_netdev = true;
	dev->priv_destructor = unionic_destructor;
	dev->priv_flags |= IFF_LIVE_ADDR_CHANGE;

	/*
	 * No TSO: the stack segments before ndo_start_xmit. Checksums are
	 * offloaded: the receiving port computes them while it copies.
	 */
	dev->hw_features = NETIF_F_SG | NETIF_F_HW_CSUM;
	dev->features = dev->hw_features | NETIF_F_HIGHDMA | NETIF_F_RXCSUM |
			NETIF_F_NTUPLE;
	dev->vlan_features = NETIF_F_SG | NETIF_F_HW_CSUM | NETIF_F_HIGHDMA;
	dev->max_mtu = UNIONIC_MAX_MTU;
}

static unsigned int unionic_get_num_queues(void)
{
	return UNIONIC_MAX_QUEUES;
}

static int unionic_validate(struct nlattr *tb[], struct nlattr *data[],
			   struct netlink_ext_ack *extack)
{
	static const int attrs[] = { IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES };
	int i;

	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		if (tb[attrs[i]] &&
		    nla_get_u32(tb[attrs[i]]) > UNIONIC_MAX_QUEUES) {
			NL_SET_ERR_MSG_ATTR_FMT(extack, tb[attrs[i]],
						"unionic has at most %u queues",
						UNIONIC_MAX_QUEUES);
			return -EINVAL;
		}
	}
	if (tb[IFLA_ADDRESS]) {
		if (nla_len(tb[IFLA_ADDRESS]) != ETH_ALEN)
			return -EINVAL;
		if (!is_valid_ether_addr(nla_data(tb[IFLA_ADDRESS])))
			return -EADDRNOTAVAIL;
	}
	return 0;
}

/* Everything a port needs before register_netdevice(). */
static int unionic_port_init(struct net_device *dev, struct unionic_pair *pair)
{
	struct unionic_priv *priv = netdev_priv(dev);
	unsigned int i, n;

	priv->pair = pair;
	priv->dma_dev = &pair->pdev->dev;
	SET_NETDEV_DEV(dev, priv->dma_dev);

	priv->ring_size = UNIONIC_DEF_RING;
	priv->hds = true;
	priv->hds_thresh = 0;
	dev->cfg->hds_config = ETHTOOL_TCP_DATA_SPLIT_ENABLED;
	dev->cfg->hds_thresh = 0;

	for (i = 0; i < UNIONIC_MAX_QUEUES; i++) {
		struct unionic_rxq *rq = &priv->rxq[i];

		rq->dev = dev;
		rq->idx = i;
		u64_stats_init(&rq->stats.syncp);
		u64_stats_init(&priv->txq[i].syncp);
	}

	n = min3(UNIONIC_DEF_QUEUES, dev->num_rx_queues, dev->num_tx_queues);
	return netif_set_real_num_queues(dev, n, n);
}

static int unionic_newlink(struct net_device *dev,
			  struct rtnl_newlink_params *params,
			  struct netlink_ext_ack *extack)
{
	struct net *peer_net = rtnl_newlink_peer_net(params);
	struct nlattr *peer_tb[IFLA_MAX + 1] = {};
	struct nlattr **tb = params->tb;
	char peer_name[IFNAMSIZ];
	struct unionic_pair *pair;
	struct net_device *peer;
	ssize_t len;
	int err;

	/*
	 * A test device must not widen what an unprivileged user reaches:
	 * only the initial namespace's administrator creates pairs (no module
	 * alias either, so a user namespace cannot have it loaded).  Moving a
	 * port into another namespace stays allowed.
	 */
	if (!capable(CAP_NET_ADMIN)) {
		NL_SET_ERR_MSG(extack,
			       "unionic pairs need CAP_NET_ADMIN in the initial user namespace");
		return -EPERM;
	}

	/* The peer's name derives from ours: resolve "unionic%d" first. */
	if (strchr(dev->name, '%')) {
		err = dev_alloc_name(dev, dev->name);
		if (err < 0)
			return err;
	}
	len = strscpy(peer_name, dev->name, sizeof(peer_name));
	if (len < 0 || len + 1 >= IFNAMSIZ) {
		NL_SET_ERR_MSG(extack,
			       "name too long to add the peer's \"p\" suffix");
		return -EINVAL;
	}
	peer_name[len] = 'p';
	peer_name[len + 1] = '\0';

	pair = unionic_pair_create(extack);
	if (IS_ERR(pair))
		return PTR_ERR(pair);

	/* Of our attributes the peer shares only these. */
	peer_tb[IFLA_MTU] = tb[IFLA_MTU];
	peer_tb[IFLA_NUM_TX_QUEUES] = tb[IFLA_NUM_TX_QUEUES];
	peer_tb[IFLA_NUM_RX_QUEUES] = tb[IFLA_NUM_RX_QUEUES];
	peer = rtnl_create_link(peer_net, peer_name, dev->name_assign_type,
				&unionic_link_ops, peer_tb, extack);
	if (IS_ERR(peer)) {
		err = PTR_ERR(peer);
		goto out_put_pair;
	}
	eth_hw_addr_random(peer);
	err = unionic_port_init(peer, pair);
	if (err) {
		free_netdev(peer);
		goto out_put_pair;
	}
	err = register_netdevice(peer);
	if (err) {
		free_netdev(peer);
		goto out_put_pair;
	}
	netif_carrier_off(peer);
	/*
	 * Announce the peer (RTM_NEWLINK).  Without the instance lock: since
	 * 7.3 rtnl_configure_link() takes it itself (netdev_lock_ops), and
	 * holding it here deadlocks with RTNL held.  Before 7.3 the core held
	 * it around the call for the new device, but with no ifinfomsg the
	 * call changes no flags and only notifies, which needs RTNL alone.
	 * The one code path is right on both; veth and netkit make the same
	 * call the same way.
	 */
	err = rtnl_configure_link(peer, NULL, 0, NULL);
	if (err) {
		unregister_netdevice(peer);
		goto out_put_pair;
	}

	if (!tb[IFLA_ADDRESS])
		eth_hw_addr_random(dev);
	err = unionic_port_init(dev, pair);
	if (!err)
		err = register_netdevice(dev);
	if (err) {
		/* The core frees dev; the peer goes through unregistration. */
		unregister_netdevice(peer);
		goto out_put_pair;
	}
	netif_carrier_off(dev);

	rcu_assign_pointer(((struct unionic_priv *)netdev_priv(dev))->peer,
			   peer);
	rcu_assign_pointer(((struct unionic_priv *)netdev_priv(peer))->peer,
			   dev);

out_put_pair:
	/* The registered ports hold their own references. */
	unionic_pair_put(pair);
	return err;
}

/*
 * Deletes both ports.  Called again for the peer when both are walked
 * (module unload visits every namespace; since 7.3 into one batch), so the
 * second call, which finds its peer gone, has nothing left to do.
 */
static void unionic_dellink(struct net_device *dev, struct list_head *head)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct net_device *peer = rtnl_dereference(priv->peer);

	if (!peer)
		return;
	/*
	 * Readers (the other port's ndo_start_xmit) run under RCU; the
	 * unregistration waits for a grace period before either port is
	 * closed for good or freed.
	 */
	RCU_INIT_POINTER(priv->peer, NULL);
	unregister_netdevice_queue(dev, head);

	priv = netdev_priv(peer);
	RCU_INIT_POINTER(priv->peer, NULL);
	/*
	 * The peer may live in another namespace.  Kernels with per-namespace
	 * RTNL (7.3) queue such a device on its own namespace's list.
	 */
#if KAPI_UNREGISTER_NETDEVICE_QUEUE_NET
	unregister_netdevice_queue_net(dev_net(dev), peer, head);
#else
	unregister_netdevice_queue(peer, head);
#endif
}

static struct net *unionic_get_link_net(const struct net_device *dev)
{
	struct unionic_priv *priv = netdev_priv(dev);
	struct net_device *peer = rtnl_dereference(priv->peer);

	return peer ? dev_net(peer) : dev_net(dev);
}

static struct rtnl_link_ops unionic_link_ops = {
	.kind			= UNIONIC_KIND,
	.priv_size		= sizeof(struct unionic_priv),
	.setup			= unionic_setup,
	.validate		= unionic_validate,
	.newlink		= unionic_newlink,
	.dellink		= unionic_dellink,
	.get_link_net		= unionic_get_link_net,
	.get_num_tx_queues	= unionic_get_num_queues,
	.get_num_rx_queues	= unionic_get_num_queues,
};

static int __init unionic_module_init(void)
{
	return rtnl_link_register(&unionic_link_ops);
}

static void __exit unionic_module_exit(void)
{
	/* Deletes every pair; their platform devices go with the ports. */
	rtnl_link_unregister(&unionic_link_ops);
	ida_destroy(&unionic_ida);
}

module_init(unionic_module_init);
module_exit(unionic_module_exit);

MODULE_DESCRIPTION("Software header-split NIC pairs for memory provider tests");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("NETDEV_INTERNAL");
