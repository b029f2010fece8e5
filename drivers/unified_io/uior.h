/* SPDX-License-Identifier: GPL-2.0 */
/*
 * unified_io region: internal definitions.
 *
 * One struct uior_ctx per open file of /dev/unified_io_region. The context is
 * empty until UNIFIED_IO_SETUP builds its region; from then on the geometry
 * is immutable and ctx->ready is set (store-release). The region lives as
 * long as the file: a mapping holds a reference to the file, so ->release,
 * which frees the region, runs only after the last munmap() and close().
 *
 * Everything user space can write (SQ tail, CQ head, SQ entries, and every
 * other byte of the control and descriptor areas) is read once into kernel
 * memory and validated; the kernel's own ring indices, buffer states and
 * counters live here, in kernel memory, and are only mirrored to user space.
 */
#ifndef _UIOR_H
#define _UIOR_H

#include <linux/cache.h>
#include <linux/mm_types.h>
#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <net/net_trackers.h>
#include <uapi/linux/unified_io.h>
#include <kcompat.h>

/*
 * The memory provider (net.c) needs the kernel patches of kernel/patches/:
 * the provider interface exported to modules, and ops with an owner the
 * core pins.  scripts/kapi.sh probes for both.
 */
#define UIOR_NET_PROVIDER \
	(KAPI_NET_PROVIDER_EXPORTS && KAPI_MEMORY_PROVIDER_OWNER)

/*
 * Layout of the control area (one page). Private to the kernel: user space
 * finds each field through the offsets in struct unified_io_region_layout.
 * Indices written by different sides sit on separate cache lines.
 */
struct uior_ctrl {
	u32 sq_head ____cacheline_aligned_in_smp;	/* kernel writes */
	u32 sq_tail ____cacheline_aligned_in_smp;	/* user writes */
	u32 cq_head ____cacheline_aligned_in_smp;	/* user writes */
	u32 cq_tail ____cacheline_aligned_in_smp;	/* kernel writes */
	u32 rfq_head ____cacheline_aligned_in_smp;	/* kernel writes */
	u32 rfq_tail ____cacheline_aligned_in_smp;	/* user writes */
	struct unified_io_config config ____cacheline_aligned_in_smp;
	struct unified_io_stats stats ____cacheline_aligned_in_smp;
};

/* Kernel-private state of one buffer; mirrored to the buffer table. */
struct uior_buf {
	u16 owner;
	u8 state;		/* enum unified_io_buf_state */
	u8 refs;
};

struct uior_ctx {
	/*
	 * @lock serialises SETUP's state changes, SUBMIT, GET_INFO, fdinfo
	 * and the teardown of a failed SETUP: it protects the SQ head, the CQ
	 * tail, the buffers, the free list and the statistics.
	 */
	struct mutex lock;
	bool building;			/* SETUP in progress; under @lock */
	wait_queue_head_t cq_wait;

	/* Read locklessly by every ioctl, mmap and poll. */
	bool ready ____cacheline_aligned_in_smp; /* smp_store_release */

	/* Immutable once ready. */
	struct unified_io_config config;
	struct unified_io_region_layout layout;
	struct unified_io_ring_offsets layout_refill;
	u32 sq_mask;
	u32 cq_mask;
	unsigned int buf_shift;

	/* Memory: every page of the region in file order. */
	struct page **pages;
	unsigned long nr_pages;
	void *meta;			/* vmap of control + descriptor areas */
	unsigned long meta_pages;
	struct user_struct *acct_user;	/* RLIMIT_MEMLOCK charged to */
	unsigned long acct_pages;

	/* Shared memory, inside @meta. Never trusted. */
	struct uior_ctrl *ctrl;
	struct unified_io_desc *sqes;
	struct unified_io_cqe *cqes;
	struct unified_io_buf_entry *buf_table;
	struct unified_io_rfqe *rfqes;

	/* Under @lock. */
	u32 sq_head;
	u32 cq_tail;			/* posted, not yet committed */
	u32 cq_committed;		/* published; READ_ONCE by waiters */
	/*
	 * Under @lock, but for buffers lent to the network side
	 * (uior_net_buf_lent()): their entries follow the provider's
	 * state under its rq_lock (net.c), from softirq too.
	 */
	struct uior_buf *bufs;
	u32 *free_list;
	u32 nr_free;
	struct unified_io_stats stats;	/* but for waits, below */

	atomic64_t waits;		/* COMPLETE calls that slept */

	/*
	 * Network side (net.c): set by BIND under @lock; replaced by the next
	 * BIND once the binding has ended and every buffer is back, and
	 * cleared at release.  @rfq_head is the refill ring's head while no
	 * binding has it (the kernel's copy: user space can write the one in
	 * the control area).
	 */
	struct uior_net *net;
	u32 rfq_head;
	struct {			/* RECV counters, under @lock */
		u64 recv_bytes;
		u64 zc_chunks;
		u64 zc_bytes;
		u64 copy_chunks;
		u64 copy_bytes;
		u64 bpf_drops;
	} recv;

	/* The network namespace of the opener, where BPF programs run. */
	struct net *net_ns;
	netns_tracker net_ns_tracker;
	u32 id;				/* unique among open regions, > 0 */

	/* BPF chain (bpf.c): @bpf_lock orders attach, detach and teardown. */
	struct mutex bpf_lock;
	struct uior_bpf_chain __rcu *bpf_chain;
	void *bpf_va;			/* data area, scratch page per buffer */
	struct page *bpf_scratch;
};

/* region.c */
int uior_region_create(struct uior_ctx *ctx, struct unified_io_setup *p);
void uior_region_destroy(struct uior_ctx *ctx);
int uior_mmap_prepare(struct vm_area_desc *desc);

/* bpf.c */
struct uior_bpf_chain;
int uior_bpf_attach(struct uior_ctx *ctx, struct unified_io_bpf *p);
int uior_bpf_detach(struct uior_ctx *ctx, struct unified_io_bpf *p);
int uior_bpf_run(struct uior_ctx *ctx, const struct unified_io_desc *d,
		 u32 idx, u32 *cflags);
void uior_bpf_info(struct uior_ctx *ctx, struct unified_io_info *info);
void uior_bpf_destroy(struct uior_ctx *ctx);

/* net.c */
struct uior_net;
u32 uior_features(void);
int uior_net_bind(struct uior_ctx *ctx, struct unified_io_net_bind *p);
int uior_net_unbind(struct uior_ctx *ctx, struct unified_io_net_bind *p);
void uior_net_destroy(struct uior_ctx *ctx);
void uior_net_drain_refill(struct uior_ctx *ctx);
bool uior_net_buf_lent(struct uior_ctx *ctx, u32 idx);
int uior_net_free_buf(struct uior_ctx *ctx, u32 idx, u16 owner);
int uior_net_hold_buf(struct uior_ctx *ctx, u32 idx, u16 owner);
void uior_net_unhold_buf(struct uior_ctx *ctx, u32 idx);
void uior_net_stats(struct uior_ctx *ctx, struct unified_io_stats *s);
void uior_net_info(struct uior_ctx *ctx, struct unified_io_net_info *ni);
int uior_op_recv(struct uior_ctx *ctx, const struct unified_io_desc *d,
		 u32 slots);

/* ring.c */
void uior_buf_mirror(struct uior_ctx *ctx, u32 idx);
void uior_post_cqe(struct uior_ctx *ctx, const struct unified_io_desc *d,
		   s32 res, u64 addr, u32 flags);
int uior_submit(struct uior_ctx *ctx, struct unified_io_submit *p);
int uior_complete(struct uior_ctx *ctx, struct unified_io_complete *p);
__poll_t uior_poll_mask(struct uior_ctx *ctx);
void uior_bufs_init(struct uior_ctx *ctx);
void uior_stats_snapshot(struct uior_ctx *ctx, struct unified_io_stats *out);

#endif /* _UIOR_H */
