// SPDX-License-Identifier: GPL-2.0
/*
 * memory_provider_ops.owner, NET_IOV_MODULE, module-provider netlink (kernel/patches/)
 *
 * The core pins the module a memory provider's ops live in while a queue
 * or a page pool can call them (0001), and names the module in netdev
 * netlink dumps, in a nest the provider opens with net_mp_nl_module_start()
 * and adds its id to (0003).  unified_io is a
 * memory provider only on a kernel with both: it no longer pins itself.
 */
#include <linux/module.h>
#include <net/netmem.h>
#include <net/page_pool/memory_provider.h>
#include <uapi/linux/netdev.h>

const struct memory_provider_ops kapi_probe_ops = {
	.owner = THIS_MODULE,
};

int kapi_probe_type(void);
int kapi_probe_type(void)
{
	struct nlattr *(*start)(struct sk_buff *,
				const struct memory_provider_ops *,
				struct netdev_rx_queue *) = net_mp_nl_module_start;

	return NET_IOV_MODULE + NETDEV_A_MODULE_PROVIDER_INFO_ID + !start;
}
