// SPDX-License-Identifier: GPL-2.0-only
/*
 * unified-io nvme: an NVMe namespace attached to a region.
 *
 *	info  DEV				what unio_nvme_open() discovered
 *	write DEV --lba L [--input FILE]	file -> region -> drive
 *	read  DEV --lba L --length N [--output FILE]	drive -> region -> file
 *
 * A transfer owns one region whose data area is split into slots of --chunk
 * bytes (each slot one region buffer, ALLOCated under an owner tag), and
 * moves the data through them as a pipeline: chunk k lives in slot
 * k % nr_slots. The drive side is NVMe passthrough through the library's
 * unified path (unio_submit_descs()/unio_reap()), with the data area as
 * fixed buffer 0, so the CPU copies no payload there. The file side uses an
 * io_uring ring of its own, with the same data area registered as its fixed
 * buffer 0: O_DIRECT READ_FIXED/WRITE_FIXED straight into and out of the
 * slots where the file allows it (statx DIOALIGN), read()/write() otherwise
 * (pipes, terminals, file systems without direct I/O).
 *
 * Lifetimes: everything belongs to struct xfer, set up by xfer_setup() and
 * torn down by xfer_teardown(), which is safe on a half-built xfer. The
 * region is destroyed last; it closes the namespace and its ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>
#include <unifiedio.h>

#include "main.h"

#define XFER_OWNER		0x4e56	/* "NV" */
#define XFER_DEF_REGION		(8ULL << 20)
#define XFER_DEF_CHUNK		(1ULL << 20)
#define XFER_MAX_SLOTS		128
#define PROGRESS_NS		200000000ULL

enum slot_state {
	SLOT_FREE,	/* no chunk */
	SLOT_FILE,	/* file I/O in flight (io_uring) */
	SLOT_DRIVE,	/* passthrough command in flight */
	SLOT_READY,	/* read: the drive filled it, waiting for the file */
};

struct slot {
	enum slot_state state;
	uint64_t off;		/* data-area offset of the slot's buffer */
	uint64_t chunk;		/* chunk number it holds */
	uint32_t len;		/* payload bytes of the chunk */
};

struct nvme_opts {
	const char *dev;
	const char *path;	/* --input or --output, NULL: stdin/stdout */
	uint64_t lba;
	uint64_t length;
	uint64_t region_size;
	uint64_t chunk;
	bool have_lba;
	bool have_length;
	bool progress;
	bool no_direct;
};

struct xfer {
	const struct nvme_opts *o;
	bool writing;		/* file -> drive */
	struct unio_region *r;
	struct unio_queue *q;
	struct unio_nvme *ns;
	struct unio_nvme_info info;
	struct io_uring ring;	/* file side */
	bool ring_ok;
	int fd;
	bool fd_owned;
	bool direct;		/* O_DIRECT + io_uring fixed buffers */
	uint32_t dio_align;	/* file offset/length alignment for O_DIRECT */
	const char *file_method;
	struct slot slots[XFER_MAX_SLOTS];
	unsigned int nr_slots;
	uint32_t chunk;

	uint64_t total;		/* payload bytes; UINT64_MAX: until EOF */
	uint64_t nr_chunks;	/* known once total is */
	uint64_t next_start;	/* next chunk to start */
	uint64_t next_out;	/* read, buffered output: next chunk to write */
	uint64_t done_bytes;	/* payload bytes through both stages */
	uint64_t drive_bytes;	/* bytes written to or read from the drive */
	uint64_t commands;	/* passthrough descriptors */
	uint64_t file_uring_ops, file_syscalls;
	bool eof;
	unsigned int file_inflight, drive_inflight;

	/* Progress. */
	bool show_progress, progress_tty;
	uint64_t t0, last_progress;
};

static int do_nvme_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (help_json_null())
		return 0;
	fprintf(stderr,
		"Usage: %s [OPTIONS] nvme { info DEV | write DEV --lba L [--input FILE] [XFER_OPTS] |\n"
		"                      read DEV --lba L --length N [--output FILE] [XFER_OPTS] | help }\n"
		"\n"
		"       DEV := { /dev/ngXnY | /dev/nvmeXnY }\n"
		"       XFER_OPTS := { --progress | --region-size SIZE | --chunk SIZE | --no-direct }\n"
		"       SIZE := NUMBER[K|M|G]\n"
		"\n"
		"       info   namespace id, LBA size, capacity, largest transfer, device nodes\n"
		"       write  FILE (default stdin) into region buffers, then to the drive at LBA L\n"
		"       read   N bytes at LBA L from the drive into region buffers, then to FILE\n"
		"              (default stdout)\n"
		"See unified-io-nvme(8).\n",
		bin_name);
	return 0;
}

/* An NVMe completion's error: errno, and the decoded status for EIO. */
static void p_err_nvme(const char *what, uint64_t lba, uint32_t nlb,
		       const struct unified_io_cqe *cqe)
{
	uint16_t st = cqe->flags;

	if (cqe->res == -EIO && st)
		p_err("NVMe %s of %u blocks at LBA %" PRIu64 ": %s; NVMe status 0x%03x "
		      "(type %u, code 0x%02x%s%s): %s", what, nlb, lba,
		      strerror(EIO), st & 0x7ff, unio_nvme_sct(st), unio_nvme_sc(st),
		      st & UNIO_NVME_STATUS_DNR ? ", do not retry" : "",
		      st & UNIO_NVME_STATUS_MORE ? ", more" : "",
		      unio_nvme_status_str(st));
	else
		p_err("NVMe %s of %u blocks at LBA %" PRIu64 ": %s", what, nlb, lba,
		      strerror(-cqe->res));
}

static void progress(struct xfer *x, bool final)
{
	uint64_t now = tool_now_ns(), el;
	double mbs, pct;
	char line[160];
	int n;

	if (!x->show_progress)
		return;
	if (!final && now - x->last_progress < (x->progress_tty ? PROGRESS_NS :
						  5 * PROGRESS_NS))
		return;
	x->last_progress = now;
	el = now - x->t0;
	mbs = el ? x->done_bytes * 1e3 / el : 0;	/* bytes/ns * 1e3 = MB/s */
	n = snprintf(line, sizeof(line), "%s %" PRIu64 " bytes", x->writing ?
		     "write" : "read", x->done_bytes);
	if (x->total != UINT64_MAX) {
		pct = x->total ? 100.0 * x->done_bytes / x->total : 100.0;
		n += snprintf(line + n, sizeof(line) - n, " of %" PRIu64 " (%.0f%%)",
			      x->total, pct);
	}
	snprintf(line + n, sizeof(line) - n, ", %.1f MB/s", mbs);
	if (x->progress_tty)
		fprintf(stderr, "\r%-72s%s", line, final ? "\n" : "");
	else
		fprintf(stderr, "%s\n", line);
}

static int nvme_open_region(struct xfer *x, uint64_t region_size, uint32_t buf_size)
{
	int ret;

	UNIO_OPTS(opts, .data_size = region_size, .buf_size = buf_size);
	ret = unio_region_create(&opts, &x->r);
	if (ret) {
		p_err("creating a region (%" PRIu64 " bytes in %u-byte buffers): %s",
		      region_size, buf_size, tool_explain(UNIO_CALL_SETUP, ret, &opts));
		return ret;
	}
	x->q = unio_region_queue(x->r);
	ret = unio_nvme_open(x->r, x->o->dev, NULL, &x->ns);
	if (ret) {
		p_err("attaching %s to the region: %s%s", x->o->dev, strerror(-ret),
		      ret == -ENODEV ? " (not an NVMe namespace: /dev/ngXnY or /dev/nvmeXnY)" : "");
		return ret;
	}
	unio_nvme_get_info(x->ns, &x->info);
	return 0;
}

static int do_nvme_info(int argc, char **argv)
{
	struct nvme_opts o = { 0 };
	struct xfer x = { .o = &o };
	int ret;

	if (argc < 1)
		return p_usage("nvme info needs DEV (/dev/ngXnY or /dev/nvmeXnY)");
	if (argc > 1)
		return p_usage("nvme info: unexpected argument '%s'", argv[1]);
	o.dev = *argv;
	/* The smallest region: info needs only the namespace. */
	ret = nvme_open_region(&x, 64 << 10, 64 << 10);
	if (!ret) {
		const struct unio_nvme_info *i = &x.info;
		uint64_t cap = i->nr_lbas * i->lba_size;
		char b1[32], b2[32];

		if (json_output) {
			jsonw_start_object(json_wtr);
			jsonw_string_field(json_wtr, "device", o.dev);
			jsonw_string_field(json_wtr, "char_dev", i->char_dev);
			if (i->block_dev[0])
				jsonw_string_field(json_wtr, "block_dev", i->block_dev);
			else {
				jsonw_name(json_wtr, "block_dev");
				jsonw_null(json_wtr);
			}
			jsonw_uint_field(json_wtr, "nsid", i->nsid);
			jsonw_uint_field(json_wtr, "lba_size", i->lba_size);
			jsonw_uint_field(json_wtr, "nr_lbas", i->nr_lbas);
			jsonw_uint_field(json_wtr, "capacity", cap);
			jsonw_uint_field(json_wtr, "max_transfer", i->max_transfer);
			jsonw_uint_field(json_wtr, "queue_depth", i->queue_depth);
			jsonw_end_object(json_wtr);
		} else {
			printf("device        %s\n", o.dev);
			printf("char device   %s\n", i->char_dev);
			printf("block device  %s\n", i->block_dev[0] ? i->block_dev : "(none)");
			printf("nsid          %u\n", i->nsid);
			printf("lba size      %u bytes\n", i->lba_size);
			printf("capacity      %" PRIu64 " LBAs = %" PRIu64 " bytes (%s)\n",
			       i->nr_lbas, cap, fmt_size(cap, b1, sizeof(b1)));
			printf("max transfer  %u bytes (%s) per command\n", i->max_transfer,
			       fmt_size(i->max_transfer, b2, sizeof(b2)));
			printf("queue depth   %u (library default)\n", i->queue_depth);
		}
	}
	unio_region_destroy(x.r);
	return ret ? -1 : 0;
}

/*
 * Direct I/O if the file is a regular file whose file system supports it
 * at an alignment the slots satisfy; reopen with O_DIRECT in that case.
 */
static void xfer_pick_file_method(struct xfer *x, int flags, mode_t mode)
{
	struct statx stx;
	int fd;

	x->direct = false;
	x->file_method = x->writing ? "read()" : "write()";
	if (x->o->no_direct || !x->o->path || !x->ring_ok)
		return;
	if (statx(x->fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_DIOALIGN, &stx) ||
	    !S_ISREG(stx.stx_mode) || !(stx.stx_mask & STATX_DIOALIGN) ||
	    !stx.stx_dio_offset_align || stx.stx_dio_offset_align > x->chunk ||
	    stx.stx_dio_mem_align > 4096)
		return;
	fd = open(x->o->path, (flags & ~(O_CREAT | O_TRUNC)) | O_DIRECT | O_CLOEXEC, mode);
	if (fd < 0)
		return;
	close(x->fd);
	x->fd = fd;
	x->direct = true;
	x->dio_align = stx.stx_dio_offset_align;
	x->file_method = x->writing ? "O_DIRECT io_uring READ_FIXED" :
				      "O_DIRECT io_uring WRITE_FIXED";
}

static int xfer_setup(struct xfer *x)
{
	const struct nvme_opts *o = x->o;
	uint64_t cap_bytes, data_size;
	unsigned int i;
	int ret, flags;

	x->fd = -1;
	x->chunk = o->chunk;
	data_size = o->region_size / x->chunk * x->chunk;
	x->nr_slots = data_size / x->chunk;
	if (x->nr_slots > XFER_MAX_SLOTS)
		x->nr_slots = XFER_MAX_SLOTS;
	data_size = (uint64_t)x->nr_slots * x->chunk;
	ret = nvme_open_region(x, data_size, x->chunk);
	if (ret)
		return ret;
	if (x->chunk % x->info.lba_size) {
		p_err("--chunk %u is not a multiple of the LBA size %u", x->chunk,
		      x->info.lba_size);
		return -EINVAL;
	}
	/* The slots are region buffers we own for the transfer. */
	for (i = 0; i < x->nr_slots; i++) {
		ret = unio_buf_alloc(x->q, XFER_OWNER, &x->slots[i].off);
		if (ret) {
			p_err("allocating region buffer %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	ret = io_uring_queue_init(2 * XFER_MAX_SLOTS, &x->ring, 0);
	if (!ret) {
		x->ring_ok = true;
		ret = unio_register_io_uring(x->r, &x->ring);
		if (ret) {
			io_uring_queue_exit(&x->ring);
			x->ring_ok = false;
		}
	}

	cap_bytes = x->info.nr_lbas * x->info.lba_size;
	if (o->lba >= x->info.nr_lbas) {
		p_err("LBA %" PRIu64 " is beyond the namespace (%" PRIu64 " LBAs of %u bytes)",
		      o->lba, x->info.nr_lbas, x->info.lba_size);
		return -ERANGE;
	}

	if (x->writing) {
		struct stat st;

		flags = O_RDONLY;
		if (o->path) {
			x->fd = open(o->path, flags | O_CLOEXEC);
			if (x->fd < 0) {
				ret = -errno;
				p_err("opening %s: %s", o->path, strerror(errno));
				return ret;
			}
			x->fd_owned = true;
		} else {
			x->fd = STDIN_FILENO;
		}
		x->total = UINT64_MAX;
		if (!fstat(x->fd, &st) && S_ISREG(st.st_mode))
			x->total = st.st_size;
		xfer_pick_file_method(x, flags, 0);
	} else {
		flags = O_WRONLY | O_CREAT | O_TRUNC;
		if (o->path) {
			x->fd = open(o->path, flags | O_CLOEXEC, 0644);
			if (x->fd < 0) {
				ret = -errno;
				p_err("creating %s: %s", o->path, strerror(errno));
				return ret;
			}
			x->fd_owned = true;
		} else {
			x->fd = STDOUT_FILENO;
		}
		x->total = o->length;
		xfer_pick_file_method(x, flags, 0644);
	}
	if (x->total != UINT64_MAX) {
		uint64_t lbas = (x->total + x->info.lba_size - 1) / x->info.lba_size;

		if (lbas > x->info.nr_lbas - o->lba) {
			p_err("%" PRIu64 " bytes at LBA %" PRIu64 " go past the end of %s "
			      "(%" PRIu64 " bytes, %" PRIu64 " LBAs)", x->total, o->lba,
			      x->info.char_dev, cap_bytes, x->info.nr_lbas);
			return -ERANGE;
		}
		x->nr_chunks = (x->total + x->chunk - 1) / x->chunk;
	}
	return 0;
}

static void xfer_teardown(struct xfer *x)
{
	if (x->ring_ok)
		io_uring_queue_exit(&x->ring);
	if (x->fd_owned && x->fd >= 0)
		close(x->fd);
	/* Closes the namespace and frees the buffers with the region. */
	unio_region_destroy(x->r);
}

static struct slot *slot_of(struct xfer *x, uint64_t chunk)
{
	return &x->slots[chunk % x->nr_slots];
}

static uint64_t chunk_lba(const struct xfer *x, uint64_t chunk)
{
	return x->o->lba + chunk * (x->chunk / x->info.lba_size);
}

/* Send the slot's chunk to the drive (write) or ask the drive for it (read). */
static int xfer_drive_submit(struct xfer *x, struct slot *s)
{
	uint32_t lba_size = x->info.lba_size;
	uint32_t nlb = (s->len + lba_size - 1) / lba_size;
	struct unified_io_desc d;
	int ret;

	memset(&d, 0, sizeof(d));
	if (x->writing) {
		/* Zero the tail of the last block: nothing stale reaches the drive. */
		if (s->len % lba_size)
			memset(unio_data_ptr(x->q, s->off + s->len), 0,
			       lba_size - s->len % lba_size);
		unio_prep_nvme_write(&d, s->off, chunk_lba(x, s->chunk), nlb, s->chunk);
	} else {
		unio_prep_nvme_read(&d, s->off, chunk_lba(x, s->chunk), nlb, s->chunk);
	}
	ret = unio_submit_descs(x->r, &d, 1);
	if (ret < 0) {
		p_err("submitting NVMe %s of %u blocks at LBA %" PRIu64 ": %s",
		      x->writing ? "write" : "read", nlb, chunk_lba(x, s->chunk),
		      strerror(-ret));
		return ret;
	}
	s->state = SLOT_DRIVE;
	x->drive_inflight++;
	x->commands++;
	x->drive_bytes += (uint64_t)nlb * lba_size;
	return 0;
}

/* write: start filling slots from the file. */
static int xfer_fill(struct xfer *x)
{
	while (!x->eof && (x->total == UINT64_MAX || x->next_start < x->nr_chunks)) {
		struct slot *s = slot_of(x, x->next_start);
		uint64_t foff = x->next_start * x->chunk;
		uint32_t want = x->chunk;
		ssize_t n;

		if (s->state != SLOT_FREE)
			break;
		if (x->total != UINT64_MAX && x->total - foff < want)
			want = x->total - foff;
		s->chunk = x->next_start;
		s->len = 0;
		if (x->direct) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&x->ring);
			/* Short reads at EOF are fine with O_DIRECT. */
			uint32_t alen = (want + x->dio_align - 1) / x->dio_align * x->dio_align;

			if (!sqe)
				break;
			io_uring_prep_read_fixed(sqe, x->fd, unio_data_ptr(x->q, s->off),
						 alen, foff, 0);
			io_uring_sqe_set_data64(sqe, s->chunk);
			s->len = want;
			s->state = SLOT_FILE;
			x->file_inflight++;
			x->file_uring_ops++;
			x->next_start++;
			continue;
		}
		/* read(): fill the whole chunk unless EOF comes first. */
		while (s->len < want) {
			n = read(x->fd, unio_data_ptr(x->q, s->off + s->len), want - s->len);
			x->file_syscalls++;
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				p_err("reading %s: %s", x->o->path ?: "standard input",
				      strerror(errno));
				return -errno;
			}
			if (!n) {
				x->eof = true;
				break;
			}
			s->len += n;
		}
		if (!s->len)
			break;		/* EOF at a chunk boundary */
		x->next_start++;
		if (x->eof) {
			x->total = s->chunk * x->chunk + s->len;
			x->nr_chunks = x->next_start;
			if ((x->total + x->info.lba_size - 1) / x->info.lba_size >
			    x->info.nr_lbas - x->o->lba) {
				p_err("the input (%" PRIu64 " bytes) goes past the end of %s",
				      x->total, x->info.char_dev);
				return -ERANGE;
			}
		}
		int ret = xfer_drive_submit(x, s);

		if (ret)
			return ret;
	}
	if (x->eof && x->total == UINT64_MAX) {
		x->total = x->next_start * x->chunk;
		x->nr_chunks = x->next_start;
	}
	if (io_uring_sq_ready(&x->ring))
		io_uring_submit(&x->ring);
	return 0;
}

/* read: ask the drive for chunks while slots are free. */
static int xfer_request(struct xfer *x)
{
	while (x->next_start < x->nr_chunks) {
		struct slot *s = slot_of(x, x->next_start);
		uint64_t foff = x->next_start * x->chunk;
		int ret;

		if (s->state != SLOT_FREE)
			break;
		s->chunk = x->next_start;
		s->len = x->total - foff < x->chunk ? x->total - foff : x->chunk;
		ret = xfer_drive_submit(x, s);
		if (ret)
			return ret;
		x->next_start++;
	}
	return 0;
}

/* read: hand a filled slot to the file. */
static int xfer_output(struct xfer *x, struct slot *s)
{
	if (x->direct) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&x->ring);
		uint32_t alen = (s->len + x->dio_align - 1) / x->dio_align * x->dio_align;

		if (!sqe) {
			io_uring_submit(&x->ring);
			sqe = io_uring_get_sqe(&x->ring);
		}
		if (!sqe)
			return -EBUSY;
		/* Past-the-end bytes of the last chunk go away with ftruncate. */
		io_uring_prep_write_fixed(sqe, x->fd, unio_data_ptr(x->q, s->off), alen,
					  s->chunk * x->chunk, 0);
		io_uring_sqe_set_data64(sqe, s->chunk);
		s->state = SLOT_FILE;
		x->file_inflight++;
		x->file_uring_ops++;
		return 0;
	}
	s->state = SLOT_READY;
	/* write(): in chunk order, as far as chunks are ready. */
	while (x->next_out < x->nr_chunks) {
		struct slot *h = slot_of(x, x->next_out);
		uint32_t put = 0;

		if (h->state != SLOT_READY || h->chunk != x->next_out)
			break;
		while (put < h->len) {
			ssize_t n = write(x->fd, unio_data_ptr(x->q, h->off + put), h->len - put);

			x->file_syscalls++;
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				p_err("writing %s: %s", x->o->path ?: "standard output",
				      strerror(errno));
				return -errno;
			}
			put += n;
		}
		x->done_bytes += h->len;
		h->state = SLOT_FREE;
		x->next_out++;
	}
	return 0;
}

static int xfer_reap_drive(struct xfer *x, unsigned int min)
{
	struct unified_io_cqe cqes[XFER_MAX_SLOTS];
	int n, i, ret;

	n = unio_reap(x->r, cqes, XFER_MAX_SLOTS, min, min ? 30000000000ULL : 0);
	if (n == -ETIME || (n < 0 && !min))
		return 0;
	if (n < 0) {
		p_err("waiting for NVMe completions: %s", strerror(-n));
		return n;
	}
	for (i = 0; i < n; i++) {
		struct unified_io_cqe *c = &cqes[i];
		struct slot *s;

		if (c->opcode != UNIFIED_IO_OP_NVME)
			continue;
		s = slot_of(x, c->user_data);
		x->drive_inflight--;
		if (c->res < 0) {
			p_err_nvme(x->writing ? "write" : "read", chunk_lba(x, s->chunk),
				   (s->len + x->info.lba_size - 1) / x->info.lba_size, c);
			return c->res;
		}
		if (x->writing) {
			x->done_bytes += s->len;
			s->state = SLOT_FREE;
		} else {
			ret = xfer_output(x, s);
			if (ret)
				return ret;
		}
	}
	if (!x->writing && io_uring_sq_ready(&x->ring))
		io_uring_submit(&x->ring);
	return n;
}

/* One file completion; a failed O_DIRECT op is redone with pread/pwrite. */
static int xfer_file_cqe(struct xfer *x, uint64_t chunk, int res)
{
	struct slot *s = slot_of(x, chunk);
	uint64_t foff = chunk * x->chunk;
	void *p = unio_data_ptr(x->q, s->off);
	ssize_t n;

	x->file_inflight--;
	if (res < 0) {
		/* Retry the slot without O_DIRECT through a plain descriptor. */
		int fd = open(x->o->path, x->writing ? O_RDONLY | O_CLOEXEC :
			      O_WRONLY | O_CLOEXEC);

		if (fd < 0) {
			p_err("%s %s: %s", x->writing ? "reading" : "writing", x->o->path,
			      strerror(-res));
			return res;
		}
		n = x->writing ? pread(fd, p, s->len, foff) : pwrite(fd, p, s->len, foff);
		x->file_syscalls++;
		close(fd);
		if (n != (ssize_t)s->len) {
			p_err("%s %s at offset %" PRIu64 ": %s", x->writing ? "reading" :
			      "writing", x->o->path, foff, n < 0 ? strerror(errno) :
			      "short transfer (file changed size?)");
			return n < 0 ? -errno : -EIO;
		}
		res = s->len;
	}
	if (x->writing) {
		if ((uint32_t)res < s->len) {
			p_err("reading %s at offset %" PRIu64 ": %d of %u bytes (file shrank?)",
			      x->o->path, foff, res, s->len);
			return -EIO;
		}
		return xfer_drive_submit(x, s);
	}
	x->done_bytes += s->len;
	s->state = SLOT_FREE;
	return 0;
}

static int xfer_reap_file(struct xfer *x, bool wait)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;
	int ret = 0;

	if (!x->file_inflight)
		return 0;
	if (wait) {
		ret = io_uring_wait_cqe(&x->ring, &cqe);
		if (ret) {
			p_err("waiting for file I/O: %s", strerror(-ret));
			return ret;
		}
	}
	io_uring_for_each_cqe(&x->ring, head, cqe) {
		uint64_t chunk = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;

		seen++;
		io_uring_cq_advance(&x->ring, 1);
		ret = xfer_file_cqe(x, chunk, res);
		if (ret)
			return ret;
	}
	return seen;
}

static int xfer_run(struct xfer *x)
{
	int ret;

	x->t0 = tool_now_ns();
	x->last_progress = x->t0;
	for (;;) {
		int got = 0;

		ret = x->writing ? xfer_fill(x) : xfer_request(x);
		if (ret)
			return ret;
		if (x->total != UINT64_MAX && x->done_bytes >= x->total &&
		    !x->drive_inflight && !x->file_inflight)
			break;
		if (x->writing && x->eof && !x->drive_inflight && !x->file_inflight &&
		    x->done_bytes >= x->total)
			break;
		ret = xfer_reap_file(x, false);
		if (ret < 0)
			return ret;
		got += ret;
		ret = xfer_reap_drive(x, 0);
		if (ret < 0)
			return ret;
		got += ret;
		if (!got) {
			/* Sleep on the drive if it has work, else on the file. */
			if (x->drive_inflight)
				ret = xfer_reap_drive(x, 1);
			else if (x->file_inflight)
				ret = xfer_reap_file(x, true);
			else {
				p_err("internal error: transfer stalled at %" PRIu64 " bytes",
				      x->done_bytes);
				return -EPROTO;
			}
			if (ret < 0)
				return ret;
		}
		progress(x, false);
	}
	if (!x->writing && x->direct && ftruncate(x->fd, x->total)) {
		ret = -errno;
		p_err("truncating %s to %" PRIu64 " bytes: %s", x->o->path, x->total,
		      strerror(errno));
		return ret;
	}
	progress(x, true);
	return 0;
}

static void xfer_report(const struct xfer *x, uint64_t ns)
{
	double s = ns / 1e9, mbs = ns ? x->total * 1e3 / ns : 0;
	const char *file = x->o->path ?: (x->writing ? "standard input" : "standard output");
	uint64_t lbas = x->drive_bytes / x->info.lba_size;

	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "operation", x->writing ? "write" : "read");
		jsonw_string_field(json_wtr, "device", x->info.char_dev);
		jsonw_uint_field(json_wtr, "nsid", x->info.nsid);
		jsonw_uint_field(json_wtr, "lba_size", x->info.lba_size);
		jsonw_uint_field(json_wtr, "lba", x->o->lba);
		jsonw_uint_field(json_wtr, "lbas", lbas);
		jsonw_uint_field(json_wtr, "bytes", x->total);
		jsonw_uint_field(json_wtr, "drive_bytes", x->drive_bytes);
		jsonw_uint_field(json_wtr, "commands", x->commands);
		jsonw_float_field(json_wtr, "seconds", s);
		jsonw_float_field(json_wtr, "mb_per_s", mbs);
		jsonw_name(json_wtr, "file");
		jsonw_start_object(json_wtr);
		if (x->o->path)
			jsonw_string_field(json_wtr, "path", x->o->path);
		else {
			jsonw_name(json_wtr, "path");
			jsonw_null(json_wtr);
		}
		jsonw_string_field(json_wtr, "method", x->file_method);
		jsonw_uint_field(json_wtr, "io_uring_ops", x->file_uring_ops);
		jsonw_uint_field(json_wtr, "syscalls", x->file_syscalls);
		jsonw_end_object(json_wtr);
		jsonw_name(json_wtr, "region");
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "data_size", (uint64_t)x->nr_slots * x->chunk);
		jsonw_uint_field(json_wtr, "chunk", x->chunk);
		jsonw_uint_field(json_wtr, "slots", x->nr_slots);
		jsonw_end_object(json_wtr);
		jsonw_end_object(json_wtr);
		return;
	}
	/* Keep stdout clean when it carries the data. */
	FILE *out = !x->writing && !x->o->path ? stderr : stdout;

	fprintf(out, "%s %" PRIu64 " bytes %s %s, LBA %" PRIu64 "..%" PRIu64
		" (%" PRIu64 " x %u B), in %.3f s, %.1f MB/s\n",
		x->writing ? "wrote" : "read", x->total, x->writing ? "to" : "from",
		x->info.char_dev, x->o->lba, x->o->lba + (lbas ? lbas - 1 : 0), lbas,
		x->info.lba_size, s, mbs);
	if (x->drive_bytes > x->total && x->writing)
		fprintf(out, "  last block padded with %" PRIu64 " zero bytes\n",
			x->drive_bytes - x->total);
	fprintf(out, "  %s %s: %s; drive: %" PRIu64 " passthrough commands from "
		"%u region buffers of %u bytes\n", x->writing ? "from" : "to", file,
		x->file_method, x->commands, x->nr_slots, x->chunk);
}

static int nvme_xfer_parse(int argc, char **argv, struct nvme_opts *o, bool writing)
{
	static const struct option options[] = {
		{ "lba",	 required_argument, NULL, 'l' },
		{ "length",	 required_argument, NULL, 'n' },
		{ "input",	 required_argument, NULL, 'i' },
		{ "output",	 required_argument, NULL, 'o' },
		{ "region-size", required_argument, NULL, 'R' },
		{ "chunk",	 required_argument, NULL, 'C' },
		{ "progress",	 no_argument,	    NULL, 'P' },
		{ "no-direct",	 no_argument,	    NULL, 'D' },
		{ 0 }
	};
	const char *cmd = writing ? "nvme write" : "nvme read";
	uint64_t page = sysconf(_SC_PAGESIZE);
	int opt, ret, idx = 0;
	char msg[256];

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", options, &idx)) >= 0) {
		ret = 0;
		switch (opt) {
		case 'l': ret = tool_parse_size(optarg, &o->lba); o->have_lba = true; break;
		case 'n': ret = tool_parse_size(optarg, &o->length); o->have_length = true; break;
		case 'i':
		case 'o':
			if ((opt == 'i') != writing)
				return p_usage("%s: --%s is for nvme %s", cmd,
					       opt == 'i' ? "input" : "output",
					       opt == 'i' ? "write" : "read");
			o->path = strcmp(optarg, "-") ? optarg : NULL;
			break;
		case 'R': ret = tool_parse_size(optarg, &o->region_size); break;
		case 'C': ret = tool_parse_size(optarg, &o->chunk); break;
		case 'P': o->progress = true; break;
		case 'D': o->no_direct = true; break;
		default:
			return p_getopt_error(cmd, opt, argv);
		}
		if (ret)
			return p_usage("%s: --%s '%s': not a number (NUMBER[K|M|G])",
				       cmd, options[idx].name, optarg);
	}
	if (optind >= argc)
		return p_usage("%s needs DEV (/dev/ngXnY or /dev/nvmeXnY)", cmd);
	if (optind + 1 != argc)
		return p_usage("%s: unexpected argument '%s'", cmd, argv[optind + 1]);
	o->dev = argv[optind];
	if (!o->have_lba)
		return p_usage("%s needs --lba", cmd);
	if (writing && o->have_length)
		return p_usage("%s: --length is for nvme read (write takes the "
			       "input's length)", cmd);
	if (!writing && (!o->have_length || !o->length))
		return p_usage("%s needs --length N (bytes, > 0)", cmd);
	/* A chunk is a region buffer: the limits of UNIFIED_IO_SETUP. */
	if (tool_check_pow2(msg, sizeof(msg), "--chunk", o->chunk,
			    page > 4096 ? page : 4096, UNIFIED_IO_MAX_BUF_SIZE))
		return p_usage("%s: %s", cmd, msg);
	if (o->region_size < o->chunk)
		return p_usage("%s: --region-size %" PRIu64 ": must hold at least one "
			       "--chunk (%" PRIu64 " bytes)", cmd, o->region_size,
			       o->chunk);
	return 0;
}

static int nvme_xfer(int argc, char **argv, bool writing)
{
	struct nvme_opts o = {
		.region_size = XFER_DEF_REGION,
		.chunk = XFER_DEF_CHUNK,
	};
	struct xfer x = { .o = &o, .writing = writing };
	int ret;

	/* argv[-1] is the command name, a program name for getopt. */
	ret = nvme_xfer_parse(argc + 1, argv - 1, &o, writing);
	if (ret)
		return ret;
	if (!writing && !o.path && isatty(STDOUT_FILENO) && !json_output)
		return p_usage("nvme read: refusing to write binary data to a "
			       "terminal: give --output FILE");
	if (!writing && !o.path && json_output)
		return p_usage("nvme read: --json needs --output FILE (standard "
			       "output carries the JSON)");
	x.show_progress = o.progress || (!json_output && isatty(STDERR_FILENO));
	x.progress_tty = isatty(STDERR_FILENO);

	ret = xfer_setup(&x);
	if (!ret)
		ret = xfer_run(&x);
	if (!ret)
		xfer_report(&x, tool_now_ns() - x.t0);
	xfer_teardown(&x);
	return ret ? -1 : 0;
}

static int do_nvme_write(int argc, char **argv)
{
	return nvme_xfer(argc, argv, true);
}

static int do_nvme_read(int argc, char **argv)
{
	return nvme_xfer(argc, argv, false);
}

static const struct cmd nvme_cmds[] = {
	{ "info",	do_nvme_info },
	{ "write",	do_nvme_write },
	{ "read",	do_nvme_read },
	{ "help",	do_nvme_help },
	{ 0 }
};

int do_nvme(int argc, char **argv)
{
	return cmd_select(nvme_cmds, argc, argv, do_nvme_help, "nvme command");
}
