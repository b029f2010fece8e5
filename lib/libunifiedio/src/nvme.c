// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/*
 * NVMe namespaces attached to a region: discovery and lifetime.
 *
 * A region gets its NVMe side (struct unio_nvme_ring) at the first
 * unio_nvme_open(): one io_uring ring with 128-byte SQEs and 32-byte CQEs,
 * the data area registered once as fixed buffer 0 (at the first namespace
 * that uses it), a sparse fixed file table, and a table of command slots as
 * large as the region's CQ. Every namespace attached to the region shares
 * them. A namespace (struct unio_nvme) owns the fd of its generic char
 * device; unio_nvme_close() waits for its commands and detaches it.
 * unio_region_destroy() closes what is still attached, then the ring.
 *
 * Discovery never asks the user for what the kernel knows: the char device
 * and block device are matched through sysfs and device numbers, the nsid
 * (nvme_get_nsid()), the LBA size and capacity (nvme_identify_ns()) and
 * MDTS (nvme_identify_ctrl()) come through libnvme, the largest transfer
 * from the block queue's max_hw_sectors_kb and MDTS.  The sysfs matching
 * stays here: libnvme's own discovery (nvme_scan()) reads the host's NVMe
 * configuration and every controller and namespace of the machine, and
 * logs to standard error, to answer what two sysfs lookups answer.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>
#include <libnvme.h>

#include "internal.h"

/* NLB is a 16-bit 0-based field: at most 65536 blocks per command. */
#define NVME_MAX_NLB		65536U
/* Without sysfs or MDTS, a transfer every NVMe driver accepts. */
#define UNIO_NVME_FALLBACK_XFER	(128U << 10)

/* Read a small sysfs file into @buf, trailing newline removed. */
static int unio_sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static int unio_sysfs_u64(const char *path, uint64_t *val)
{
	char buf[64], *end;
	int ret;

	ret = unio_sysfs_read(path, buf, sizeof(buf));
	if (ret)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || end == buf || *end)
		return -EINVAL;
	return 0;
}

/* "MAJ:MIN" of a sysfs dev attribute. */
static int unio_sysfs_devt(const char *path, dev_t *devt)
{
	unsigned int maj, min;
	char buf[64], tail;
	int ret;

	ret = unio_sysfs_read(path, buf, sizeof(buf));
	if (ret)
		return ret;
	if (sscanf(buf, "%u:%u%c", &maj, &min, &tail) != 2)
		return -EINVAL;
	*devt = makedev(maj, min);
	return 0;
}

/* Last component of the symlink or directory @path resolves to. */
static int unio_sysfs_basename(const char *path, char *name, size_t len)
{
	char real[PATH_MAX];
	const char *base;

	if (!realpath(path, real))
		return -errno;
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(name, base);
	return 0;
}

/* Both sysfs device links name the same controller (or subsystem). */
static bool unio_same_parent(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (!realpath(a, ra) || !realpath(b, rb))
		return false;
	return strcmp(ra, rb) == 0;
}

/*
 * Find the device node of @devt: /dev/@name if it is that device, else
 * /dev/char or /dev/block/MAJ:MIN. Empty when there is none.
 */
static void unio_find_node(const char *name, bool chr, dev_t devt, char *out,
			   size_t len)
{
	struct stat st;

	snprintf(out, len, "/dev/%s", name);
	if (!stat(out, &st) && (chr ? S_ISCHR(st.st_mode) : S_ISBLK(st.st_mode)) &&
	    st.st_rdev == devt)
		return;
	snprintf(out, len, "/dev/%s/%u:%u", chr ? "char" : "block",
		 major(devt), minor(devt));
	if (!stat(out, &st) && (chr ? S_ISCHR(st.st_mode) : S_ISBLK(st.st_mode)) &&
	    st.st_rdev == devt)
		return;
	out[0] = '\0';
}

/*
 * Names: block "nvme<A>n<B>" (or the multipath path device "nvme<S>c<A>n<B>")
 * goes with generic char device "ng<A>n<B>" and back.
 */
static int unio_block_to_char_name(const char *bname, char *cname, size_t len)
{
	unsigned int a, b, c;
	int n = 0;

	if (sscanf(bname, "nvme%un%u%n", &a, &b, &n) == 2 && !bname[n])
		return snprintf(cname, len, "ng%un%u", a, b) < (int)len ? 0 : -ENAMETOOLONG;
	n = 0;
	if (sscanf(bname, "nvme%uc%un%u%n", &c, &a, &b, &n) == 3 && !bname[n])
		return snprintf(cname, len, "ng%un%u", a, b) < (int)len ? 0 : -ENAMETOOLONG;
	return -ENODEV;
}

/* Resolution result: the generic char device and its block device. */
struct unio_nvme_paths {
	char cname[64];		/* sysfs name, ngXnY */
	char bname[64];		/* sysfs name, nvmeXnY, "" if none */
	char char_dev[256];
	char block_dev[256];
	dev_t cdevt;
};

/* @bname is a whole NVMe namespace block device whose char twin is cname. */
static bool unio_block_matches(const struct unio_nvme_paths *p, const char *bname)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct stat st;

	snprintf(a, sizeof(a), "/sys/class/block/%s/nsid", bname);
	if (stat(a, &st))
		return false;
	snprintf(a, sizeof(a), "/sys/class/block/%s/partition", bname);
	if (!stat(a, &st))
		return false;
	snprintf(a, sizeof(a), "/sys/class/block/%s/device", bname);
	snprintf(b, sizeof(b), "/sys/class/nvme-generic/%s/device", p->cname);
	return unio_same_parent(a, b);
}

static int unio_nvme_resolve(const char *path, struct unio_nvme_paths *p)
{
	char sys[PATH_MAX], name[64];
	struct stat st;
	dev_t devt;
	int ret;

	memset(p, 0, sizeof(*p));
	if (stat(path, &st))
		return -errno;

	if (S_ISCHR(st.st_mode)) {
		snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/subsystem",
			 major(st.st_rdev), minor(st.st_rdev));
		if (unio_sysfs_basename(sys, name, sizeof(name)) ||
		    strcmp(name, "nvme-generic"))
			return -ENODEV;
		snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u",
			 major(st.st_rdev), minor(st.st_rdev));
		ret = unio_sysfs_basename(sys, p->cname, sizeof(p->cname));
		if (ret)
			return -ENODEV;
		if (strlen(path) >= sizeof(p->char_dev))
			return -ENAMETOOLONG;
		strcpy(p->char_dev, path);
		p->cdevt = st.st_rdev;
		/* The block twin, if the kernel made one. */
		if (p->cname[0] == 'n' && p->cname[1] == 'g') {
			snprintf(name, sizeof(name), "nvme%s", p->cname + 2);
			if (unio_block_matches(p, name))
				strcpy(p->bname, name);
		}
	} else if (S_ISBLK(st.st_mode)) {
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u",
			 major(st.st_rdev), minor(st.st_rdev));
		if (unio_sysfs_basename(sys, name, sizeof(name)))
			return -ENODEV;
		if (unio_block_to_char_name(name, p->cname, sizeof(p->cname)))
			return -ENODEV;
		snprintf(sys, sizeof(sys), "/sys/class/nvme-generic/%s/dev", p->cname);
		if (unio_sysfs_devt(sys, &p->cdevt))
			return -ENODEV;
		if (!unio_block_matches(p, name))
			return -ENODEV;
		strcpy(p->bname, name);
		unio_find_node(p->cname, true, p->cdevt, p->char_dev,
			       sizeof(p->char_dev));
		if (!p->char_dev[0])
			return -ENOENT;	/* no node for the char device */
		if (strlen(path) < sizeof(p->block_dev))
			strcpy(p->block_dev, path);
	} else {
		return -ENODEV;
	}

	if (p->bname[0] && !p->block_dev[0]) {
		snprintf(sys, sizeof(sys), "/sys/class/block/%s/dev", p->bname);
		if (!unio_sysfs_devt(sys, &devt))
			unio_find_node(p->bname, false, devt, p->block_dev,
				       sizeof(p->block_dev));
	}
	return 0;
}

/* libnvme's result: 0, -1 with errno, or a positive NVMe status. */
static int unio_nvme_err(int ret)
{
	if (ret < 0)
		return errno ? -errno : -EIO;
	return ret ? -EIO : 0;
}

/*
 * What the block layer maps without a bounce copy (blk_rq_map_user_iov()):
 * segments aligned to the queue's DMA alignment, meeting at its virtual
 * boundary if it has one (no SGLs: PRPs), at most max_segments of them.
 * Without a block device to ask, the strictest NVMe values.
 */
static void unio_nvme_gather_limits(struct unio_nvme *ns, const char *bname)
{
	uint64_t v;
	char sys[PATH_MAX];

	ns->dma_align = 4096;
	ns->virt_boundary = 4095;
	ns->max_segs = 127;
	if (!bname[0])
		return;
	snprintf(sys, sizeof(sys), "/sys/class/block/%s/queue/dma_alignment", bname);
	if (!unio_sysfs_u64(sys, &v) && v < (1U << 20) && !(v & (v + 1)))
		ns->dma_align = v + 1;
	snprintf(sys, sizeof(sys), "/sys/class/block/%s/queue/virt_boundary_mask", bname);
	if (!unio_sysfs_u64(sys, &v) && !(v & (v + 1)))
		ns->virt_boundary = v;
	snprintf(sys, sizeof(sys), "/sys/class/block/%s/queue/max_segments", bname);
	if (!unio_sysfs_u64(sys, &v) && v && v <= UINT16_MAX)
		ns->max_segs = v;
}

/* nsid, LBA format, capacity, transfer limits. */
static int unio_nvme_discover(struct unio_nvme *ns, const struct unio_nvme_paths *p)
{
	struct nvme_id_ctrl *ctrl;
	struct nvme_id_ns *id;
	uint64_t kb, wz;
	uint32_t ds, ms, mdts_bytes = 0, sysfs_bytes = 0;
	uint8_t lbaf;
	char sys[PATH_MAX];
	__u32 nsid;
	int ret;

	if (nvme_get_nsid(ns->fd, &nsid) || !nsid)
		return -ENODEV;
	ns->nsid = nsid;

	/* Identify data is DMA'd: page-aligned buffers, as nvme-cli uses. */
	id = aligned_alloc(4096, sizeof(*id));
	if (!id)
		return -ENOMEM;
	memset(id, 0, sizeof(*id));
	ret = unio_nvme_err(nvme_identify_ns(ns->fd, ns->nsid, id));
	if (ret) {
		free(id);
		return ret;
	}
	ns->nr_lbas = le64toh(id->nsze);
	/* FLBAS bits 3:0, and bits 6:5 above them with more than 16 formats. */
	nvme_id_ns_flbas_to_lbaf_inuse(id->flbas, &lbaf);	/* 6 bits: < 64 */
	if (id->nlbaf < 16)
		lbaf &= 0xf;
	ms = le16toh(id->lbaf[lbaf].ms);
	ds = id->lbaf[lbaf].ds;
	free(id);
	if (!ns->nr_lbas)
		return -ENODEV;		/* inactive namespace */
	if (ms || ds < 9 || ds > 16)
		return -EOPNOTSUPP;	/* metadata, or an LBA size we refuse */
	ns->lba_shift = ds;
	ns->lba_size = 1U << ds;

	/* MDTS in units of the minimum page size, taken as 4 KiB. */
	ctrl = aligned_alloc(4096, sizeof(*ctrl));
	if (!ctrl)
		return -ENOMEM;
	memset(ctrl, 0, sizeof(*ctrl));
	if (!unio_nvme_err(nvme_identify_ctrl(ns->fd, ctrl)) && ctrl->mdts &&
	    ctrl->mdts < 20)
		mdts_bytes = 4096U << ctrl->mdts;
	free(ctrl);

	if (p->bname[0]) {
		snprintf(sys, sizeof(sys), "/sys/class/block/%s/queue/max_hw_sectors_kb",
			 p->bname);
		if (!unio_sysfs_u64(sys, &kb) && kb && kb <= (UINT32_MAX >> 10))
			sysfs_bytes = kb << 10;
	}
	if (sysfs_bytes && mdts_bytes)
		ns->max_transfer = sysfs_bytes < mdts_bytes ? sysfs_bytes : mdts_bytes;
	else
		ns->max_transfer = sysfs_bytes ?: mdts_bytes ?: UNIO_NVME_FALLBACK_XFER;
	ns->max_io_lbas = ns->max_transfer >> ns->lba_shift;
	if (!ns->max_io_lbas)
		return -EOPNOTSUPP;
	if (ns->max_io_lbas > NVME_MAX_NLB)
		ns->max_io_lbas = NVME_MAX_NLB;
	ns->max_transfer = ns->max_io_lbas << ns->lba_shift;

	ns->max_wz_lbas = NVME_MAX_NLB;
	if (p->bname[0]) {
		snprintf(sys, sizeof(sys), "/sys/class/block/%s/queue/write_zeroes_max_bytes",
			 p->bname);
		if (!unio_sysfs_u64(sys, &wz) && (wz >> ns->lba_shift) &&
		    (wz >> ns->lba_shift) < NVME_MAX_NLB)
			ns->max_wz_lbas = wz >> ns->lba_shift;
	}
	unio_nvme_gather_limits(ns, p->bname);
	return 0;
}

static void unio_nvme_ring_free(struct unio_nvme_ring *nr)
{
	unio_uop_fini(nr);
	io_uring_queue_exit(&nr->ring);
	/*
	 * A gather's iovecs are read again when io-wq issues a piece after
	 * -EAGAIN, and the ring's exit cancels its requests asynchronously:
	 * a plan with pieces still in flight (a broken ring) is left, not
	 * freed under the kernel.
	 */
	for (uint32_t i = 0; i < nr->nr_cmds; i++)
		if (nr->cmds[i].done == nr->cmds[i].issued)
			unio_nvme_vec_free(&nr->cmds[i]);
	free(nr->br_mem);
	free(nr->uops);
	free(nr->cmds);
	free(nr);
}

/*
 * The ring is created by the first unio_nvme_open(), or by
 * unio_region_setup() when the unified path runs module operations on it.
 */
int unio_nvme_ring_create(struct unio_region *r)
{
	struct io_uring_params p;
	struct unio_nvme_ring *nr;
	uint32_t i;
	int ret;

	nr = calloc(1, sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	nr->nr_cmds = r->layout.cq.ring_entries;
	nr->cmds = calloc(nr->nr_cmds, sizeof(*nr->cmds));
	if (!nr->cmds) {
		free(nr);
		return -ENOMEM;
	}
	for (i = 0; i < nr->nr_cmds; i++)
		nr->cmds[i].next = i + 1 < nr->nr_cmds ? i + 1 : UNIO_NVME_NIL;
	nr->free_head = 0;
	nr->done_head = nr->done_tail = UNIO_NVME_NIL;
	nr->uop_free = UNIO_NVME_NIL;
	nr->r = r;

	/*
	 * COOP_TASKRUN: completions wait for the next entry into the kernel;
	 * TASKRUN_FLAG says when there are some (IORING_SQ_TASKRUN), so that
	 * unio_reap() enters only then.
	 */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32 | IORING_SETUP_CQSIZE |
		  IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
		  IORING_SETUP_TASKRUN_FLAG;
	p.cq_entries = UNIO_NVME_MAX_QD;
	ret = io_uring_queue_init_params(UNIO_NVME_SQ_ENTRIES, &nr->ring, &p);
	if (ret == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32 | IORING_SETUP_CQSIZE;
		p.cq_entries = UNIO_NVME_MAX_QD;
		ret = io_uring_queue_init_params(UNIO_NVME_SQ_ENTRIES, &nr->ring, &p);
	}
	if (ret) {
		free(nr->cmds);
		free(nr);
		return ret;
	}
	/* Optional: plain fds work too. */
	nr->files_registered = !io_uring_register_files_sparse(&nr->ring,
							       UNIO_NVME_MAX_NS);
	r->nvme = nr;
	return 0;
}

static int unio_nvme_register_data(struct unio_region *r)
{
	struct unio_nvme_ring *nr = r->nvme;
	struct iovec iov;
	int ret;

	if (nr->bufs_registered)
		return 0;
	iov.iov_base = r->q.data;
	iov.iov_len = r->q.data_size;
	ret = io_uring_register_buffers(&nr->ring, &iov, 1);
	if (ret)
		return ret;
	nr->bufs_registered = true;
	return 0;
}

static void unio_nvme_free(struct unio_nvme *ns)
{
	if (ns->fd >= 0)
		close(ns->fd);
	free(ns);
}

UNIO_API int unio_nvme_open(struct unio_region *r, const char *path,
			    const struct unio_nvme_opts *opts,
			    struct unio_nvme **out)
{
	struct unio_nvme_paths p;
	struct unio_nvme_ring *nr;
	struct unio_nvme *ns;
	struct stat st;
	uint32_t qd, flags;
	unsigned int slot;
	int ret;

	if (!r || !r->map || !path || !out)
		return -EINVAL;
	ret = unio_opts_check(opts, sizeof(*opts));
	if (ret)
		return ret;
	qd = UNIO_OPTS_GET(opts, queue_depth, 0) ?: UNIO_NVME_DEF_QD;
	flags = UNIO_OPTS_GET(opts, flags, 0);
	if (qd > UNIO_NVME_MAX_QD || flags & ~UNIO_NVME_F_ALL)
		return -EINVAL;

	ret = unio_nvme_resolve(path, &p);
	if (ret)
		return ret;

	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	ns->r = r;
	ns->file_index = -1;
	ns->queue_depth = qd;
	ns->flags = flags;
	ns->bl_head = ns->bl_tail = UNIO_NVME_NIL;
	strcpy(ns->char_dev, p.char_dev);
	strcpy(ns->block_dev, p.block_dev);
	ns->fd = open(p.char_dev, O_RDWR | O_CLOEXEC);
	if (ns->fd < 0) {
		ret = -errno;
		goto free_ns;
	}
	/* The node opened is the device resolved (no swap in between). */
	if (fstat(ns->fd, &st) || !S_ISCHR(st.st_mode) || st.st_rdev != p.cdevt) {
		ret = -ENODEV;
		goto free_ns;
	}
	ret = unio_nvme_discover(ns, &p);
	if (ret)
		goto free_ns;

	if (!r->nvme) {
		ret = unio_nvme_ring_create(r);
		if (ret)
			goto free_ns;
	}
	nr = r->nvme;
	for (slot = 0; slot < UNIO_NVME_MAX_NS; slot++)
		if (nr->ns[slot] && nr->ns[slot]->nsid == ns->nsid) {
			ret = -EEXIST;
			goto free_ns;
		}
	for (slot = 0; slot < UNIO_NVME_MAX_NS && nr->ns[slot]; slot++)
		;
	if (slot == UNIO_NVME_MAX_NS) {
		ret = -EMFILE;
		goto free_ns;
	}
	if (!(flags & UNIO_NVME_F_NO_FIXED)) {
		ret = unio_nvme_register_data(r);
		if (ret)
			goto free_ns;
	}
	if (nr->files_registered &&
	    io_uring_register_files_update(&nr->ring, slot, &ns->fd, 1) == 1)
		ns->file_index = slot;

	ns->slot = slot;
	nr->ns[slot] = ns;
	*out = ns;
	return 0;

free_ns:
	unio_nvme_free(ns);
	return ret;
}

UNIO_API void unio_nvme_close(struct unio_nvme *ns)
{
	struct unio_nvme_ring *nr;
	int fd = -1;

	if (!ns)
		return;
	nr = ns->r->nvme;
	/*
	 * Issue what is queued and wait for all of it: the commands' unified
	 * completions stay in the done FIFO for unio_reap().
	 */
	while (ns->inflight || ns->bl_head != UNIO_NVME_NIL) {
		struct io_uring_cqe *cqe;

		unio_nvme_pump(nr);
		if (!ns->inflight)
			continue;
		if (io_uring_wait_cqe(&nr->ring, &cqe) < 0 &&
		    unio_nvme_process_cqes(nr) == 0)
			break;	/* the ring is broken; do not spin */
		unio_nvme_process_cqes(nr);
	}
	if (ns->file_index >= 0)
		io_uring_register_files_update(&nr->ring, ns->file_index, &fd, 1);
	nr->ns[ns->slot] = NULL;
	unio_nvme_free(ns);
}

UNIO_API int unio_nvme_get_info(const struct unio_nvme *ns,
				struct unio_nvme_info *info)
{
	if (!ns || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->nsid = ns->nsid;
	info->lba_size = ns->lba_size;
	info->nr_lbas = ns->nr_lbas;
	info->max_transfer = ns->max_transfer;
	info->queue_depth = ns->queue_depth;
	info->flags = ns->flags;
	info->dma_align = ns->dma_align;
	info->max_segs = ns->max_segs;
	info->gather_flags = ns->virt_boundary ? 0 : UNIO_NVME_GATHER_SGL;
	strcpy(info->char_dev, ns->char_dev);
	strcpy(info->block_dev, ns->block_dev);
	return 0;
}

void unio_nvme_region_fini(struct unio_region *r)
{
	struct unio_nvme_ring *nr = r->nvme;

	if (!nr)
		return;
	for (unsigned int i = 0; i < UNIO_NVME_MAX_NS; i++)
		if (nr->ns[i])
			unio_nvme_close(nr->ns[i]);
	unio_nvme_ring_free(nr);
	r->nvme = NULL;
}
