// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/*
 * unio_explain() (since 1.5): what an errno of a set-up call means, in words
 * that name the limit, the option or the privilege, for tools and logs.
 *
 * The kernel answers SETUP, NET_BIND and ATTACH_BPF with one errno for
 * several causes (E2BIG for any of four limits, ENOMEM for RLIMIT_MEMLOCK
 * and for a failed allocation alike). What user space can decide, it
 * decides here from the options of the failed call, in the order the
 * module checks them (drivers/unified_io/region.c uior_check_setup(),
 * uior_layout(), uior_account()); what it cannot, it lists. Every errno
 * and its causes are those include/uapi/linux/unified_io.h documents.
 *
 * Nothing here changes state or keeps any: the functions only read the
 * options, the process's limits and capabilities, and sysfs.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "internal.h"

#define UNIO_VM_HINT	"load unified_io.ko (modprobe unified_io, or insmod " \
			"build/kmod/KERNEL/unified_io.ko) or run inside tools/vm/run"

struct unio_msg {
	char *buf;
	size_t size;
	size_t len;	/* what the whole message needs, as snprintf counts */
};

static void __attribute__((format(printf, 2, 3)))
unio_msg_add(struct unio_msg *m, const char *fmt, ...)
{
	size_t room = m->len < m->size ? m->size - m->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? m->buf + m->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		m->len += n;
}

/* "4 KiB", "1 GiB", or the byte count when not a whole number of KiB. */
static const char *unio_size_str(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	unsigned int u = 0;

	while (u < 6 && v && !(v & 1023)) {
		v >>= 10;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)v, units[u]);
	return buf;
}

static bool unio_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/*
 * Whether this process is in the initial user namespace: the kernel's
 * capable(), which exempts CAP_IPC_LOCK from RLIMIT_MEMLOCK, looks there,
 * while capget() reports the capabilities of the caller's own namespace (a
 * rootless container's "root" has them all).
 */
static bool unio_init_user_ns(void)
{
	unsigned long inside, outside, count;
	bool init;
	FILE *f;

	f = fopen("/proc/self/uid_map", "re");
	if (!f)
		return true;	/* no /proc: nothing better to go by */
	/* The initial namespace maps all of it; a new one nothing, or less. */
	init = fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3 &&
	       !inside && !outside && count == 4294967295UL;
	fclose(f);
	return init;
}

/* @cap as the kernel's capable() sees it. */
static bool unio_has_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (!unio_init_user_ns())
		return false;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap);
}

static const char *unio_dev_path(const struct unio_region_opts *opts)
{
	const char *path = UNIO_OPTS_GET(opts, dev_path, NULL);

	return path ? path : UNIFIED_IO_DEVICE;
}

static void unio_explain_open(struct unio_msg *m, int err,
			      const struct unio_region_opts *opts)
{
	const char *dev = unio_dev_path(opts);

	switch (err) {
	case ENOENT:
		if (strcmp(dev, UNIFIED_IO_DEVICE))
			unio_msg_add(m, "%s does not exist: check the path (the "
				     "module's device is " UNIFIED_IO_DEVICE ")",
				     dev);
		else if (access("/sys/module/unified_io", F_OK))
			unio_msg_add(m, "%s does not exist: the unified_io module "
				     "is not loaded; " UNIO_VM_HINT, dev);
		else
			unio_msg_add(m, "%s does not exist although the unified_io "
				     "module is loaded: /dev is not devtmpfs, or a "
				     "udev rule removed or renamed the node", dev);
		break;
	case ENODEV:
	case ENXIO:
		unio_msg_add(m, "no driver behind %s (a node left over from an "
			     "unloaded module); " UNIO_VM_HINT, dev);
		break;
	case EACCES:
	case EPERM:
		unio_msg_add(m, "no permission to open %s for reading and "
			     "writing: run as root, or give the device a group "
			     "with a udev rule (KERNEL==\"unified_io_region\", "
			     "GROUP=\"unified-io\", MODE=\"0660\") and join it", dev);
		break;
	case ENOTDIR:
	case EISDIR:
	case ELOOP:
	case ENAMETOOLONG:
		unio_msg_add(m, "%s is not a device node path", dev);
		break;
	default:
		unio_msg_add(m, "opening %s: %s", dev, strerror(err));
		break;
	}
}

/* The kernel's region size for @s (uior_layout()), or 0 past the limits. */
static uint64_t unio_region_bytes(const struct unified_io_setup *s,
				  uint32_t cq_entries, uint64_t page)
{
	uint64_t nr_bufs = s->data_size / s->buf_size, rfq = 1, desc;

	if (nr_bufs > UNIFIED_IO_MAX_BUFS)
		return 0;
	while (rfq < nr_bufs)
		rfq <<= 1;
	desc = (uint64_t)s->sq_entries * sizeof(struct unified_io_desc) +
	       (uint64_t)cq_entries * sizeof(struct unified_io_cqe);
	desc = (desc + 63) & ~63ULL;
	desc += nr_bufs * sizeof(struct unified_io_buf_entry);
	desc = (desc + 63) & ~63ULL;
	desc += rfq * sizeof(struct unified_io_rfqe);
	desc = (desc + page - 1) / page * page;
	return page + desc + s->data_size;
}

static bool unio_node_online(int node)
{
	char path[64];

	if (node < 0)
		return false;
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", node);
	/* No NUMA sysfs at all: only node 0 exists. */
	if (access("/sys/devices/system/node", F_OK))
		return node == 0;
	return !access(path, F_OK);
}

/* SETUP's EINVAL: the first check of uior_check_setup() @s fails. */
static bool unio_setup_einval(struct unio_msg *m, const struct unified_io_setup *s,
			      uint64_t page)
{
	const uint32_t known = UNIFIED_IO_SETUP_F_HUGE_PAGES |
			       UNIFIED_IO_SETUP_F_NUMA_NODE;
	char b1[32], b2[32];

	if (s->flags & ~known) {
		unio_msg_add(m, "flags 0x%x: unknown bits 0x%x (the flags are "
			     "UNIFIED_IO_SETUP_F_HUGE_PAGES and "
			     "UNIFIED_IO_SETUP_F_NUMA_NODE)", s->flags,
			     s->flags & ~known);
	} else if ((s->flags & UNIFIED_IO_SETUP_F_NUMA_NODE) &&
		   !unio_node_online(s->numa_node)) {
		unio_msg_add(m, "numa_node %d is not an online NUMA node "
			     "(/sys/devices/system/node/online)", s->numa_node);
	} else if (!unio_is_pow2(s->sq_entries)) {
		unio_msg_add(m, "sq_entries %u is not a power of two from 1 to %u",
			     s->sq_entries, UNIFIED_IO_MAX_ENTRIES);
	} else if (s->cq_entries && (!unio_is_pow2(s->cq_entries) ||
				     s->cq_entries < s->sq_entries)) {
		unio_msg_add(m, "cq_entries %u is not a power of two from "
			     "sq_entries (%u) to %u (0: twice sq_entries)",
			     s->cq_entries, s->sq_entries, UNIFIED_IO_MAX_ENTRIES);
	} else if (!unio_is_pow2(s->buf_size) || s->buf_size < page) {
		unio_msg_add(m, "buf_size %u is not a power of two from the page "
			     "size (%s) to %s", s->buf_size,
			     unio_size_str(page, b1, sizeof(b1)),
			     unio_size_str(UNIFIED_IO_MAX_BUF_SIZE, b2, sizeof(b2)));
	} else if (s->data_size % s->buf_size) {
		unio_msg_add(m, "data_size %llu is not a multiple of buf_size "
			     "(%s)", (unsigned long long)s->data_size,
			     unio_size_str(s->buf_size, b1, sizeof(b1)));
	} else {
		return false;
	}
	return true;
}

/* SETUP's E2BIG: the limit of uior_layout() @s is above. */
static bool unio_setup_e2big(struct unio_msg *m, const struct unified_io_setup *s,
			     uint32_t cq_entries)
{
	char b1[32], b2[32];

	if (s->sq_entries > UNIFIED_IO_MAX_ENTRIES) {
		unio_msg_add(m, "sq_entries %u is above the limit of %u "
			     "(UNIFIED_IO_MAX_ENTRIES)", s->sq_entries,
			     UNIFIED_IO_MAX_ENTRIES);
	} else if (cq_entries > UNIFIED_IO_MAX_ENTRIES) {
		unio_msg_add(m, "cq_entries %u is above the limit of %u "
			     "(UNIFIED_IO_MAX_ENTRIES)", cq_entries,
			     UNIFIED_IO_MAX_ENTRIES);
	} else if (s->buf_size > UNIFIED_IO_MAX_BUF_SIZE) {
		unio_msg_add(m, "buf_size %s is above the limit of %s "
			     "(UNIFIED_IO_MAX_BUF_SIZE)",
			     unio_size_str(s->buf_size, b1, sizeof(b1)),
			     unio_size_str(UNIFIED_IO_MAX_BUF_SIZE, b2, sizeof(b2)));
	} else if (s->data_size > UNIFIED_IO_MAX_DATA_SIZE) {
		unio_msg_add(m, "data_size %s is above the 1 GiB cap "
			     "(UNIFIED_IO_MAX_DATA_SIZE: one io_uring fixed "
			     "buffer covers at most 1 GiB)",
			     unio_size_str(s->data_size, b1, sizeof(b1)));
	} else if (s->data_size / s->buf_size > UNIFIED_IO_MAX_BUFS) {
		unio_msg_add(m, "data_size / buf_size is %llu buffers, above the "
			     "limit of %u (UNIFIED_IO_MAX_BUFS): use larger buffers",
			     (unsigned long long)(s->data_size / s->buf_size),
			     UNIFIED_IO_MAX_BUFS);
	} else {
		return false;
	}
	return true;
}

/*
 * SETUP's ENOMEM: RLIMIT_MEMLOCK (checked first, unless CAP_IPC_LOCK) or
 * the allocation itself (the memory cgroup, or no memory). @need is the
 * region's size, 0 if unknown.
 */
static void unio_setup_enomem(struct unio_msg *m, uint64_t need)
{
	char b1[32], b2[32];
	struct rlimit rl;

	if (unio_has_cap(CAP_IPC_LOCK)) {
		unio_msg_add(m, "the kernel could not allocate the region%s%s "
			     "(out of memory, or the memory cgroup's limit); "
			     "RLIMIT_MEMLOCK does not apply with CAP_IPC_LOCK",
			     need ? " of " : "",
			     need ? unio_size_str(need, b1, sizeof(b1)) : "");
		return;
	}
	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY) {
		unio_msg_add(m, "the kernel could not allocate the region%s%s "
			     "(out of memory, or the memory cgroup's limit)",
			     need ? " of " : "",
			     need ? unio_size_str(need, b1, sizeof(b1)) : "");
		return;
	}
	unio_size_str(rl.rlim_cur, b2, sizeof(b2));
	if (need > rl.rlim_cur)
		unio_msg_add(m, "the region needs %s of locked memory, more than "
			     "RLIMIT_MEMLOCK allows (ulimit -l: %s): raise the "
			     "limit (ulimit -l, prlimit --memlock, limits.conf) "
			     "or run with CAP_IPC_LOCK",
			     unio_size_str(need, b1, sizeof(b1)), b2);
	else
		unio_msg_add(m, "the region%s%s and the memory this user has "
			     "locked already (other regions, io_uring buffers) "
			     "exceed RLIMIT_MEMLOCK (ulimit -l: %s), or the "
			     "system is out of memory: raise the limit (ulimit "
			     "-l, prlimit --memlock, limits.conf) or run with "
			     "CAP_IPC_LOCK", need ? " of " : "",
			     need ? unio_size_str(need, b1, sizeof(b1)) : "", b2);
}

static void unio_explain_setup(struct unio_msg *m, int err,
			       const struct unio_region_opts *opts)
{
	uint64_t page = sysconf(_SC_PAGESIZE), need = 0;
	struct unio_msg scratch = { 0 };
	struct unified_io_setup s;
	uint32_t cq_entries;
	char b1[32], b2[32];

	unio_setup_fill(opts, &s);
	cq_entries = s.cq_entries;
	if (!cq_entries) {
		cq_entries = s.sq_entries <= UNIFIED_IO_MAX_ENTRIES / 2 ?
			     2 * s.sq_entries : UNIFIED_IO_MAX_ENTRIES;
		if (cq_entries < s.sq_entries)
			cq_entries = s.sq_entries;
	}

	switch (err) {
	case EINVAL:
		if (opts && opts->sz < sizeof(opts->sz)) {
			unio_msg_add(m, "opts->sz %zu is smaller than the size "
				     "field itself (declare the options with "
				     "UNIO_OPTS())", opts->sz);
			break;
		}
		/* The library's own check, before SETUP: the first made. */
		if (UNIO_OPTS_GET(opts, ring, UNIO_RING_MODULE) > UNIO_RING_IO_URING) {
			unio_msg_add(m, "ring %u is not UNIO_RING_MODULE (0), "
				     "UNIO_RING_AUTO (1) or UNIO_RING_IO_URING (2)",
				     opts->ring);
			break;
		}
		if (unio_setup_einval(m, &s, page))
			break;
		unio_msg_add(m, "invalid argument: a NULL region or output "
			     "pointer, or the module refused options this "
			     "library finds valid (a module older than the "
			     "library?); the limits: sq_entries and cq_entries "
			     "powers of two (cq_entries at least sq_entries), "
			     "buf_size a power of two from the page size (%s) to "
			     "%s, data_size a non-zero multiple of buf_size, "
			     "numa_node an online node, flags known",
			     unio_size_str(page, b1, sizeof(b1)),
			     unio_size_str(UNIFIED_IO_MAX_BUF_SIZE, b2, sizeof(b2)));
		break;
	case E2BIG:
		if (opts && unio_opts_check(opts, sizeof(*opts)) == -E2BIG) {
			unio_msg_add(m, "the options struct has non-zero fields "
				     "this libunifiedio does not know (opts->sz "
				     "%zu, this library's %zu): built against a "
				     "newer libunifiedio", opts->sz, sizeof(*opts));
			break;
		}
		if (unio_setup_e2big(m, &s, cq_entries))
			break;
		unio_msg_add(m, "a size is above its limit (a module older than "
			     "the library?): sq_entries and "
			     "cq_entries at most %u, buf_size at most %s, "
			     "data_size at most 1 GiB (UNIFIED_IO_MAX_DATA_SIZE: "
			     "one io_uring fixed buffer), at most %u buffers",
			     UNIFIED_IO_MAX_ENTRIES,
			     unio_size_str(UNIFIED_IO_MAX_BUF_SIZE, b1, sizeof(b1)),
			     UNIFIED_IO_MAX_BUFS);
		break;
	case EOVERFLOW:
		if (s.data_size > UNIFIED_IO_MAX_DATA_SIZE)
			unio_msg_add(m, "the region's size overflows: data_size "
				     "%llu is far above the 1 GiB cap "
				     "(UNIFIED_IO_MAX_DATA_SIZE)",
				     (unsigned long long)s.data_size);
		else if (!opts)
			unio_msg_add(m, "the region's size overflows: data_size "
				     "is far above the 1 GiB cap "
				     "(UNIFIED_IO_MAX_DATA_SIZE)");
		else
			unio_msg_add(m, "the region's size overflows, which only "
				     "a data_size near 2^64 does, but these "
				     "options' data_size is within the 1 GiB cap: "
				     "the failed call had other options");
		break;
	case ENOMEM:
		/* Sized only if no check would have refused the options first. */
		if (!unio_setup_einval(&scratch, &s, page) &&
		    !unio_setup_e2big(&scratch, &s, cq_entries))
			need = unio_region_bytes(&s, cq_entries, page);
		unio_setup_enomem(m, need);
		break;
	case EOPNOTSUPP:
		unio_msg_add(m, "ring UNIO_RING_IO_URING asks for the region's "
			     "operations on io_uring, and this module does not "
			     "run them there (no UNIFIED_IO_FEAT_URING_CMD): use "
			     "UNIO_RING_AUTO, which falls back to the module's "
			     "ring, or UNIO_RING_MODULE");
		break;
	case EBUSY:
		unio_msg_add(m, "this open of the device has a region already "
			     "(one SETUP per open; open the device again for "
			     "another region)");
		break;
	case EPROTO:
		unio_msg_add(m, "the module returned a region layout this "
			     "libunifiedio cannot map (module and library from "
			     "different versions?)");
		break;
	case EINTR:
		unio_msg_add(m, "a signal interrupted the set-up; nothing was "
			     "created");
		break;
	case ENOTTY:
		unio_msg_add(m, "%s is not the unified_io device (it knows no "
			     "UNIFIED_IO_SETUP)", unio_dev_path(opts));
		break;
	case ENOENT:
	case ENODEV:
	case ENXIO:
	case EACCES:
	case EPERM:
	case ENOTDIR:
	case EISDIR:
	case ELOOP:
	case ENAMETOOLONG:
		/* SETUP itself returns none of these: the open failed. */
		unio_explain_open(m, err, opts);
		break;
	default:
		unio_msg_add(m, "%s", strerror(err));
		break;
	}
}

static void unio_explain_net_bind(struct unio_msg *m, int err)
{
	char b1[32];

	switch (err) {
	case EPERM:
		unio_msg_add(m, "NET_BIND needs CAP_NET_ADMIN in the initial user "
			     "namespace (run as root; a user namespace's "
			     "CAP_NET_ADMIN is not enough)");
		break;
	case ENODEV:
		unio_msg_add(m, "no interface with that index in this network "
			     "namespace");
		break;
	case EOPNOTSUPP:
		unio_msg_add(m, "the interface cannot take a memory provider (no "
			     "queue management, as veth and lo; or no DMA "
			     "device), or this kernel lets no module provide "
			     "page pool memory (no UNIFIED_IO_FEAT_NET_PROVIDER: "
			     "boot a kernel with kernel/patches/, or use io_uring "
			     "zero-copy receive into the region, "
			     "unio_zcrx_register())");
		break;
	case ERANGE:
		unio_msg_add(m, "rxq is not below the interface's number of "
			     "receive queues");
		break;
	case EEXIST:
		unio_msg_add(m, "the queue has a memory provider already "
			     "(another region, io_uring zcrx, devmem), or an XDP "
			     "program is attached to the interface");
		break;
	case EINVAL:
		unio_msg_add(m, "nr_bufs is 0, the region's buf_size is not the "
			     "page size (%s), or the interface does not split "
			     "headers (ethtool -G IFNAME tcp-data-split on "
			     "hds-thresh 0)",
			     unio_size_str(sysconf(_SC_PAGESIZE), b1, sizeof(b1)));
		break;
	case ENOBUFS:
		unio_msg_add(m, "the region has fewer free buffers than nr_bufs: "
			     "free some, or lend fewer");
		break;
	case EBUSY:
		unio_msg_add(m, "the region is bound already, or buffers of its "
			     "last binding are still out: retry for a few seconds "
			     "(page pools return them about once a second)");
		break;
	case EBADFD:
		unio_msg_add(m, "the region is not set up yet (unio_region_setup())");
		break;
	case ENOMEM:
		unio_msg_add(m, "out of memory for the binding (or for the DMA "
			     "mapping of the lent buffers)");
		break;
	case EINTR:
		unio_msg_add(m, "a signal interrupted NET_BIND; nothing was bound");
		break;
	case ENOTTY:
		unio_msg_add(m, "the module knows no NET_BIND (older than "
			     "UNIFIED_IO_FEAT_NET_RECV)");
		break;
	default:
		unio_msg_add(m, "%s", strerror(err));
		break;
	}
}

static void unio_explain_bpf_attach(struct unio_msg *m, int err)
{
	switch (err) {
	case EPERM:
		unio_msg_add(m, "attaching a BPF program needs CAP_BPF or "
			     "CAP_SYS_ADMIN (run as root)");
		break;
	case EBADF:
		unio_msg_add(m, "prog_fd is not an open file");
		break;
	case EINVAL:
		unio_msg_add(m, "prog_fd is not a loaded XDP program "
			     "(BPF_PROG_TYPE_XDP), is offloaded to a device, or "
			     "was loaded for a devmap or cpumap entry (expected "
			     "attach type BPF_XDP_DEVMAP or BPF_XDP_CPUMAP)");
		break;
	case ENODEV:
		unio_msg_add(m, "the program is bound to a device (XDP hints, "
			     "BPF_F_XDP_DEV_BOUND_ONLY): a region has none");
		break;
	case EOPNOTSUPP:
		unio_msg_add(m, "the program uses frags (SEC(\"xdp.frags\"), "
			     "BPF_F_XDP_HAS_FRAGS): region buffers are linear");
		break;
	case EEXIST:
		unio_msg_add(m, "the program is in the region's chain already");
		break;
	case ENOSPC:
		unio_msg_add(m, "the region's chain has %u programs already "
			     "(UNIFIED_IO_BPF_MAX_PROGS): detach one first",
			     UNIFIED_IO_BPF_MAX_PROGS);
		break;
	case EBADFD:
		unio_msg_add(m, "the region is not set up yet (unio_region_setup())");
		break;
	case ENOMEM:
		unio_msg_add(m, "out of memory for the chain or for the kernel's "
			     "mapping of the data area the programs run over");
		break;
	case ENOTTY:
		unio_msg_add(m, "the module knows no ATTACH_BPF (older than "
			     "UNIFIED_IO_FEAT_BPF)");
		break;
	default:
		unio_msg_add(m, "%s", strerror(err));
		break;
	}
}

UNIO_API int unio_explain(unsigned int call, int err,
			  const struct unio_region_opts *opts, char *buf,
			  size_t size)
{
	struct unio_msg m = { .buf = buf, .size = size };

	if ((!buf && size) || err == INT_MIN ||
	    call < UNIO_CALL_OPEN || call > UNIO_CALL_BPF_ATTACH)
		return -EINVAL;
	if (size)
		buf[0] = '\0';
	if (err < 0)
		err = -err;

	switch (call) {
	case UNIO_CALL_OPEN:
		unio_explain_open(&m, err, opts);
		break;
	case UNIO_CALL_SETUP:
		unio_explain_setup(&m, err, opts);
		break;
	case UNIO_CALL_NET_BIND:
		unio_explain_net_bind(&m, err);
		break;
	default:
		unio_explain_bpf_attach(&m, err);
		break;
	}
	return m.len > INT_MAX ? INT_MAX : (int)m.len;
}
