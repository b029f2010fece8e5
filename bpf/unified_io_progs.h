/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types and constants shared by the region programs (crc32c.bpf.c,
 * filter.bpf.c, redact.bpf.c, stats.bpf.c) and their loaders
 * (tools/unified-io/bpf.c, selftests/unified_io/bpf_progs.c).  Plain C.
 *
 * The programs are XDP programs run by UNIFIED_IO_OP_BPF over one region
 * buffer in place: [data, data_end) is the buffer's bytes, [data_meta, data)
 * the struct unified_io_bpf_meta of the descriptor.
 *
 * Direct packet access.  The verifier only proves packet pointers whose
 * variable offset stays within MAX_PACKET_OFF (0xffff), so the programs read
 * and write bytes [0, UNIO_PROG_DIRECT_MAX) of a buffer directly and reach the
 * rest (buffers may be up to 2 MiB) with bpf_xdp_load_bytes() and
 * bpf_xdp_store_bytes().
 *
 * Include vmlinux.h (BPF) or <linux/types.h> (user space) first.  A
 * loader includes it before the skeletons: crc32c.skel.h declares its .bss
 * with struct unio_crc_last.
 */
#ifndef UNIFIED_IO_BPF_PROGS_H
#define UNIFIED_IO_BPF_PROGS_H

#ifdef __VMLINUX_H__
/*
 * BPF side: vmlinux.h has the kernel's types; keep the uapi header from
 * pulling in the system's <linux/types.h> and <linux/ioctl.h> on top.
 */
#ifndef __aligned_u64
#define __aligned_u64 __u64 __attribute__((aligned(8)))
#endif
#define _LINUX_TYPES_H
#define _LINUX_IOCTL_H
#endif
/*
 * include/uapi in the tree (every build here passes -I for it), installed
 * beside this header's directory by make install (unified_io_progs(7)).
 */
#include <linux/unified_io.h>

/* Bytes of a buffer the programs access directly (see above). */
#define UNIO_PROG_DIRECT_MAX	0xffffU

/* Largest region buffer, so the largest [data, data_end). */
#define UNIO_PROG_MAX_LEN	UNIFIED_IO_MAX_BUF_SIZE

/*
 * crc32c.bpf.c: CRC32C (Castagnoli; reflected polynomial 0x82F63B78,
 * initial value ~0, final xor ~0: the CRC of iSCSI, ext4, NVMe) of a buffer,
 * kept little-endian in a 4-byte trailer.
 *
 * UNIO_CRC_STAMP: the CRC of [data, data_end - 4) is written into the last 4
 * bytes; XDP_PASS.  With UNIO_CRC_F_APPEND the CRC of the whole of
 * [data, data_end) is written after it instead, the data growing by 4
 * bytes (bpf_xdp_adjust_tail; XDP_ABORTED when the buffer has no room,
 * which is at the end of the buffer, or earlier if the module's xdp_buff
 * reserves tailroom for a struct skb_shared_info inside the buffer).
 * Without it, data shorter than 4 bytes is XDP_ABORTED.
 *
 * UNIO_CRC_VERIFY: XDP_PASS when the last 4 bytes hold the CRC of the bytes
 * before them, XDP_DROP otherwise (also for data shorter than 4 bytes).
 * With UNIO_CRC_F_STRIP a matching trailer is removed (the data shrinks by
 * 4 bytes, which the completion's result shows).
 */
enum unio_crc_mode {
	UNIO_CRC_STAMP	= 0,
	UNIO_CRC_VERIFY	= 1,
};

#define UNIO_CRC_F_APPEND	(1U << 0)
#define UNIO_CRC_F_STRIP		(1U << 1)
#define UNIO_CRC_F_ALL		(UNIO_CRC_F_APPEND | UNIO_CRC_F_STRIP)
#define UNIO_CRC_TRAILER		4

/* CRC32C of "123456789", the check value of the standard. */
#define UNIO_CRC32C_CHECK	0xe3069283U

/*
 * crc32c.bpf.c .bss, for loaders that want to show it: the CRC computed by
 * the last run and the trailer found by the last VERIFY run.
 */
struct unio_crc_last {
	__u32 crc;
	__u32 trailer;
	__u32 len;
	__u32 verdict;
};

/*
 * filter.bpf.c: the header field is filter_len (1-8) bytes at filter_off,
 * read as a little-endian integer v.  The buffer passes when
 * (v & filter_mask) == (filter_value & filter_mask), and is dropped when it
 * does not or when the data ends before the field; filter_invert swaps the
 * two verdicts for buffers that have the field.  filter_len outside 1-8 is
 * XDP_ABORTED.
 */
#define UNIO_FILTER_MAX_LEN	8

/*
 * redact.bpf.c: bytes [redact_off, redact_off + redact_len) of the data,
 * clamped to data_end, are set to redact_fill (0 by default).  Always
 * XDP_PASS.
 */

/*
 * stats.bpf.c: counts every buffer it sees, XDP_PASS.
 *
 * "totals" (array, one entry): struct unio_stats_total; hist[b] counts
 * buffers whose length is in [2^b, 2^(b+1)).
 * "owners" (hash, key __u32 owner tag from struct unified_io_bpf_meta, 0
 * when there was no metadata): struct unio_stats_owner.  Owners beyond
 * UNIO_STATS_MAX_OWNERS are counted in totals.untracked only.
 * Updates are atomic: one program may run for several regions at once.
 */
#define UNIO_STATS_HIST		22	/* 2^21 = UNIFIED_IO_MAX_BUF_SIZE */
#define UNIO_STATS_MAX_OWNERS	1024

struct unio_stats_total {
	__u64 buffers;
	__u64 bytes;
	__u64 untracked;
	__u64 hist[UNIO_STATS_HIST];
};

struct unio_stats_owner {
	__u64 buffers;
	__u64 bytes;
};

#endif /* UNIFIED_IO_BPF_PROGS_H */
