// SPDX-License-Identifier: GPL-2.0-only
/*
 * unified-io bpf: BPF chains over a region's buffers.
 *
 * A region belongs to the open file that set it up, and the chain belongs
 * to the region; fdinfo does not (yet) show a chain, so this tool can only
 * attach to, detach from and list the chain of a region it holds itself.
 * Every invocation therefore creates one region and runs a sequence of
 * steps on it, separated by "--":
 *
 *	unified-io bpf attach crc32c mode=stamp -- attach crc32c mode=verify \
 *		-- run 4 len=4096 -- list -- detach 0 -- list
 *
 * "demo" is such a sequence with known buffers whose effect is checked.
 * Programs are the ones of bpf/ (embedded as libbpf skeletons): opened,
 * given their tunables, loaded, attached with unio_bpf_attach() and the
 * skeleton kept so that stats can read its maps; everything is released
 * when the tool exits, which closes the region.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include <unifiedio.h>

#include "main.h"
#include "unified_io_progs.h"

#include "crc32c.skel.h"
#include "filter.skel.h"
#include "redact.skel.h"
#include "stats.skel.h"

#define BPF_OWNER	0x62
#define BPF_MAX_BUFS	64

struct bpf_slot {
	uint32_t id;
	const char *kind;
	char args[128];
	struct crc32c_bpf *crc;
	struct filter_bpf *filter;
	struct redact_bpf *redact;
	struct stats_bpf *stats;
	bool dry;		/* check the settings only, load nothing */
};

struct bpf_ctx {
	struct unio_region *r;
	struct unio_queue *q;
	uint32_t buf_size;
	uint32_t nr_bufs;
	uint64_t off[BPF_MAX_BUFS];
	struct bpf_slot slot[UNIFIED_IO_BPF_MAX_PROGS];
	unsigned int nr_slots;
	uint64_t user_data;
	bool demo;
	/* Check the steps' arguments only (check_steps()): no region yet. */
	bool dry;
};

static int do_bpf_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (help_json_null())
		return 0;
	fprintf(stderr,
		"Usage: %s [OPTIONS] bpf [REGION_OPTS] STEP [-- STEP]...\n"
		"       %s [OPTIONS] bpf demo [REGION_OPTS]\n"
		"       %s bpf help\n"
		"\n"
		"       STEP := { attach PROG [KEY=VALUE]... | detach { INDEX | id ID | all } |\n"
		"                 list | run [N] [len=L] [seed=S] [header=HEX] [flip=OFF] |\n"
		"                 stats }\n"
		"       PROG := { crc32c [mode=stamp|verify] [append] [strip] |\n"
		"                 filter [off=N] [len=1-8] [value=V] [mask=M] [invert] |\n"
		"                 redact [off=N] [len=N] [fill=B] | stats }\n"
		"       REGION_OPTS := { --buf-size SIZE | --bufs N }\n"
		"\n"
		"The tool creates one region and runs the steps on it, in order; the\n"
		"region and its chain go away when it exits. See unified-io-bpf(8).\n",
		bin_name, bin_name, bin_name);
	return 0;
}

static const char *verdict_name(const struct unified_io_cqe *c, char *buf,
				size_t len)
{
	unsigned int idx;

	if (unio_cqe_bpf_dropped(c, &idx))
		snprintf(buf, len, "drop by #%u", idx);
	else if (c->res < 0)
		snprintf(buf, len, "error %s", strerror(-c->res));
	else
		snprintf(buf, len, "pass");
	return buf;
}

/* What a negative result of an UNIFIED_IO_OP_BPF completion means. */
static const char *bpf_res_str(int res)
{
	switch (-res) {
	case ENOENT:
		return "no program is attached to the region (attach one first)";
	case ECANCELED:
		return "a program returned XDP_ABORTED";
	case EOPNOTSUPP:
		return "a program returned XDP_TX, XDP_REDIRECT or an unknown "
		       "verdict (a region has no packet path)";
	case EPROTO:
		return "a program moved the start of the data "
		       "(bpf_xdp_adjust_head)";
	case EPERM:
		return "the buffer is not held by the descriptor's owner";
	default:
		return strerror(-res);
	}
}

static uint32_t crc32c_sw(const uint8_t *p, size_t n)
{
	uint32_t c = ~0U;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78U : c >> 1;
	}
	return ~c;
}

static uint8_t pattern(uint64_t seed, uint64_t i)
{
	uint64_t x = (i + seed) * 0x9e3779b97f4a7c15ULL;

	return (uint8_t)(x >> 56) ^ (uint8_t)i;
}

/*
 * "key=value": the key, copied to @key (@len bytes, truncated), and the
 * value in *@value; a bare word has value NULL. @arg is left as it is, so
 * that the steps can be checked before they run.
 */
static const char *kv(const char *arg, char *key, size_t len, const char **value)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);

	*value = eq ? eq + 1 : NULL;
	snprintf(key, len, "%.*s", (int)n, arg);
	return key;
}

/* A program's settings: what each takes, for the usage errors. */
#define CRC_ARGS	"mode=stamp|verify, append or strip"
#define FILTER_ARGS	"off=N, len=1-8, value=V, mask=M or invert"
#define REDACT_ARGS	"off=N, len=N or fill=0-255"
#define RUN_ARGS	"N, len=L, seed=S, header=HEX or flip=OFF"

/* KEY[=VALUE] of step or program @what is not one of @expected. */
#define BAD_ARG(what, key, value, expected)				\
	p_usage("bpf %s: bad argument '%s%s%s' (expected %s)", what, key,	\
		(value) ? "=" : "", (value) ? (value) : "", expected)

static int load_crc(struct bpf_slot *s, int argc, char **argv)
{
	uint32_t mode = UNIO_CRC_STAMP, flags = 0;

	for (int i = 0; i < argc; i++) {
		char key[32];
		const char *v, *k = kv(argv[i], key, sizeof(key), &v);

		if (!strcmp(k, "mode") && v && !strcmp(v, "stamp"))
			mode = UNIO_CRC_STAMP;
		else if (!strcmp(k, "mode") && v && !strcmp(v, "verify"))
			mode = UNIO_CRC_VERIFY;
		else if (!strcmp(k, "mode"))
			return p_usage("bpf crc32c: bad value '%s' for mode (expected "
				       "stamp or verify)", v ? v : "");
		else if (!strcmp(k, "append") && !v)
			flags |= UNIO_CRC_F_APPEND;
		else if (!strcmp(k, "strip") && !v)
			flags |= UNIO_CRC_F_STRIP;
		else
			return BAD_ARG("crc32c", k, v, CRC_ARGS);
	}
	if (s->dry)
		return 0;
	s->crc = crc32c_bpf__open();
	if (!s->crc)
		return -errno;
	s->crc->rodata->crc_mode = mode;
	s->crc->rodata->crc_flags = flags;
	snprintf(s->args, sizeof(s->args), "mode=%s%s%s",
		 mode == UNIO_CRC_STAMP ? "stamp" : "verify",
		 flags & UNIO_CRC_F_APPEND ? " append" : "",
		 flags & UNIO_CRC_F_STRIP ? " strip" : "");
	return crc32c_bpf__load(s->crc);
}

static int load_filter(struct bpf_slot *s, int argc, char **argv)
{
	uint64_t off = 0, len = 1, value = 0, mask = ~0ULL;
	bool invert = false;

	for (int i = 0; i < argc; i++) {
		char key[32];
		const char *v, *k = kv(argv[i], key, sizeof(key), &v);
		int ret = -EINVAL;

		if (!strcmp(k, "invert") && !v) {
			invert = true;
			continue;
		}
		if (v && !strcmp(k, "off"))
			ret = tool_parse_uint(v, UINT64_MAX, &off);
		else if (v && !strcmp(k, "len"))
			ret = tool_parse_uint(v, UINT64_MAX, &len);
		else if (v && !strcmp(k, "value"))
			ret = tool_parse_uint(v, UINT64_MAX, &value);
		else if (v && !strcmp(k, "mask"))
			ret = tool_parse_uint(v, UINT64_MAX, &mask);
		if (ret || off > UINT32_MAX || len < 1 || len > UNIO_FILTER_MAX_LEN)
			return BAD_ARG("filter", k, v, FILTER_ARGS);
	}
	if (s->dry)
		return 0;
	s->filter = filter_bpf__open();
	if (!s->filter)
		return -errno;
	s->filter->rodata->filter_off = off;
	s->filter->rodata->filter_len = len;
	s->filter->rodata->filter_value = value;
	s->filter->rodata->filter_mask = mask;
	s->filter->rodata->filter_invert = invert;
	snprintf(s->args, sizeof(s->args), "off=%" PRIu64 " len=%" PRIu64
		 " value=%#" PRIx64 " mask=%#" PRIx64 "%s", off, len, value,
		 mask, invert ? " invert" : "");
	return filter_bpf__load(s->filter);
}

static int load_redact(struct bpf_slot *s, int argc, char **argv)
{
	uint64_t off = 0, len = 0, fill = 0;

	for (int i = 0; i < argc; i++) {
		char key[32];
		const char *v, *k = kv(argv[i], key, sizeof(key), &v);
		int ret = -EINVAL;

		if (v && !strcmp(k, "off"))
			ret = tool_parse_uint(v, UINT64_MAX, &off);
		else if (v && !strcmp(k, "len"))
			ret = tool_parse_uint(v, UINT64_MAX, &len);
		else if (v && !strcmp(k, "fill"))
			ret = tool_parse_uint(v, UINT64_MAX, &fill);
		if (ret || off > UINT32_MAX || len > UINT32_MAX || fill > 255)
			return BAD_ARG("redact", k, v, REDACT_ARGS);
	}
	if (s->dry)
		return 0;
	s->redact = redact_bpf__open();
	if (!s->redact)
		return -errno;
	s->redact->rodata->redact_off = off;
	s->redact->rodata->redact_len = len;
	s->redact->rodata->redact_fill = fill;
	snprintf(s->args, sizeof(s->args), "off=%" PRIu64 " len=%" PRIu64
		 " fill=%#" PRIx64, off, len, fill);
	return redact_bpf__load(s->redact);
}

static int load_stats(struct bpf_slot *s, int argc, char **argv)
{
	if (argc)
		return p_usage("bpf stats: takes no setting: '%s'", argv[0]);
	if (s->dry)
		return 0;
	s->stats = stats_bpf__open_and_load();
	return s->stats ? 0 : -errno;
}

static void slot_destroy(struct bpf_slot *s)
{
	crc32c_bpf__destroy(s->crc);
	filter_bpf__destroy(s->filter);
	redact_bpf__destroy(s->redact);
	stats_bpf__destroy(s->stats);
	memset(s, 0, sizeof(*s));
}

static int slot_fd(const struct bpf_slot *s)
{
	if (s->crc)
		return bpf_program__fd(s->crc->progs.unio_crc32c);
	if (s->filter)
		return bpf_program__fd(s->filter->progs.unio_filter);
	if (s->redact)
		return bpf_program__fd(s->redact->progs.unio_redact);
	return bpf_program__fd(s->stats->progs.unio_stats);
}

static int step_attach(struct bpf_ctx *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*load)(struct bpf_slot *s, int argc, char **argv);
	} progs[] = {
		{ "crc32c", load_crc },
		{ "filter", load_filter },
		{ "redact", load_redact },
		{ "stats", load_stats },
	};
	struct bpf_slot *s, dry = { .dry = true };
	unsigned int i;
	int ret;

	if (argc < 1)
		return p_usage("bpf attach: which program? (expected crc32c, filter, "
			       "redact or stats)");
	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		if (!strcmp(argv[0], progs[i].name))
			break;
	if (i == sizeof(progs) / sizeof(progs[0]))
		return p_usage("bpf attach: unknown program '%s' (expected crc32c, "
			       "filter, redact or stats)", argv[0]);
	if (c->dry)
		return progs[i].load(&dry, argc - 1, argv + 1);
	if (c->nr_slots == UNIFIED_IO_BPF_MAX_PROGS) {
		p_err("attach: the chain is full (%d programs)",
		      UNIFIED_IO_BPF_MAX_PROGS);
		return -ENOSPC;
	}
	s = &c->slot[c->nr_slots];
	s->kind = progs[i].name;
	ret = progs[i].load(s, argc - 1, argv + 1);
	if (ret) {
		if (!usage_error)
			p_err("load %s: %s (run as root; see the libbpf log above)",
			      argv[0], strerror(-ret));
		goto err;
	}
	ret = unio_bpf_attach(c->r, slot_fd(s), &s->id);
	if (ret) {
		p_err("attach %s: %s", argv[0],
		      tool_explain(UNIO_CALL_BPF_ATTACH, ret, NULL));
		goto err;
	}
	c->nr_slots++;
	if (!json_output && !c->demo)
		printf("attached #%u %s (prog id %u) %s\n", c->nr_slots - 1,
		       s->kind, s->id, s->args);
	return 0;
err:
	slot_destroy(s);
	return ret;
}

static int detach_slot(struct bpf_ctx *c, unsigned int i)
{
	int ret = unio_bpf_detach(c->r, c->slot[i].id);

	if (ret) {
		p_err("detach id %u: %s", c->slot[i].id, strerror(-ret));
		return ret;
	}
	if (!json_output && !c->demo)
		printf("detached #%u %s (prog id %u)\n", i, c->slot[i].kind,
		       c->slot[i].id);
	slot_destroy(&c->slot[i]);
	memmove(&c->slot[i], &c->slot[i + 1],
		(c->nr_slots - i - 1) * sizeof(c->slot[0]));
	memset(&c->slot[--c->nr_slots], 0, sizeof(c->slot[0]));
	return 0;
}

static int step_detach(struct bpf_ctx *c, int argc, char **argv)
{
	uint32_t v;

	if (argc == 1 && !strcmp(argv[0], "all")) {
		while (!c->dry && c->nr_slots) {
			int ret = detach_slot(c, c->nr_slots - 1);

			if (ret)
				return ret;
		}
		return 0;
	}
	if (argc == 2 && !strcmp(argv[0], "id") && !parse_u32(argv[1], &v)) {
		if (c->dry)
			return 0;
		for (unsigned int i = 0; i < c->nr_slots; i++)
			if (c->slot[i].id == v)
				return detach_slot(c, i);
		p_err("detach: no program with id %u in the chain", v);
		return -ENOENT;
	}
	if (argc == 1 && !parse_u32(argv[0], &v)) {
		if (c->dry)
			return 0;
		if (v >= c->nr_slots) {
			p_err("detach: no program #%u (the chain has %u)", v,
			      c->nr_slots);
			return -ENOENT;
		}
		return detach_slot(c, v);
	}
	if (!argc)
		return p_usage("bpf detach: which program? (expected INDEX, id ID or all)");
	return p_usage("bpf detach: bad argument '%s'%s (expected INDEX, id ID or all)",
		       argv[argc > 1 && !strcmp(argv[0], "id") ? 1 : 0],
		       argc > 2 ? " or too many" : "");
}

static const struct bpf_slot *slot_by_id(const struct bpf_ctx *c, uint32_t id)
{
	for (unsigned int i = 0; i < c->nr_slots; i++)
		if (c->slot[i].id == id)
			return &c->slot[i];
	return NULL;
}

static int step_list(struct bpf_ctx *c, int argc, char **argv)
{
	struct unified_io_info info;
	int ret;

	if (argc)
		return p_usage("bpf list: takes no argument: '%s'", argv[0]);
	if (c->dry)
		return 0;
	ret = unio_region_get_info(c->r, &info);
	if (ret) {
		p_err("GET_INFO: %s", strerror(-ret));
		return ret;
	}
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_name(json_wtr, "chain");
		jsonw_start_array(json_wtr);
	} else {
		printf("chain of %u program%s:\n", info.nr_bpf_progs,
		       info.nr_bpf_progs == 1 ? "" : "s");
		if (info.nr_bpf_progs)
			printf("  %-3s %-6s %-7s %8s %12s %8s %8s %8s %8s %12s  %s\n",
			       "#", "id", "prog", "runs", "bytes", "pass",
			       "drop", "aborted", "other", "run_ns", "tunables");
	}
	for (uint32_t i = 0; i < info.nr_bpf_progs && i < UNIFIED_IO_BPF_MAX_PROGS; i++) {
		const struct unified_io_bpf_prog_info *p = &info.bpf_progs[i];
		const struct bpf_slot *s = slot_by_id(c, p->prog_id);

		if (json_output) {
			jsonw_start_object(json_wtr);
			jsonw_uint_field(json_wtr, "index", i);
			jsonw_uint_field(json_wtr, "prog_id", p->prog_id);
			jsonw_string_field(json_wtr, "prog", s ? s->kind : "?");
			jsonw_string_field(json_wtr, "tunables", s ? s->args : "");
			jsonw_uint_field(json_wtr, "runs", p->runs);
			jsonw_uint_field(json_wtr, "bytes", p->bytes);
			jsonw_uint_field(json_wtr, "pass", p->pass);
			jsonw_uint_field(json_wtr, "drop", p->drop);
			jsonw_uint_field(json_wtr, "aborted", p->aborted);
			jsonw_uint_field(json_wtr, "other", p->other);
			jsonw_uint_field(json_wtr, "run_ns", p->run_ns);
			jsonw_end_object(json_wtr);
		} else {
			printf("  %-3u %-6u %-7s %8" PRIu64 " %12" PRIu64 " %8" PRIu64
			       " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %12" PRIu64 "  %s\n",
			       i, p->prog_id, s ? s->kind : "?", (uint64_t)p->runs,
			       (uint64_t)p->bytes, (uint64_t)p->pass, (uint64_t)p->drop,
			       (uint64_t)p->aborted, (uint64_t)p->other,
			       (uint64_t)p->run_ns, s ? s->args : "");
		}
	}
	if (json_output) {
		jsonw_end_array(json_wtr);
		jsonw_end_object(json_wtr);
	}
	return 0;
}

/* Run the chain over @len bytes of buffer @i; 0 and *cqe, or -errno. */
static int run_one(struct bpf_ctx *c, unsigned int i, uint32_t len,
		   struct unified_io_cqe *cqe)
{
	struct unified_io_desc *d = unio_get_sqe(c->q);
	struct unified_io_cqe *got;
	int ret;

	if (!d)
		return -EBUSY;
	unio_prep_bpf(d, BPF_OWNER, c->off[i], len, c->user_data++);
	ret = unio_submit(c->q);
	if (ret < 0)
		return ret;
	got = unio_peek_cqe(c->q);
	if (!got)
		return -EPROTO;
	*cqe = *got;
	unio_cqe_seen(c->q);
	return 0;
}

/* Print what the chain did to buffer @i against what it held (@before). */
static void show_effect(struct bpf_ctx *c, unsigned int i, uint32_t len,
			const uint8_t *before, const struct unified_io_cqe *cqe)
{
	const uint8_t *b = unio_data_ptr(c->q, c->off[i]);
	uint32_t changed = 0, first = 0, last = 0;
	char v[64];

	for (uint32_t k = 0; k < c->buf_size; k++) {
		if (b[k] == before[k])
			continue;
		if (!changed++)
			first = k;
		last = k;
	}
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "buffer", i);
		jsonw_uint_field(json_wtr, "offset", c->off[i]);
		jsonw_uint_field(json_wtr, "len", len);
		jsonw_int_field(json_wtr, "res", cqe->res);
		jsonw_uint_field(json_wtr, "flags", cqe->flags);
		jsonw_string_field(json_wtr, "verdict", verdict_name(cqe, v, sizeof(v)));
		jsonw_uint_field(json_wtr, "bytes_changed", changed);
		if (changed) {
			jsonw_uint_field(json_wtr, "first_changed", first);
			jsonw_uint_field(json_wtr, "last_changed", last);
		}
		if (cqe->res >= 4)
			jsonw_uint_field(json_wtr, "last4_le",
					 b[cqe->res - 4] | b[cqe->res - 3] << 8 |
					 b[cqe->res - 2] << 16 |
					 (uint32_t)b[cqe->res - 1] << 24);
		jsonw_end_object(json_wtr);
		return;
	}
	printf("  buffer %u (offset %#" PRIx64 ", %u bytes): %s, res %d",
	       i, c->off[i], len, verdict_name(cqe, v, sizeof(v)), cqe->res);
	if (changed)
		printf(", %u byte%s changed in [%u, %u]", changed,
		       changed == 1 ? "" : "s", first, last);
	else
		printf(", unchanged");
	if (cqe->res >= 4)
		printf(", last 4 bytes %02x %02x %02x %02x", b[cqe->res - 4],
		       b[cqe->res - 3], b[cqe->res - 2], b[cqe->res - 1]);
	printf("\n");
}

static int step_run(struct bpf_ctx *c, int argc, char **argv)
{
	uint64_t n = 1, len = 0, seed = 1, header = 0, flip = UINT64_MAX;
	bool has_header = false, failed = false;
	uint8_t *before;
	int ret = 0;

	for (int a = 0; a < argc; a++) {
		char key[32];
		const char *v, *k = kv(argv[a], key, sizeof(key), &v);
		int err = -EINVAL;

		if (!v && a == 0)
			err = tool_parse_uint(k, UINT64_MAX, &n);
		else if (v && !strcmp(k, "len"))
			err = tool_parse_uint(v, UINT64_MAX, &len);
		else if (v && !strcmp(k, "seed"))
			err = tool_parse_uint(v, UINT64_MAX, &seed);
		else if (v && !strcmp(k, "flip"))
			err = tool_parse_uint(v, UINT64_MAX, &flip);
		else if (v && !strcmp(k, "header")) {
			err = tool_parse_uint(v, UINT64_MAX, &header);
			has_header = true;
		}
		if (err)
			return BAD_ARG("run", k, v, RUN_ARGS);
	}
	if (!len)
		len = c->buf_size;
	if (!n || n > c->nr_bufs || len > c->buf_size)
		return p_usage("bpf run: %" PRIu64 " buffers of %" PRIu64 " bytes: "
			       "from 1 to %u buffers (--bufs) of at most %u bytes "
			       "(--buf-size)", n, len, c->nr_bufs, c->buf_size);
	if (c->dry)
		return 0;
	before = malloc(c->buf_size);
	if (!before)
		return -ENOMEM;
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_name(json_wtr, "run");
		jsonw_start_array(json_wtr);
	} else {
		printf("run over %" PRIu64 " buffer%s of %" PRIu64 " bytes (seed %" PRIu64 "):\n",
		       n, n == 1 ? "" : "s", len, seed);
	}
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *b = unio_data_ptr(c->q, c->off[i]);
		struct unified_io_cqe cqe;

		for (uint32_t k = 0; k < c->buf_size; k++)
			b[k] = pattern(seed + i, k);
		for (unsigned int k = 0; has_header && k < 8 && k < len; k++)
			b[k] = header >> (8 * k);
		if (flip < len)
			b[flip] ^= 0x01;
		memcpy(before, b, c->buf_size);
		ret = run_one(c, i, len, &cqe);
		if (ret) {
			p_err("run: SUBMIT: %s", strerror(-ret));
			break;
		}
		show_effect(c, i, len, before, &cqe);
		/* The chain refused the buffer: the operation failed. */
		if (cqe.res < 0) {
			p_err("run: buffer %u: %s", i, bpf_res_str(cqe.res));
			failed = true;
		}
	}
	if (!ret && failed)
		ret = -EIO;
	if (json_output) {
		jsonw_end_array(json_wtr);
		jsonw_end_object(json_wtr);
	}
	free(before);
	return ret;
}

static int print_stats(const struct bpf_slot *s)
{
	struct unio_stats_total t;
	struct unio_stats_owner o;
	uint32_t key = 0, next;
	int fd, ret;

	fd = bpf_map__fd(s->stats->maps.totals);
	ret = bpf_map_lookup_elem(fd, &key, &t);
	if (ret)
		return -errno;
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "prog_id", s->id);
		jsonw_uint_field(json_wtr, "buffers", t.buffers);
		jsonw_uint_field(json_wtr, "bytes", t.bytes);
		jsonw_uint_field(json_wtr, "untracked", t.untracked);
		jsonw_name(json_wtr, "log2_hist");
		jsonw_start_array(json_wtr);
		for (int h = 0; h < UNIO_STATS_HIST; h++)
			jsonw_uint(json_wtr, t.hist[h]);
		jsonw_end_array(json_wtr);
		jsonw_name(json_wtr, "owners");
		jsonw_start_array(json_wtr);
	} else {
		printf("stats (prog id %u): %" PRIu64 " buffers, %" PRIu64 " bytes\n",
		       s->id, (uint64_t)t.buffers, (uint64_t)t.bytes);
		for (int h = 0; h < UNIO_STATS_HIST; h++)
			if (t.hist[h])
				printf("  len [%u, %u): %" PRIu64 "\n", 1U << h,
				       2U << h, (uint64_t)t.hist[h]);
	}
	fd = bpf_map__fd(s->stats->maps.owners);
	for (ret = bpf_map_get_next_key(fd, NULL, &next); !ret;
	     ret = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &o))
			continue;
		if (json_output) {
			jsonw_start_object(json_wtr);
			jsonw_uint_field(json_wtr, "owner", key);
			jsonw_uint_field(json_wtr, "buffers", o.buffers);
			jsonw_uint_field(json_wtr, "bytes", o.bytes);
			jsonw_end_object(json_wtr);
		} else {
			printf("  owner %#x: %" PRIu64 " buffers, %" PRIu64 " bytes\n",
			       key, (uint64_t)o.buffers, (uint64_t)o.bytes);
		}
	}
	if (json_output) {
		jsonw_end_array(json_wtr);
		jsonw_end_object(json_wtr);
	}
	return 0;
}

static int step_stats(struct bpf_ctx *c, int argc, char **argv)
{
	bool any = false;

	int ret = 0;

	if (argc)
		return p_usage("bpf stats: takes no argument: '%s'", argv[0]);
	if (c->dry)
		return 0;
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_name(json_wtr, "stats");
		jsonw_start_array(json_wtr);
	}
	for (unsigned int i = 0; i < c->nr_slots; i++) {
		if (!c->slot[i].stats)
			continue;
		any = true;
		if (print_stats(&c->slot[i])) {
			p_err("stats: cannot read the maps of id %u", c->slot[i].id);
			ret = -EIO;
		}
	}
	if (json_output) {
		jsonw_end_array(json_wtr);
		jsonw_end_object(json_wtr);
	} else if (!any) {
		printf("no stats program in the chain\n");
	}
	return ret;
}

static int bpf_ctx_init(struct bpf_ctx *c, uint64_t buf_size, uint32_t nr_bufs)
{
	UNIO_OPTS(opts, .sq_entries = 16, .buf_size = buf_size,
		  .data_size = buf_size * nr_bufs);
	int ret;

	ret = unio_region_create(&opts, &c->r);
	if (ret) {
		p_err("creating a region: %s",
		      tool_explain(UNIO_CALL_SETUP, ret, &opts));
		return ret;
	}
	c->q = unio_region_queue(c->r);
	c->buf_size = unio_region_layout(c->r)->buf_size;
	c->nr_bufs = nr_bufs;
	c->user_data = 1;
	for (unsigned int i = 0; i < nr_bufs; i++) {
		ret = unio_buf_alloc(c->q, BPF_OWNER, &c->off[i]);
		if (ret) {
			p_err("ALLOC: %s", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void bpf_ctx_fini(struct bpf_ctx *c)
{
	for (unsigned int i = 0; i < c->nr_slots; i++)
		slot_destroy(&c->slot[i]);
	unio_region_destroy(c->r);
}

/* --buf-size SIZE and --bufs N in front of the steps; returns args used. */
static int parse_region_opts(int argc, char **argv, uint64_t *buf_size,
			     uint32_t *nr_bufs)
{
	uint64_t page = sysconf(_SC_PAGESIZE);
	char msg[256];
	int used = 0;

	while (argc - used >= 1 && !strncmp(argv[used], "--", 2) && argv[used][2]) {
		const char *o = argv[used], *v = argv[used + 1];

		if (strcmp(o, "--buf-size") && strcmp(o, "--bufs"))
			return p_usage("bpf: unknown option '%s' (expected --buf-size "
				       "or --bufs)", o);
		if (argc - used < 2)
			return p_usage("bpf: option '%s' needs a value", o);
		if (!strcmp(o, "--buf-size")) {
			if (tool_parse_size(v, buf_size))
				return p_usage("bpf: --buf-size '%s': not a size "
					       "(NUMBER[K|M|G])", v);
			if (tool_check_pow2(msg, sizeof(msg), "--buf-size", *buf_size,
					    page > 4096 ? page : 4096,
					    UNIFIED_IO_MAX_BUF_SIZE))
				return p_usage("bpf: %s", msg);
		} else if (parse_u32(v, nr_bufs) || !*nr_bufs ||
			   *nr_bufs > BPF_MAX_BUFS) {
			return p_usage("bpf: --bufs '%s': a number from 1 to %u", v,
				       BPF_MAX_BUFS);
		}
		used += 2;
	}
	return used;
}

static const struct {
	const char *name;
	int (*fn)(struct bpf_ctx *c, int argc, char **argv);
} steps[] = {
	{ "attach", step_attach },
	{ "detach", step_detach },
	{ "list", step_list },
	{ "run", step_run },
	{ "stats", step_stats },
};

/* The step @argv[0] names (a unique prefix), or NULL. */
static int step_index(const char *word)
{
	for (unsigned int s = 0; s < sizeof(steps) / sizeof(steps[0]); s++)
		if (is_prefix(word, steps[s].name))
			return s;
	return -1;
}

/*
 * Every step and its arguments are checked before the region is made, so a
 * usage error is reported before anything runs: each step runs dry.
 */
static int check_steps(struct bpf_ctx *c, int argc, char **argv)
{
	int ret = 0;

	c->dry = true;
	while (argc > 0 && !ret) {
		int n = 0, s;

		while (n < argc && strcmp(argv[n], "--"))
			n++;
		if (!n)
			ret = p_usage("bpf: empty step before '--'");
		else if ((s = step_index(argv[0])) < 0)
			ret = p_usage("bpf: unknown step '%s' (expected attach, "
				      "detach, list, run or stats)", argv[0]);
		else
			ret = steps[s].fn(c, n - 1, argv + 1);
		if (!ret && n == argc - 1)
			ret = p_usage("bpf: no step after the last '--'");
		n = n < argc ? n + 1 : n;
		argc -= n;
		argv += n;
	}
	c->dry = false;
	return ret;
}

static int run_steps(struct bpf_ctx *c, int argc, char **argv)
{
	int ret = 0;

	if (json_output)
		jsonw_start_array(json_wtr);
	while (argc > 0 && !ret) {
		int n = 0;
		unsigned int s;

		while (n < argc && strcmp(argv[n], "--"))
			n++;
		/* check_steps() made sure of it. */
		s = step_index(argv[0]);
		ret = steps[s].fn(c, n - 1, argv + 1);
		/* The step and its "--". */
		s = n < argc ? n + 1 : n;
		argc -= s;
		argv += s;
	}
	if (json_output)
		jsonw_end_array(json_wtr);
	return ret;
}

static int do_bpf_steps(int argc, char **argv)
{
	uint64_t buf_size = 64 << 10;
	uint32_t nr_bufs = 4;
	struct bpf_ctx c = {};
	int used, ret;

	used = parse_region_opts(argc, argv, &buf_size, &nr_bufs);
	if (used < 0)
		return used;
	if (argc == used)
		return p_usage("bpf: no step given (expected attach, detach, list, "
			       "run, stats, demo or help)");
	c.buf_size = buf_size;
	c.nr_bufs = nr_bufs;
	ret = check_steps(&c, argc - used, argv + used);
	if (ret)
		return ret;
	ret = bpf_ctx_init(&c, buf_size, nr_bufs);
	if (!ret)
		ret = run_steps(&c, argc - used, argv + used);
	bpf_ctx_fini(&c);
	return ret;
}

/*
 * The demo: a chain filter (header "UIO1") -> redact [8, 16) -> crc32c
 * stamp -> crc32c verify -> stats over buffers with known content, every
 * effect checked; then the stamp is detached and a corrupted buffer is
 * dropped by verify.
 */
#define DEMO_MAGIC	0x314f4955ULL	/* "UIO1" little-endian */

static int demo_check(bool ok, const char *what)
{
	if (!ok)
		p_err("demo: %s", what);
	return ok ? 0 : -EPROTO;
}

static int do_bpf_demo(int argc, char **argv)
{
	uint64_t buf_size = 64 << 10;
	uint32_t nr_bufs = 4, len;
	struct bpf_ctx c = { .demo = true };
	char a_filter[] = "filter", a_off0[] = "off=0", a_len4[] = "len=4",
	     a_value[] = "value=0x314f4955", a_redact[] = "redact",
	     a_off8[] = "off=8", a_len8[] = "len=8", a_crc[] = "crc32c",
	     a_stamp[] = "mode=stamp", a_verify[] = "mode=verify",
	     a_stats[] = "stats";
	char *chain[][4] = {
		{ a_filter, a_off0, a_len4, a_value },
		{ a_redact, a_off8, a_len8 },
		{ a_crc, a_stamp },
		{ a_crc, a_verify },
		{ a_stats },
	};
	const int chain_argc[] = { 4, 3, 2, 2, 1 };
	struct unified_io_cqe cqe;
	uint8_t *before = NULL, *b;
	int used, ret;

	used = parse_region_opts(argc, argv, &buf_size, &nr_bufs);
	if (used < 0)
		return used;
	if (used != argc)
		return p_usage("bpf demo: unexpected argument '%s' (expected "
			       "--buf-size SIZE or --bufs N)", argv[used]);
	if (nr_bufs < 3)
		return p_usage("bpf demo: --bufs %u: the demo needs at least 3",
			       nr_bufs);
	ret = bpf_ctx_init(&c, buf_size, nr_bufs);
	if (ret)
		goto out;
	len = c.buf_size / 2 + 5;
	before = malloc(c.buf_size);
	ret = -ENOMEM;
	if (!before)
		goto out;
	if (json_output)
		jsonw_start_array(json_wtr);

	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_name(json_wtr, "runs");
		jsonw_start_array(json_wtr);
	} else {
		printf("region: %u buffers of %u bytes; chain: filter \"UIO1\" at 0 ->"
		       " redact [8, 16) -> crc32c stamp -> crc32c verify -> stats\n",
		       c.nr_bufs, c.buf_size);
	}
	for (unsigned int i = 0; i < 5; i++) {
		ret = step_attach(&c, chain_argc[i], chain[i]);
		if (ret)
			goto out_json;
	}

	/* Buffers 0 and 2 carry the header, buffer 1 does not. */
	for (unsigned int i = 0; i < 3; i++) {
		uint32_t crc;

		b = unio_data_ptr(c.q, c.off[i]);
		for (uint32_t k = 0; k < c.buf_size; k++)
			b[k] = pattern(i + 1, k);
		if (i != 1)
			memcpy(b, &(uint32_t){ DEMO_MAGIC }, 4);
		memcpy(before, b, c.buf_size);
		ret = run_one(&c, i, len, &cqe);
		if (ret)
			goto out_json;
		show_effect(&c, i, len, before, &cqe);
		if (i == 1) {
			ret = demo_check(unio_cqe_bpf_dropped(&cqe, NULL) &&
					 !memcmp(b, before, c.buf_size),
					 "buffer without the header not dropped untouched");
		} else {
			memset(before + 8, 0, 8);
			crc = crc32c_sw(before, len - 4);
			memcpy(before + len - 4, &crc, 4);
			ret = demo_check(cqe.res == (int)len && !cqe.flags &&
					 !memcmp(b, before, c.buf_size),
					 "redaction or CRC trailer not as computed in user space");
		}
		if (ret)
			goto out_json;
	}

	/* Without the stamp, a flipped byte fails verification. */
	ret = detach_slot(&c, 2);
	if (ret)
		goto out_json;
	b = unio_data_ptr(c.q, c.off[0]);
	b[100] ^= 0x40;
	memcpy(before, b, c.buf_size);
	ret = run_one(&c, 0, len, &cqe);
	if (ret)
		goto out_json;
	show_effect(&c, 0, len, before, &cqe);
	{
		unsigned int idx = ~0U;

		ret = demo_check(unio_cqe_bpf_dropped(&cqe, &idx) && idx == 2,
				 "corrupted buffer not dropped by verify (#2)");
	}
out_json:
	if (json_output) {
		jsonw_end_array(json_wtr);
		jsonw_end_object(json_wtr);
	}
	if (!ret) {
		if (!json_output)
			printf("\n");
		ret = step_list(&c, 0, NULL);
	}
	if (!ret)
		ret = step_stats(&c, 0, NULL);
	if (!ret && !json_output)
		printf("demo: ok\n");
	if (json_output)
		jsonw_end_array(json_wtr);
out:
	free(before);
	bpf_ctx_fini(&c);
	return ret;
}

int do_bpf(int argc, char **argv)
{
	if (argc < 1)
		return p_usage("bpf: no step given (expected attach, detach, list, "
			       "run, stats, demo or help)");
	if (!strcmp(argv[0], "help"))
		return do_bpf_help(argc, argv);
	if (is_prefix(argv[0], "demo") && is_prefix(argv[0], "detach"))
		return p_usage("bpf: '%s' is ambiguous: demo or detach", argv[0]);
	if (is_prefix(argv[0], "demo"))
		return do_bpf_demo(argc - 1, argv + 1);
	return do_bpf_steps(argc, argv);
}
