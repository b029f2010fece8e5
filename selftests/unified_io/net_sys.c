// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers of the unified_io network selftests: page pools (netdev generic
 * netlink), per-CPU deferred skb frees, /proc and the modules; see
 * net_lib.h. Plain C with no kselftest harness: errors are -errno.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netdev.h>
#include <linux/netlink.h>

#include "net_lib.h"

/* --- netdev netlink: page pools ------------------------------------------ */

struct nl_genl_msg {
	struct nlmsghdr n;
	struct genlmsghdr g;
	char buf[256];
};

static void nla_put(struct nlmsghdr *n, int type, const void *data, int len)
{
	struct nlattr *a = (struct nlattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static uint64_t nla_uint(const struct nlattr *a)
{
	const void *d = (const char *)a + NLA_HDRLEN;
	uint64_t v64;
	uint32_t v32;

	if (a->nla_len - NLA_HDRLEN >= 8) {
		memcpy(&v64, d, 8);
		return v64;
	}
	if (a->nla_len - NLA_HDRLEN >= 4) {
		memcpy(&v32, d, 4);
		return v32;
	}
	return 0;
}

static int genl_family(int s, const char *name)
{
	struct nl_genl_msg req = {};
	static char buf[8192];
	struct nlmsghdr *n;
	ssize_t len;

	req.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	req.n.nlmsg_type = GENL_ID_CTRL;
	req.n.nlmsg_flags = NLM_F_REQUEST;
	req.n.nlmsg_seq = 1;
	req.g.cmd = CTRL_CMD_GETFAMILY;
	req.g.version = 1;
	nla_put(&req.n, CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1);
	if (send(s, &req, req.n.nlmsg_len, 0) < 0)
		return -errno;
	len = recv(s, buf, sizeof(buf), 0);
	if (len < 0)
		return -errno;
	for (n = (struct nlmsghdr *)buf; NLMSG_OK(n, len); n = NLMSG_NEXT(n, len)) {
		struct nlattr *a;
		int alen;

		if (n->nlmsg_type == NLMSG_ERROR)
			return ((struct nlmsgerr *)NLMSG_DATA(n))->error ?: -ENOENT;
		a = (struct nlattr *)((char *)NLMSG_DATA(n) + GENL_HDRLEN);
		alen = n->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
		for (; alen >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= alen;
		     alen -= NLA_ALIGN(a->nla_len),
		     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))
			if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
				return *(uint16_t *)((char *)a + NLA_HDRLEN);
	}
	return -ENOENT;
}

int nl_page_pools(struct nl_pp *pools, int max)
{
	struct nl_genl_msg req = {};
	static char buf[65536];
	int s, fam, count = 0, ret = 0;
	bool done = false;

	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (s < 0)
		return -errno;
	fam = genl_family(s, NETDEV_FAMILY_NAME);
	if (fam < 0) {
		close(s);
		return fam;
	}
	req.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	req.n.nlmsg_type = fam;
	req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.n.nlmsg_seq = 2;
	req.g.cmd = NETDEV_CMD_PAGE_POOL_GET;
	req.g.version = 1;
	if (send(s, &req, req.n.nlmsg_len, 0) < 0) {
		ret = -errno;
		close(s);
		return ret;
	}
	while (!done) {
		ssize_t len = recv(s, buf, sizeof(buf), 0);
		struct nlmsghdr *n;

		if (len < 0) {
			ret = -errno;
			break;
		}
		for (n = (struct nlmsghdr *)buf; NLMSG_OK(n, len);
		     n = NLMSG_NEXT(n, len)) {
			struct nl_pp pp = {};
			struct nlattr *a;
			int alen;

			if (n->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (n->nlmsg_type == NLMSG_ERROR) {
				ret = ((struct nlmsgerr *)NLMSG_DATA(n))->error;
				done = true;
				break;
			}
			a = (struct nlattr *)((char *)NLMSG_DATA(n) + GENL_HDRLEN);
			alen = n->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
			for (; alen >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
			       a->nla_len <= alen;
			     alen -= NLA_ALIGN(a->nla_len),
			     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
				switch (a->nla_type & NLA_TYPE_MASK) {
				case NETDEV_A_PAGE_POOL_ID:
					pp.id = nla_uint(a);
					break;
				case NETDEV_A_PAGE_POOL_IFINDEX:
					pp.ifindex = nla_uint(a);
					break;
				case NETDEV_A_PAGE_POOL_INFLIGHT:
					pp.inflight = nla_uint(a);
					break;
				case NETDEV_A_PAGE_POOL_INFLIGHT_MEM:
					pp.inflight_mem = nla_uint(a);
					break;
				case NETDEV_A_PAGE_POOL_DETACH_TIME:
					pp.detach_time = nla_uint(a);
					break;
				case NETDEV_A_PAGE_POOL_IO_URING:
					pp.io_uring = true;
					break;
				}
			}
			if (count < max)
				pools[count] = pp;
			count++;
		}
	}
	close(s);
	return ret < 0 ? ret : count;
}

/* --- per-CPU deferred skb frees ----------------------------------------- */

/*
 * An skb freed on another CPU than the one that built it (the NIC's NAPI
 * CPU) waits on that CPU's defer list (skb_attempt_defer_free()) until the
 * CPU runs its network receive softirq again, holding its pages, and with
 * them a provider's page pool and module. With the NIC gone, nothing else
 * may run that softirq there: a datagram over lo sent from each CPU does.
 */
int nl_kick_cpus(void)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sin);
	cpu_set_t old, one;
	int s, ret = 0;
	char b = 0;

	if (sched_getaffinity(0, sizeof(old), &old))
		return -errno;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(s, (struct sockaddr *)&sin, &len)) {
		ret = -errno;
		goto out;
	}
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &old))
			continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			continue;
		if (sendto(s, &b, 1, 0, (struct sockaddr *)&sin, sizeof(sin)) == 1)
			recv(s, &b, 1, MSG_DONTWAIT);
	}
	sched_setaffinity(0, sizeof(old), &old);
out:
	close(s);
	return ret;
}

/* --- /proc and modules --------------------------------------------------- */

long nl_mem_free_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int nl_module_refcnt(const char *name)
{
	char path[128];
	int v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%d", &v) != 1)
		v = -EIO;
	fclose(f);
	return v;
}

static int unload_module(const char *name, int timeout_ms, char *err,
			 size_t len)
{
	uint64_t end = nl_now_ms() + timeout_ms;
	int ret;

	for (;;) {
		ret = syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
		if (ret != -EWOULDBLOCK && ret != -EBUSY)
			break;
		if (nl_now_ms() > end)
			break;
		nl_kick_cpus();
		usleep(50000);
	}
	if (ret)
		snprintf(err, len, "delete_module(%s): %s (refcnt %d after %d ms)",
			 name, strerror(-ret), nl_module_refcnt(name), timeout_ms);
	return ret;
}

static int load_module(const char *path, char *err, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, len, "open %s: %s", path, strerror(errno));
		return ret;
	}
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	if (ret)
		snprintf(err, len, "finit_module(%s): %s", path, strerror(-ret));
	return ret;
}

const char *nl_kmod_dir(void)
{
	const char *dir = getenv("UNIFIED_IO_KMOD_DIR");

	if (!dir || !*dir)
		dir = getenv("UNIFIED_IO_REPO");
	return dir && *dir ? dir : NULL;
}

static int kmod_paths(char *uior, char *nic, size_t n, char *err, size_t len)
{
	const char *dir = nl_kmod_dir();

	if (!dir) {
		snprintf(err, len,
			 "neither UNIFIED_IO_KMOD_DIR nor UNIFIED_IO_REPO is set");
		return -ENOENT;
	}
	snprintf(uior, n, "%s/drivers/unified_io/unified_io.ko", dir);
	snprintf(nic, n, "%s/drivers/unio_nic/unio_nic.ko", dir);
	return 0;
}

int nl_nic_load(char *err, size_t len)
{
	char uior[512], nic[512];
	int ret;

	if (!access("/sys/module/unio_nic", F_OK))
		return 0;
	ret = kmod_paths(uior, nic, sizeof(uior), err, len);
	if (ret)
		return ret;
	if (access(nic, R_OK)) {
		snprintf(err, len, "%s: %s", nic, strerror(errno));
		return -ENOENT;
	}
	ret = load_module(nic, err, len);
	return ret == -EEXIST ? 0 : ret;
}

int nl_modules_unload(int timeout_ms, bool nic, char *err, size_t len)
{
	int ret = unload_module("unified_io", timeout_ms, err, len);

	if (!ret && nic && !access("/sys/module/unio_nic", F_OK))
		ret = unload_module("unio_nic", timeout_ms, err, len);
	return ret;
}

int nl_modules_load(bool nic, char *err, size_t len)
{
	char uior[512], nicp[512];
	int ret;

	ret = kmod_paths(uior, nicp, sizeof(uior), err, len);
	if (ret)
		return ret;
	if (access("/sys/module/unified_io", F_OK)) {
		ret = load_module(uior, err, len);
		if (ret)
			return ret;
	}
	if (nic && access("/sys/module/unio_nic", F_OK)) {
		ret = load_module(nicp, err, len);
		if (ret)
			return ret;
	}
	/* No udev: devtmpfs creates the node; wait for it. */
	for (int i = 0; i < 250 && access(UNIFIED_IO_DEVICE, F_OK); i++)
		usleep(20000);
	if (access(UNIFIED_IO_DEVICE, F_OK)) {
		snprintf(err, len, "%s did not appear", UNIFIED_IO_DEVICE);
		return -ENODEV;
	}
	return 0;
}
