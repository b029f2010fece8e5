/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * unified_io: one memory region shared by the NIC, NVMe, BPF programs and the
 * application, exposed by the misc device /dev/unified_io_region.
 *
 * Each open() of the device is an independent context. UNIFIED_IO_SETUP
 * creates the context's region; mmap() of the device file maps it. The region
 * is one linear range of the file:
 *
 *	[0, ctrl_size)			control area: ring indices, statistics,
 *					configuration
 *	[desc_off, desc_off + desc_size) descriptor area: SQ and CQ entries,
 *					buffer table
 *	[data_off, data_off + data_size) data area: nr_bufs buffers of buf_size
 *
 * Every offset and size is returned by UNIFIED_IO_SETUP in struct
 * unified_io_region_layout; none is fixed by this header.
 *
 * Every ioctl argument starts with a __u32 size, which user space sets to the
 * size of the structure it was compiled with. The kernel accepts any size from
 * the first published version of the structure up to 4096 bytes:
 *  - a size smaller than the first version fails with EINVAL;
 *  - a size above 4096 fails with E2BIG;
 *  - bytes beyond the kernel's structure must be zero, otherwise E2BIG;
 *  - output is written back for min(size, kernel size) bytes.
 * Unknown flags and non-zero reserved fields fail with EINVAL. Only the tail
 * of an ioctl argument grows; a structure embedded in one (layout, config,
 * stats) keeps its size, and its reserved fields are its extension points.
 *
 * Errors common to every ioctl:
 *	EFAULT	the argument is not readable or writable user memory
 *	EINVAL	size too small, unknown flag, non-zero reserved field
 *	E2BIG	non-zero byte beyond the structure the kernel knows
 *	EBADFD	the context has no region yet (every ioctl but SETUP, GET_INFO)
 *	ENOTTY	unknown ioctl
 */
#ifndef _UAPI_LINUX_UNIFIED_IO_H
#define _UAPI_LINUX_UNIFIED_IO_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define UNIFIED_IO_DEVICE		"/dev/unified_io_region"
#define UNIFIED_IO_ABI_VERSION		1

/* Limits enforced by UNIFIED_IO_SETUP. */
#define UNIFIED_IO_MAX_ENTRIES		32768		/* SQ and CQ entries */
#define UNIFIED_IO_MIN_BUF_SIZE		4096	/* and at least the page size */
#define UNIFIED_IO_MAX_BUF_SIZE		(2U << 20)	/* 2 MiB */
/* One io_uring fixed buffer can cover at most 1 GiB. */
#define UNIFIED_IO_MAX_DATA_SIZE	(1ULL << 30)
#define UNIFIED_IO_MAX_BUFS		65536

/*
 * Feature bits reported by UNIFIED_IO_GET_INFO. UNIFIED_IO_FEATURES is every
 * bit this header defines; the running kernel's set is what GET_INFO says.
 */
#define UNIFIED_IO_FEAT_SQ_RING		(1U << 0)  /* batched SUBMIT from the SQ */
#define UNIFIED_IO_FEAT_INLINE_SUBMIT	(1U << 1)  /* SUBMIT of one inline desc */
#define UNIFIED_IO_FEAT_WAIT		(1U << 2)  /* COMPLETE waits with timeout */
#define UNIFIED_IO_FEAT_POLL		(1U << 3)  /* poll() for completions */
#define UNIFIED_IO_FEAT_HUGE_PAGES	(1U << 4)  /* 2 MiB pages for data */
#define UNIFIED_IO_FEAT_BUF_OWNERS	(1U << 5)  /* ALLOC/FREE with owner tags */
#define UNIFIED_IO_FEAT_BPF		(1U << 6)  /* BPF chains over buffers */
#define UNIFIED_IO_FEAT_NET_RECV	(1U << 7)  /* RECV from TCP sockets */
/*
 * NET_BIND: the region is a NIC receive queue's memory provider. Only on
 * kernels that let a module provide page pool memory (see
 * Documentation/unified_io_region.rst); the module builds and loads without
 * it, and NET_BIND then fails with EOPNOTSUPP.
 */
#define UNIFIED_IO_FEAT_NET_PROVIDER	(1U << 8)
#define UNIFIED_IO_FEAT_NET_SEND	(1U << 9)  /* zero-copy SEND to TCP */
#define UNIFIED_IO_FEAT_RECV_ARM	(1U << 10) /* armed RECV, OP_CANCEL */
#define UNIFIED_IO_FEAT_URING_CMD	(1U << 11) /* ops as io_uring uring_cmd */
#define UNIFIED_IO_FEATURES		0xfffU

/* Most programs in a region's BPF chain. */
#define UNIFIED_IO_BPF_MAX_PROGS	8

/**
 * enum unified_io_setup_flags - flags for struct unified_io_setup
 * @UNIFIED_IO_SETUP_F_HUGE_PAGES: prefer 2 MiB pages for the data area and fall
 *	back to order-0 pages where none is available. GET_INFO reports how many
 *	were obtained.
 * @UNIFIED_IO_SETUP_F_NUMA_NODE: prefer @numa_node to the node of the calling
 *	CPU (other nodes are used when it has no free memory).
 */
enum unified_io_setup_flags {
	UNIFIED_IO_SETUP_F_HUGE_PAGES	= 1 << 0,
	UNIFIED_IO_SETUP_F_NUMA_NODE	= 1 << 1,
};

/**
 * struct unified_io_ring_offsets - where one ring lives in the region
 * @head: offset of the __u32 consumer index in the control area
 * @tail: offset of the __u32 producer index in the control area
 * @ring_mask: @ring_entries - 1; index an entry with (index & ring_mask)
 * @ring_entries: number of entries, a power of two
 * @array: offset of the first entry in the descriptor area
 * @entry_size: size of one entry in bytes
 * @resv: Must be 0
 *
 * Head and tail are free-running 32-bit counters. For the SQ, user space
 * writes the tail and the kernel writes the head; for the CQ, the kernel
 * writes the tail and user space writes the head. The producer publishes its
 * index with a store-release, the consumer reads it with a load-acquire.
 */
struct unified_io_ring_offsets {
	__u32 head;
	__u32 tail;
	__u32 ring_mask;
	__u32 ring_entries;
	__u32 array;
	__u32 entry_size;
	__u32 resv[2];
};

/**
 * struct unified_io_region_layout - geometry of a region, returned by SETUP
 * @region_size: total length of the region in the file (mmap from 0)
 * @ctrl_off: file offset of the control area (always 0)
 * @ctrl_size: length of the control area
 * @desc_off: file offset of the descriptor area
 * @desc_size: length of the descriptor area
 * @data_off: file offset of the data area
 * @data_size: length of the data area
 * @sq: submission ring of struct unified_io_desc
 * @cq: completion ring of struct unified_io_cqe
 * @stats: offset of struct unified_io_stats in the control area
 * @config: offset of struct unified_io_config in the control area
 * @buf_table: offset of the struct unified_io_buf_entry array in the
 *	descriptor area, one entry per buffer
 * @nr_bufs: number of buffers in the data area
 * @buf_size: size of one buffer
 * @resv: Must be 0
 *
 * Every area starts on a page boundary; any page-aligned sub-range of
 * [0, region_size) can be mapped on its own.
 */
struct unified_io_region_layout {
	__aligned_u64 region_size;
	__aligned_u64 ctrl_off;
	__aligned_u64 ctrl_size;
	__aligned_u64 desc_off;
	__aligned_u64 desc_size;
	__aligned_u64 data_off;
	__aligned_u64 data_size;
	struct unified_io_ring_offsets sq;
	struct unified_io_ring_offsets cq;
	__u32 stats;
	__u32 config;
	__u32 buf_table;
	__u32 nr_bufs;
	__u32 buf_size;
	__u32 resv[3];
};

/**
 * struct unified_io_setup - ioctl(UNIFIED_IO_SETUP)
 * @size: sizeof(struct unified_io_setup)
 * @flags: enum unified_io_setup_flags
 * @sq_entries: SQ entries, a power of two in [1, UNIFIED_IO_MAX_ENTRIES]
 * @cq_entries: CQ entries, a power of two in [@sq_entries,
 *	UNIFIED_IO_MAX_ENTRIES]; 0 selects 2 * @sq_entries (capped)
 * @buf_size: buffer size, a power of two in [PAGE_SIZE,
 *	UNIFIED_IO_MAX_BUF_SIZE]
 * @numa_node: NUMA node, with UNIFIED_IO_SETUP_F_NUMA_NODE; otherwise Must be 0
 * @data_size: size of the data area, a non-zero multiple of @buf_size, at
 *	most UNIFIED_IO_MAX_DATA_SIZE and UNIFIED_IO_MAX_BUFS buffers
 * @layout: output, the geometry of the region
 * @resv: Must be 0
 * @refill: output, where the refill ring lives (since
 *	UNIFIED_IO_FEAT_NET_RECV; not written for a smaller @size). Entries are
 *	struct unified_io_rfqe; the ring has the first power of two at or above
 *	the number of buffers, so every buffer fits in it at once.
 *
 * Creates the region of this open file. All of it (@layout.region_size: the
 * control page, the descriptor area and the data area) is charged to the
 * RLIMIT_MEMLOCK of the calling user (the per-user locked_vm count, which
 * io_uring also charges its registered buffers to) unless the caller has
 * CAP_IPC_LOCK, and to its memory cgroup, until the region is freed.
 *
 * There is no nvme_fd field: the module never touches the NVMe drive. NVMe
 * commands travel from user space to the drive through io_uring passthrough,
 * with the data area registered once as a fixed buffer, so the block layer
 * maps the region's pages for DMA directly (see UNIFIED_IO_OP_NVME).
 *
 * Errors:
 *	EBUSY		the context already has a region, or another SETUP of
 *			it is running
 *	EINVAL		unknown flag; non-zero @resv; @numa_node set without
 *			UNIFIED_IO_SETUP_F_NUMA_NODE, or not an online node;
 *			entries zero or not a power of two; @cq_entries below
 *			@sq_entries; @buf_size not a power of two or below
 *			PAGE_SIZE; @data_size zero or not a multiple of @buf_size
 *	EOVERFLOW	the region's total size overflows 64 bits
 *	E2BIG		entries, @buf_size, @data_size or the buffer count above
 *			its limit
 *	ENOMEM		out of memory, or RLIMIT_MEMLOCK exceeded
 *	EINTR		a signal arrived while SETUP waited for the context, or
 *			a fatal one while it allocated the region
 */
struct unified_io_setup {
	__u32 size;
	__u32 flags;
	__u32 sq_entries;
	__u32 cq_entries;
	__u32 buf_size;
	__s32 numa_node;
	__aligned_u64 data_size;
	struct unified_io_region_layout layout;
	__aligned_u64 resv[4];
	/* Since UNIFIED_IO_FEAT_NET_RECV. */
	struct unified_io_ring_offsets refill;
};

/**
 * enum unified_io_op - operation of a struct unified_io_desc
 * @UNIFIED_IO_OP_NOP: complete with result 0
 * @UNIFIED_IO_OP_ALLOC: take one free buffer; the completion's result is the
 *	buffer size and its @addr the buffer's data-area offset. The buffer is
 *	owned by the descriptor's @owner until freed.
 * @UNIFIED_IO_OP_FREE: return the buffer at data-area offset @addr; @owner
 *	must be the owner that allocated it. The completion's result is 0 and
 *	its @addr the freed offset.
 * @UNIFIED_IO_OP_BPF: run the region's BPF chain over @len bytes of the
 *	buffer at data-area offset @addr, in place. @addr must be the start of
 *	a buffer owned by @owner, @len in [1, buffer size]. Each XDP program
 *	sees the bytes as [data, data_end) and struct unified_io_bpf_meta in
 *	[data_meta, data). XDP_PASS runs the next program; XDP_DROP stops the
 *	chain: the completion's @res is 0 and @flags has
 *	UNIFIED_IO_CQE_F_BPF_DROP; otherwise @res is the final length (a
 *	program may change it with bpf_xdp_adjust_tail, within the buffer).
 * @UNIFIED_IO_OP_RECV: receive from the TCP socket @net.fd into region
 *	buffers, without blocking: everything queued on the socket, at most
 *	@len bytes (0: no limit), as one completion per chunk and a final one.
 *	A chunk's completion has UNIFIED_IO_CQE_F_MORE, @res its length and
 *	@addr its data-area offset; the buffer holding it now belongs to
 *	@owner. Payload a bound NIC queue (UNIFIED_IO_NET_BIND) wrote into
 *	region buffers is handed over as it is, without a copy; any other
 *	bytes (the stack's linear data, pages of other queues, a region with
 *	no binding) are copied into a free buffer and the completion has
 *	UNIFIED_IO_CQE_F_COPIED. With UNIFIED_IO_RECV_F_BPF in @net.flags the
 *	BPF chain runs over every chunk that starts a buffer before its
 *	completion is posted; an XDP_DROP verdict recycles the buffer at once
 *	(the completion has @res 0 and UNIFIED_IO_CQE_F_BPF_DROP). The final
 *	completion (no F_MORE) has @res the number of bytes taken from the
 *	socket, or an error when there were none. Chunk completions use at
 *	most the free CQ slots minus one, which the final completion takes.
 *	With UNIFIED_IO_RECV_F_ARM the RECV stays armed on the socket
 *	(multishot): it takes what is queued at once, then the module posts
 *	chunk completions (F_MORE) as the stack delivers data, from a work
 *	item woken by the socket, and publishes them without any system call
 *	(read the CQ tail with load-acquire; sleep in COMPLETE or poll() only
 *	when the CQ is empty). @len must be 0. An armed RECV holds one CQ
 *	slot for its final completion (no F_MORE), posted only when it stops:
 *	@res 0 when the peer closed the connection and every byte was
 *	delivered, ECANCELED after UNIFIED_IO_OP_CANCEL, ENOSPC when the CQ
 *	had no slot for the next chunk, ENOBUFS when a copy found no free
 *	buffer, EPROTO at urgent data, EPROTONOSUPPORT once kTLS or a
 *	sockmap took the socket over, EFAULT or EBUSY as a one-shot RECV
 *	stops, or the socket's error (ECONNRESET, ...). Nothing is lost or
 *	taken twice: bytes not delivered stay queued on the socket, and a new
 *	armed (or one-shot) RECV goes on from the first of them. Each armed
 *	RECV holds a reference to its socket until it stops (closing the fd
 *	does not stop it; UNIFIED_IO_OP_CANCEL does). Any number of sockets
 *	may be armed on one region, each at most once; an armed RECV is
 *	consumed only when the CQ has two free slots. Releasing the region
 *	stops every armed RECV without a final completion.
 * @UNIFIED_IO_OP_CANCEL: stop the armed RECV on the socket @net.fd; its
 *	final completion (ECANCELED) is posted before the CANCEL's own, whose
 *	@res is 1. With UNIFIED_IO_CANCEL_F_ALL in @net.flags (@net.fd must
 *	then be -1) every armed RECV of the region stops, and @res is their
 *	number. @owner, @len and @addr must be 0.
 * @UNIFIED_IO_OP_SEND: send @len bytes at data-area offset @addr on the
 *	connected TCP socket @net.fd without copying them: the stack's skbs
 *	point at the region's pages (as MSG_ZEROCOPY does with user memory),
 *	and the NIC reads the payload from there. [@addr, @addr + @len) lies in
 *	one buffer held by @owner. The send does not block: the completion's
 *	@res is the number of bytes queued, which is less than @len when the
 *	socket's send buffer filled (send the rest with another SEND once
 *	poll() reports POLLOUT), with UNIFIED_IO_CQE_F_MORE: a notification
 *	follows. The notification (UNIFIED_IO_CQE_F_NOTIF, same @user_data,
 *	@addr and @res) is posted once the stack has dropped every reference
 *	to those bytes; until then the buffer is in state
 *	UNIFIED_IO_BUF_SENDING and no FREE, BPF, SEND with
 *	UNIFIED_IO_SEND_F_BPF, ALLOC or RECV can take it; more SENDs of it
 *	may (the rest of a partial send, or the same bytes to several sockets).
 *	A notification with UNIFIED_IO_CQE_F_COPIED says the stack copied the
 *	bytes at least in part (delivery to a local socket over loopback or
 *	veth, a route without scatter-gather); its bytes are counted in
 *	struct unified_io_send_info @copied_bytes. With UNIFIED_IO_SEND_F_BPF
 *	the BPF chain runs over the buffer first, in place, as for
 *	UNIFIED_IO_OP_BPF (@addr the start of the buffer): XDP_DROP sends
 *	nothing (@res 0 with UNIFIED_IO_CQE_F_BPF_DROP), and a program that
 *	shortens the data shortens the send; a completion with
 *	UNIFIED_IO_CQE_F_BPF_RAN says the programs ran. A SEND that queued nothing has no
 *	notification. A SEND is consumed only when the CQ has two free slots:
 *	one stays reserved for the notification, so notifications are never
 *	dropped and sends in flight never exceed the CQ size. A batch never
 *	leaves a hole in a stream: once a SEND on @net.fd queued fewer bytes
 *	than it was to send (refused, failed or short; not one its programs
 *	dropped), every later SEND on that fd in the same SUBMIT call
 *	completes with EAGAIN and queues nothing, even if the socket has room
 *	again by then. Send from the first byte not queued, in order.
 * @UNIFIED_IO_OP_LAST: one past the last opcode the module executes
 * @UNIFIED_IO_OP_USER: first opcode executed in user space: descriptors with
 *	an opcode at or above it are run by libunifiedio and never by the
 *	module, which completes them with EOPNOTSUPP like any unknown opcode
 * @UNIFIED_IO_OP_NVME: an NVMe I/O command between the data area and a
 *	namespace, run by libunifiedio as io_uring NVMe passthrough
 *	(IORING_OP_URING_CMD on /dev/ngXnY) with the data area registered as a
 *	fixed buffer. @addr and @len give the data-area range (4-byte aligned,
 *	@len a whole number of blocks, 0 for flush and write zeroes), @nvme the
 *	command. The CPU copies no payload: the drive reads and writes the
 *	region's pages directly.
 */
enum unified_io_op {
	UNIFIED_IO_OP_NOP	= 0,
	UNIFIED_IO_OP_ALLOC	= 1,
	UNIFIED_IO_OP_FREE	= 2,
	UNIFIED_IO_OP_BPF	= 3,
	UNIFIED_IO_OP_RECV	= 4,
	UNIFIED_IO_OP_SEND	= 5,
	UNIFIED_IO_OP_CANCEL	= 6,
	UNIFIED_IO_OP_LAST,

	UNIFIED_IO_OP_USER	= 0x80,
	UNIFIED_IO_OP_NVME	= UNIFIED_IO_OP_USER,
};

/**
 * enum unified_io_nvme_opcode - NVMe I/O command set opcodes for @nvme.opcode
 * @UNIFIED_IO_NVME_FLUSH: flush the volatile write cache
 * @UNIFIED_IO_NVME_WRITE: write @nvme.nlb blocks from the data area
 * @UNIFIED_IO_NVME_READ: read @nvme.nlb blocks into the data area
 * @UNIFIED_IO_NVME_WRITE_ZEROES: zero @nvme.nlb blocks; no data transfer
 */
enum unified_io_nvme_opcode {
	UNIFIED_IO_NVME_FLUSH		= 0x00,
	UNIFIED_IO_NVME_WRITE		= 0x01,
	UNIFIED_IO_NVME_READ		= 0x02,
	UNIFIED_IO_NVME_WRITE_ZEROES	= 0x08,
};

/**
 * struct unified_io_desc - unified descriptor, one SQ entry (64 bytes)
 * @opcode: enum unified_io_op
 * @flags: Must be 0 (no descriptor flag is defined yet)
 * @owner: owner tag of the buffer for ALLOC, FREE, BPF, RECV and SEND
 *	(non-zero); Must be 0 for NOP
 * @len: length in bytes; for ALLOC at most the buffer size (0 means the
 *	whole buffer); for BPF from 1 to the buffer size; for RECV the most
 *	bytes to take (0: no limit); for SEND the bytes to send, at least 1
 *	and within the buffer; Must be 0 for NOP and FREE
 * @addr: data-area offset; the buffer to free for FREE, the buffer to run
 *	the chain over for BPF, the first byte to send for SEND; Must be 0 for
 *	NOP, ALLOC and RECV
 * @user_data: copied unchanged into the completion
 * @nvme: the NVMe command of an UNIFIED_IO_OP_NVME descriptor: @nsid (0 for
 *	the only namespace attached), @opcode (enum unified_io_nvme_opcode),
 *	@slba, @nlb (number of blocks, not 0-based), @cdw12_flags (FUA and
 *	other bits 16-31 of command dword 12); Must be 0 for other opcodes
 * @net: RECV and SEND: @fd, a connected TCP socket of the caller, and
 *	@flags (enum unified_io_recv_flags, enum unified_io_send_flags); Must
 *	be 0 for other opcodes
 * @bpf: Must be 0 (the whole chain runs)
 * @pad: the type-specific area as raw words; Must be 0 for NOP/ALLOC/FREE
 *
 * Every descriptor consumed, from the SQ or inline, produces exactly one
 * completion (RECV: one per chunk and a final one; SEND: one, and a
 * notification later if it queued bytes), whose result is negative
 * for a refused descriptor (the SUBMIT call itself still counts it as
 * consumed). Checks are made in the order listed, so FREE of an @addr
 * outside the data area is ERANGE even when it is also unaligned, and FREE
 * of a free buffer is EALREADY whoever asks:
 *	EOPNOTSUPP	unknown @opcode
 *	EINVAL		non-zero @flags or field that Must be 0; @owner 0 for
 *			ALLOC, FREE, BPF, RECV or SEND; an unknown RECV or
 *			SEND flag; ALLOC @len above the buffer size
 *	ERANGE		FREE, BPF or SEND @addr outside the data area
 *	EINVAL		FREE or BPF @addr not at the start of a buffer; BPF
 *			@len 0 or above the buffer size; SEND @len 0, or
 *			[@addr, @addr + @len) not inside one buffer, or
 *			UNIFIED_IO_SEND_F_BPF with @addr not at the start of
 *			a buffer; SEND on a region whose CQ has one entry (no
 *			slot for its notification)
 *	ENOBUFS		ALLOC with no free buffer
 *	EALREADY	FREE of a buffer that is already free
 *	EXDEV		SEND of a buffer lent to the network side (one RECV
 *			handed over from a bound NIC queue): only the region's
 *			own buffers (ALLOC) are sent
 *	EPERM		FREE by an @owner other than the one holding the buffer
 *			(or of a buffer lent to the network side that the
 *			application does not hold);
 *			BPF or SEND on a buffer @owner does not hold
 *	EBUSY		FREE or BPF of a buffer with sends in flight
 *			(UNIFIED_IO_BUF_SENDING), or SEND with
 *			UNIFIED_IO_SEND_F_BPF of one: wait for the
 *			notifications
 *	ETOOMANYREFS	SEND of a buffer with 254 sends in flight
 *	ENOENT		BPF, or SEND with UNIFIED_IO_SEND_F_BPF, with no
 *			program attached
 *	ECANCELED	BPF: a program returned XDP_ABORTED
 *	EOPNOTSUPP	BPF: a program returned XDP_TX, XDP_REDIRECT or an
 *			unknown verdict (no packet path here)
 *	EPROTO		BPF: a program moved the start of the data
 *			(bpf_xdp_adjust_head), which cannot be expressed as a
 *			region range
 *	EBADF		RECV, SEND: @net.fd is not an open file
 *	ENOTSOCK	RECV, SEND: @net.fd is not a socket
 *	EPROTONOSUPPORT	RECV, SEND: not a plain TCP socket (kTLS, sockmap
 *			and MPTCP sockets are refused; a SEND racing with the
 *			installation of kTLS can also get kTLS's EOPNOTSUPP)
 *	EAGAIN		RECV: nothing queued on the socket (poll it for POLLIN)
 *	ENOBUFS		RECV: data queued that needed a copy, and no free buffer
 *	ENOSPC		RECV: the CQ had no slot for a chunk besides the final one
 *	ENOENT		RECV with UNIFIED_IO_RECV_F_BPF and no program attached
 *	EINVAL		RECV with UNIFIED_IO_RECV_F_ARM and @len not 0, or on a
 *			region whose CQ has one entry (no slot for a chunk
 *			besides the final completion)
 *	EBUSY		RECV on a socket that is armed on this region
 *			(one-shot or armed), or whose stopped io_uring RECV
 *			left records that only an io_uring RECV takes, or
 *			whose io_uring RECV is stopping with such records
 *			and has not posted its final CQE yet (an io_uring
 *			RECV too: submit it after that final CQE); an
 *			io_uring RECV under another @owner than the RECV
 *			that left them (their buffers are that owner's)
 *	EPROTO		RECV: the next byte is TCP urgent data (MSG_OOB),
 *			which only recv() steps over (also an armed RECV's
 *			final result)
 *	ENOMEM		RECV with UNIFIED_IO_RECV_F_ARM: no memory to arm it
 *	ECANCELED	armed RECV: stopped by UNIFIED_IO_OP_CANCEL (final
 *			completion)
 *	EINVAL		CANCEL: an unknown flag, a field that must be 0, or
 *			UNIFIED_IO_CANCEL_F_ALL with @net.fd not -1
 *	EBADF, ENOTSOCK	CANCEL: @net.fd is not an open socket
 *	ENOENT		CANCEL: no armed RECV on that socket (an io_uring RECV
 *			that is stopping counts as none until its final CQE)
 *	EFAULT		RECV: queued data in another memory provider's buffers,
 *			which the CPU cannot read
 *	EBUSY		RECV: the next bytes lie in a lent buffer that another
 *			owner holds (a buffer is held under one owner at a
 *			time: a RECV under a second owner stops where the
 *			first owner's buffer goes on; RECV under that owner,
 *			or once it has given the buffer back)
 *	EAGAIN		SEND: the socket's send buffer is full and nothing
 *			was queued (poll it for POLLOUT), or an earlier SEND
 *			on the same fd in this SUBMIT call fell short
 *	ENOMEM		SEND: no memory for the notification
 *	ENOTCONN, EPIPE, ECONNRESET, ...: RECV, SEND: the socket's error or
 *			state
 * A RECV that took bytes completes with their number even if it then met
 * one of these; 0 means the peer closed the connection and nothing is left.
 * A SEND with UNIFIED_IO_SEND_F_BPF checks the socket (EAGAIN, EPIPE, its
 * error) before the programs run, so those come before ECANCELED,
 * EOPNOTSUPP and EPROTO.
 * A refused descriptor is never acted on. For BPF, the programs up to and
 * including the one that failed may have changed the data (a program that
 * moves the start of the data also moves the metadata over its first bytes).
 */
struct unified_io_desc {
	__u8	opcode;
	__u8	flags;
	__u16	owner;
	__u32	len;
	__aligned_u64 addr;
	__aligned_u64 user_data;
	union {
		struct {
			__u32	nsid;
			__u8	opcode;
			__u8	resv[3];
			__aligned_u64 slba;
			__u32	nlb;
			__u32	cdw12_flags;
			__aligned_u64 resv2[2];
		} nvme;
		struct {
			__s32	fd;
			__u32	flags;
			__aligned_u64 resv[4];
		} net;
		struct {
			__u32	chain;
			__u32	flags;
			__aligned_u64 resv[4];
		} bpf;
		__aligned_u64 pad[5];
	};
};

/**
 * struct unified_io_cqe - completion entry (32 bytes)
 * @user_data: @user_data of the descriptor
 * @res: result: bytes, or a negative errno (see struct unified_io_desc)
 * @flags: enum unified_io_cqe_flags for the module's opcodes; for
 *	UNIFIED_IO_OP_NVME, the NVMe
 *	status field (status code type in bits 8-10, status code in bits 0-7,
 *	more and do-not-retry in bits 13 and 14) when @res is -EIO
 * @addr: data-area offset the completion refers to (ALLOC: the buffer;
 *	SEND: the descriptor's @addr, but 0 for a SEND refused before its
 *	socket was looked at, as for a refused FREE or BPF)
 * @opcode: opcode of the descriptor
 * @resv: always 0
 */
struct unified_io_cqe {
	__aligned_u64 user_data;
	__s32	res;
	__u32	flags;
	__aligned_u64 addr;
	__u8	opcode;
	__u8	resv[7];
};

/**
 * enum unified_io_cqe_flags - flags of a struct unified_io_cqe
 * @UNIFIED_IO_CQE_F_BPF_DROP: a program of the BPF chain returned XDP_DROP;
 *	the index of that program in the chain is in bits 8-15 of @flags
 * @UNIFIED_IO_CQE_F_MORE: RECV: a chunk; more completions of the same
 *	descriptor follow
 *	SEND: bytes were queued and a notification follows
 * @UNIFIED_IO_CQE_F_COPIED: RECV: the CPU copied this chunk into the buffer
 *	(counted in struct unified_io_net_info @copy_bytes); SEND notification:
 *	the stack copied the bytes at least in part (counted in struct
 *	unified_io_send_info @copied_bytes)
 * @UNIFIED_IO_CQE_F_NOTIF: SEND: the notification; the stack holds no
 *	reference to the bytes of the send any more
 * @UNIFIED_IO_CQE_F_BPF_RAN: SEND with UNIFIED_IO_SEND_F_BPF: the chain ran
 *	over the buffer and passed it, so the buffer holds the programs' bytes,
 *	whatever the send did next: send the rest of a short or failed one
 *	without the flag. @res counts bytes of the length the programs left,
 *	which the completion does not give: when programs may change the
 *	length, run them with UNIFIED_IO_OP_BPF (its completion has the final
 *	length) and SEND without the flag
 * @UNIFIED_IO_CQE_F_BUFFER: io_uring only, in the final CQE's big_cqe[0] of
 *	an armed RECV that ended with ENOSPC: io_uring took a provided buffer
 *	for records it could not post, and the address part
 *	(UNIFIED_IO_URING_RES2_ADDR()) is that buffer's id (bid), for the
 *	application to add it back to its buffer ring
 */
enum unified_io_cqe_flags {
	UNIFIED_IO_CQE_F_BPF_DROP	= 1 << 0,
	UNIFIED_IO_CQE_F_MORE		= 1 << 1,
	UNIFIED_IO_CQE_F_COPIED		= 1 << 2,
	UNIFIED_IO_CQE_F_NOTIF		= 1 << 3,
	UNIFIED_IO_CQE_F_BPF_RAN	= 1 << 4,
	UNIFIED_IO_CQE_F_BUFFER		= 1 << 5,
};

/**
 * enum unified_io_recv_flags - @net.flags of an UNIFIED_IO_OP_RECV descriptor
 * @UNIFIED_IO_RECV_F_BPF: run the BPF chain over each received chunk
 * @UNIFIED_IO_RECV_F_ARM: stay armed on the socket (multishot) until
 *	cancelled, the peer closes, an error, or no CQ slot or buffer is left
 */
enum unified_io_recv_flags {
	UNIFIED_IO_RECV_F_BPF		= 1 << 0,
	UNIFIED_IO_RECV_F_ARM		= 1 << 1,
};

/**
 * enum unified_io_cancel_flags - @net.flags of an UNIFIED_IO_OP_CANCEL
 * @UNIFIED_IO_CANCEL_F_ALL: every armed RECV of the region
 */
enum unified_io_cancel_flags {
	UNIFIED_IO_CANCEL_F_ALL		= 1 << 0,
};

/**
 * enum unified_io_send_flags - @net.flags of an UNIFIED_IO_OP_SEND descriptor
 * @UNIFIED_IO_SEND_F_BPF: run the BPF chain over the buffer before sending
 * @UNIFIED_IO_SEND_F_MORE: more data follows (MSG_MORE): the stack may hold
 *	back a partial segment until the next send. Each SEND has its own
 *	notification, so two SENDs never share a segment: the flag only delays
 *	the push (and the notification with it)
 */
enum unified_io_send_flags {
	UNIFIED_IO_SEND_F_BPF		= 1 << 0,
	UNIFIED_IO_SEND_F_MORE		= 1 << 1,
};

#define UNIFIED_IO_CQE_BPF_PROG_SHIFT	8

/**
 * struct unified_io_bpf_meta - what a BPF program finds before its data
 * @user_data: @user_data of the descriptor
 * @offset: data-area offset of the data
 * @len: length of the data when the chain started
 * @owner: owner tag of the buffer
 * @opcode: opcode of the descriptor
 * @prog_index: position of the running program in the chain
 *
 * At [data_meta, data) of the xdp_md context (24 bytes). It is written once
 * per run: a program may change it for the programs after it in the chain;
 * only @prog_index is rewritten before each program.
 */
struct unified_io_bpf_meta {
	__aligned_u64 user_data;
	__aligned_u64 offset;
	__u32	len;
	__u16	owner;
	__u8	opcode;
	__u8	prog_index;
};

/**
 * enum unified_io_buf_state - state of a buffer in the buffer table
 * @UNIFIED_IO_BUF_FREE: on the kernel's free list
 * @UNIFIED_IO_BUF_APP: owned by the application (owner tag in the entry)
 * @UNIFIED_IO_BUF_KERNEL: in use by a kernel consumer (NIC, BPF)
 * @UNIFIED_IO_BUF_SENDING: held by @owner with @refs - 1 sends in flight
 *	(UNIFIED_IO_OP_SEND whose notification has not been posted); back to
 *	UNIFIED_IO_BUF_APP with the last notification
 */
enum unified_io_buf_state {
	UNIFIED_IO_BUF_FREE	= 0,
	UNIFIED_IO_BUF_APP	= 1,
	UNIFIED_IO_BUF_KERNEL	= 2,
	UNIFIED_IO_BUF_SENDING	= 3,
};

/**
 * struct unified_io_buf_entry - one buffer in the buffer table
 * @owner: owner tag of an UNIFIED_IO_BUF_APP buffer, else 0
 * @state: enum unified_io_buf_state
 * @refs: references held on the buffer (allocation plus in-flight users)
 *
 * The buffer table is a mirror the kernel writes for user space to read. The
 * kernel keeps the authoritative state in its own memory and never reads the
 * table: writes to it are overwritten at the next change of the buffer.
 */
struct unified_io_buf_entry {
	__u16	owner;
	__u8	state;
	__u8	refs;
};

/**
 * struct unified_io_stats - counters, in GET_INFO and in the control area
 * @submit_calls: UNIFIED_IO_SUBMIT calls that consumed at least one entry
 * @sqes: descriptors consumed (SQ and inline)
 * @cqes: completions posted (a RECV posts one per chunk and a final one)
 * @errors: completions with a negative result
 * @sq_bad_tail: SUBMIT calls that found the SQ tail more than the ring size
 *	ahead of the head (the excess is not consumed)
 * @cq_full: SUBMIT calls refused with EBUSY because the CQ was full
 * @cq_bad_head: times the CQ head read from user space was outside the ring
 *	(treated as a full CQ)
 * @waits: UNIFIED_IO_COMPLETE calls that found fewer than @min_complete
 *	completions ready and waited
 * @ops: consumed descriptors per opcode, indexed by enum unified_io_op, for
 *	the opcodes below UNIFIED_IO_OP_LAST (a RECV counts once). A descriptor
 *	of any other opcode is completed with EOPNOTSUPP and counted in @sqes,
 *	@cqes and @errors only.
 * @bufs_free: buffers on the free list
 * @bufs_app: buffers owned by the application (with buffers lent to the
 *	network side that it holds from RECV, and buffers with sends in flight)
 * @bufs_kernel: buffers in use by the kernel (buffers lent to the network
 *	side that the application does not hold)
 * @resv: always 0
 *
 * The counters cover what the module executes: the descriptors SUBMIT
 * consumes and the completions it posts. NVMe commands are not in them.
 * UNIFIED_IO_OP_NVME descriptors never reach the module: libunifiedio runs
 * them as io_uring passthrough and returns their completions from
 * unio_reap(), which waits for them in io_uring, not in COMPLETE. Nothing
 * counts them, in the kernel or in the library: an application that wants
 * NVMe figures counts the completions of opcode UNIFIED_IO_OP_NVME it reaps.
 * The buffer counters are unchanged by NVMe commands, which move data into
 * and out of any data-area range without taking a buffer.
 *
 * The copy in the control area is written by the kernel after each SUBMIT
 * and is informational: the kernel never reads it back. io_uring commands
 * and armed RECVs on io_uring (struct unified_io_uring_cmd) count at once
 * in GET_INFO and fdinfo, and reach that copy at the next SUBMIT (or
 * completion posted to the module's CQ): an application that uses only
 * io_uring reads its counters with GET_INFO.
 */
struct unified_io_stats {
	__aligned_u64 submit_calls;
	__aligned_u64 sqes;
	__aligned_u64 cqes;
	__aligned_u64 errors;
	__aligned_u64 sq_bad_tail;
	__aligned_u64 cq_full;
	__aligned_u64 cq_bad_head;
	__aligned_u64 waits;
	__aligned_u64 ops[16];
	__u32	bufs_free;
	__u32	bufs_app;
	__u32	bufs_kernel;
	__u32	resv;
};

/**
 * struct unified_io_config - configuration, in the control area and GET_INFO
 * @abi_version: UNIFIED_IO_ABI_VERSION
 * @features: UNIFIED_IO_FEAT_* supported by this kernel
 * @setup_flags: flags the region was set up with
 * @numa_node: node asked for with UNIFIED_IO_SETUP_F_NUMA_NODE; -1 without
 *	the flag (pages then come from the node of the calling CPU)
 * @sq_entries: SQ entries
 * @cq_entries: CQ entries
 * @buf_size: buffer size
 * @nr_bufs: number of buffers
 * @data_size: size of the data area
 * @huge_pages: 2 MiB pages backing the data area
 * @small_pages: order-0 pages backing the data area
 * @resv: always 0
 */
struct unified_io_config {
	__u32	abi_version;
	__u32	features;
	__u32	setup_flags;
	__s32	numa_node;
	__u32	sq_entries;
	__u32	cq_entries;
	__u32	buf_size;
	__u32	nr_bufs;
	__aligned_u64 data_size;
	__u32	huge_pages;
	__u32	small_pages;
	__aligned_u64 resv[2];
};

/**
 * struct unified_io_bpf_prog_info - one program of the chain in GET_INFO
 * @prog_id: the program's id (bpftool prog show id N)
 * @resv: always 0
 * @runs: times the program ran
 * @bytes: bytes it was run over
 * @pass: XDP_PASS verdicts
 * @drop: XDP_DROP verdicts
 * @aborted: XDP_ABORTED verdicts
 * @other: other verdicts (XDP_TX, XDP_REDIRECT, unknown), and moves of the
 *	start of the data
 * @run_ns: nanoseconds spent in the program
 */
struct unified_io_bpf_prog_info {
	__u32	prog_id;
	__u32	resv;
	__aligned_u64 runs;
	__aligned_u64 bytes;
	__aligned_u64 pass;
	__aligned_u64 drop;
	__aligned_u64 aborted;
	__aligned_u64 other;
	__aligned_u64 run_ns;
};

/**
 * enum unified_io_net_state - state of a region's network binding
 * @UNIFIED_IO_NET_NONE: no binding: never bound, or a BIND retired the last
 *	binding (all its buffers back; its counters go with it) and then
 *	failed
 * @UNIFIED_IO_NET_BOUND: the region provides the memory of a NIC queue
 * @UNIFIED_IO_NET_UNBOUND: unbound by UNIFIED_IO_NET_UNBIND, or a BIND
 *	failed after the queue had taken buffers
 * @UNIFIED_IO_NET_GONE: the NIC went away while bound
 */
enum unified_io_net_state {
	UNIFIED_IO_NET_NONE	= 0,
	UNIFIED_IO_NET_BOUND	= 1,
	UNIFIED_IO_NET_UNBOUND	= 2,
	UNIFIED_IO_NET_GONE	= 3,
};

/**
 * struct unified_io_net_info - network side of a region, in GET_INFO
 * @state: enum unified_io_net_state
 * @ifindex: interface of the binding (in the binder's namespace), or 0
 * @rxq: receive queue of the binding
 * @nr_bufs: buffers lent to the network side by NET_BIND
 * @bufs_app: of those, buffers the application holds (from RECV)
 * @bufs_nic: of those, buffers the NIC, its page pool, the provider's free
 *	list or a socket hold
 * @id: the region's identifier, from the open on (also before SETUP, and
 *	whether bound or not): fdinfo's "id", and the module-provider id that
 *	netdev netlink's queue and page-pool dumps show for a queue the region
 *	is bound to. Unique among open regions and handed out cyclically, so
 *	page pools that outlive a region do not show its id for another (0 from
 *	kernels before it was added)
 * @resv: always 0
 * @recv_bytes: bytes RECV took from sockets
 * @zc_chunks: RECV chunks handed over without a copy
 * @zc_bytes: bytes in those chunks
 * @copy_chunks: RECV chunks the CPU copied into a buffer (fallback)
 * @copy_bytes: bytes in those chunks
 * @bpf_drops: chunks recycled by an XDP_DROP verdict
 * @refills: buffers returned through the refill ring
 * @refill_bad_addr: refill entries skipped: offset outside the data area or
 *	not at the start of a buffer, or reserved bytes not zero
 * @refill_not_held: refill entries skipped: the buffer was not held by the
 *	application under that owner tag (free, in the NIC, returned twice)
 * @alloc_empty: times the NIC asked the provider for buffers and found none
 * @nic_allocs: buffers given to the NIC
 * @resv2: always 0
 */
struct unified_io_net_info {
	__u32	state;
	__u32	ifindex;
	__u32	rxq;
	__u32	nr_bufs;
	__u32	bufs_app;
	__u32	bufs_nic;
	__u32	id;
	__u32	resv;
	__aligned_u64 recv_bytes;
	__aligned_u64 zc_chunks;
	__aligned_u64 zc_bytes;
	__aligned_u64 copy_chunks;
	__aligned_u64 copy_bytes;
	__aligned_u64 bpf_drops;
	__aligned_u64 refills;
	__aligned_u64 refill_bad_addr;
	__aligned_u64 refill_not_held;
	__aligned_u64 alloc_empty;
	__aligned_u64 nic_allocs;
	__aligned_u64 resv2[5];
};

/**
 * struct unified_io_rfqe - refill ring entry (16 bytes)
 * @addr: data-area offset of the start of a buffer to give back
 * @owner: owner tag the buffer was received under
 * @resv: Must be 0
 *
 * The refill ring returns buffers that RECV handed out while the region was
 * bound, zero-copy or copied: one entry per chunk completion (a buffer that
 * held two chunks is returned twice). The NIC queue's page pool takes them
 * back when it needs buffers, with no system call. User space writes entries
 * and the tail (store- release); the kernel writes the head. Entries naming
 * anything but a buffer the application holds under @owner (including a return
 * beyond the number of chunks received in it) are skipped and counted, never
 * acted on. Buffers from a region with no binding, or once the binding is
 * gone, go back with UNIFIED_IO_OP_FREE, which also takes RECV buffers.
 */
struct unified_io_rfqe {
	__aligned_u64 addr;
	__u16	owner;
	__u16	resv[3];
};

/**
 * struct unified_io_send_info - the send side of a region, in GET_INFO
 * @sends: SENDs that queued bytes (each has a notification)
 * @send_bytes: bytes those SENDs queued
 * @notifs: notifications posted
 * @zc_bytes: bytes of notifications without UNIFIED_IO_CQE_F_COPIED: the
 *	NIC read them from the region, no CPU copied them
 * @copied_bytes: bytes of notifications with UNIFIED_IO_CQE_F_COPIED (the
 *	whole send counts, even when the stack copied only part of it)
 * @bpf_drops: SENDs not made because a program returned XDP_DROP
 * @inflight: SENDs whose notification is not posted yet
 * @bufs_sending: buffers in state UNIFIED_IO_BUF_SENDING
 * @resv: always 0
 */
struct unified_io_send_info {
	__aligned_u64 sends;
	__aligned_u64 send_bytes;
	__aligned_u64 notifs;
	__aligned_u64 zc_bytes;
	__aligned_u64 copied_bytes;
	__aligned_u64 bpf_drops;
	__u32	inflight;
	__u32	bufs_sending;
	__aligned_u64 resv[5];
};

/**
 * struct unified_io_info - ioctl(UNIFIED_IO_GET_INFO)
 * @size: sizeof(struct unified_io_info)
 * @flags: Must be 0
 * @config: configuration; before SETUP only @abi_version and @features are
 *	set, so this ioctl doubles as the feature query
 * @layout: geometry of the region (zero before SETUP)
 * @stats: counters of the module's operations, NVMe commands not included
 *	(zero before SETUP)
 * @nr_bpf_progs: programs in the BPF chain
 * @resv: always 0
 * @bpf_progs: the chain, in order, with per-program counters
 * @refill: where the refill ring lives (as in struct unified_io_setup)
 * @net: the network side
 * @send: the send side (since UNIFIED_IO_FEAT_NET_SEND; not written for a
 *	smaller @size)
 */
struct unified_io_info {
	__u32	size;
	__u32	flags;
	struct unified_io_config config;
	struct unified_io_region_layout layout;
	struct unified_io_stats stats;
	/* Since UNIFIED_IO_FEAT_BPF. */
	__u32	nr_bpf_progs;
	__u32	resv;
	struct unified_io_bpf_prog_info bpf_progs[UNIFIED_IO_BPF_MAX_PROGS];
	/* Since UNIFIED_IO_FEAT_NET_RECV. */
	struct unified_io_ring_offsets refill;
	struct unified_io_net_info net;
	/* Since UNIFIED_IO_FEAT_NET_SEND. */
	struct unified_io_send_info send;
};

/**
 * struct unified_io_bpf - ioctl(UNIFIED_IO_ATTACH_BPF) and
 *	ioctl(UNIFIED_IO_DETACH_BPF)
 * @size: sizeof(struct unified_io_bpf)
 * @flags: Must be 0
 * @prog_fd: ATTACH: fd of a BPF_PROG_TYPE_XDP program, appended to the end
 *	of the chain; DETACH: Must be -1 or the fd of the program to detach
 * @prog_id: ATTACH: output, the program's id; DETACH: the id of the program
 *	to detach when @prog_fd is -1
 * @resv: Must be 0
 *
 * Programs run in chain order over the buffers of UNIFIED_IO_OP_BPF
 * descriptors; attaching and detaching are safe while descriptors run.
 * They run in the network namespace of the process that opened the region
 * (its loopback device is the frame's ingress device, and helpers given
 * BPF_F_CURRENT_NETNS look up sockets and routes there). Releasing the
 * region (its last close() or munmap()) releases every program. Needs
 * CAP_BPF or CAP_SYS_ADMIN.
 *
 * Errors:
 *	EPERM		no CAP_BPF and no CAP_SYS_ADMIN
 *	EBADF		@prog_fd is not an open file
 *	EINVAL		@prog_fd is not a BPF program of type XDP (or is
 *			offloaded to a device), or is one loaded for a devmap
 *			or cpumap entry (expected attach type BPF_XDP_DEVMAP
 *			or BPF_XDP_CPUMAP: such programs read the egress
 *			device, which a region has none of); DETACH with both
 *			or neither of @prog_fd and @prog_id
 *	ENODEV		the program is bound to a device (XDP hints)
 *	EOPNOTSUPP	the program uses frags (xdp.frags): region buffers
 *			are linear
 *	EEXIST		the program is already in the chain
 *	ENOSPC		the chain has UNIFIED_IO_BPF_MAX_PROGS programs
 *	ENOENT		DETACH of a program that is not in the chain
 */
struct unified_io_bpf {
	__u32	size;
	__u32	flags;
	__s32	prog_fd;
	__u32	prog_id;
	__aligned_u64 resv[2];
};

/**
 * struct unified_io_net_bind - ioctl(UNIFIED_IO_NET_BIND) and
 *	ioctl(UNIFIED_IO_NET_UNBIND)
 * @size: sizeof(struct unified_io_net_bind)
 * @flags: Must be 0
 * @ifindex: BIND: interface in the caller's network namespace; UNBIND:
 *	Must be 0
 * @rxq: BIND: receive queue of the interface; UNBIND: Must be 0
 * @nr_bufs: BIND: buffers taken from the free list and lent to the network
 *	side until the binding has ended and they have all come back; RECV
 *	takes the buffers of its copies from them too, and the rest serve
 *	ALLOC; UNBIND: Must be 0
 * @resv: Must be 0
 * @msg: output: why the call failed, a NUL-terminated string ("" on
 *	success); written back also on failure
 * @resv2: Must be 0
 *
 * BIND makes the region the memory provider of one receive queue: the queue's
 * page pool takes its buffers (net_iovs) from the region, so the NIC writes
 * payload straight into region buffers and RECV hands them to the application
 * without a copy. The NIC must split headers from data (tcp-data-split on,
 * hds-thresh 0) and manage its queues (netdev_queue_mgmt_ops); the queue is
 * restarted with the region's memory. A region is bound to one queue at a
 * time. UNBIND, the region's release, or the interface going away ends the
 * binding; the queue restarts with ordinary memory and keeps working. The
 * region can be bound again (to any queue, with any @nr_bufs) once every
 * buffer of the last binding has come back: the application's freed or
 * refilled (BIND takes the refill ring's entries itself), and the stack's and
 * the page pools' returned; until then BIND fails with EBUSY. A page pool
 * hands back the buffers the stack returned after the binding ended from its
 * release work, about once a second: retry EBUSY for a few seconds. Buffers
 * the application holds stay valid until freed; buffers in flight return to
 * the region when the stack drops them. Needs
 * CAP_NET_ADMIN in the initial user namespace, as io_uring zcrx does (a
 * bound queue receives every flow the NIC steers to it, whoever owns them),
 * and buf_size == PAGE_SIZE (one net_iov per buffer). Buffers that
 * the application has not yet received stay on sockets, in order or out of
 * order; if every lent buffer waits out of order, the segment that fills the
 * gap has nowhere to land and the connection stalls. Keep the receive buffer
 * (SO_RCVBUF) of the sockets the queue serves, together, at most a quarter of
 * the lent memory (@nr_bufs * PAGE_SIZE / 4), so that TCP prunes its queues
 * before they hold every buffer (the NIC may still run short for a moment
 * while the application holds what it received; TCP retransmits what it
 * drops then). While no queue is bound (after UNBIND or the
 * interface's removal), SUBMIT takes the refill ring's entries.
 *
 * Errors:
 *	EPERM		no CAP_NET_ADMIN in the initial user namespace
 *	ENODEV		no interface @ifindex in the caller's namespace
 *	EOPNOTSUPP	the interface has no queue management (veth, lo), no
 *			DMA device, or this kernel lets no module provide page
 *			pool memory (no UNIFIED_IO_FEAT_NET_PROVIDER)
 *	ERANGE		@rxq is not below the number of receive queues
 *	EEXIST		the queue already has a memory provider, or an XDP
 *			program is attached to the interface
 *	EINVAL		unknown flag, non-zero @resv; @nr_bufs zero; buf_size
 *			is not PAGE_SIZE; header split is off or hds-thresh
 *			is not zero; UNBIND with non-zero fields
 *	ENOBUFS		fewer than @nr_bufs free buffers
 *	EBUSY		the region is bound, or buffers of its last binding
 *			are still out (BIND)
 *	ENOENT		the region is not bound (UNBIND)
 */
struct unified_io_net_bind {
	__u32	size;
	__u32	flags;
	__u32	ifindex;
	__u32	rxq;
	__u32	nr_bufs;
	__u32	resv;
	char	msg[64];
	__aligned_u64 resv2[2];
};

/**
 * enum unified_io_submit_flags - flags for struct unified_io_submit
 * @UNIFIED_IO_SUBMIT_F_INLINE: submit the single descriptor in @desc instead
 *	of consuming the SQ; its completion is posted to the CQ like any other
 */
enum unified_io_submit_flags {
	UNIFIED_IO_SUBMIT_F_INLINE	= 1 << 0,
};

/**
 * struct unified_io_submit - ioctl(UNIFIED_IO_SUBMIT)
 * @size: sizeof(struct unified_io_submit)
 * @flags: enum unified_io_submit_flags
 * @to_submit: SQ mode: consume at most this many entries; Must be 0 with
 *	UNIFIED_IO_SUBMIT_F_INLINE
 * @resv: Must be 0
 * @desc: the descriptor, with UNIFIED_IO_SUBMIT_F_INLINE; otherwise Must be 0
 *
 * Consumes descriptors and posts one completion for each. A descriptor is
 * consumed only when the CQ has room for its completion (a SEND: for its
 * completion and its notification), so completions are never dropped. One call consumes at most the SQ size, even when the SQ
 * tail user space wrote is further ahead (counted in sq_bad_tail). Returns
 * the number of descriptors consumed: 1 for an inline descriptor, refused
 * or not.
 *
 * Errors:
 *	EBUSY	the CQ is full (for a SEND: has fewer than two free slots, the
 *		slots reserved for pending notifications not counted) and
 *		nothing could be consumed; reap completions
 *	EINTR	a signal arrived before anything was consumed
 */
struct unified_io_submit {
	__u32	size;
	__u32	flags;
	__u32	to_submit;
	__u32	resv;
	struct unified_io_desc desc;
};

/**
 * struct unified_io_complete - ioctl(UNIFIED_IO_COMPLETE)
 * @size: sizeof(struct unified_io_complete)
 * @flags: Must be 0
 * @min_complete: wait until at least this many completions are ready, at most
 *	the CQ size; 0 returns at once
 * @ready: output, completions ready in the CQ on return
 * @timeout_ns: relative timeout; 0 waits without limit
 * @resv: Must be 0
 *
 * Returns the number of completions ready. Completions stay in the CQ until
 * user space advances the CQ head. While the caller sleeps here, the armed
 * RECVs (UNIFIED_IO_RECV_F_ARM) whose sockets have news run in its task, as
 * io_uring's task work runs on the waiting submitter (charged to the
 * caller's CPU time and priority); with nobody waiting the module's work
 * item runs them, so completions also come to a consumer that never enters
 * the kernel.
 *
 * Errors:
 *	EINVAL	@min_complete above the CQ size
 *	ETIME	the timeout passed with fewer than @min_complete ready (@ready
 *		is still written)
 *	EINTR	interrupted by a signal
 */
struct unified_io_complete {
	__u32	size;
	__u32	flags;
	__u32	min_complete;
	__u32	ready;
	__aligned_u64 timeout_ns;
	__aligned_u64 resv;
};

/*
 * mmap() of the device file maps [offset, offset + length) of the region.
 * Errors:
 *	EBADFD	the context has no region yet
 *	EINVAL	not MAP_SHARED, or offset not page aligned
 *	EPERM	PROT_EXEC requested (mprotect() cannot add it later either)
 *	ENXIO	the range extends past the end of the region
 * The mapping keeps the region alive after close() and the last unmap frees
 * it; it cannot grow by mremap(), and may be partly unmapped. A child of
 * fork() shares the mapping and the context. An fd opened read-only can be
 * mapped MAP_SHARED with PROT_READ. For io_uring to pin the data area (fixed
 * buffers), the device node must be on devtmpfs (/dev), not on a file system
 * with writeback.
 */

/**
 * struct unified_io_uring_cmd - the command of an IORING_OP_URING_CMD on a
 *	region fd (since UNIFIED_IO_FEAT_URING_CMD)
 * @desc: the descriptor, as in the SQ: every opcode the module executes
 * @resv: Must be 0
 *
 * The region's operations on the application's own io_uring, next to NVMe
 * passthrough and the io_uring's other requests, with completions on that
 * ring's CQ and chains linked with IOSQE_IO_LINK. The SQE's cmd_op is
 * UNIFIED_IO_URING_CMD_DESC and its 80-byte command area holds this struct:
 * the ring needs 128-byte SQEs (IORING_SETUP_SQE128, or
 * IORING_OP_URING_CMD128 on an IORING_SETUP_SQE_MIXED ring) and 32-byte
 * CQEs (IORING_SETUP_CQE32 or IORING_SETUP_CQE_MIXED), as NVMe passthrough
 * does. The CQE's res is the descriptor's result, and its first extra word
 * (big_cqe[0]) packs the completion's @addr (bits 0-47) and flags (enum
 * unified_io_cqe_flags, bits 48-63): see UNIFIED_IO_URING_RES2_ADDR() and
 * UNIFIED_IO_URING_RES2_FLAGS(); user_data is the SQE's, not @desc's.
 *
 * NOP, ALLOC, FREE, BPF and CANCEL complete when issued. SEND completes
 * once, when its notification would be posted (flags UNIFIED_IO_CQE_F_NOTIF,
 * and UNIFIED_IO_CQE_F_COPIED if the stack copied), or at once if it queued
 * nothing. RECV must be armed (UNIFIED_IO_RECV_F_ARM) and multishot:
 * uring_cmd_flags IORING_URING_CMD_MULTISHOT with IOSQE_BUFFER_SELECT and a
 * provided buffer ring in buf_group. Each CQE with IORING_CQE_F_MORE then
 * carries, in the provided buffer it names (IORING_CQE_F_BUFFER), @res bytes
 * of struct unified_io_cqe records: the chunk completions the module CQ
 * would have had (their user_data is @desc.user_data). The last CQE (no
 * IORING_CQE_F_MORE) has the armed RECV's final result: those of the
 * module's ring, or ENOBUFS when bytes or records waited and no provided
 * buffer (large enough for the records waiting) was left (the peer's FIN
 * and urgent data need none: 0 and EPROTO come without one), ENOSPC when
 * the io_uring CQ was full (io_uring ends multishot requests there),
 * EFAULT when a provided buffer could not be written, ECANCELED when
 * io_uring cancelled the command (the ring or the submitting task went).
 * Records whose bytes already left the socket but did not reach the ring
 * when the RECV ended (after ENOSPC, EFAULT or ENOBUFS, or after any final
 * result of a RECV that took such records over and stopped before
 * delivering them) wait in the module: the next io_uring RECV on that
 * socket under the same @owner delivers them, with its own
 * @desc.user_data, before any new byte (a one-shot or module-ring RECV on
 * it fails with EBUSY; CANCEL drops them and gives back the region
 * buffers they hold, as FREE would).
 * io_uring took a provided buffer for the batch it could not post: the
 * ENOSPC CQE's big_cqe[0] names it as io_uring would have, by its buffer
 * id: UNIFIED_IO_URING_RES2_FLAGS() has UNIFIED_IO_CQE_F_BUFFER and
 * UNIFIED_IO_URING_RES2_ADDR() is the bid (big_cqe[0] is 0 if no buffer
 * was taken, or the buffer stays in an incremental ring: io_uring's
 * IORING_CQE_F_BUF_MORE), for the application to add it back to its ring.
 * CANCEL stops it as it stops an armed RECV of the module's ring, but its
 * final CQE comes from the submitting task, after CANCEL's completion.
 * IORING_OP_ASYNC_CANCEL does not reach region commands. A SEND that
 * queued fewer bytes than asked completes with that count and does not
 * break an IOSQE_IO_LINK chain, as io_uring's own SEND without
 * MSG_WAITALL: link a SEND after it only once its count is known.
 *
 * Errors (the CQE's res), besides the descriptor's own:
 *	ENOTTY		unknown cmd_op
 *	EINVAL		non-zero @resv; a ring without 128-byte SQEs or 32-byte
 *			CQEs; IORING_URING_CMD_FIXED; RECV without
 *			UNIFIED_IO_RECV_F_ARM and IORING_URING_CMD_MULTISHOT,
 *			or another opcode with it
 *	EBADFD		the region is not set up
 *	EOPNOTSUPP	io_uring returns it for a file that is not a region (no
 *			uring_cmd), as for any file without one
 *	ECANCELED	SEND: io_uring cancelled the command before its
 *			notification (the submitting task called execve(), or
 *			the ring was torn down); the bytes queued still go
 *			out, and the buffer stays UNIFIED_IO_BUF_SENDING until
 *			the stack releases them
 */
struct unified_io_uring_cmd {
	struct unified_io_desc desc;
	__aligned_u64 resv[2];
};

#define UNIFIED_IO_URING_RES2_ADDR(res2)	((res2) & ((1ULL << 48) - 1))
#define UNIFIED_IO_URING_RES2_FLAGS(res2)	((__u32)((res2) >> 48))

/* Type 0xB9: free in Documentation/userspace-api/ioctl/ioctl-number.rst. */
#define UNIFIED_IO_TYPE		0xB9

enum {
	UNIFIED_IO_CMD_SETUP = 0x80,
	UNIFIED_IO_CMD_SUBMIT,
	UNIFIED_IO_CMD_COMPLETE,
	UNIFIED_IO_CMD_GET_INFO,
	UNIFIED_IO_CMD_ATTACH_BPF,
	UNIFIED_IO_CMD_DETACH_BPF,
	UNIFIED_IO_CMD_NET_BIND,
	UNIFIED_IO_CMD_NET_UNBIND,
};

#define UNIFIED_IO_SETUP	_IO(UNIFIED_IO_TYPE, UNIFIED_IO_CMD_SETUP)
#define UNIFIED_IO_SUBMIT	_IO(UNIFIED_IO_TYPE, UNIFIED_IO_CMD_SUBMIT)
#define UNIFIED_IO_COMPLETE	_IO(UNIFIED_IO_TYPE, UNIFIED_IO_CMD_COMPLETE)
#define UNIFIED_IO_GET_INFO	_IO(UNIFIED_IO_TYPE, UNIFIED_IO_CMD_GET_INFO)
#define UNIFIED_IO_ATTACH_BPF	_IO(UNIFIED_IO_TYPE, UNIFIED_IO_CMD_ATTACH_BPF)
#define UNIFIED_IO_DETACH_BPF	_IO(UNIFIED_IO_TYPE, UNIFIED_IO_CMD_DETACH_BPF)
#define UNIFIED_IO_NET_BIND	_IO(UNIFIED_IO_TYPE, UNIFIED_IO_CMD_NET_BIND)
#define UNIFIED_IO_NET_UNBIND	_IO(UNIFIED_IO_TYPE, UNIFIED_IO_CMD_NET_UNBIND)

/* cmd_op of IORING_OP_URING_CMD on a region fd: struct unified_io_uring_cmd */
#define UNIFIED_IO_URING_CMD_DESC	_IOWR(UNIFIED_IO_TYPE, 0xc0, \
					      struct unified_io_uring_cmd)

#endif /* _UAPI_LINUX_UNIFIED_IO_H */
