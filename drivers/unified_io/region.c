// SPDX-License-Identifier: GPL-2.0
/*
 * unified_io region memory: geometry, allocation, accounting and mmap.
 *
 * A region is an array of pages in file order: one control page, the
 * descriptor area (SQ entries, CQ entries, buffer table, refill ring) and
 * the data area.
 * The data area prefers 2 MiB compound pages and falls back to order-0 pages;
 * all pages are unmovable GFP_KERNEL memory so that io_uring can pin them
 * long-term as a fixed buffer. Pages are mapped into user space through
 * .mmap_prepare and mmap_action_map_kernel_pages(), which inserts them as
 * vm_insert_pages() does: normal, refcounted, GUP-able pages. The kernel
 * reaches the control and descriptor areas through one vmap().
 *
 * The region is charged to the creating user's RLIMIT_MEMLOCK (user_struct
 * locked_vm, as io_uring and iommufd do, so that neither exec nor passing the
 * fd on escapes the charge) unless the creator has CAP_IPC_LOCK, and through
 * __GFP_ACCOUNT to its memory cgroup. The page references are dropped in
 * uior_region_destroy(); a page io_uring still pins is freed when io_uring
 * unpins it.
 *
 * Locking: SETUP builds the region without ctx->lock held (ctx->building
 * keeps a second SETUP out); nothing reads the fields set here before
 * ctx->ready.  The teardown runs without it too: for a failed SETUP, before
 * ctx->ready, and at ->release, when nothing else is left.
 *
 * Calls: main.c calls in, and send.c's work (uior_unaccount_user()); this
 * file calls send.c, provider.c and bpf.c to tear down what they built on
 * the region.
 */
#include <linux/align.h>
#include <linux/cred.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/overflow.h>
#include <linux/nospec.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "uior.h"

#define UIOR_SETUP_FLAGS	(UNIFIED_IO_SETUP_F_HUGE_PAGES | \
				 UNIFIED_IO_SETUP_F_NUMA_NODE)
/* 2 MiB, whatever the base page size; not used past MAX_PAGE_ORDER. */
#define UIOR_HUGE_ORDER		get_order(SZ_2M)
#define UIOR_HUGE_PAGES		(1UL << UIOR_HUGE_ORDER)

static int uior_check_setup(struct unified_io_setup *p)
{
	u64 cq_entries;

	if (!mem_is_zero(p->resv, sizeof(p->resv)))
		return -EINVAL;
	if (p->flags & ~UIOR_SETUP_FLAGS)
		return -EINVAL;
	if (p->flags & UNIFIED_IO_SETUP_F_NUMA_NODE) {
		if (p->numa_node < 0 || p->numa_node >= nr_node_ids ||
		    !node_online(p->numa_node))
			return -EINVAL;
	} else if (p->numa_node) {
		return -EINVAL;
	}

	if (!p->sq_entries || !is_power_of_2(p->sq_entries))
		return -EINVAL;
	cq_entries = p->cq_entries;
	if (!cq_entries) {
		cq_entries = min_t(u64, 2ULL * p->sq_entries,
				   UNIFIED_IO_MAX_ENTRIES);
		cq_entries = max_t(u64, cq_entries, p->sq_entries);
	} else if (!is_power_of_2(p->cq_entries) ||
		   p->cq_entries < p->sq_entries) {
		return -EINVAL;
	}
	if (!is_power_of_2(p->buf_size) || p->buf_size < PAGE_SIZE)
		return -EINVAL;
	if (!p->data_size || !IS_ALIGNED(p->data_size, p->buf_size))
		return -EINVAL;

	/* Not above the cap unless sq_entries is, which uior_layout refuses. */
	p->cq_entries = cq_entries;
	return 0;
}

/*
 * Compute the layout. Overflow is checked before the size limits, so a
 * data_size that wraps the region size reports EOVERFLOW, not E2BIG; every
 * limit is checked here, after it.
 */
static int uior_layout(struct unified_io_setup *p,
		       struct unified_io_region_layout *out,
		       struct unified_io_ring_offsets *rfq)
{
	u64 nr_bufs = p->data_size >> ilog2(p->buf_size);
	u64 off, bt_size, rfq_size, desc_size, region;
	struct unified_io_region_layout lo = {}, *l = &lo;
	struct unified_io_ring_offsets rf = {};

	l->ctrl_off = 0;
	l->ctrl_size = PAGE_SIZE;

	l->sq.head = offsetof(struct uior_ctrl, sq_head);
	l->sq.tail = offsetof(struct uior_ctrl, sq_tail);
	l->sq.ring_entries = p->sq_entries;
	l->sq.ring_mask = p->sq_entries - 1;
	l->sq.entry_size = sizeof(struct unified_io_desc);
	l->sq.array = 0;

	l->cq.head = offsetof(struct uior_ctrl, cq_head);
	l->cq.tail = offsetof(struct uior_ctrl, cq_tail);
	l->cq.ring_entries = p->cq_entries;
	l->cq.ring_mask = p->cq_entries - 1;
	l->cq.entry_size = sizeof(struct unified_io_cqe);

	l->stats = offsetof(struct uior_ctrl, stats);
	l->config = offsetof(struct uior_ctrl, config);

	/* Entry counts are u32 and entries are small: no u64 overflow. */
	off = (u64)p->sq_entries * sizeof(struct unified_io_desc);
	l->cq.array = off;
	off += (u64)p->cq_entries * sizeof(struct unified_io_cqe);
	off = ALIGN(off, SMP_CACHE_BYTES);
	l->buf_table = off;

	/*
	 * The refill ring holds every buffer at once. Past the limits below
	 * nr_bufs is refused anyway: clamp it so the rounding cannot overflow.
	 */
	rf.head = offsetof(struct uior_ctrl, rfq_head);
	rf.tail = offsetof(struct uior_ctrl, rfq_tail);
	rf.ring_entries = roundup_pow_of_two(clamp_val(nr_bufs, 1,
						       UNIFIED_IO_MAX_BUFS));
	rf.ring_mask = rf.ring_entries - 1;
	rf.entry_size = sizeof(struct unified_io_rfqe);
	rfq_size = (u64)rf.ring_entries * sizeof(struct unified_io_rfqe);

	if (check_mul_overflow(nr_bufs, (u64)sizeof(struct unified_io_buf_entry),
			       &bt_size) ||
	    check_add_overflow(off, bt_size, &desc_size))
		return -EOVERFLOW;
	desc_size = ALIGN(desc_size, SMP_CACHE_BYTES);
	rf.array = desc_size;
	if (check_add_overflow(desc_size, rfq_size, &desc_size) ||
	    check_add_overflow(desc_size, (u64)PAGE_SIZE - 1, &desc_size))
		return -EOVERFLOW;
	desc_size &= PAGE_MASK;
	if (check_add_overflow(l->ctrl_size, desc_size, &off) ||
	    check_add_overflow(off, p->data_size, &region))
		return -EOVERFLOW;

	if (p->sq_entries > UNIFIED_IO_MAX_ENTRIES ||
	    p->cq_entries > UNIFIED_IO_MAX_ENTRIES ||
	    p->buf_size > UNIFIED_IO_MAX_BUF_SIZE ||
	    p->data_size > UNIFIED_IO_MAX_DATA_SIZE ||
	    nr_bufs > UNIFIED_IO_MAX_BUFS)
		return -E2BIG;

	l->desc_off = l->ctrl_size;
	l->desc_size = desc_size;
	l->data_off = off;
	l->data_size = p->data_size;
	l->region_size = region;
	l->nr_bufs = nr_bufs;
	l->buf_size = p->buf_size;
	*out = lo;
	*rfq = rf;
	return 0;
}

static void uior_put_pages(struct page **pages, unsigned long nr)
{
	unsigned long i = 0;

	/* A compound page's tail entries follow its head: put it once. */
	while (i < nr) {
		struct page *page = pages[i];

		if (!page)
			break;
		i += 1UL << compound_order(page);
		put_page(page);
	}
}

/*
 * Fill @pages[@first, @first + @nr) with zeroed pages, in 2 MiB compound
 * units where @huge and possible (counted in config.huge_pages).
 */
static int uior_alloc_pages(struct uior_ctx *ctx, unsigned long first,
			    unsigned long nr, int nid, bool huge)
{
	const gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_ZERO;
	unsigned long i = first, end = first + nr;

	while (i < end) {
		struct page *page = NULL;
		unsigned long j;

		if (fatal_signal_pending(current))
			return -EINTR;

		if (huge && UIOR_HUGE_ORDER <= MAX_PAGE_ORDER &&
		    end - i >= UIOR_HUGE_PAGES) {
			page = alloc_pages_node(nid, gfp | __GFP_COMP |
						__GFP_NOWARN | __GFP_NORETRY,
						UIOR_HUGE_ORDER);
			if (page) {
				for (j = 0; j < UIOR_HUGE_PAGES; j++)
					ctx->pages[i + j] = page + j;
				i += UIOR_HUGE_PAGES;
				ctx->config.huge_pages++;
				continue;
			}
			huge = false;	/* none left now: do not retry each 2M */
		}
		page = alloc_pages_node(nid, gfp, 0);
		if (!page)
			return -ENOMEM;
		ctx->pages[i++] = page;
		cond_resched();
	}
	return 0;
}

static int uior_account(struct uior_ctx *ctx, unsigned long nr)
{
	struct user_struct *user = current_user();
	unsigned long limit, cur, new;

	if (capable(CAP_IPC_LOCK))
		return 0;

	limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cur = atomic_long_read(&user->locked_vm);
	do {
		if (check_add_overflow(cur, nr, &new) || new > limit)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, new));

	ctx->acct_user = get_uid(user);
	ctx->acct_pages = nr;
	return 0;
}

void uior_unaccount_user(struct user_struct *user, unsigned long pages)
{
	atomic_long_sub(pages, &user->locked_vm);
	free_uid(user);
}

static void uior_unaccount(struct uior_ctx *ctx)
{
	/* send.c took it over if sends were in flight. */
	if (!ctx->acct_user)
		return;
	uior_unaccount_user(ctx->acct_user, ctx->acct_pages);
	ctx->acct_user = NULL;
	ctx->acct_pages = 0;
}

/*
 * Free the region and return the context to its state before SETUP. Safe on
 * a half-built region: every step checks what it undoes.
 */
void uior_region_destroy(struct uior_ctx *ctx)
{
	/* Armed RECVs stop: nothing wakes the work or posts after this. */
	uior_recv_destroy(ctx);
	/* Late notifications of sends in flight find no context. */
	uior_send_destroy(ctx);
	/* Scrubs the application's references; unbinds the NIC queue. */
	uior_net_destroy(ctx);
	/* Unmaps its view of the data pages before they are put. */
	uior_bpf_destroy(ctx);
	if (ctx->meta)
		vunmap(ctx->meta);
	if (ctx->pages)
		uior_put_pages(ctx->pages, ctx->nr_pages);
	kvfree(ctx->pages);
	kvfree(ctx->bufs);
	kvfree(ctx->free_list);
	uior_unaccount(ctx);

	ctx->meta = NULL;
	ctx->pages = NULL;
	ctx->bufs = NULL;
	ctx->free_list = NULL;
	ctx->nr_pages = 0;
	ctx->meta_pages = 0;
	ctx->nr_free = 0;
	memset(&ctx->config, 0, sizeof(ctx->config));
	memset(&ctx->layout, 0, sizeof(ctx->layout));
	memset(&ctx->layout_refill, 0, sizeof(ctx->layout_refill));
	memset(&ctx->recv, 0, sizeof(ctx->recv));
	memset(&ctx->stats, 0, sizeof(ctx->stats));
	memset(&ctx->send, 0, sizeof(ctx->send));
	ctx->cq_reserved = 0;
}

/* Every buffer free, in stack order: the first ALLOC gets buffer 0. */
static void uior_bufs_init(struct uior_ctx *ctx)
{
	u32 i, nr = ctx->layout.nr_bufs;

	for (i = 0; i < nr; i++)
		ctx->free_list[i] = nr - 1 - i;
	ctx->nr_free = nr;
	ctx->stats.bufs_free = nr;
}

static void uior_init_ctrl(struct uior_ctx *ctx)
{
	const struct unified_io_region_layout *l = &ctx->layout;

	ctx->ctrl = ctx->meta;
	ctx->sqes = ctx->meta + l->desc_off + l->sq.array;
	ctx->cqes = ctx->meta + l->desc_off + l->cq.array;
	ctx->buf_table = ctx->meta + l->desc_off + l->buf_table;
	ctx->rfqes = ctx->meta + l->desc_off + ctx->layout_refill.array;
	ctx->sq_mask = l->sq.ring_mask;
	ctx->cq_mask = l->cq.ring_mask;
	ctx->buf_shift = ilog2(l->buf_size);
	ctx->ctrl->config = ctx->config;
}

int uior_region_create(struct uior_ctx *ctx, struct unified_io_setup *p)
{
	struct unified_io_region_layout *l = &ctx->layout;
	bool huge = p->flags & UNIFIED_IO_SETUP_F_HUGE_PAGES;
	int nid = NUMA_NO_NODE;
	int ret;

	BUILD_BUG_ON(sizeof(struct uior_ctrl) > PAGE_SIZE);
	BUILD_BUG_ON(ARRAY_SIZE(ctx->stats.ops) < UNIFIED_IO_OP_LAST);

	ret = uior_check_setup(p);
	if (ret)
		return ret;
	ret = uior_layout(p, l, &ctx->layout_refill);
	if (ret)
		return ret;
	if (p->flags & UNIFIED_IO_SETUP_F_NUMA_NODE)
		nid = p->numa_node;

	ctx->nr_pages = l->region_size >> PAGE_SHIFT;
	ctx->meta_pages = l->data_off >> PAGE_SHIFT;
	ret = uior_account(ctx, ctx->nr_pages);
	if (ret)
		return ret;

	ret = -ENOMEM;
	ctx->pages = kvcalloc(ctx->nr_pages, sizeof(*ctx->pages),
			      GFP_KERNEL_ACCOUNT);
	ctx->bufs = kvcalloc(l->nr_bufs, sizeof(*ctx->bufs), GFP_KERNEL_ACCOUNT);
	ctx->free_list = kvcalloc(l->nr_bufs, sizeof(*ctx->free_list),
				  GFP_KERNEL_ACCOUNT);
	if (!ctx->pages || !ctx->bufs || !ctx->free_list)
		goto err_free;

	ctx->config.abi_version = UNIFIED_IO_ABI_VERSION;
	ctx->config.features = uior_features();
	ctx->config.setup_flags = p->flags;
	ctx->config.numa_node = nid;
	ctx->config.sq_entries = p->sq_entries;
	ctx->config.cq_entries = p->cq_entries;
	ctx->config.buf_size = p->buf_size;
	ctx->config.nr_bufs = l->nr_bufs;
	ctx->config.data_size = p->data_size;

	ret = uior_alloc_pages(ctx, 0, ctx->meta_pages, nid, false);
	if (!ret)
		ret = uior_alloc_pages(ctx, ctx->meta_pages,
				       ctx->nr_pages - ctx->meta_pages, nid,
				       huge);
	if (ret)
		goto err_free;
	ctx->config.small_pages = ctx->nr_pages - ctx->meta_pages -
				  ctx->config.huge_pages * UIOR_HUGE_PAGES;

	ret = -ENOMEM;
	ctx->meta = vmap(ctx->pages, ctx->meta_pages, VM_MAP, PAGE_KERNEL);
	if (!ctx->meta)
		goto err_free;

	uior_init_ctrl(ctx);
	uior_bufs_init(ctx);
	p->layout = *l;
	p->refill = ctx->layout_refill;
	return 0;

err_free:
	uior_region_destroy(ctx);
	return ret;
}

/*
 * The mapping is described here and made by the mm core after the VMA
 * exists (map_kernel_pages_complete() inserts the pages with insert_pages,
 * as vm_insert_pages() would).
 */
int uior_mmap_prepare(struct vm_area_desc *desc)
{
	struct uior_ctx *ctx = desc->file->private_data;
	unsigned long nr = vma_desc_pages(desc);
	unsigned long pgoff = desc->pgoff;

	/* Pairs with SETUP's store-release: geometry and pages are stable. */
	if (!smp_load_acquire(&ctx->ready))
		return -EBADFD;
	/* MAYSHARE: a read-only fd's shared mapping has no VMA_SHARED_BIT. */
	if (!vma_desc_test(desc, VMA_MAYSHARE_BIT))
		return -EINVAL;
	if (vma_desc_test(desc, VMA_EXEC_BIT))
		return -EPERM;
	if (pgoff >= ctx->nr_pages || nr > ctx->nr_pages - pgoff)
		return -ENXIO;
	pgoff = array_index_nospec(pgoff, ctx->nr_pages);

	vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT);
	vma_desc_clear_flags(desc, VMA_MAYEXEC_BIT);
	mmap_action_map_kernel_pages_full(desc, &ctx->pages[pgoff]);
	return 0;
}
