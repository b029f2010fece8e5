/* SPDX-License-Identifier: (LGPL-2.1 OR MIT) */
/*
 * libunifiedio: user-space access to /dev/unified_io_region.
 *
 * Control objects (struct unio_region) are opaque. The submission and
 * completion rings are public (struct unio_queue) so the hot path is inline:
 * user space fills descriptors from unio_get_sqe(), publishes them with
 * unio_submit(), and reaps completions with unio_peek_cqe()/unio_cqe_seen()
 * without a system call.
 *
 * NVMe namespaces attach to a region (unio_nvme_open(), since 1.1): their
 * commands are descriptors of opcode UNIFIED_IO_OP_NVME, run by the library
 * as io_uring NVMe passthrough with the data area as fixed buffer 0.
 * unio_submit_descs() and unio_reap() are the one submission and completion
 * path for every descriptor type, module and NVMe alike.
 *
 * BPF chains (since 1.2): unio_bpf_attach() appends a loaded XDP program to
 * the region's chain, unio_bpf_detach() removes it; UNIFIED_IO_OP_BPF
 * descriptors (unio_prep_bpf()) run the chain over a buffer in place.
 *
 * Network receive (since 1.3): unio_net_bind() makes the region the memory
 * provider of a NIC receive queue, UNIFIED_IO_OP_RECV descriptors
 * (unio_prep_recv()) take what a TCP socket holds into region buffers, and
 * the refill ring (unio_region_refill(), unio_refill_push()) gives buffers
 * back to the NIC without a system call. On kernels where the module cannot
 * be a provider, unio_zcrx_register() lends the data area to io_uring
 * zero-copy receive instead.
 *
 * Network send (since 1.6): UNIFIED_IO_OP_SEND descriptors (unio_prep_send())
 * hand a range of a buffer the application holds to a connected TCP socket
 * without a copy, optionally after the BPF chain ran over it. The first
 * completion has the bytes queued; a notification (unio_cqe_is_notif())
 * follows once the stack holds no reference to them, and until then the
 * buffer is in state UNIFIED_IO_BUF_SENDING: the module refuses FREE and BPF
 * of it, and the library completes an NVMe READ into it with -EBUSY without
 * issuing it. unio_send_get_info() has the send counters.
 *
 * Gather write (since 1.8): unio_nvme_writev() writes segments of the data
 * area that lie anywhere (received chunks, say) to consecutive blocks, one
 * unified completion, on controllers that take SGLs (UNIO_NVME_GATHER_SGL
 * in unio_nvme_info): a stream lands on the drive as it was, written once.
 *
 * Armed receive (since 1.7, UNIFIED_IO_FEAT_RECV_ARM): a RECV prepared with
 * unio_prep_recv_armed() stays on its socket and posts chunk completions as
 * data arrives, without any system call; unio_prep_cancel() and
 * unio_prep_cancel_all() stop it, and unio_cqe_is_final() tells its last
 * completion. Consume with unio_reap(r, cqes, max, 0, 0), which makes no
 * system call on the module's ring (on io_uring it may enter the kernel to
 * run pending task work), and only when it returns 0 wait with a @min of 1.
 *
 * Every function that can fail returns 0 (or a count) on success and a
 * negative errno on failure; errno is not used.
 */
#ifndef UNIFIEDIO_H
#define UNIFIEDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/unified_io.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef UNIO_API
#define UNIO_API __attribute__((visibility("default")))
#endif

#define UNIO_VERSION_MAJOR	1
#define UNIO_VERSION_MINOR	8

struct unio_region;
struct unio_nvme;
struct unio_zcrx;
struct io_uring;
struct io_uring_zcrx_rq;

/**
 * struct unio_region_opts - options for unio_region_create()
 * @sz: sizeof(struct unio_region_opts), set by UNIO_OPTS()
 * @dev_path: device node, NULL for UNIFIED_IO_DEVICE
 * @sq_entries: SQ entries (0: 128)
 * @cq_entries: CQ entries (0: 2 * sq_entries)
 * @buf_size: buffer size (0: 64 KiB)
 * @data_size: data area size (0: 16 MiB)
 * @numa_node: NUMA node, used with UNIFIED_IO_SETUP_F_NUMA_NODE in @flags
 * @flags: enum unified_io_setup_flags
 * @ring: enum unio_ring, what the unified path runs module operations on
 *	(since 1.7; 0: UNIO_RING_MODULE)
 */
struct unio_region_opts {
	size_t sz;
	const char *dev_path;
	uint32_t sq_entries;
	uint32_t cq_entries;
	uint32_t buf_size;
	uint64_t data_size;
	int32_t numa_node;
	uint32_t flags;
	uint32_t ring;
	size_t :0;
};

/*
 * enum unio_ring - where unio_submit_descs() sends module descriptors
 * (since 1.7; unio_region_ring() says which a region uses)
 * @UNIO_RING_MODULE: the region's own SQ and CQ, the default (the only
 *	choice before 1.7)
 * @UNIO_RING_AUTO: the library's io_uring ring when the kernel reports
 *	UNIFIED_IO_FEAT_URING_CMD and the ring can be created, else the module
 * @UNIO_RING_IO_URING: IORING_OP_URING_CMD on the library's io_uring ring,
 *	beside NVMe passthrough; setup fails with -EOPNOTSUPP without
 *	UNIFIED_IO_FEAT_URING_CMD
 *
 * Not the default, because on io_uring a SEND completes once, when its
 * notification would be posted: the library returns its first completion
 * only then, after the peer acknowledged the bytes, and a program that
 * waits for it before it lets the peer read waits forever.
 */
enum unio_ring {
	UNIO_RING_MODULE	= 0,
	UNIO_RING_AUTO		= 1,
	UNIO_RING_IO_URING	= 2,
};

/*
 * Declare and zero an options struct with its size set, like LIBBPF_OPTS.
 * A library built with a larger struct reads only the fields within @sz; a
 * library built with a smaller one fails with -E2BIG if any byte it does not
 * know is non-zero.
 */
#define UNIO_OPTS(NAME, ...)						\
	struct unio_region_opts NAME = ({				\
		memset(&NAME, 0, sizeof(struct unio_region_opts));	\
		(struct unio_region_opts){				\
			.sz = sizeof(struct unio_region_opts),		\
			__VA_ARGS__					\
		};							\
	})

/* Submission ring, as mapped. k* point into the shared control area. */
struct unio_sq {
	uint32_t *khead;
	uint32_t *ktail;
	struct unified_io_desc *sqes;
	uint32_t ring_mask;
	uint32_t ring_entries;
	uint32_t sqe_tail;	/* private: entries handed out by get_sqe */
	uint32_t pad;
};

/* Completion ring, as mapped. */
struct unio_cq {
	uint32_t *khead;
	uint32_t *ktail;
	struct unified_io_cqe *cqes;
	uint32_t ring_mask;
	uint32_t ring_entries;
};

/*
 * Refill ring (since 1.3), as mapped: entries and tail written by user
 * space, head by the kernel. Present when the kernel reports
 * UNIFIED_IO_FEAT_NET_RECV (unio_region_refill()).
 */
struct unio_refill {
	uint32_t *khead;
	uint32_t *ktail;
	struct unified_io_rfqe *rfqes;
	uint32_t ring_mask;
	uint32_t ring_entries;
	uint32_t rfqe_tail;	/* private: entries pushed, published by flush */
	uint32_t pad;
};

/**
 * struct unio_queue - the rings of one region, for the inline helpers
 * @sq: submission ring
 * @cq: completion ring
 * @fd: the device file descriptor
 * @data: start of the mapped data area
 * @data_size: size of the data area
 * @buf_size: size of one buffer
 */
struct unio_queue {
	struct unio_sq sq;
	struct unio_cq cq;
	int fd;
	uint32_t buf_size;
	void *data;
	uint64_t data_size;
};

/* Region lifetime. */
UNIO_API int unio_region_create(const struct unio_region_opts *opts,
				struct unio_region **out);
UNIO_API int unio_region_open(const char *dev_path, struct unio_region **out);
UNIO_API int unio_region_setup(struct unio_region *r,
			       const struct unio_region_opts *opts);
UNIO_API void unio_region_destroy(struct unio_region *r);

/* Accessors. */
UNIO_API int unio_region_fd(const struct unio_region *r);
UNIO_API struct unio_queue *unio_region_queue(struct unio_region *r);
UNIO_API const struct unified_io_region_layout *
unio_region_layout(const struct unio_region *r);
UNIO_API void *unio_region_data(const struct unio_region *r);
UNIO_API int unio_region_get_info(const struct unio_region *r,
				  struct unified_io_info *info);
UNIO_API int unio_get_features(const char *dev_path, uint32_t *features);

/* Submission and completion (system calls). */
UNIO_API int unio_submit(struct unio_queue *q);
UNIO_API int unio_submit_inline(struct unio_queue *q,
				const struct unified_io_desc *desc);
UNIO_API int unio_wait_cqes(struct unio_queue *q, unsigned int min_complete,
			    uint64_t timeout_ns);

/*
 * Synchronous buffer helpers: one descriptor submitted inline and its
 * completion reaped. The completion is found by user_data UNIO_SYNC_USER_DATA
 * (applications must not use that value) and removed from the CQ; other
 * completions in the CQ keep their order and stay unreaped. Do not hold a
 * pointer from unio_peek_cqe() across these calls.
 */
#define UNIO_SYNC_USER_DATA	0x554e494f53594e43ULL	/* "UNIOSYNC" */

UNIO_API int unio_buf_alloc(struct unio_queue *q, uint16_t owner,
			    uint64_t *offset);
UNIO_API int unio_buf_free(struct unio_queue *q, uint16_t owner,
			   uint64_t offset);

/* io_uring: register the data area as fixed buffer 0 of @ring (one iovec). */
UNIO_API int unio_register_io_uring(const struct unio_region *r,
				    struct io_uring *ring);

/*
 * NVMe namespaces (since 1.1). One io_uring ring per region carries the
 * passthrough commands of every namespace attached to it.
 */

/* Plain user addresses instead of fixed buffer 0 (a benchmark baseline). */
#define UNIO_NVME_F_NO_FIXED	(1U << 0)
#define UNIO_NVME_F_ALL		UNIO_NVME_F_NO_FIXED

/**
 * struct unio_nvme_opts - options for unio_nvme_open()
 * @sz: sizeof(struct unio_nvme_opts), set by UNIO_NVME_OPTS()
 * @queue_depth: most passthrough commands in flight for the namespace
 *	(0: 64, at most 1024)
 * @flags: UNIO_NVME_F_*
 */
struct unio_nvme_opts {
	size_t sz;
	uint32_t queue_depth;
	uint32_t flags;
	size_t :0;
};

#define UNIO_NVME_OPTS(NAME, ...)					\
	struct unio_nvme_opts NAME = ({					\
		memset(&NAME, 0, sizeof(struct unio_nvme_opts));	\
		(struct unio_nvme_opts){				\
			.sz = sizeof(struct unio_nvme_opts),		\
			__VA_ARGS__					\
		};							\
	})

/**
 * struct unio_nvme_info - what unio_nvme_open() discovered
 * @nsid: namespace identifier; the value for a descriptor's nvme.nsid
 * @lba_size: logical block size in bytes
 * @nr_lbas: capacity in logical blocks (NSZE)
 * @max_transfer: largest data transfer of one passthrough command in bytes;
 *	longer descriptors are split
 * @queue_depth: most passthrough commands in flight for the namespace
 * @flags: UNIO_NVME_F_* the namespace was opened with
 * @dma_align: (since 1.8) every segment of unio_nvme_writev() starts and
 *	ends at a multiple of this many bytes of the data area (the block
 *	queue's DMA alignment: 4 on NVMe); 0 before 1.8
 * @char_dev: the generic char device the commands go to (/dev/ngXnY)
 * @block_dev: its block device (/dev/nvmeXnY), "" if there is none
 * @max_segs: (since 1.8) most memory segments of one passthrough command
 *	(the queue's max_segments); unio_nvme_writev() splits at this
 * @gather_flags: (since 1.8) UNIO_NVME_GATHER_*
 * @resv: always 0
 */
struct unio_nvme_info {
	uint32_t nsid;
	uint32_t lba_size;
	uint64_t nr_lbas;
	uint32_t max_transfer;
	uint32_t queue_depth;
	uint32_t flags;
	uint32_t dma_align;
	char char_dev[256];
	char block_dev[256];
	uint32_t max_segs;
	uint32_t gather_flags;
	uint64_t resv[3];
};

/*
 * The queue has no virtual boundary (the controller takes SGLs), so one
 * command gathers segments that start and end anywhere @dma_align allows.
 * Without it (PRPs) two segments meet inside one command only at a 4 KiB
 * boundary: unio_nvme_writev() starts a new command where they meet at a
 * block boundary, and refuses with -EOPNOTSUPP a write where they meet off
 * it inside a block (the kernel would copy it through a bounce buffer).
 */
#define UNIO_NVME_GATHER_SGL	(1U << 0)

/**
 * struct unio_seg - bytes of the region's data area
 * @off: offset in the data area
 * @len: length in bytes
 * @resv: always 0
 */
struct unio_seg {
	uint64_t off;
	uint32_t len;
	uint32_t resv;
};

/*
 * Write @nr_segs segments of the data area, in order, to consecutive logical
 * blocks from @slba of namespace @nsid (0: the only one) with vectored
 * passthrough (since 1.8): no byte copied, however the segments lie. The
 * segments' total is a multiple of the LBA size; the library splits it into
 * commands at block boundaries (a segment may straddle two). One unified
 * completion, as for UNIFIED_IO_OP_NVME: @user_data, res = bytes written or
 * -errno, addr = the first segment's offset. 0 when queued; -EINVAL for a bad
 * argument (no such namespace, no segment or more than
 * UNIO_NVME_WRITEV_MAX_SEGS, a segment outside the data area, empty, or
 * misaligned to dma_align, a total that is not a multiple of the LBA size
 * or above INT32_MAX, non-zero resv, a block made of more segments than a
 * command takes), -EOPNOTSUPP when two segments meet inside a block off
 * the queue's virtual boundary (no UNIO_NVME_GATHER_SGL), -EBUSY when every
 * command slot is taken (reap first), -ENOMEM.
 */
#define UNIO_NVME_WRITEV_MAX_SEGS	65536
UNIO_API int unio_nvme_writev(struct unio_region *r, uint32_t nsid,
			      const struct unio_seg *segs, unsigned int nr_segs,
			      uint64_t slba, uint64_t user_data);

/*
 * A byte stream stored at consecutive blocks (since 1.8): a flow's received
 * chunks, appended in order where they lie in the data area, go to the
 * drive by unio_nvme_writev() in runs of whole blocks, each block written
 * once; unio_stream_done() gives back each chunk (its @user_data) once all
 * its bytes are on the drive, so its buffer can go back to the NIC. A chunk
 * off the DMA alignment (or every chunk after one, until the stream is
 * aligned again) is copied into the bounce range and counted; the end is
 * padded with zeros to a block. The writes complete inside the library
 * (unio_reap() or unio_stream_sync() moves them along): none reaches the
 * caller's completions.
 */
struct unio_stream;

/**
 * struct unio_stream_opts - options for unio_stream_open()
 * @sz: sizeof(struct unio_stream_opts), set by UNIO_STREAM_OPTS()
 * @nsid: the namespace (0: the only one attached to the region)
 * @write_bytes: write once this many bytes of whole blocks wait, and at
 *	most this many per write (0: 256 KiB; at least one block)
 * @bounce_off, @bounce_len: a range of the data area the caller gives the
 *	stream for its copies and padding (at least two blocks besides one of
 *	zeros, on the DMA alignment; on a 4 KiB boundary without SGLs); the
 *	caller keeps it until unio_stream_close()
 * @flags: UNIO_STREAM_F_*
 */
struct unio_stream_opts {
	size_t sz;
	uint32_t nsid;
	uint32_t write_bytes;
	uint64_t bounce_off;
	uint32_t bounce_len;
	uint32_t flags;
	size_t :0;
};

#define UNIO_STREAM_OPTS(NAME, ...)					\
	struct unio_stream_opts NAME = ({				\
		memset(&NAME, 0, sizeof(struct unio_stream_opts));	\
		(struct unio_stream_opts){				\
			.sz = sizeof(struct unio_stream_opts),		\
			__VA_ARGS__					\
		};							\
	})

/**
 * struct unio_stream_info - a stream's counters
 * @appended: stream bytes appended
 * @durable: bytes [0, @durable) of the stream are on the drive
 * @drive_bytes: bytes written to the drive, the end's padding included
 * @copied_bytes: stream bytes copied into the bounce range (alignment)
 * @pad_bytes: zero bytes written after the stream's end
 * @writes: gathers (unio_nvme_writev()) issued
 * @commands: passthrough commands they made
 * @status: NVMe status of a write the drive failed, else 0
 * @err: the error that stopped the stream, else 0
 */
struct unio_stream_info {
	uint64_t appended;
	uint64_t durable;
	uint64_t drive_bytes;
	uint64_t copied_bytes;
	uint64_t pad_bytes;
	uint64_t writes;
	uint64_t commands;
	uint16_t status;
	uint16_t resv0;
	int32_t err;
	uint64_t resv[4];
};

/*
 * unio_stream_open(): copy every chunk (as a drive without SGLs needs,
 * where it is the default).
 */
#define UNIO_STREAM_F_COPY	(1U << 0)
/* unio_stream_sync(): also write the end, padded to a block. */
#define UNIO_STREAM_SYNC_END	(1U << 0)

UNIO_API int unio_stream_open(struct unio_region *r, uint64_t slba,
			      uint64_t nr_lbas, const struct unio_stream_opts *opts,
			      struct unio_stream **out);
UNIO_API int unio_stream_append(struct unio_stream *s, uint64_t off,
				uint32_t len, uint64_t user_data);
UNIO_API int unio_stream_done(struct unio_stream *s, uint64_t *user_data,
			      unsigned int max);
UNIO_API int unio_stream_sync(struct unio_stream *s, uint32_t flags,
			      uint64_t timeout_ns);
UNIO_API int unio_stream_get_info(const struct unio_stream *s,
				  struct unio_stream_info *info);
UNIO_API void unio_stream_close(struct unio_stream *s);


UNIO_API int unio_nvme_open(struct unio_region *r, const char *path,
			    const struct unio_nvme_opts *opts,
			    struct unio_nvme **out);
UNIO_API void unio_nvme_close(struct unio_nvme *ns);
UNIO_API int unio_nvme_get_info(const struct unio_nvme *ns,
				struct unio_nvme_info *info);

/* The unified path: every descriptor type in, every completion out. */
UNIO_API int unio_submit_descs(struct unio_region *r,
			       const struct unified_io_desc *descs,
			       unsigned int nr);
UNIO_API int unio_reap(struct unio_region *r, struct unified_io_cqe *cqes,
		       unsigned int max, unsigned int min, uint64_t timeout_ns);
/*
 * One operation, start to finish (since 1.5): submit @desc on the unified
 * path and wait, at most @timeout_ns (0: no limit), for its completion,
 * copied to @cqe.  Returns 0 with the completion in @cqe (its @res says how
 * the operation went) or a negative errno when it could not run; -EBUSY
 * while anything else on the region's unified path is queued, in flight or
 * unreaped.  For a SEND (since 1.6) @cqe is the first completion; its
 * notification, when one follows (UNIFIED_IO_CQE_F_MORE), is reaped with
 * unio_reap(), and until then this call returns -EBUSY.  For programs that
 * do one thing at a time; pipelines batch with unio_submit_descs() and
 * unio_reap().
 */
UNIO_API int unio_submit_and_wait(struct unio_region *r,
				  const struct unified_io_desc *desc,
				  struct unified_io_cqe *cqe,
				  uint64_t timeout_ns);

/*
 * The ring the unified path runs module operations on (since 1.7):
 * UNIO_RING_MODULE or UNIO_RING_IO_URING, or -EINVAL before setup.
 */
UNIO_API int unio_region_ring(const struct unio_region *r);
/*
 * Submit @nr descriptors as one io_uring link chain (since 1.7): each runs
 * after the previous completed; when one fails (negative result) the rest
 * complete with -ECANCELED. All or nothing: returns @nr, or a negative
 * errno with nothing submitted; -EOPNOTSUPP on the module ring.
 */
UNIO_API int unio_submit_chain(struct unio_region *r,
			       const struct unified_io_desc *descs,
			       unsigned int nr);

/*
 * BPF chains (since 1.2). @prog_fd is a loaded BPF_PROG_TYPE_XDP program
 * (libbpf: bpf_program__fd()); the region keeps its own reference.
 */
UNIO_API int unio_bpf_attach(struct unio_region *r, int prog_fd,
			     uint32_t *prog_id);
UNIO_API int unio_bpf_detach(struct unio_region *r, uint32_t prog_id);

/*
 * Network receive (since 1.3). unio_net_bind() lends @nr_bufs buffers to
 * receive queue @rxq of interface @ifindex (the caller's network namespace);
 * the region must have PAGE_SIZE buffers. On failure the kernel's reason is
 * copied to @msg (NUL-terminated, at most @msg_size bytes) when @msg is not
 * NULL; on success @msg is "".
 */
UNIO_API int unio_net_bind(struct unio_region *r, uint32_t ifindex,
			   uint32_t rxq, uint32_t nr_bufs, char *msg,
			   size_t msg_size);
UNIO_API int unio_net_unbind(struct unio_region *r, char *msg, size_t msg_size);
/* The network side of GET_INFO; -EOPNOTSUPP without UNIFIED_IO_FEAT_NET_RECV. */
UNIO_API int unio_net_get_info(const struct unio_region *r,
			       struct unified_io_net_info *net);
/*
 * The send side of GET_INFO (since 1.6); -EOPNOTSUPP without
 * UNIFIED_IO_FEAT_NET_SEND.
 */
UNIO_API int unio_send_get_info(const struct unio_region *r,
				struct unified_io_send_info *si);
/* The refill ring, or NULL when the kernel has none (no NET_RECV). */
UNIO_API struct unio_refill *unio_region_refill(struct unio_region *r);
UNIO_API const char *unio_net_state_name(unsigned int state);

/*
 * io_uring zero-copy receive into the data area (since 1.3): the stock
 * kernel's route for network data into the region. @ring must have been
 * set up with IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_SINGLE_ISSUER and
 * IORING_SETUP_CQE32 (or IORING_SETUP_CQE_MIXED); the caller needs
 * CAP_NET_ADMIN.
 */

/* No NIC queue: every received byte is copied into the area (ZCRX_REG_NODEV). */
#define UNIO_ZCRX_F_NODEV	(1U << 0)
#define UNIO_ZCRX_F_ALL		UNIO_ZCRX_F_NODEV

/**
 * struct unio_zcrx_opts - options for unio_zcrx_register()
 * @sz: sizeof(struct unio_zcrx_opts), set by UNIO_ZCRX_OPTS()
 * @ifindex: interface (in the caller's network namespace); 0 with
 *	UNIO_ZCRX_F_NODEV
 * @rxq: its receive queue; 0 with UNIO_ZCRX_F_NODEV
 * @rq_entries: refill ring entries (0: one per page of the area, at most
 *	32768); the kernel rounds up to a power of two
 * @flags: UNIO_ZCRX_F_*
 * @data_off: start of the area in the data area, page aligned (0)
 * @len: length of the area, a multiple of the page size (0: from @data_off
 *	to the end of the data area)
 */
struct unio_zcrx_opts {
	size_t sz;
	uint32_t ifindex;
	uint32_t rxq;
	uint32_t rq_entries;
	uint32_t flags;
	uint64_t data_off;
	uint64_t len;
	size_t :0;
};

#define UNIO_ZCRX_OPTS(NAME, ...)					\
	struct unio_zcrx_opts NAME = ({					\
		memset(&NAME, 0, sizeof(struct unio_zcrx_opts));	\
		(struct unio_zcrx_opts){				\
			.sz = sizeof(struct unio_zcrx_opts),		\
			__VA_ARGS__					\
		};							\
	})

/* struct unio_zcrx_info @flags: @copy_count and @copy_bytes are valid. */
#define UNIO_ZCRX_INFO_F_STATS	(1U << 0)

/**
 * struct unio_zcrx_info - a registered zcrx interface queue
 * @id: zcrx id, the zcrx_ifq_idx of IORING_OP_RECV_ZC requests
 * @rx_buf_len: size of the area's chunks (a completion never crosses one)
 * @area_token: rq_area_token, ORed into the offsets of refill entries
 * @data_off: data-area offset of the area: a completion's offset (without
 *	its area bits) plus @data_off is a data-area offset (0 for an area
 *	of unio_zcrx_register_mem())
 * @len: length of the area
 * @area: the area: in the region's mapping, or the caller's memory
 * @rq: the refill ring, as liburing's struct io_uring_zcrx_rq
 * @flags: UNIO_ZCRX_INFO_F_*
 * @resv0: always 0
 * @copy_count: completions the kernel filled by copying (fallback), when
 *	the kernel keeps zcrx statistics (UNIO_ZCRX_INFO_F_STATS)
 * @copy_bytes: bytes in those completions
 * @resv: always 0
 */
struct unio_zcrx_info {
	uint32_t id;
	uint32_t rx_buf_len;
	uint64_t area_token;
	uint64_t data_off;
	uint64_t len;
	void *area;
	struct io_uring_zcrx_rq *rq;
	uint32_t flags;
	uint32_t resv0;
	uint64_t copy_count;
	uint64_t copy_bytes;
	uint64_t resv[4];
};

UNIO_API int unio_zcrx_register(struct unio_region *r, struct io_uring *ring,
				const struct unio_zcrx_opts *opts,
				struct unio_zcrx **out);
/*
 * The same over @len bytes of the caller's memory at @area (page aligned),
 * as upstream zcrx users do; @opts' data_off and len must be 0.  Since 1.4.
 */
UNIO_API int unio_zcrx_register_mem(struct io_uring *ring, void *area,
				    uint64_t len,
				    const struct unio_zcrx_opts *opts,
				    struct unio_zcrx **out);
UNIO_API int unio_zcrx_get_info(const struct unio_zcrx *z,
				struct unio_zcrx_info *info);
UNIO_API void unio_zcrx_destroy(struct unio_zcrx *z);

/* NVMe status field (struct unified_io_cqe @flags when @res is -EIO). */
#define UNIO_NVME_SCT_GENERIC		0
#define UNIO_NVME_SCT_CMD_SPECIFIC	1
#define UNIO_NVME_SCT_MEDIA		2
#define UNIO_NVME_SCT_PATH		3
#define UNIO_NVME_SCT_VENDOR		7
#define UNIO_NVME_SC_INVALID_OPCODE	0x01
#define UNIO_NVME_SC_INVALID_FIELD	0x02
#define UNIO_NVME_SC_LBA_RANGE		0x80
#define UNIO_NVME_STATUS_MORE		(1U << 13)
#define UNIO_NVME_STATUS_DNR		(1U << 14)

UNIO_API const char *unio_nvme_status_str(uint16_t status);

/* Names, for tools and logs. */
UNIO_API const char *unio_op_name(unsigned int opcode);
UNIO_API const char *unio_buf_state_name(unsigned int state);

/*
 * Errors explained (since 1.5): the calls whose errno unio_explain() turns
 * into a sentence naming the limit, the option or the privilege at fault.
 */
enum unio_call {
	UNIO_CALL_OPEN		= 1,	/* unio_region_open(), unio_get_features() */
	UNIO_CALL_SETUP		= 2,	/* unio_region_setup(), unio_region_create() */
	UNIO_CALL_NET_BIND	= 3,	/* unio_net_bind() */
	UNIO_CALL_BPF_ATTACH	= 4,	/* unio_bpf_attach() */
};

/*
 * Write what @err (a negative or positive errno) returned by @call means
 * to @buf (NUL-terminated, at most @size bytes). @opts are the options the
 * failed call was given (NULL: the defaults, as for the call), used by
 * UNIO_CALL_SETUP to name the option at fault and by UNIO_CALL_OPEN and
 * UNIO_CALL_SETUP for the device path; the other calls ignore them.
 * Returns the length of the whole explanation, as snprintf() does, or
 * -EINVAL for an unknown @call.
 */
UNIO_API int unio_explain(unsigned int call, int err,
			  const struct unio_region_opts *opts, char *buf,
			  size_t size);

/*
 * Inline hot path. Ordering: the kernel reads the SQ tail with a load-acquire
 * and publishes the SQ head and CQ tail with a store-release; these helpers
 * do the matching release/acquire on the user side.
 */
#define unio_smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define unio_smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* Entries free in the SQ for unio_get_sqe(). */
static inline unsigned int unio_sq_space_left(const struct unio_queue *q)
{
	uint32_t head = unio_smp_load_acquire(q->sq.khead);

	return q->sq.ring_entries - (q->sq.sqe_tail - head);
}

/* Entries handed out by unio_get_sqe() and not yet seen by the kernel. */
static inline unsigned int unio_sq_ready(const struct unio_queue *q)
{
	return q->sq.sqe_tail - unio_smp_load_acquire(q->sq.khead);
}

/* Next free SQ entry, zeroed, or NULL when the SQ is full. */
static inline struct unified_io_desc *unio_get_sqe(struct unio_queue *q)
{
	struct unified_io_desc *sqe;

	if (unio_sq_space_left(q) == 0)
		return NULL;
	sqe = &q->sq.sqes[q->sq.sqe_tail & q->sq.ring_mask];
	q->sq.sqe_tail++;
	__builtin_memset(sqe, 0, sizeof(*sqe));
	return sqe;
}

/* Publish the entries handed out so far (done by unio_submit()). */
static inline void unio_sq_flush(struct unio_queue *q)
{
	unio_smp_store_release(q->sq.ktail, q->sq.sqe_tail);
}

/* Completions ready to be reaped. */
static inline unsigned int unio_cq_ready(const struct unio_queue *q)
{
	return unio_smp_load_acquire(q->cq.ktail) - *q->cq.khead;
}

/* The oldest unreaped completion, or NULL. */
static inline struct unified_io_cqe *unio_peek_cqe(struct unio_queue *q)
{
	uint32_t head = *q->cq.khead;

	if (unio_smp_load_acquire(q->cq.ktail) == head)
		return NULL;
	return &q->cq.cqes[head & q->cq.ring_mask];
}

/* Mark @nr completions consumed, handing their slots back to the kernel. */
static inline void unio_cq_advance(struct unio_queue *q, unsigned int nr)
{
	unio_smp_store_release(q->cq.khead, *q->cq.khead + nr);
}

static inline void unio_cqe_seen(struct unio_queue *q)
{
	unio_cq_advance(q, 1);
}

/* Pointer to data-area offset @offset (no bounds check: hot path). */
static inline void *unio_data_ptr(const struct unio_queue *q, uint64_t offset)
{
	return (char *)q->data + offset;
}

static inline void unio_prep_nop(struct unified_io_desc *d, uint64_t user_data)
{
	d->opcode = UNIFIED_IO_OP_NOP;
	d->user_data = user_data;
}

static inline void unio_prep_alloc(struct unified_io_desc *d, uint16_t owner,
				   uint64_t user_data)
{
	d->opcode = UNIFIED_IO_OP_ALLOC;
	d->owner = owner;
	d->user_data = user_data;
}

static inline void unio_prep_free(struct unified_io_desc *d, uint16_t owner,
				  uint64_t offset, uint64_t user_data)
{
	d->opcode = UNIFIED_IO_OP_FREE;
	d->owner = owner;
	d->addr = offset;
	d->user_data = user_data;
}

/*
 * Run the region's BPF chain over @len bytes at the start of the buffer at
 * data-area offset @data_off, which @owner holds. The completion's result is
 * the final length, or 0 with UNIFIED_IO_CQE_F_BPF_DROP in its flags when a
 * program dropped the buffer (unio_cqe_bpf_dropped()).
 */
static inline void unio_prep_bpf(struct unified_io_desc *d, uint16_t owner,
				 uint64_t data_off, uint32_t len,
				 uint64_t user_data)
{
	d->opcode = UNIFIED_IO_OP_BPF;
	d->owner = owner;
	d->addr = data_off;
	d->len = len;
	d->user_data = user_data;
}

/*
 * For an UNIFIED_IO_OP_BPF completion: true when a program dropped the
 * buffer, with its position in the chain in *prog_index (if not NULL).
 */
static inline bool unio_cqe_bpf_dropped(const struct unified_io_cqe *cqe,
					unsigned int *prog_index)
{
	if (cqe->opcode != UNIFIED_IO_OP_BPF || cqe->res < 0 ||
	    !(cqe->flags & UNIFIED_IO_CQE_F_BPF_DROP))
		return false;
	if (prog_index)
		*prog_index = (cqe->flags >> UNIFIED_IO_CQE_BPF_PROG_SHIFT) & 0xff;
	return true;
}

/*
 * Receive from the connected TCP socket @fd into region buffers, without
 * blocking: everything queued on it, at most @len bytes (0: no limit). Each
 * chunk completes with UNIFIED_IO_CQE_F_MORE, its length in @res and its
 * data-area offset in @addr, in a buffer that @owner then holds; the last
 * completion (no F_MORE) has the total, 0 at end of stream, or an error.
 * @flags: enum unified_io_recv_flags.
 */
static inline void unio_prep_recv(struct unified_io_desc *d, int fd,
				  uint16_t owner, uint32_t len, uint32_t flags,
				  uint64_t user_data)
{
	d->opcode = UNIFIED_IO_OP_RECV;
	d->owner = owner;
	d->len = len;
	d->user_data = user_data;
	d->net.fd = fd;
	d->net.flags = flags;
}

/*
 * Armed receive (since 1.7, UNIFIED_IO_FEAT_RECV_ARM): a RECV that stays on
 * the TCP socket @fd (multishot). Chunk completions (UNIFIED_IO_CQE_F_MORE,
 * @res the length, @addr the data-area offset of a buffer @owner then
 * holds) keep coming as the peer sends, without any SUBMIT; the final one
 * (no F_MORE: unio_cqe_is_final()) has @res 0 when the peer closed and
 * every byte was delivered, -ECANCELED after a CANCEL, -ENOSPC (no CQ slot
 * for the next chunk), -ENOBUFS (no free buffer) or the socket's error.
 * Bytes not delivered stay on the socket: arm again to go on. @flags:
 * enum unified_io_recv_flags besides UNIFIED_IO_RECV_F_ARM, which is set.
 */
static inline void unio_prep_recv_armed(struct unified_io_desc *d, int fd,
					uint16_t owner, uint32_t flags,
					uint64_t user_data)
{
	unio_prep_recv(d, fd, owner, 0, flags | UNIFIED_IO_RECV_F_ARM,
		       user_data);
}

/*
 * Stop the armed RECV on socket @fd (since 1.7): its final completion
 * (-ECANCELED) comes before this descriptor's, whose @res is 1, or -ENOENT
 * when nothing was armed on @fd.
 */
static inline void unio_prep_cancel(struct unified_io_desc *d, int fd,
				    uint64_t user_data)
{
	d->opcode = UNIFIED_IO_OP_CANCEL;
	d->owner = 0;
	d->addr = 0;
	d->len = 0;
	d->user_data = user_data;
	d->net.fd = fd;
	d->net.flags = 0;
}

/* Stop every armed RECV of the region (since 1.7); @res is their number. */
static inline void unio_prep_cancel_all(struct unified_io_desc *d,
					uint64_t user_data)
{
	unio_prep_cancel(d, -1, user_data);
	d->net.flags = UNIFIED_IO_CANCEL_F_ALL;
}

/*
 * True when no other completion of the same descriptor follows @cqe (since
 * 1.7): no UNIFIED_IO_CQE_F_MORE, which RECV chunks (armed or not) and the
 * first completion of a SEND have. An NVMe completion is always final (its
 * @flags hold the NVMe status).
 */
static inline bool unio_cqe_is_final(const struct unified_io_cqe *cqe)
{
	if (cqe->opcode == UNIFIED_IO_OP_NVME)
		return true;
	return !(cqe->flags & UNIFIED_IO_CQE_F_MORE);
}

/*
 * Send @len bytes at data-area offset @data_off, inside one buffer that
 * @owner holds, on the connected TCP socket @fd, without copying them and
 * without blocking. The completion's @res is the number of bytes queued
 * (fewer than @len when the socket's send buffer filled: send the rest once
 * poll() reports POLLOUT) or a negative errno; with UNIFIED_IO_CQE_F_MORE a
 * notification follows (unio_cqe_is_notif()), posted once the stack holds
 * no reference to the bytes. Until then the buffer is in state
 * UNIFIED_IO_BUF_SENDING: do not write into it. @flags: enum
 * unified_io_send_flags (UNIFIED_IO_SEND_F_BPF: run the BPF chain over the
 * buffer first, @data_off then the start of the buffer).
 */
static inline void unio_prep_send(struct unified_io_desc *d, int fd,
				  uint16_t owner, uint64_t data_off,
				  uint32_t len, uint32_t flags,
				  uint64_t user_data)
{
	d->opcode = UNIFIED_IO_OP_SEND;
	d->owner = owner;
	d->addr = data_off;
	d->len = len;
	d->user_data = user_data;
	d->net.fd = fd;
	d->net.flags = flags;
}

/*
 * True for the notification of an UNIFIED_IO_OP_SEND: the stack holds no
 * reference to the bytes of that send any more (UNIFIED_IO_CQE_F_COPIED in
 * its flags: it copied them, at least in part).
 */
static inline bool unio_cqe_is_notif(const struct unified_io_cqe *cqe)
{
	return cqe->opcode == UNIFIED_IO_OP_SEND &&
	       (cqe->flags & UNIFIED_IO_CQE_F_NOTIF);
}

/* Entries free in the refill ring for unio_refill_push(). */
static inline unsigned int unio_refill_space_left(const struct unio_refill *rf)
{
	uint32_t head = unio_smp_load_acquire(rf->khead);

	return rf->ring_entries - (rf->rfqe_tail - head);
}

/*
 * Queue the buffer at data-area offset @offset (the start of a buffer that
 * RECV gave to @owner) for return to the NIC. False when the ring is full.
 * The kernel sees it after unio_refill_flush().
 */
static inline bool unio_refill_push(struct unio_refill *rf, uint64_t offset,
				    uint16_t owner)
{
	struct unified_io_rfqe *e;

	if (unio_refill_space_left(rf) == 0)
		return false;
	e = &rf->rfqes[rf->rfqe_tail & rf->ring_mask];
	e->addr = offset;
	e->owner = owner;
	e->resv[0] = 0;
	e->resv[1] = 0;
	e->resv[2] = 0;
	rf->rfqe_tail++;
	return true;
}

/* Publish the pushed entries to the kernel (store-release of the tail). */
static inline void unio_refill_flush(struct unio_refill *rf)
{
	unio_smp_store_release(rf->ktail, rf->rfqe_tail);
}

/* Status code type (bits 8-10) of an NVMe status field. */
static inline unsigned int unio_nvme_sct(uint16_t status)
{
	return (status >> 8) & 0x7;
}

/* Status code (bits 0-7) of an NVMe status field. */
static inline unsigned int unio_nvme_sc(uint16_t status)
{
	return status & 0xff;
}

/*
 * NVMe descriptors. The helpers leave @len 0: the library reads it as
 * nlb * the namespace's LBA size (a non-zero @len must equal that), and
 * @nvme.nsid 0, meaning the only namespace attached to the region; set
 * d->nvme.nsid when several are.
 *
 * A READ whose data-area range overlaps a buffer in state
 * UNIFIED_IO_BUF_SENDING (sends in flight, since 1.6) completes with -EBUSY:
 * the drive would overwrite bytes the stack may still retransmit. The
 * library reads the buffer table before it issues each passthrough piece;
 * a READ refused before its first piece moved nothing.
 */
static inline void __unio_prep_nvme(struct unified_io_desc *d, uint8_t op,
				    uint64_t data_off, uint64_t slba,
				    uint32_t nlb, uint64_t user_data)
{
	d->opcode = UNIFIED_IO_OP_NVME;
	d->addr = data_off;
	d->user_data = user_data;
	d->nvme.opcode = op;
	d->nvme.slba = slba;
	d->nvme.nlb = nlb;
}

static inline void unio_prep_nvme_read(struct unified_io_desc *d,
				       uint64_t data_off, uint64_t slba,
				       uint32_t nlb, uint64_t user_data)
{
	__unio_prep_nvme(d, UNIFIED_IO_NVME_READ, data_off, slba, nlb, user_data);
}

static inline void unio_prep_nvme_write(struct unified_io_desc *d,
					uint64_t data_off, uint64_t slba,
					uint32_t nlb, uint64_t user_data)
{
	__unio_prep_nvme(d, UNIFIED_IO_NVME_WRITE, data_off, slba, nlb, user_data);
}

static inline void unio_prep_nvme_flush(struct unified_io_desc *d,
					uint64_t user_data)
{
	__unio_prep_nvme(d, UNIFIED_IO_NVME_FLUSH, 0, 0, 0, user_data);
}

static inline void unio_prep_nvme_write_zeroes(struct unified_io_desc *d,
					       uint64_t slba, uint32_t nlb,
					       uint64_t user_data)
{
	__unio_prep_nvme(d, UNIFIED_IO_NVME_WRITE_ZEROES, 0, slba, nlb,
			 user_data);
}

#ifdef __cplusplus
}
#endif

#endif /* UNIFIEDIO_H */
