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
 *
 * The files, each with one concern; calls go down this list, never up, but
 * for send.c's work, which posts notifications through ring.c and ends a
 * released region's charge through region.c:
 *
 *   main.c	the misc device, its ioctls and fdinfo
 *   region.c	the region's memory: geometry, pages, accounting, mmap
 *   ring.c	SQ and CQ, SUBMIT's dispatch, COMPLETE, poll
 *   buf.c	ALLOC, FREE, BPF: the application's buffers
 *   recv.c	RECV: TCP payload into region buffers
 *   send.c	SEND: region buffers onto TCP sockets, and their notifications
 *   uring.c	the operations as io_uring commands (file_operations.uring_cmd)
 *   provider.c	the NIC queue's memory provider and its binding
 *		(only with kernel/patches/; stubs below otherwise)
 *   bpf.c	the BPF chain: attach, detach, run
 *   uior.h	the context, and the helpers every file may call: the
 *		region's free list and buffer table, posting a completion
 */
#ifndef _UIOR_H
#define _UIOR_H

#include <linux/bug.h>
#include <linux/cache.h>
#include <linux/io_uring/cmd.h>
#include <linux/mm_types.h>
#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/lockdep.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/net_trackers.h>
#include <uapi/linux/unified_io.h>
#include <kcompat.h>

/*
 * The memory provider (provider.c) needs the kernel patches of
 * kernel/patches/: the provider interface exported to modules, and ops with
 * an owner the core pins.  scripts/kapi.sh probes for both; the Kbuild file
 * builds provider.c and defines UIOR_NET_PROVIDER to 1 when both are there.
 */
#ifndef UIOR_NET_PROVIDER
#error "UIOR_NET_PROVIDER is set by drivers/unified_io/Kbuild"
#endif
/* Kbuild read include/kapi/kapi.mk; kapi.h must say the same. */
#if UIOR_NET_PROVIDER != \
	(KAPI_NET_PROVIDER_EXPORTS && KAPI_MEMORY_PROVIDER_OWNER)
#error "include/kapi/kapi.mk and kapi.h disagree: run scripts/kapi.sh again"
#endif

/*
 * The features of this build: all but a provider the kernel cannot take,
 * and io_uring commands on a kernel without io_uring.
 */
static inline u32 uior_features(void)
{
	return UNIFIED_IO_FEATURES &
	       ~(UIOR_NET_PROVIDER ? 0 : UNIFIED_IO_FEAT_NET_PROVIDER) &
	       ~(IS_ENABLED(CONFIG_IO_URING) ? 0 : UNIFIED_IO_FEAT_URING_CMD);
}

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
	 * @lock serialises SETUP's state changes, SUBMIT, BIND, UNBIND,
	 * GET_INFO and fdinfo (which only tries it): it protects the SQ
	 * head, the CQ tail, the free list, the statistics and the buffers
	 * but those lent to a memory provider (below).  SETUP builds the
	 * region, and tears a failed one down, without it: nothing looks at
	 * the region before @ready, and @building keeps a second SETUP out.
	 * ->release tears down without it: nothing else is left.
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
	u32 cq_reserved;		/* CQ slots held for SEND notifications
					 * and armed RECVs' final completions
					 */
	u32 cq_committed;		/* published; READ_ONCE by waiters */
	/*
	 * The region's free list holds no lent buffer: under @lock.  An entry
	 * of @bufs is under @lock while its buffer is the region's; once it
	 * is lent to a provider (uior_net_buf_lent()), under the provider's
	 * rq_lock (provider.c), from softirq too: @lock alone covers only the
	 * lending and the return, when no page pool can reach the buffer.
	 */
	struct uior_buf *bufs;
	u32 *free_list;
	u32 nr_free;
	struct unified_io_stats stats;	/* but for waits, below */

	atomic64_t waits;		/* COMPLETE calls that slept */

	/*
	 * Network side (provider.c): set by BIND under @lock; replaced by
	 * the next BIND once the binding has ended and every buffer is back,
	 * and cleared at release.  @rfq_head is the refill ring's head while no
	 * binding has it (the kernel's copy: user space can write the one in
	 * the control area).
	 */
	struct uior_net *net;
	u32 rfq_head;
	/*
	 * Armed RECVs (recv.c): on @arms under @lock.  Their sockets' wakes
	 * set UIOR_CTX_ARMS_WOKEN in @arm_state and wake a task sleeping in
	 * COMPLETE (@arm_waiters of them, on @arm_wait), which runs them, or
	 * the work: @arm_work on @arm_cpu, @arm_work_any when that is -1.
	 */
	struct list_head arms;
	struct work_struct arm_work;	/* on ctx->arm_cpu */
	struct work_struct arm_work_any; /* when that is -1: unbound */
	unsigned long arm_state;
	atomic_t arm_waiters;
	int arm_cpu;			/* where the work runs; -1: any */
	wait_queue_head_t arm_wait;	/* those of them, for a run */
	struct {			/* recv.c's counters, under @lock */
		u64 recv_bytes;
		u64 zc_chunks;
		u64 zc_bytes;
		u64 copy_chunks;
		u64 copy_bytes;
		u64 bpf_drops;
		u64 arm_runs_task;	/* armed RECVs run by COMPLETE */
		u64 arm_runs_work;	/* by the work item */
	} recv;

	/*
	 * Send side (send.c), under @lock: made at the first SEND, detached
	 * at release (late notifications then find no context).
	 */
	struct uior_tx *tx;
	struct bio_vec *send_bvec;	/* one SEND's pages */
	struct {			/* fds whose SEND fell short this SUBMIT */
		int fd[8];
		u8 nr;
		bool all;
	} send_short;
	struct {
		u64 sends;
		u64 send_bytes;
		u64 notifs;
		u64 zc_bytes;
		u64 copied_bytes;
		u64 bpf_drops;
		u32 inflight;
		u32 bufs_sending;
	} send;

	/*
	 * io_uring commands (uring.c): counted under @lock.  @uring_lock, a
	 * spinlock innermost of ours, orders an io_uring SEND's notification
	 * against io_uring's cancellation of its command (send.c).
	 */
	struct {
		u64 cmds;		/* executed, by opcode in stats.ops too */
		u64 errors;		/* of those, completed with an error */
		u32 sends;		/* SENDs waiting for their notification */
	} uring;
	spinlock_t uring_lock;

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

/*
 * The buffer table's entry of @idx follows ctx->bufs[@idx]; user space reads
 * it and never gets it back.  Under the lock of the entry (struct uior_ctx).
 */
static inline void uior_buf_mirror(struct uior_ctx *ctx, u32 idx)
{
	const struct uior_buf *b = &ctx->bufs[idx];
	struct unified_io_buf_entry *e = &ctx->buf_table[idx];

	WRITE_ONCE(e->owner, b->owner);
	WRITE_ONCE(e->state, b->state);
	WRITE_ONCE(e->refs, b->refs);
}

/* A buffer off the region's free list, now held by @owner. */
static inline int uior_buf_get(struct uior_ctx *ctx, u16 owner, u32 *idx)
{
	struct uior_buf *b;

	lockdep_assert_held(&ctx->lock);
	if (!ctx->nr_free)
		return -ENOBUFS;
	*idx = ctx->free_list[--ctx->nr_free];
	b = &ctx->bufs[*idx];
	b->owner = owner;
	b->state = UNIFIED_IO_BUF_APP;
	b->refs = 1;
	uior_buf_mirror(ctx, *idx);
	ctx->stats.bufs_free--;
	ctx->stats.bufs_app++;
	return 0;
}

/* A held buffer of the region back on its free list. */
static inline void uior_buf_put(struct uior_ctx *ctx, u32 idx)
{
	lockdep_assert_held(&ctx->lock);
	ctx->bufs[idx] = (struct uior_buf){ .state = UNIFIED_IO_BUF_FREE };
	uior_buf_mirror(ctx, idx);
	ctx->free_list[ctx->nr_free++] = idx;
	ctx->stats.bufs_app--;
	ctx->stats.bufs_free++;
}

/*
 * Post a completion for @d (a kernel copy) in the slot after the kernel's
 * CQ tail; the caller has checked there is one.  User space sees it once
 * SUBMIT commits (ring.c).
 */
static inline void uior_post_cqe(struct uior_ctx *ctx,
				 const struct unified_io_desc *d,
				 s32 res, u64 addr, u32 flags)
{
	struct unified_io_cqe cqe = {
		.user_data	= d->user_data,
		.res		= res,
		.flags		= flags,
		.addr		= addr,
		.opcode		= d->opcode,
	};

	lockdep_assert_held(&ctx->lock);
	memcpy(&ctx->cqes[ctx->cq_tail & ctx->cq_mask], &cqe, sizeof(cqe));
	ctx->cq_tail++;
	ctx->stats.cqes++;
	if (res < 0)
		ctx->stats.errors++;
}

/* region.c */
int uior_region_create(struct uior_ctx *ctx, struct unified_io_setup *p);
void uior_unaccount_user(struct user_struct *user, unsigned long pages);
void uior_region_destroy(struct uior_ctx *ctx);
int uior_mmap_prepare(struct vm_area_desc *desc);

/* ring.c */
struct io_uring_cmd;
int uior_op_nop(struct uior_ctx *ctx, const struct unified_io_desc *d,
		u64 *addr);
int uior_op_dispatch(struct uior_ctx *ctx, const struct unified_io_desc *d,
		     struct io_uring_cmd *ioucmd, u32 space, u64 *addr,
		     u32 *cflags);
int uior_submit(struct uior_ctx *ctx, struct unified_io_submit *p);
int uior_complete(struct uior_ctx *ctx, struct unified_io_complete *p);
__poll_t uior_poll_mask(struct uior_ctx *ctx);
void uior_commit(struct uior_ctx *ctx);
u32 uior_cq_space(struct uior_ctx *ctx);
void uior_stats_snapshot(struct uior_ctx *ctx, struct unified_io_stats *out);

/* buf.c */
int uior_op_alloc(struct uior_ctx *ctx, const struct unified_io_desc *d,
		  u64 *addr);
int uior_op_free(struct uior_ctx *ctx, const struct unified_io_desc *d,
		 u64 *addr);
int uior_op_bpf(struct uior_ctx *ctx, const struct unified_io_desc *d,
		u64 *addr, u32 *cflags);

/* recv.c */
int uior_op_recv(struct uior_ctx *ctx, const struct unified_io_desc *d,
		 u32 slots);
void uior_recv_info(struct uior_ctx *ctx, struct unified_io_net_info *ni);
int uior_op_cancel(struct uior_ctx *ctx, const struct unified_io_desc *d);
int uior_uring_recv(struct uior_ctx *ctx, struct io_uring_cmd *cmd,
		    const struct unified_io_desc *d, unsigned int issue_flags);
void uior_uring_recv_cancel(struct uior_ctx *ctx, struct io_uring_cmd *cmd);
u32 uior_recv_armed(struct uior_ctx *ctx, u32 *parked);
bool uior_recv_any_armed(struct uior_ctx *ctx);
void uior_recv_wait_begin(struct uior_ctx *ctx);
bool uior_recv_woken(struct uior_ctx *ctx);
void uior_recv_wait_run(struct uior_ctx *ctx);
void uior_recv_wait_end(struct uior_ctx *ctx);
void uior_recv_ctx_init(struct uior_ctx *ctx);
void uior_recv_destroy(struct uior_ctx *ctx);
int uior_recv_init(void);
void uior_recv_exit(void);

/* send.c */
struct uior_tx;
int uior_op_send(struct uior_ctx *ctx, const struct unified_io_desc *d,
		 u64 *addr, u32 *cflags);
int uior_op_send_uring(struct uior_ctx *ctx, const struct unified_io_desc *d,
		       struct io_uring_cmd *ioucmd, u64 *addr, u32 *cflags);
bool uior_send_uring_cancel(struct uior_ctx *ctx, struct io_uring_cmd *ioucmd,
			    u64 *addr);
void uior_send_begin(struct uior_ctx *ctx);
void uior_send_destroy(struct uior_ctx *ctx);
void uior_send_info(struct uior_ctx *ctx, struct unified_io_send_info *si);
int uior_send_init(void);
void uior_send_exit(void);

/* provider.c */
struct uior_net;
struct net_iov;
struct page_pool;
#if UIOR_NET_PROVIDER
int uior_net_bind(struct uior_ctx *ctx, struct unified_io_net_bind *p);
int uior_net_unbind(struct uior_ctx *ctx, struct unified_io_net_bind *p);
void uior_net_destroy(struct uior_ctx *ctx);
void uior_net_drain_refill(struct uior_ctx *ctx);
bool uior_net_buf_lent(struct uior_ctx *ctx, u32 idx);
int uior_net_free_buf(struct uior_ctx *ctx, u32 idx, u16 owner);
int uior_net_hold_buf(struct uior_ctx *ctx, u32 idx, u16 owner);
void uior_net_unhold_buf(struct uior_ctx *ctx, u32 idx);
int uior_net_copy_buf(struct uior_net *net, u16 owner, u32 *idx);
void uior_net_put_buf(struct uior_net *net, u32 idx, u16 owner);
int uior_net_take_frag(struct uior_net *net, struct net_iov *niov, u16 owner);
bool uior_net_is_ours(struct uior_net *net, struct page_pool *pp);
void uior_net_stats(struct uior_ctx *ctx, struct unified_io_stats *s);
void uior_net_info(struct uior_ctx *ctx, struct unified_io_net_info *ni);
#else /* !UIOR_NET_PROVIDER */
/*
 * No provider: ctx->net stays NULL, so no buffer is ever lent and RECV
 * copies everything into the region's own buffers.  The stubs of calls
 * that need a lent buffer or a binding are never reached.
 */
static inline int uior_net_bind(struct uior_ctx *ctx,
				struct unified_io_net_bind *p)
{
	strscpy(p->msg, "kernel lets no module provide page pool memory",
		sizeof(p->msg));
	return -EOPNOTSUPP;
}

/* Under @lock as with a provider: a signal interrupts the wait (EINTR). */
static inline int uior_net_unbind(struct uior_ctx *ctx,
				  struct unified_io_net_bind *p)
{
	scoped_cond_guard(mutex_intr, return -EINTR, &ctx->lock) {
		strscpy(p->msg, "region is not bound", sizeof(p->msg));
		return -ENOENT;
	}
}

static inline void uior_net_destroy(struct uior_ctx *ctx) { }
static inline void uior_net_drain_refill(struct uior_ctx *ctx) { }

static inline bool uior_net_buf_lent(struct uior_ctx *ctx, u32 idx)
{
	return false;
}

static inline int uior_net_free_buf(struct uior_ctx *ctx, u32 idx, u16 owner)
{
	WARN_ON_ONCE(1);
	return -EPERM;
}

static inline int uior_net_hold_buf(struct uior_ctx *ctx, u32 idx, u16 owner)
{
	WARN_ON_ONCE(1);
	return -EPERM;
}

static inline void uior_net_unhold_buf(struct uior_ctx *ctx, u32 idx)
{
	WARN_ON_ONCE(1);
}

static inline int uior_net_copy_buf(struct uior_net *net, u16 owner, u32 *idx)
{
	WARN_ON_ONCE(1);
	return -ENOBUFS;
}

static inline void uior_net_put_buf(struct uior_net *net, u32 idx, u16 owner)
{
	WARN_ON_ONCE(1);
}

static inline int uior_net_take_frag(struct uior_net *net,
				     struct net_iov *niov, u16 owner)
{
	WARN_ON_ONCE(1);
	return -EFAULT;
}

static inline bool uior_net_is_ours(struct uior_net *net,
				    struct page_pool *pp)
{
	return false;
}

static inline void uior_net_stats(struct uior_ctx *ctx,
				  struct unified_io_stats *s) { }
static inline void uior_net_info(struct uior_ctx *ctx,
				 struct unified_io_net_info *ni) { }
#endif /* UIOR_NET_PROVIDER */

/* uring.c */
struct uior_notif;
struct uior_arm;
/* An io_uring command's private data, in its pdu. */
struct uior_uring_pdu {
	struct uior_notif *notif;	/* SEND in flight; ctx->uring_lock */
	struct uior_arm *arm;		/* armed RECV (recv.c); ctx->lock */
	u64 res2;			/* the completion, for the task work */
	s32 res;
};

static inline struct uior_uring_pdu *uior_uring_pdu(struct io_uring_cmd *ioucmd)
{
	return io_uring_cmd_to_pdu(ioucmd, struct uior_uring_pdu);
}

/* A completion's address and flags in big_cqe[0], as the uapi header says. */
static inline u64 uior_uring_res2(u64 addr, u32 flags)
{
	BUILD_BUG_ON(UNIFIED_IO_URING_RES2_ADDR(~0ULL) != (1ULL << 48) - 1);
	WARN_ON_ONCE(addr >> 48 || flags >> 16);
	return addr | (u64)flags << 48;
}

int uior_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags);
void uior_uring_complete(struct io_uring_cmd *ioucmd, s32 res, u64 addr,
			 u32 flags);

/* bpf.c */
struct uior_bpf_chain;
int uior_bpf_attach(struct uior_ctx *ctx, struct unified_io_bpf *p);
int uior_bpf_detach(struct uior_ctx *ctx, struct unified_io_bpf *p);
int uior_bpf_run(struct uior_ctx *ctx, const struct unified_io_desc *d,
		 u32 idx, u32 *cflags);
void uior_bpf_info(struct uior_ctx *ctx, struct unified_io_info *info);
void uior_bpf_destroy(struct uior_ctx *ctx);

#endif /* _UIOR_H */
