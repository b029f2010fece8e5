// SPDX-License-Identifier: GPL-2.0
/*
 * unregister_netdevice_queue_net(): queue a device of another namespace for unregistration (7.3)
 *
 * With per-namespace RTNL (CONFIG_DEBUG_NET_SMALL_RTNL) a device in another
 * namespace than the one being dismantled goes on its own namespace's list;
 * otherwise it is unregister_netdevice_queue().  unio_nic's dellink uses it
 * for the peer, as veth does since 7.3.
 */
#include <linux/netdevice.h>

void kapi_probe(struct net *net, struct net_device *dev, struct list_head *head);
void kapi_probe(struct net *net, struct net_device *dev, struct list_head *head)
{
	unregister_netdevice_queue_net(net, dev, head);
}
