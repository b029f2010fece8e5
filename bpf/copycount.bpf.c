// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * copycount.bpf.c - count the bytes the CPU copies between user and kernel
 * memory for one process tree, per kernel copy routine.
 *
 * Object model.  "counts" holds per-CPU calls and bytes per routine (enum
 * copycount_routine), for the process tree of proctree.bpf.h ("tracked").
 * A copy is charged to the task that runs it, which for these routines is
 * the task whose system call moves the data (threads, io_uring's io-wq and
 * SQPOLL workers share their process's tgid; a kernel thread working on its
 * behalf, e.g. a workqueue completing AIO, is not counted).
 *
 * Lifetimes.  See proctree.bpf.h.  The tree is seeded by sched_process_exec
 * of the target, i.e. once its new image runs: the handshake read and the
 * kernel's own reading of the executable are not counted, the dynamic
 * loader's reads are.
 *
 * Which routines (Linux 7.2, lib/iov_iter.c, lib/usercopy.c,
 * net/core/datagram.c, net/core/skbuff.c).  Every payload copy between a
 * user buffer and the kernel goes through an iov_iter, and each of these
 * out-of-line routines expands iterate_and_advance() with its own inlined
 * user-copy step (raw_copy_{to,from}_user or a variant); none calls another
 * one of the list, so probing them all counts each byte once:
 *
 *   _copy_to_iter                 copy_to_iter(): sockets (skb_copy_datagram_iter),
 *                                 and, through copy_page_to_iter(), buffered
 *                                 reads (filemap_read, shmem), pipe_read, splice
 *   copy_page_to_iter_nofault     own inlined copy_to_user_nofault() loop
 *   _copy_mc_to_iter              machine-check-safe copy (pmem/dax reads)
 *   _copy_from_iter               copy_from_iter(): sockets, and, through
 *                                 copy_page_from_iter(), pipe_write
 *   copy_folio_from_iter_atomic   buffered writes (generic_perform_write,
 *                                 iomap): inlines __copy_from_iter itself
 *   _copy_from_iter_nocache       TCP/UDP send on NETIF_F_NOCACHE_COPY routes
 *   _copy_from_iter_flushcache    pmem/dax writes
 *   csum_and_copy_from_iter_full  send with checksum (skb_do_copy_data_nocache,
 *                                 ip_generic_getfrag on CHECKSUM_NONE)
 *   csum_and_copy_to_iter         receive with checksum (datagram.c, static
 *                                 but out of line: passed by address)
 *
 * Not probed, because they would count bytes twice: copy_page_to_iter()
 * and copy_page_from_iter() (a loop over _copy_to_iter/_copy_from_iter),
 * and the inline wrappers copy_{to,from}_iter(), copy_folio_to_iter(),
 * copy_from_iter_full*(), hash_and_copy_to_iter().  iov_iter_zero() writes
 * zeroes (holes, /dev/zero) and copies nothing.
 *
 * But lib/ is built without ftrace ("ccflags-remove-$(CONFIG_FUNCTION_TRACER)
 * += $(CC_FLAGS_FTRACE)" in lib/Makefile): everything in lib/iov_iter.c and
 * lib/usercopy.c starts with endbr64 and no fentry nop, is absent from
 * available_filter_functions, and so cannot take fexit (the trampoline
 * finds no nop to patch: EBUSY) nor a BPF kprobe (trace_kprobe refuses
 * "notrace function" unless CONFIG_KPROBE_EVENTS_ON_NOTRACE=y).  That is
 * the case of Debian's 7.2 kernel.  Only csum_and_copy_{to,from}_iter*
 * (net/core) are traceable there.  So, when the main three routines cannot
 * be traced, the loader counts at the copy *sites* instead: the traceable,
 * out-of-line functions that alone call a routine on a path, and whose
 * return value says how much they copied:
 *
 *   filemap_read                  buffered reads of page-cache files and
 *                                 block devices: returns already_read + copied
 *   shmem_file_read_iter          tmpfs reads (holes: the zero page is copied)
 *   anon_pipe_read                pipe reads (FIFOs too, if it is not inlined
 *                                 into fifo_pipe_read)
 *   simple_copy_to_iter           socket receives: skb_copy_datagram_iter's
 *                                 copy callback (TCP, UDP, unix, ...)
 *   csum_and_copy_to_iter         socket receives with checksum, as above
 *   seq_read_iter                 /proc, /sys seq_file reads
 *   generic_perform_write         buffered writes (ext4, tmpfs, block devices)
 *   iomap_file_buffered_write     buffered writes (xfs, ...)
 *   anon_pipe_write               pipe writes
 *   skb_copy_datagram_from_iter   unix, packet, tun sends: 0 = all of len
 *   ip_generic_getfrag            UDP/raw sends (IPv4 and IPv6): 0 = all of len
 *   tcp_sendmsg_locked            TCP sends; MSG_ZEROCOPY sends are taken as
 *                                 not copied
 *
 * They do not nest in one another (csum_and_copy_from_iter_full, called by
 * the last two, is left out in this mode).  Paths not listed (netlink,
 * other file systems' own write loops, character devices) are missed in
 * this mode; the report says which mode was used.
 *
 * "Other user copies" are the out-of-line _copy_to_user/_copy_from_user of
 * lib/usercopy.c (x86 does not define INLINE_COPY_USER): system call
 * arguments and results (ioctl structs, uname, sockaddrs, ...) and the
 * payload of the few old-style .read/.write file operations.  Inline
 * accessors (get_user/put_user, unsafe_*_user in user_access_begin blocks,
 * strncpy_from_user) are not seen, so this group is a lower bound.  Being
 * in lib/, they are not traceable on Debian's 7.2 either: reported as such.
 *
 * Probe type.  fexit everywhere: it runs after the function with both its
 * arguments and its return value, so the count is the bytes actually copied
 * (short copies on a fault included), and needs no state between entry and
 * return.  For a function that is traceable but not in BTF, the loader uses
 * the kprobe/kretprobe pair below instead (entry arguments kept per thread:
 * the probed functions do not nest); -k forces that pair everywhere.
 *
 * Bytes are split by the iov_iter's type: user-backed (ITER_UBUF,
 * ITER_IOVEC) in "bytes", kernel memory (ITER_BVEC, ITER_KVEC, ITER_FOLIOQ,
 * ITER_XARRAY: splice, sendfile, kernel_read) in "kernel_bytes".
 * ITER_DISCARD copies nothing.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "proctree.bpf.h"
#include "copycount.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

enum copy_class { CLASS_USER, CLASS_KERNEL, CLASS_NONE };

#define MSG_ZEROCOPY_FLAG	0x4000000	/* MSG_ZEROCOPY, a #define */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COPYCOUNT_NR_PROBES);
	__type(key, __u32);
	__type(value, struct copycount_val);
} counts SEC(".maps");

/* kprobe fallback: the entry's arguments, per thread, until the return. */
struct entry_args {
	__u64 lim;
	__u32 class;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct entry_args);
} entries SEC(".maps");

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	proctree_seed(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

static __always_inline bool current_tracked(void)
{
	return proctree_tracked(bpf_get_current_pid_tgid() >> 32);
}

static __always_inline __u32 iter_class(const struct iov_iter *i)
{
	__u8 type = BPF_CORE_READ(i, iter_type);

	if (type == bpf_core_enum_value(enum iter_type, ITER_UBUF) ||
	    type == bpf_core_enum_value(enum iter_type, ITER_IOVEC))
		return CLASS_USER;
	if (type == bpf_core_enum_value(enum iter_type, ITER_DISCARD))
		return CLASS_NONE;
	return CLASS_KERNEL;
}

static __always_inline __u32 msg_class(const struct msghdr *msg)
{
	if (BPF_CORE_READ(msg, msg_flags) & MSG_ZEROCOPY_FLAG)
		return CLASS_NONE;
	return iter_class(&msg->msg_iter);
}

static __always_inline void account(__u32 slot, __u32 class, __u64 copied)
{
	struct copycount_val *val = bpf_map_lookup_elem(&counts, &slot);

	if (!val)
		return;
	val->calls++;
	if (class == CLASS_USER) {
		val->bytes += copied;
	} else if (class == CLASS_KERNEL) {
		val->kernel_calls++;
		val->kernel_bytes += copied;
	}
}

/*
 * Bytes copied, from the return value "ret" and "lim", a value taken from
 * the arguments at entry.
 */
#define COPIED_RET	(ret)					/* size_t copied */
#define COPIED_LEFT	(ret <= lim ? lim - ret : 0)		/* bytes NOT copied */
#define COPIED_FULL	(ret ? lim : 0)				/* bool: all or none */
#define COPIED_ZERO_OK	(ret == 0 ? lim : 0)			/* 0 or -errno */
#define COPIED_SSIZE	((long)ret > 0 ? (__u64)ret : 0)	/* bytes or -errno */
#define COPIED_ABOVE	((long)ret > (long)lim ? ret - lim : 0)	/* lim + copied */

/*
 * COPY_PROBE(fn, slot, class, lim, copied, rettype, proto...): the fexit
 * program fx_<fn> and the fallback pair kp_<fn>/kr_<fn>.  @class and @lim
 * are expressions over the arguments named in @proto; @copied one of the
 * COPIED_* above.  The loader attaches one of the two by function name.
 */
#define COPY_PROBE(fn, slot, class_expr, lim_expr, copied, rettype, ...)	\
SEC("fexit/" #fn)								\
int BPF_PROG(fx_##fn, __VA_ARGS__, rettype ret_)				\
{										\
	__u64 ret = (__u64)ret_, lim;						\
										\
	if (!current_tracked())							\
		return 0;							\
	lim = (lim_expr);							\
	(void)lim;								\
	account(slot, class_expr, copied);					\
	return 0;								\
}										\
SEC("kprobe/" #fn)								\
int BPF_KPROBE(kp_##fn, __VA_ARGS__)						\
{										\
	__u64 id = bpf_get_current_pid_tgid();					\
	struct entry_args a;							\
										\
	if (!current_tracked())							\
		return 0;							\
	a.lim = (lim_expr);							\
	a.class = class_expr;							\
	bpf_map_update_elem(&entries, &id, &a, BPF_ANY);			\
	return 0;								\
}										\
SEC("kretprobe/" #fn)								\
int BPF_KRETPROBE(kr_##fn, rettype ret_)					\
{										\
	__u64 id = bpf_get_current_pid_tgid();					\
	struct entry_args *a = bpf_map_lookup_elem(&entries, &id);		\
	__u64 ret = (__u64)ret_, lim;						\
										\
	if (!a)									\
		return 0;							\
	lim = a->lim;								\
	(void)lim;								\
	account(slot, a->class, copied);					\
	bpf_map_delete_elem(&entries, &id);					\
	return 0;								\
}

/* Payload routines (lib/iov_iter.c, net/core). */
COPY_PROBE(_copy_to_iter, COPYCOUNT_COPY_TO_ITER, iter_class(i), 0, COPIED_RET,
	   size_t, const void *addr, size_t bytes, struct iov_iter *i)
COPY_PROBE(copy_page_to_iter_nofault, COPYCOUNT_COPY_PAGE_TO_ITER_NOFAULT,
	   iter_class(i), 0, COPIED_RET, size_t,
	   struct page *page, unsigned int offset, size_t bytes, struct iov_iter *i)
COPY_PROBE(_copy_mc_to_iter, COPYCOUNT_COPY_MC_TO_ITER, iter_class(i), 0, COPIED_RET,
	   size_t, const void *addr, size_t bytes, struct iov_iter *i)
COPY_PROBE(_copy_from_iter, COPYCOUNT_COPY_FROM_ITER, iter_class(i), 0, COPIED_RET,
	   size_t, void *addr, size_t bytes, struct iov_iter *i)
COPY_PROBE(copy_folio_from_iter_atomic, COPYCOUNT_COPY_FOLIO_FROM_ITER_ATOMIC,
	   iter_class(i), 0, COPIED_RET, size_t,
	   struct folio *folio, size_t offset, size_t bytes, struct iov_iter *i)
COPY_PROBE(_copy_from_iter_nocache, COPYCOUNT_COPY_FROM_ITER_NOCACHE,
	   iter_class(i), 0, COPIED_RET, size_t,
	   void *addr, size_t bytes, struct iov_iter *i)
COPY_PROBE(_copy_from_iter_flushcache, COPYCOUNT_COPY_FROM_ITER_FLUSHCACHE,
	   iter_class(i), 0, COPIED_RET, size_t,
	   void *addr, size_t bytes, struct iov_iter *i)
COPY_PROBE(csum_and_copy_from_iter_full, COPYCOUNT_CSUM_AND_COPY_FROM_ITER_FULL,
	   iter_class(i), bytes, COPIED_FULL, bool,
	   void *addr, size_t bytes, __wsum *csum, struct iov_iter *i)
COPY_PROBE(csum_and_copy_to_iter, COPYCOUNT_CSUM_AND_COPY_TO_ITER,
	   iter_class(i), 0, COPIED_RET, size_t,
	   const void *addr, size_t bytes, void *csstate, struct iov_iter *i)

/* Payload sites: traceable callers of the routines. */
COPY_PROBE(filemap_read, COPYCOUNT_FILEMAP_READ, iter_class(iter), already_read,
	   COPIED_ABOVE, ssize_t,
	   struct kiocb *iocb, struct iov_iter *iter, ssize_t already_read)
COPY_PROBE(shmem_file_read_iter, COPYCOUNT_SHMEM_FILE_READ_ITER, iter_class(to), 0,
	   COPIED_SSIZE, ssize_t, struct kiocb *iocb, struct iov_iter *to)
COPY_PROBE(anon_pipe_read, COPYCOUNT_ANON_PIPE_READ, iter_class(to), 0,
	   COPIED_SSIZE, ssize_t, struct kiocb *iocb, struct iov_iter *to)
COPY_PROBE(simple_copy_to_iter, COPYCOUNT_SIMPLE_COPY_TO_ITER, iter_class(i), 0,
	   COPIED_RET, size_t,
	   const void *addr, size_t bytes, void *data, struct iov_iter *i)
COPY_PROBE(seq_read_iter, COPYCOUNT_SEQ_READ_ITER, iter_class(iter), 0,
	   COPIED_SSIZE, ssize_t, struct kiocb *iocb, struct iov_iter *iter)
COPY_PROBE(generic_perform_write, COPYCOUNT_GENERIC_PERFORM_WRITE, iter_class(i), 0,
	   COPIED_SSIZE, ssize_t, struct kiocb *iocb, struct iov_iter *i)
COPY_PROBE(iomap_file_buffered_write, COPYCOUNT_IOMAP_FILE_BUFFERED_WRITE,
	   iter_class(i), 0, COPIED_SSIZE, ssize_t,
	   struct kiocb *iocb, struct iov_iter *i, const void *ops,
	   const void *write_ops, void *private)
COPY_PROBE(anon_pipe_write, COPYCOUNT_ANON_PIPE_WRITE, iter_class(from), 0,
	   COPIED_SSIZE, ssize_t, struct kiocb *iocb, struct iov_iter *from)
COPY_PROBE(skb_copy_datagram_from_iter, COPYCOUNT_SKB_COPY_DATAGRAM_FROM_ITER,
	   iter_class(from), len, COPIED_ZERO_OK, int,
	   struct sk_buff *skb, int offset, struct iov_iter *from, int len)
COPY_PROBE(ip_generic_getfrag, COPYCOUNT_IP_GENERIC_GETFRAG,
	   msg_class((struct msghdr *)from), len, COPIED_ZERO_OK, int,
	   void *from, char *to, int offset, int len, int odd, struct sk_buff *skb)
COPY_PROBE(tcp_sendmsg_locked, COPYCOUNT_TCP_SENDMSG_LOCKED, msg_class(msg), 0,
	   COPIED_SSIZE, int, struct sock *sk, struct msghdr *msg, size_t size)

/* Other user copies (lib/usercopy.c): @n asked, the return value left. */
COPY_PROBE(_copy_to_user, COPYCOUNT_COPY_TO_USER, CLASS_USER, n, COPIED_LEFT,
	   unsigned long, void *to, const void *from, unsigned long n)
COPY_PROBE(_copy_from_user, COPYCOUNT_COPY_FROM_USER, CLASS_USER, n, COPIED_LEFT,
	   unsigned long, void *to, const void *from, unsigned long n)
