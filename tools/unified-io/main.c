// SPDX-License-Identifier: GPL-2.0-only
/*
 * unified-io: inspect and exercise unified_io regions.
 *
 *	unified-io [OPTIONS] OBJECT COMMAND [ARGS]
 *
 * Objects are dispatched through a command table as in bpftool: every
 * object and command may be abbreviated to a unique prefix.
 *
 * Exit status: 0 on success, 1 when an operation failed, 2 on a usage
 * error (p_usage()), which names the word at fault. -j/--json and
 * -p/--pretty are taken out of the arguments wherever they are, before the
 * object or after the command. With them, standard output is one JSON
 * document: the command's output when it succeeded, otherwise
 * {"error": "..."} with the first message p_err() or p_usage() was given
 * (or the command's own object when it has an "error" member, as
 * "net check" writes); the document is collected in memory and written at
 * exit, or earlier by json_commit().
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unifiedio.h>

#include "main.h"

const char *bin_name;
bool json_output;
bool pretty_output;
bool usage_error;
json_writer_t *json_wtr;

/* The JSON document, collected until exit (or json_commit()). */
static FILE *json_stream;
static char *json_buf;
static size_t json_len;
static bool json_committed;
/* The first error reported, for {"error": ...}. */
static char err_msg[1024];

const struct feature_desc feature_descs[] = {
	{ UNIFIED_IO_FEAT_SQ_RING,	 "sq_ring",	  "batched SUBMIT from the SQ" },
	{ UNIFIED_IO_FEAT_INLINE_SUBMIT, "inline_submit", "SUBMIT of one inline descriptor" },
	{ UNIFIED_IO_FEAT_WAIT,		 "wait",	  "COMPLETE waits with a timeout" },
	{ UNIFIED_IO_FEAT_POLL,		 "poll",	  "poll() readiness" },
	{ UNIFIED_IO_FEAT_HUGE_PAGES,	 "huge_pages",	  "2 MiB pages for the data area" },
	{ UNIFIED_IO_FEAT_BUF_OWNERS,	 "buf_owners",	  "ALLOC/FREE with owner tags" },
	{ UNIFIED_IO_FEAT_BPF,		 "bpf",		  "BPF chains run over buffers in place" },
	{ UNIFIED_IO_FEAT_NET_RECV,	 "net_recv",	  "RECV from TCP sockets into buffers" },
	{ UNIFIED_IO_FEAT_NET_PROVIDER,	 "net_provider",  "NIC queue memory provider (NET_BIND)" },
	{ UNIFIED_IO_FEAT_NET_SEND,	 "net_send",	  "zero-copy SEND of buffers to TCP sockets" },
	{ UNIFIED_IO_FEAT_RECV_ARM,	 "recv_arm",	  "armed (multishot) RECV, CANCEL" },
	{ UNIFIED_IO_FEAT_URING_CMD,	 "uring_cmd",	  "the operations as io_uring commands" },
};
_Static_assert(sizeof(feature_descs) / sizeof(feature_descs[0]) ==
	       __builtin_popcount(UNIFIED_IO_FEATURES),
	       "feature_descs: a feature bit of the uapi header has no name");
const unsigned int nr_feature_descs = sizeof(feature_descs) / sizeof(feature_descs[0]);

void print_feature_names_json(uint32_t features)
{
	unsigned int i;

	jsonw_start_array(json_wtr);
	for (i = 0; i < nr_feature_descs; i++)
		if (features & feature_descs[i].bit)
			jsonw_string(json_wtr, feature_descs[i].name);
	for (i = 0; i < 32; i++) {
		char name[32];

		if (!(features & ~UNIFIED_IO_FEATURES & (1U << i)))
			continue;
		snprintf(name, sizeof(name), "bit%u", i);
		jsonw_string(json_wtr, name);
	}
	jsonw_end_array(json_wtr);
}

void print_feature_names_plain(uint32_t features)
{
	const char *sep = "";
	unsigned int i;

	for (i = 0; i < nr_feature_descs; i++) {
		if (!(features & feature_descs[i].bit))
			continue;
		printf("%s%s", sep, feature_descs[i].name);
		sep = " ";
	}
	for (i = 0; i < 32; i++) {
		if (!(features & ~UNIFIED_IO_FEATURES & (1U << i)))
			continue;
		printf("%sbit%u", sep, i);
		sep = " ";
	}
}

static void p_verr(const char *fmt, va_list ap)
{
	char msg[sizeof(err_msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* JSON carries the first error; any further one goes to stderr. */
	if (!json_output || err_msg[0])
		fprintf(stderr, "Error: %s\n", msg);
	if (!err_msg[0])
		snprintf(err_msg, sizeof(err_msg), "%s", msg[0] ? msg : "failed");
}

void p_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	p_verr(fmt, ap);
	va_end(ap);
}

int p_usage(const char *fmt, ...)
{
	va_list ap;

	usage_error = true;
	va_start(ap, fmt);
	p_verr(fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void p_info(const char *fmt, ...)
{
	va_list ap;

	if (json_output)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* With --json, help is a null; true when that was written (help done). */
bool help_json_null(void)
{
	if (!json_output)
		return false;
	jsonw_null(json_wtr);
	return true;
}

bool is_prefix(const char *pfx, const char *str)
{
	size_t len = strlen(pfx);

	return len && len <= strlen(str) && !memcmp(str, pfx, len);
}

int p_getopt_error(const char *cmd, int opt, char **argv)
{
	if (opt == ':')
		return p_usage("%s: option '%s' needs a value", cmd, argv[optind - 1]);
	/*
	 * A long option: getopt_long() sets optopt to its value when it was
	 * given an argument it does not take ("--huge=1"), and to 0 when the
	 * name is unknown or an ambiguous prefix.  Name the word as written.
	 */
	if (!strncmp(argv[optind - 1], "--", 2))
		return p_usage("%s: unknown, ambiguous or misused option '%s'",
			       cmd, argv[optind - 1]);
	if (optopt)
		return p_usage("%s: unknown option '-%c'", cmd, optopt);
	return p_usage("%s: unknown option '%s'", cmd, argv[optind - 1]);
}

/* "a, b or c": the names of @cmds, for a message. */
static void cmd_names(const struct cmd *cmds, char *buf, size_t len)
{
	size_t n = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; cmds[i].cmd && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", !i ? "" :
			      cmds[i + 1].cmd ? ", " : " or ", cmds[i].cmd);
}

int cmd_select(const struct cmd *cmds, int argc, char **argv,
	       int (*help)(int argc, char **argv), const char *what)
{
	const struct cmd *match = NULL;
	char names[256];
	unsigned int i;

	if (argc < 1 && cmds[0].func)
		return cmds[0].func(argc, argv);

	for (i = 0; cmds[i].cmd; i++) {
		if (!strcmp(*argv, cmds[i].cmd))
			return cmds[i].func(argc - 1, argv + 1);
		if (!is_prefix(*argv, cmds[i].cmd))
			continue;
		if (match)
			return p_usage("%s '%s' is ambiguous: %s or %s", what,
				       *argv, match->cmd, cmds[i].cmd);
		match = &cmds[i];
	}
	if (match)
		return match->func(argc - 1, argv + 1);

	cmd_names(cmds, names, sizeof(names));
	p_usage("unknown %s '%s' (expected %s)", what, *argv, names);
	if (!json_output)
		help(0, NULL);
	return -EINVAL;
}

int parse_u32(const char *str, uint32_t *out)
{
	uint64_t v;
	int ret = tool_parse_uint(str, UINT32_MAX, &v);

	if (!ret)
		*out = v;
	return ret;
}

const char *fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int u = 0;

	while (u < 4 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 " %s", bytes, units[u]);
	return buf;
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (help_json_null())
		return 0;
	fprintf(stderr,
		"Usage: %s [OPTIONS] OBJECT { COMMAND | help }\n"
		"       %s version\n"
		"\n"
		"       OBJECT := { feature | region | nvme | bpf | net }\n"
		"       OPTIONS := { -j|--json [-p|--pretty] | -h|--help | -V|--version }\n"
		"\n"
		"-j and -p are accepted anywhere. Exit status: 0 on success, 1 when\n"
		"an operation failed, 2 on a usage error. See '%s OBJECT help' and\n"
		"unified-io(8).\n",
		bin_name, bin_name, bin_name);
	return 0;
}

static int do_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "version", UNIO_TOOL_VERSION);
		jsonw_uint_field(json_wtr, "abi_version", UNIFIED_IO_ABI_VERSION);
		jsonw_name(json_wtr, "libunifiedio");
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "major", UNIO_VERSION_MAJOR);
		jsonw_uint_field(json_wtr, "minor", UNIO_VERSION_MINOR);
		jsonw_end_object(json_wtr);
		jsonw_end_object(json_wtr);
	} else {
		printf("%s v%s\n", bin_name, UNIO_TOOL_VERSION);
		printf("using libunifiedio v%d.%d, ABI version %d\n",
		       UNIO_VERSION_MAJOR, UNIO_VERSION_MINOR, UNIFIED_IO_ABI_VERSION);
	}
	return 0;
}

static const struct cmd main_cmds[] = {
	{ "help",	do_help },
	{ "feature",	do_feature },
	{ "region",	do_region },
	{ "nvme",	do_nvme },
	{ "bpf",	do_bpf },
	{ "net",	do_net },
	{ "version",	do_version },
	{ 0 }
};

/*
 * Take -j/--json, -p/--pretty (alone or bundled: -jp) and -h/--help out of
 * the arguments wherever they are, before the object or after the command:
 * "region list -j" and "nvme info DEV --json" as bpftool takes them.
 * Returns the new argc; argv keeps its order.
 */
static int take_global_opts(int argc, char **argv, bool *help)
{
	int i, n = 1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			json_output = true;
		} else if (!strcmp(a, "--pretty")) {
			json_output = pretty_output = true;
		} else if (!strcmp(a, "--help")) {
			*help = true;
		} else if (a[0] == '-' && a[1] && strspn(a + 1, "jph") == strlen(a + 1)) {
			json_output |= !!strpbrk(a + 1, "jp");
			pretty_output |= !!strchr(a + 1, 'p');
			*help |= !!strchr(a + 1, 'h');
		} else {
			argv[n++] = argv[i];
			continue;
		}
	}
	argv[n] = NULL;
	return n;
}

/* Write the collected JSON document now: it is complete and good. */
void json_commit(void)
{
	if (!json_output || json_committed || !json_wtr)
		return;
	jsonw_destroy(&json_wtr);
	fclose(json_stream);
	json_stream = NULL;
	fwrite(json_buf, 1, json_len, stdout);
	fflush(stdout);
	json_committed = true;
}

/*
 * At exit with --json: the document if the command succeeded (or wrote its
 * own error object), otherwise {"error": "..."} in its place.
 */
static void json_finish(bool failed)
{
	json_writer_t *w;
	bool own_error;

	if (json_committed)
		return;
	own_error = jsonw_has_error(json_wtr);
	jsonw_destroy(&json_wtr);
	fclose(json_stream);
	json_stream = NULL;
	if (!failed || own_error) {
		fwrite(json_buf, 1, json_len, stdout);
		return;
	}
	w = jsonw_new(stdout);
	if (!w) {
		printf("{\"error\": \"out of memory\"}\n");
		return;
	}
	jsonw_pretty(w, pretty_output);
	jsonw_start_object(w);
	jsonw_string_field(w, "error", err_msg[0] ? err_msg : "failed");
	jsonw_end_object(w);
	jsonw_destroy(&w);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "version",	no_argument,	NULL,	'V' },
		{ 0 }
	};
	bool version_requested = false, help_requested = false;
	int opt, ret, status;

	bin_name = "unified-io";
	argc = take_global_opts(argc, argv, &help_requested);
	/* Collected, so a failure can replace it with {"error": ...}. */
	json_stream = open_memstream(&json_buf, &json_len);
	json_wtr = json_stream ? jsonw_new(json_stream) : NULL;
	if (!json_wtr) {
		fprintf(stderr, "Error: out of memory\n");
		return 1;
	}
	jsonw_pretty(json_wtr, pretty_output);

	/* "+": stop at OBJECT, commands parse their own options. */
	opterr = 0;
	/* j, p and h again for bundles with V ("-jV"), which the loop above leaves. */
	while ((opt = getopt_long(argc, argv, "+jphV", options, NULL)) >= 0) {
		switch (opt) {
		case 'V':
			version_requested = true;
			break;
		case 'p':
			pretty_output = true;
			jsonw_pretty(json_wtr, true);
			/* fall through */
		case 'j':
			json_output = true;
			break;
		case 'h':
			help_requested = true;
			break;
		default:
			if (optopt)
				p_usage("unknown option '-%c'", optopt);
			else
				p_usage("unknown option '%s'", argv[optind - 1]);
			if (!json_output)
				fprintf(stderr, "Try '%s --help' for more information.\n",
					bin_name);
			goto out;
		}
	}
	argc -= optind;
	argv += optind;

	if (version_requested) {
		ret = do_version(argc, argv);
	} else if (help_requested && argc >= 1 && strcmp(argv[0], "help")) {
		/* "region demo --help": the object's help. */
		char *object_help[] = { argv[0], (char *)"help", NULL };

		ret = cmd_select(main_cmds, 2, object_help, do_help, "object");
	} else if (help_requested) {
		ret = do_help(argc, argv);
	} else if (argc < 1) {
		ret = p_usage("no object given (expected feature, region, nvme, bpf, "
			      "net, help or version)");
		if (!json_output)
			do_help(argc, argv);
	} else {
		ret = cmd_select(main_cmds, argc, argv, do_help, "object");
	}
	if (ret && !err_msg[0])
		p_err("%s failed", argc >= 1 ? argv[0] : bin_name);
out:
	status = usage_error ? 2 : err_msg[0] ? 1 : 0;
	if (json_output) {
		json_finish(status);
	} else {
		jsonw_destroy(&json_wtr);
		fclose(json_stream);
	}
	free(json_buf);
	return status;
}
