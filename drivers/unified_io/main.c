// SPDX-License-Identifier: GPL-2.0
/*
 * unified_io: the /dev/unified_io_region misc device and its ioctls.
 *
 * Object model: every open() allocates a struct uior_ctx, owned by the file.
 * UNIFIED_IO_SETUP gives the context its region once; the region is freed in
 * ->release, which runs after the last close() and the last munmap() (each
 * mapping holds a file reference). The file also holds a module reference
 * (fops.owner), so the module cannot be unloaded while a region exists.
 *
 * Every ioctl argument begins with a __u32 size; arguments are copied with
 * copy_struct_from_user() so that older and newer user space both work.
 *
 * Locking: no lock of its own but the region id allocator's (the xarray's);
 * SETUP, GET_INFO and fdinfo take ctx->lock, the other ioctls leave it to
 * the files they call.
 *
 * Calls: this file calls region.c, ring.c, recv.c, send.c, provider.c,
 * bpf.c and uring.c.
 */
#include <linux/fs.h>
#include <linux/xarray.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nsproxy.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <net/net_namespace.h>

#include "uior.h"

/* Largest ioctl argument accepted, whatever the page size. */
#define UIOR_ARG_MAX	SZ_4K

static_assert(sizeof(struct unified_io_desc) == 64);
static_assert(sizeof(struct unified_io_cqe) == 32);
static_assert(sizeof(struct unified_io_buf_entry) == 4);
static_assert(sizeof(struct unified_io_ring_offsets) == 32);
static_assert(sizeof(struct unified_io_region_layout) == 152);
static_assert(sizeof(struct unified_io_stats) == 208);
static_assert(sizeof(struct unified_io_config) == 64);
static_assert(sizeof(struct unified_io_setup) == 248);
static_assert(sizeof(struct unified_io_submit) == 80);
static_assert(sizeof(struct unified_io_complete) == 32);
static_assert(sizeof(struct unified_io_info) == 1240);
static_assert(sizeof(struct unified_io_send_info) == 96);
static_assert(sizeof(struct unified_io_net_info) == 160);
static_assert(sizeof(struct unified_io_net_bind) == 104);
static_assert(sizeof(struct unified_io_rfqe) == 16);
static_assert(sizeof(struct unified_io_bpf) == 32);
static_assert(sizeof(struct unified_io_bpf_meta) == 24);
static_assert(sizeof(struct unified_io_bpf_prog_info) == 64);
static_assert(offsetof(struct unified_io_desc, user_data) == 16);
static_assert(offsetof(struct unified_io_desc, pad) == 24);
static_assert(offsetof(struct unified_io_cqe, addr) == 16);
static_assert(ARRAY_SIZE(((struct unified_io_stats *)0)->ops) >=
	      UNIFIED_IO_OP_LAST);
static_assert(sizeof(struct uior_ctrl) <= SZ_4K);

/*
 * Region ids: GET_INFO, fdinfo and netdev netlink's module-provider id.
 * Handed out cyclically, so an id is not reused for a long while: page
 * pools report a region's id after the region is gone, until the stack
 * returns the last buffer.
 */
static DEFINE_XARRAY_ALLOC1(uior_ids);
static u32 uior_next_id;

static int uior_open(struct inode *inode, struct file *file)
{
	struct uior_ctx *ctx;
	int ret;

	ctx = kzalloc_obj(*ctx, GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;
	/* Only the id is kept: nothing looks a region up by it. */
	ret = xa_alloc_cyclic(&uior_ids, &ctx->id, NULL, xa_limit_31b,
			      &uior_next_id, GFP_KERNEL);
	if (ret < 0) {
		kfree(ctx);
		return ret;
	}
	mutex_init(&ctx->lock);
	mutex_init(&ctx->bpf_lock);
	spin_lock_init(&ctx->uring_lock);
	init_waitqueue_head(&ctx->cq_wait);
	uior_recv_ctx_init(ctx);
	atomic64_set(&ctx->waits, 0);
	/* BPF programs run in the namespace of the region's creator. */
	ctx->net_ns = get_net_track(current->nsproxy->net_ns,
				    &ctx->net_ns_tracker, GFP_KERNEL);
	/* Replaces the miscdevice pointer misc_open() left there. */
	file->private_data = ctx;
	return 0;
}

static int uior_release(struct inode *inode, struct file *file)
{
	struct uior_ctx *ctx = file->private_data;

	uior_region_destroy(ctx);
	put_net_track(ctx->net_ns, &ctx->net_ns_tracker);
	xa_erase(&uior_ids, ctx->id);
	mutex_destroy(&ctx->bpf_lock);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
	return 0;
}

/*
 * Copy an ioctl argument of the kernel's @ksize from user space. @min_size
 * is the size of the first published version of the structure.
 */
static int uior_copy_arg(void *karg, size_t ksize, size_t min_size,
			 const void __user *uarg, u32 *usize)
{
	int ret;

	if (get_user(*usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (*usize < min_size)
		return -EINVAL;
	if (*usize > UIOR_ARG_MAX)
		return -E2BIG;
	ret = copy_struct_from_user(karg, ksize, uarg, *usize);
	return ret;
}

static int uior_respond(void __user *uarg, const void *karg, size_t ksize,
			u32 usize)
{
	if (copy_to_user(uarg, karg, min_t(size_t, ksize, usize)))
		return -EFAULT;
	return 0;
}

/* uior_copy_arg() for the ioctls that need a region. */
static int uior_copy_arg_ready(struct uior_ctx *ctx, void *karg, size_t ksize,
			       size_t min_size, const void __user *uarg,
			       u32 *usize)
{
	int ret = uior_copy_arg(karg, ksize, min_size, uarg, usize);

	if (ret)
		return ret;
	/* Pairs with the store-release in SETUP: geometry is then stable. */
	if (!smp_load_acquire(&ctx->ready))
		return -EBADFD;
	return 0;
}

/*
 * The region is built and the layout copied out without ctx->lock held, so
 * that a slow allocation or a faulting user page does not block GET_INFO,
 * SUBMIT or fdinfo readers; ctx->building keeps a second SETUP out, and
 * nothing looks at the region before ctx->ready.
 */
static long uior_ioctl_setup(struct uior_ctx *ctx, void __user *uarg)
{
	struct unified_io_setup p;
	u32 usize;
	int ret;

	ret = uior_copy_arg(&p, sizeof(p), offsetofend(typeof(p), resv),
			    uarg, &usize);
	if (ret)
		return ret;

	scoped_cond_guard(mutex_intr, return -EINTR, &ctx->lock) {
		if (ctx->ready || ctx->building)
			return -EBUSY;
		ctx->building = true;
	}

	ret = uior_region_create(ctx, &p);
	if (!ret) {
		ret = uior_respond(uarg, &p, sizeof(p), usize);
		if (ret)
			uior_region_destroy(ctx);
	}

	guard(mutex)(&ctx->lock);
	ctx->building = false;
	if (!ret)
		/* Pairs with the load-acquire of ready in mmap, poll, ioctls. */
		smp_store_release(&ctx->ready, true);
	return ret;
}

static long uior_ioctl_get_info(struct uior_ctx *ctx, void __user *uarg)
{
	struct unified_io_info info;
	u32 usize;
	int ret;

	ret = uior_copy_arg(&info, sizeof(info), offsetofend(typeof(info), stats),
			    uarg, &usize);
	if (ret)
		return ret;
	if (info.flags)
		return -EINVAL;

	memset(&info, 0, sizeof(info));
	info.size = usize;
	scoped_cond_guard(mutex_intr, return -EINTR, &ctx->lock) {
		if (ctx->ready) {
			info.config = ctx->config;
			info.layout = ctx->layout;
			uior_stats_snapshot(ctx, &info.stats);
			info.refill = ctx->layout_refill;
			uior_recv_info(ctx, &info.net);
			uior_net_info(ctx, &info.net);
			uior_send_info(ctx, &info.send);
		}
	}
	info.config.abi_version = UNIFIED_IO_ABI_VERSION;
	info.config.features = uior_features();
	info.net.id = ctx->id;
	uior_bpf_info(ctx, &info);
	return uior_respond(uarg, &info, sizeof(info), usize);
}

static long uior_ioctl_bpf(struct uior_ctx *ctx, void __user *uarg,
			   bool attach)
{
	struct unified_io_bpf p;
	u32 usize;
	int ret;

	ret = uior_copy_arg_ready(ctx, &p, sizeof(p),
				  offsetofend(typeof(p), resv), uarg, &usize);
	if (ret)
		return ret;
	ret = attach ? uior_bpf_attach(ctx, &p) : uior_bpf_detach(ctx, &p);
	if (ret)
		return ret;
	return uior_respond(uarg, &p, sizeof(p), usize);
}

/*
 * NET_BIND takes no flag yet and UNBIND no argument at all, with or
 * without a memory provider: -EINVAL, and @msg says why.
 */
static int uior_check_net_arg(struct unified_io_net_bind *p, bool bind)
{
	bool resv = p->flags || p->resv ||
		    !mem_is_zero(p->resv2, sizeof(p->resv2));

	memset(p->msg, 0, sizeof(p->msg));
	if (bind && resv) {
		strscpy(p->msg, "unknown flag or reserved field set",
			sizeof(p->msg));
		return -EINVAL;
	}
	if (!bind && (resv || p->ifindex || p->rxq || p->nr_bufs)) {
		strscpy(p->msg, "UNBIND takes no argument", sizeof(p->msg));
		return -EINVAL;
	}
	return 0;
}

static long uior_ioctl_net(struct uior_ctx *ctx, void __user *uarg, bool bind)
{
	struct unified_io_net_bind p;
	u32 usize;
	int ret, err;

	ret = uior_copy_arg_ready(ctx, &p, sizeof(p),
				  offsetofend(typeof(p), resv2), uarg, &usize);
	if (ret)
		return ret;
	ret = uior_check_net_arg(&p, bind);
	if (!ret)
		ret = bind ? uior_net_bind(ctx, &p) : uior_net_unbind(ctx, &p);
	if (ret == -EINTR)
		return ret;
	/* @msg says why, on failure too. */
	err = uior_respond(uarg, &p, sizeof(p), usize);
	return err ? err : ret;
}

static long uior_ioctl_submit(struct uior_ctx *ctx, void __user *uarg)
{
	struct unified_io_submit p;
	u32 usize;
	int ret;

	ret = uior_copy_arg_ready(ctx, &p, sizeof(p),
				  offsetofend(typeof(p), desc), uarg, &usize);
	if (ret)
		return ret;
	return uior_submit(ctx, &p);
}

static long uior_ioctl_complete(struct uior_ctx *ctx, void __user *uarg)
{
	struct unified_io_complete p;
	u32 usize;
	int ret, err;

	ret = uior_copy_arg_ready(ctx, &p, sizeof(p),
				  offsetofend(typeof(p), resv), uarg, &usize);
	if (ret)
		return ret;

	ret = uior_complete(ctx, &p);
	if (ret == -EINVAL)
		return ret;
	/* @ready is reported on timeout and signal too. */
	err = uior_respond(uarg, &p, sizeof(p), usize);
	return err ? err : ret;
}

static long uior_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct uior_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case UNIFIED_IO_SETUP:
		return uior_ioctl_setup(ctx, uarg);
	case UNIFIED_IO_SUBMIT:
		return uior_ioctl_submit(ctx, uarg);
	case UNIFIED_IO_COMPLETE:
		return uior_ioctl_complete(ctx, uarg);
	case UNIFIED_IO_GET_INFO:
		return uior_ioctl_get_info(ctx, uarg);
	case UNIFIED_IO_ATTACH_BPF:
		return uior_ioctl_bpf(ctx, uarg, true);
	case UNIFIED_IO_DETACH_BPF:
		return uior_ioctl_bpf(ctx, uarg, false);
	case UNIFIED_IO_NET_BIND:
		return uior_ioctl_net(ctx, uarg, true);
	case UNIFIED_IO_NET_UNBIND:
		return uior_ioctl_net(ctx, uarg, false);
	default:
		return -ENOIOCTLCMD;
	}
}

static __poll_t uior_poll(struct file *file, poll_table *wait)
{
	struct uior_ctx *ctx = file->private_data;

	poll_wait(file, &ctx->cq_wait, wait);
	/* Pairs with the store-release in SETUP. */
	if (!smp_load_acquire(&ctx->ready))
		return 0;
	return uior_poll_mask(ctx);
}

/*
 * Readers of fdinfo (lsof, CRIU, monitoring) must never block behind the
 * context: like io_uring, print the counters only if the lock is free.
 */
static void uior_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct uior_ctx *ctx = file->private_data;
	const struct unified_io_config *c = &ctx->config;
	const struct unified_io_stats *s = &ctx->stats;
	/* Pairs with the store-release in SETUP. */
	bool ready = smp_load_acquire(&ctx->ready);
	u32 parked;

	seq_printf(m, "id:\t%u\n", ctx->id);
	seq_printf(m, "state:\t%s\n", ready ? "ready" : "unset");
	seq_printf(m, "abi_version:\t%u\n", UNIFIED_IO_ABI_VERSION);
	seq_printf(m, "features:\t%#x\n", uior_features());
	if (!ready || !mutex_trylock(&ctx->lock))
		return;
	seq_printf(m, "sq_entries:\t%u\n", c->sq_entries);
	seq_printf(m, "cq_entries:\t%u\n", c->cq_entries);
	seq_printf(m, "buf_size:\t%u\n", c->buf_size);
	seq_printf(m, "nr_bufs:\t%u\n", c->nr_bufs);
	seq_printf(m, "data_size:\t%llu\n", c->data_size);
	seq_printf(m, "region_size:\t%llu\n", ctx->layout.region_size);
	seq_printf(m, "numa_node:\t%d\n", c->numa_node);
	seq_printf(m, "huge_pages:\t%u\n", c->huge_pages);
	seq_printf(m, "small_pages:\t%u\n", c->small_pages);
	seq_printf(m, "sq_head:\t%u\n", ctx->sq_head);
	seq_printf(m, "sq_tail:\t%u\n", READ_ONCE(ctx->ctrl->sq_tail));
	seq_printf(m, "cq_head:\t%u\n", READ_ONCE(ctx->ctrl->cq_head));
	seq_printf(m, "cq_tail:\t%u\n", ctx->cq_tail);
	seq_printf(m, "submit_calls:\t%llu\n", s->submit_calls);
	seq_printf(m, "sqes:\t%llu\n", s->sqes);
	seq_printf(m, "cqes:\t%llu\n", s->cqes);
	seq_printf(m, "errors:\t%llu\n", s->errors);
	seq_printf(m, "sq_bad_tail:\t%llu\n", s->sq_bad_tail);
	seq_printf(m, "cq_full:\t%llu\n", s->cq_full);
	seq_printf(m, "cq_bad_head:\t%llu\n", s->cq_bad_head);
	seq_printf(m, "waits:\t%llu\n", (u64)atomic64_read(&ctx->waits));
	seq_printf(m, "op_nop:\t%llu\n", s->ops[UNIFIED_IO_OP_NOP]);
	seq_printf(m, "op_alloc:\t%llu\n", s->ops[UNIFIED_IO_OP_ALLOC]);
	seq_printf(m, "op_free:\t%llu\n", s->ops[UNIFIED_IO_OP_FREE]);
	seq_printf(m, "bufs_free:\t%u\n", s->bufs_free);
	seq_printf(m, "bufs_app:\t%u\n", s->bufs_app);
	seq_printf(m, "bufs_kernel:\t%u\n", s->bufs_kernel);
	seq_printf(m, "op_recv:\t%llu\n", s->ops[UNIFIED_IO_OP_RECV]);
	seq_printf(m, "recv_bytes:\t%llu\n", ctx->recv.recv_bytes);
	seq_printf(m, "recv_zc_bytes:\t%llu\n", ctx->recv.zc_bytes);
	seq_printf(m, "recv_copy_bytes:\t%llu\n", ctx->recv.copy_bytes);
	seq_printf(m, "recv_armed:\t%u\n", uior_recv_armed(ctx, &parked));
	seq_printf(m, "recv_parked:\t%u\n", parked);
	seq_printf(m, "op_cancel:\t%llu\n", s->ops[UNIFIED_IO_OP_CANCEL]);
	/* Who ran the armed RECVs: a task waiting in COMPLETE, or the work. */
	seq_printf(m, "recv_arm_runs_task:\t%llu\n", ctx->recv.arm_runs_task);
	seq_printf(m, "recv_arm_runs_work:\t%llu\n", ctx->recv.arm_runs_work);
	seq_printf(m, "op_bpf:\t%llu\n", s->ops[UNIFIED_IO_OP_BPF]);
	seq_printf(m, "op_send:\t%llu\n", s->ops[UNIFIED_IO_OP_SEND]);
	seq_printf(m, "send_bytes:\t%llu\n", ctx->send.send_bytes);
	seq_printf(m, "send_notifs:\t%llu\n", ctx->send.notifs);
	seq_printf(m, "send_zc_bytes:\t%llu\n", ctx->send.zc_bytes);
	seq_printf(m, "send_copied_bytes:\t%llu\n", ctx->send.copied_bytes);
	seq_printf(m, "send_inflight:\t%u\n", ctx->send.inflight);
	seq_printf(m, "bufs_sending:\t%u\n", ctx->send.bufs_sending);
	seq_printf(m, "uring_cmds:\t%llu\n", ctx->uring.cmds);
	seq_printf(m, "uring_cmd_errors:\t%llu\n", ctx->uring.errors);
	seq_printf(m, "uring_sends_inflight:\t%u\n", ctx->uring.sends);
	if (ctx->net) {
		struct unified_io_net_info ni = {};

		uior_net_info(ctx, &ni);
		seq_printf(m, "net_state:\t%u\n", ni.state);
		seq_printf(m, "net_ifindex:\t%u\n", ni.ifindex);
		seq_printf(m, "net_rxq:\t%u\n", ni.rxq);
		seq_printf(m, "net_bufs:\t%u\n", ni.nr_bufs);
		seq_printf(m, "net_bufs_app:\t%u\n", ni.bufs_app);
		seq_printf(m, "net_refills:\t%llu\n", ni.refills);
		seq_printf(m, "net_alloc_empty:\t%llu\n", ni.alloc_empty);
	}
	mutex_unlock(&ctx->lock);
}

static const struct file_operations uior_fops = {
	.owner		= THIS_MODULE,
	.open		= uior_open,
	.release	= uior_release,
	.unlocked_ioctl	= uior_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap_prepare	= uior_mmap_prepare,
	.poll		= uior_poll,
	.uring_cmd	= uior_uring_cmd,
	.show_fdinfo	= uior_show_fdinfo,
	.llseek		= noop_llseek,
};

static struct miscdevice uior_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "unified_io_region",
	.fops	= &uior_fops,
	.mode	= 0600,
};

static int __init uior_init(void)
{
	int ret;

	ret = uior_recv_init();
	if (ret)
		return ret;
	ret = uior_send_init();
	if (ret)
		goto err_recv;
	ret = misc_register(&uior_misc);
	if (ret)
		goto err_send;
	return 0;

err_send:
	uior_send_exit();
err_recv:
	uior_recv_exit();
	return ret;
}
module_init(uior_init);

static void __exit uior_exit(void)
{
	misc_deregister(&uior_misc);
	uior_send_exit();
	uior_recv_exit();
}
module_exit(uior_exit);

MODULE_DESCRIPTION("unified_io: one memory region for NIC, NVMe, BPF and user space");
MODULE_LICENSE("GPL");
