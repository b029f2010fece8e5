// SPDX-License-Identifier: GPL-2.0-only
/*
 * unified-io region show/list: the module prints one "key:\tvalue" line per
 * field in /proc/PID/fdinfo/FD. Keys are parsed generically, so fields a
 * newer module adds are shown without a tool change.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <unifiedio.h>

#include "main.h"
#include "region.h"

/* Lines every file's fdinfo has; not the module's. */
static const char *const vfs_keys[] = { "pos", "flags", "mnt_id", "ino" };

static bool is_vfs_key(const char *key)
{
	unsigned int i;

	for (i = 0; i < sizeof(vfs_keys) / sizeof(vfs_keys[0]); i++)
		if (!strcmp(key, vfs_keys[i]))
			return true;
	return false;
}

void fdinfo_free(struct fdinfo *fi)
{
	unsigned int i;

	for (i = 0; i < fi->nr; i++) {
		free(fi->kv[i].key);
		free(fi->kv[i].value);
	}
	free(fi->kv);
	fi->kv = NULL;
	fi->nr = 0;
}

int fdinfo_read(int pid, int fd, struct fdinfo *fi)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	int ret = 0;

	memset(fi, 0, sizeof(*fi));
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;

	while ((len = getline(&line, &cap, f)) > 0) {
		struct fdinfo_kv *kv;
		char *colon, *val;

		while (len && isspace((unsigned char)line[len - 1]))
			line[--len] = '\0';
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		if (is_vfs_key(line))
			continue;
		val = colon + 1;
		while (isspace((unsigned char)*val))
			val++;

		kv = realloc(fi->kv, (fi->nr + 1) * sizeof(*kv));
		if (!kv) {
			ret = -ENOMEM;
			break;
		}
		fi->kv = kv;
		kv[fi->nr].key = strdup(line);
		kv[fi->nr].value = strdup(val);
		fi->nr++;
		if (!kv[fi->nr - 1].key || !kv[fi->nr - 1].value) {
			ret = -ENOMEM;
			break;
		}
	}
	if (!ret && ferror(f))
		ret = -EIO;
	free(line);
	fclose(f);
	if (ret)
		fdinfo_free(fi);
	return ret;
}

const char *fdinfo_get(const struct fdinfo *fi, const char *key)
{
	unsigned int i;

	for (i = 0; i < fi->nr; i++)
		if (!strcmp(fi->kv[i].key, key))
			return fi->kv[i].value;
	return NULL;
}

/* Decimal without a leading zero (octal "flags" stays a string). */
static bool is_decimal(const char *s, uint64_t *out)
{
	const char *p = s;
	char *end;

	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p) || (p[0] == '0' && p[1]))
		return false;
	errno = 0;
	if (*s == '-')
		*out = (uint64_t)strtoll(s, &end, 10);
	else
		*out = strtoull(s, &end, 10);
	return !errno && !*end;
}

void fdinfo_print_json_fields(const struct fdinfo *fi)
{
	unsigned int i;
	uint64_t v;

	for (i = 0; i < fi->nr; i++) {
		const struct fdinfo_kv *kv = &fi->kv[i];

		if (!strcmp(kv->key, "features")) {
			unsigned long feat = strtoul(kv->value, NULL, 0);

			jsonw_uint_field(json_wtr, kv->key, feat);
			jsonw_name(json_wtr, "feature_names");
			print_feature_names_json(feat);
		} else if (is_decimal(kv->value, &v)) {
			if (kv->value[0] == '-')
				jsonw_int_field(json_wtr, kv->key, (int64_t)v);
			else
				jsonw_uint_field(json_wtr, kv->key, v);
		} else {
			jsonw_string_field(json_wtr, kv->key, kv->value);
		}
	}
}

void fdinfo_print_plain(const struct fdinfo *fi, const char *indent)
{
	unsigned int i;

	for (i = 0; i < fi->nr; i++) {
		const struct fdinfo_kv *kv = &fi->kv[i];

		printf("%s%-14s %s", indent, kv->key, kv->value);
		if (!strcmp(kv->key, "features")) {
			printf(" (");
			print_feature_names_plain(strtoul(kv->value, NULL, 0));
			printf(")");
		}
		printf("\n");
	}
}

static void read_comm(int pid, char *comm, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(comm, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(comm, len, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

/*
 * Is /proc/PID/fd/FD the unified_io misc device? Compare the device number
 * with the device node's; fall back to the link text where no node exists
 * in this mount namespace.
 */
static int fd_is_region(int pid, int fd, const struct stat *dev_st)
{
	char path[64], target[256];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	if (dev_st) {
		if (stat(path, &st))
			return -errno;
		return S_ISCHR(st.st_mode) && st.st_rdev == dev_st->st_rdev;
	}
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	return !strcmp(target, UNIFIED_IO_DEVICE);
}

static void print_region_json(int pid, const char *comm, int fd,
			      const struct fdinfo *fi)
{
	jsonw_start_object(json_wtr);
	jsonw_int_field(json_wtr, "pid", pid);
	jsonw_string_field(json_wtr, "comm", comm);
	jsonw_int_field(json_wtr, "fd", fd);
	fdinfo_print_json_fields(fi);
	jsonw_end_object(json_wtr);
}

int do_region_show(int argc, char **argv)
{
	struct stat dev_st;
	struct fdinfo fi;
	char comm[32];
	uint32_t pid, fd;
	int ret;

	if (argc != 2)
		return p_usage("region show needs PID FD, %d argument%s given", argc,
			       argc == 1 ? "" : "s");
	if (parse_u32(argv[0], &pid) || pid > INT32_MAX)
		return p_usage("region show: PID '%s' is not a process id", argv[0]);
	if (parse_u32(argv[1], &fd) || fd > INT32_MAX)
		return p_usage("region show: FD '%s' is not a file descriptor number",
			       argv[1]);
	ret = fd_is_region(pid, fd, stat(UNIFIED_IO_DEVICE, &dev_st) ? NULL : &dev_st);
	if (ret < 0) {
		p_err("can't read fd %u of pid %u: %s", fd, pid, strerror(-ret));
		return -1;
	}
	if (!ret) {
		p_err("fd %u of pid %u is not %s", fd, pid, UNIFIED_IO_DEVICE);
		return -1;
	}
	ret = fdinfo_read(pid, fd, &fi);
	if (ret) {
		p_err("can't read /proc/%u/fdinfo/%u: %s", pid, fd, strerror(-ret));
		return -1;
	}
	read_comm(pid, comm, sizeof(comm));

	if (json_output) {
		print_region_json(pid, comm, fd, &fi);
	} else {
		printf("pid %u (%s) fd %u: %s\n", pid, comm, fd, UNIFIED_IO_DEVICE);
		fdinfo_print_plain(&fi, "  ");
	}
	fdinfo_free(&fi);
	return 0;
}

static const char *kv_or_dash(const struct fdinfo *fi, const char *key)
{
	const char *v = fdinfo_get(fi, key);

	return v ? v : "-";
}

static void print_list_header(void)
{
	printf("%-7s %-15s %4s %5s %-6s %6s %6s %7s %9s %7s %11s %11s\n",
	       "PID", "COMM", "FD", "ID", "STATE", "SQ", "CQ", "BUFS", "BUF_SIZE",
	       "HUGE", "SQES", "CQES");
}

static void print_list_row(int pid, const char *comm, int fd,
			   const struct fdinfo *fi)
{
	printf("%-7d %-15s %4d %5s %-6s %6s %6s %7s %9s %7s %11s %11s\n",
	       pid, comm, fd, kv_or_dash(fi, "id"), kv_or_dash(fi, "state"),
	       kv_or_dash(fi, "sq_entries"), kv_or_dash(fi, "cq_entries"),
	       kv_or_dash(fi, "nr_bufs"), kv_or_dash(fi, "buf_size"),
	       kv_or_dash(fi, "huge_pages"), kv_or_dash(fi, "sqes"),
	       kv_or_dash(fi, "cqes"));
}

/* Every fd of every process that is the device; unreadable ones skipped. */
int do_region_list(int argc, char **argv)
{
	struct stat dev_st, *dev = NULL;
	unsigned int found = 0;
	struct dirent *pe;
	DIR *proc;

	if (argc)
		return p_usage("region list takes no argument: '%s'", argv[0]);
	if (!stat(UNIFIED_IO_DEVICE, &dev_st))
		dev = &dev_st;

	proc = opendir("/proc");
	if (!proc) {
		p_err("can't open /proc: %s", strerror(errno));
		return -1;
	}
	if (json_output)
		jsonw_start_array(json_wtr);

	while ((pe = readdir(proc))) {
		char path[64], comm[32];
		struct dirent *fe;
		uint32_t pid;
		DIR *fds;

		if (parse_u32(pe->d_name, &pid) || pid > INT32_MAX)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;	/* exited, or not ours to read */
		read_comm(pid, comm, sizeof(comm));
		while ((fe = readdir(fds))) {
			struct fdinfo fi;
			uint32_t fd;

			if (parse_u32(fe->d_name, &fd) || fd > INT32_MAX)
				continue;
			if (fd_is_region(pid, fd, dev) <= 0)
				continue;
			if (fdinfo_read(pid, fd, &fi))
				continue;
			if (json_output) {
				print_region_json(pid, comm, fd, &fi);
			} else {
				if (!found)
					print_list_header();
				print_list_row(pid, comm, fd, &fi);
			}
			found++;
			fdinfo_free(&fi);
		}
		closedir(fds);
	}
	closedir(proc);

	if (json_output)
		jsonw_end_array(json_wtr);
	else if (!found)
		printf("no open %s\n", UNIFIED_IO_DEVICE);
	return 0;
}
