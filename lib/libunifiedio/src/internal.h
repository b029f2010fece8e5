/* SPDX-License-Identifier: (LGPL-2.1 OR MIT) */
/*
 * libunifiedio internals: the opaque region object, the NVMe namespace and
 * command objects, and option helpers.
 */
#ifndef UNIO_INTERNAL_H
#define UNIO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <liburing.h>

#include "unifiedio.h"

/* Newer uapi than the sysroot's <linux/io_uring.h> (trixie). */
#ifndef IORING_URING_CMD_MULTISHOT
#define IORING_URING_CMD_MULTISHOT	(1U << 1)
#endif

/*
 * struct unio_region - one open of the device and, after setup, its mapping
 * @fd: the device file; owned, closed by unio_region_destroy()
 * @map: the whole region mapped once from offset 0, NULL before setup
 * @map_len: length of @map (layout.region_size)
 * @layout: geometry returned by UNIFIED_IO_SETUP
 * @q: the public rings, pointers into @map
 * @refill: the refill ring (since 1.3), pointers into @map
 * @has_refill: the kernel returned a refill ring (UNIFIED_IO_FEAT_NET_RECV)
 * @nvme: the NVMe side (io_uring ring, namespaces, commands), created by the
 *	first unio_nvme_open() and freed by unio_region_destroy()
 * @held: completions taken from the rings and not yet returned by
 *	unio_reap() (unio_submit_and_wait() looking for its own), oldest first
 * @ring: UNIO_RING_MODULE or UNIO_RING_IO_URING, what the unified path uses
 *	for module opcodes (resolved by unio_region_setup())
 * @armed: user_data of the armed RECVs submitted on the unified path whose
 *	final completion has not been taken from the rings yet (@nr_armed of
 *	@armed_cap)
 */
struct unio_region {
	int fd;
	void *map;
	size_t map_len;
	struct unified_io_region_layout layout;
	struct unio_queue q;
	struct unio_refill refill;
	bool has_refill;
	uint32_t ring;
	struct unio_nvme_ring *nvme;
	struct unio_cqe_fifo {
		struct unified_io_cqe *v;
		uint32_t head;
		uint32_t count;
		uint32_t cap;	/* a power of two, or 0 */
	} held;
	uint64_t *armed;
	uint32_t nr_armed;
	uint32_t armed_cap;
};

/* Most namespaces one region attaches (fixed file table size). */
#define UNIO_NVME_MAX_NS	64
/* Largest queue_depth of unio_nvme_open(); also the io_uring CQ size. */
#define UNIO_NVME_MAX_QD	1024
#define UNIO_NVME_DEF_QD	64
#define UNIO_NVME_SQ_ENTRIES	128
/* unio_reap(): past this, any CQE ends a wait for several (µs). */
#define UNIO_WAIT_MIN_USECS	200
/* ... and a wait for several runs of armed RECVs on io_uring (µs). */
#define UNIO_WAIT_RUNS_USECS	5000
/* No command index: end of a list. */
#define UNIO_NVME_NIL		UINT32_MAX
/* io_uring user_data of the poll on the region fd (commands: slot << 32 | piece). */
#define UNIO_NVME_POLL_TAG	UINT64_MAX
/* io_uring user_data of a region operation: the tag | its slot in uops[]. */
#define UNIO_UOP_TAG		(1ULL << 62)
#define UNIO_UOP_SLOT_MASK	0xffffffffULL
/* Provided buffer ring of armed RECVs on io_uring: group, buffers, size. */
#define UNIO_UOP_BGID		0x5549
#define UNIO_UOP_NR_BUFS	64
#define UNIO_UOP_BUF_SIZE	4096

/*
 * struct unio_uop - a module descriptor run as IORING_OP_URING_CMD
 * @user_data: the descriptor's, for its completions
 * @opcode: the descriptor's
 * @armed: a multishot (armed) RECV, in flight until a CQE without
 *	IORING_CQE_F_MORE
 * @next: free list link
 */
struct unio_uop {
	uint64_t user_data;
	uint8_t opcode;
	bool armed;
	uint32_t next;
};

/*
 * struct unio_nvme - one namespace attached to a region
 * @r: the region; the namespace is in r->nvme->ns[@slot]
 * @fd: the generic char device (/dev/ngXnY), owned
 * @file_index: its io_uring fixed file index, or -1 (plain @fd)
 * @slot: index in r->nvme->ns[]
 * @nsid, @lba_size, @lba_shift, @nr_lbas, @max_transfer: from discovery
 * @max_io_lbas: blocks per read/write passthrough command
 * @max_wz_lbas: blocks per write zeroes command
 * @queue_depth: most passthrough commands in flight for this namespace
 * @flags: UNIO_NVME_F_*
 * @inflight: passthrough commands in the kernel
 * @bl_head, @bl_tail: FIFO of accepted commands with pieces not yet issued;
 *	only the head can be partly issued
 * @char_dev, @block_dev: device paths reported by unio_nvme_get_info()
 */
struct unio_nvme {
	struct unio_region *r;
	int fd;
	int file_index;
	unsigned int slot;
	uint32_t nsid;
	uint32_t lba_size;
	uint32_t lba_shift;
	uint64_t nr_lbas;
	uint32_t max_transfer;
	uint32_t max_io_lbas;
	uint32_t max_wz_lbas;
	uint32_t dma_align;
	uint32_t max_segs;
	uint64_t virt_boundary;
	uint32_t queue_depth;
	uint32_t flags;
	uint32_t inflight;
	uint32_t bl_head;
	uint32_t bl_tail;
	char char_dev[256];
	char block_dev[256];
};

/*
 * struct unio_nvme_vec - the vectored passthrough commands (pieces) of one
 *	unio_nvme_writev()
 * @iov: every piece's iovecs (user addresses in the data area), piece @p's
 *	from @first[p] to @first[p + 1]; a segment across a piece boundary
 *	is in both
 * @lba: piece @p writes blocks @lba[p] to @lba[p + 1] of the command
 */
struct unio_nvme_vec {
	struct iovec *iov;
	uint32_t *first;
	uint64_t *lba;
};

/*
 * struct unio_nvme_cmd - one accepted UNIFIED_IO_OP_NVME descriptor, issued
 * as @nr_pieces passthrough commands and completed as one unified completion
 * @ns: its namespace
 * @user_data, @addr: copied into the completion
 * @slba, @nlb, @cdw12_flags, @opcode: the command
 * @bytes: result on success (bytes moved between data area and drive)
 * @piece_lbas: blocks per piece (the last may be shorter)
 * @nr_pieces, @issued, @done: pieces in all, handed to io_uring, completed
 * @err: result of the failing piece with the lowest index, or 0
 * @err_piece: that piece
 * @status: its NVMe status field when @err is -EIO from the drive
 * @next: link in the free list, a backlog or the done FIFO
 * @vec: unio_nvme_writev()'s pieces, NULL for a descriptor's
 * @stream: the unio_stream whose write this is: it completes there, not
 *	to the caller
 */
struct unio_nvme_cmd {
	struct unio_nvme *ns;
	struct unio_nvme_vec *vec;
	struct unio_stream *stream;
	uint64_t user_data;
	uint64_t addr;
	uint64_t slba;
	uint32_t nlb;
	uint32_t cdw12_flags;
	uint8_t opcode;
	uint32_t bytes;
	uint32_t piece_lbas;
	uint32_t nr_pieces;
	uint32_t issued;
	uint32_t done;
	int32_t err;
	uint32_t err_piece;
	uint16_t status;
	uint32_t next;
};

/*
 * struct unio_nvme_ring - the library's io_uring ring: NVMe passthrough and,
 *	on a region whose unified path uses io_uring, the module's operations
 * @r: the region
 * @ring: SQE128 | CQE32 io_uring; fixed buffer 0 is the data area
 * @bufs_registered: fixed buffer 0 is registered
 * @files_registered: a sparse fixed file table of UNIO_NVME_MAX_NS exists
 * @poll_armed: a POLL_ADD on the region fd is in flight (waits in unio_reap)
 * @ns: attached namespaces, NULL for a free slot
 * @cmds: @nr_cmds command slots (the region's CQ size)
 * @free_head: free list of @cmds
 * @done_head, @done_tail: FIFO of finished commands not yet reaped
 * @inflight: passthrough commands in the kernel, all namespaces
 * @unreaped: commands accepted and not yet reaped
 * @uops: @nr_uops slots of region operations, free list at @uop_free
 * @uops_busy: region operations in flight, armed RECVs excepted
 * @uops_armed: armed RECVs in flight
 * @br: provided buffer ring (group UNIO_UOP_BGID) of @br_mem, set up at the
 *	first armed RECV
 * @nomem: the last unio_nvme_process_cqes() left a CQE for want of memory
 *	for its completions
 */
struct unio_nvme_ring {
	struct unio_region *r;
	struct io_uring ring;
	bool bufs_registered;
	bool files_registered;
	bool poll_armed;
	struct unio_nvme *ns[UNIO_NVME_MAX_NS];
	struct unio_nvme_cmd *cmds;
	uint32_t nr_cmds;
	uint32_t free_head;
	uint32_t done_head;
	uint32_t done_tail;
	uint32_t inflight;
	uint32_t unreaped;
	struct unio_uop *uops;
	uint32_t nr_uops;
	uint32_t uop_free;
	uint32_t uops_busy;
	uint32_t uops_armed;
	struct io_uring_buf_ring *br;
	void *br_mem;
	bool nomem;
	bool cqe_lost;		/* io_uring dropped a CQE (-EBADR) */
};

/* Defaults of struct unio_region_opts. */
#define UNIO_DEF_SQ_ENTRIES	128
#define UNIO_DEF_BUF_SIZE	(64U << 10)
#define UNIO_DEF_DATA_SIZE	(16ULL << 20)

/*
 * region.c: the SETUP argument @opts stands for, defaults filled in, as
 * unio_region_setup() passes it (and explain.c judges it).
 */
void unio_setup_fill(const struct unio_region_opts *opts,
		     struct unified_io_setup *setup);

/* unified.c: free what the unified path allocated (unio_region_destroy). */
void unio_unified_fini(struct unio_region *r);

/* nvme.c: close every namespace and the ring (unio_region_destroy). */
void unio_nvme_region_fini(struct unio_region *r);
/* nvme.c: the library's io_uring ring, created once. */
int unio_nvme_ring_create(struct unio_region *r);

/*
 * uring.c: module descriptors as IORING_OP_URING_CMD on the library's ring.
 * unio_uop_prep() fills one SQE (no submission) with @sqe_flags;
 * unio_uop_complete() turns one of their CQEs into unified completions in
 * r->held: room for UNIO_UOP_MAX_EXPAND must be reserved there first.
 */
#define UNIO_UOP_MAX_EXPAND	(UNIO_UOP_BUF_SIZE / sizeof(struct unified_io_cqe) + 2)
bool unio_uop_runs(const struct unio_region *r, const struct unified_io_desc *d);
int unio_uop_prep(struct unio_region *r, const struct unified_io_desc *d,
		  unsigned int sqe_flags);
void unio_uop_complete(struct unio_region *r, const struct io_uring_cqe *cqe);
void unio_uop_fini(struct unio_nvme_ring *nr);
/* The slot table, made at the first region operation. */
int unio_uop_alloc(struct unio_nvme_ring *nr);
/* unified.c: append to r->held (room reserved) and note armed finals. */
void unio_held_push_track(struct unio_region *r,
			  const struct unified_io_cqe *cqe);
/* unified.c: issue what fits, submit, and move io_uring completions along. */
void unio_nvme_pump(struct unio_nvme_ring *nr);
/* unified.c: free a command's unio_nvme_writev() pieces, if any. */
void unio_nvme_vec_free(struct unio_nvme_cmd *c);
struct unio_nvme *unio_nvme_lookup(struct unio_nvme_ring *nr, uint32_t nsid);
/* unified.c: CLOCK_MONOTONIC in nanoseconds. */
uint64_t unio_now_ns(void);
/* unified.c: queue a gather; its command count, or -errno. */
int unio_nvme_gather(struct unio_region *r, struct unio_nvme *ns,
		     const struct unio_seg *segs, unsigned int nr_segs,
		     uint64_t slba, uint64_t user_data, struct unio_stream *owner);
/* stream.c: command @idx of a stream finished: account it, free the slot. */
void unio_nvme_stream_done(struct unio_nvme_ring *nr, uint32_t idx);
int unio_nvme_process_cqes(struct unio_nvme_ring *nr);

#define unio_offsetofend(TYPE, FIELD) \
	(offsetof(TYPE, FIELD) + sizeof(((TYPE *)0)->FIELD))

/*
 * Options structs (libbpf OPTS): the caller's @sz says which fields it knows.
 * Fields beyond @sz read as their default; bytes beyond the library's struct
 * must be zero.
 */
int unio_opts_check(const void *opts, size_t known_sz);

#define UNIO_OPTS_HAS(opts, field) \
	((opts) && (opts)->sz >= unio_offsetofend(typeof(*(opts)), field))
#define UNIO_OPTS_GET(opts, field, fallback) \
	(UNIO_OPTS_HAS(opts, field) ? (opts)->field : (fallback))

#endif /* UNIO_INTERNAL_H */
