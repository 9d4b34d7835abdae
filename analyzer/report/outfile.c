/* outfile.c - the files socklens writes for the user (reports, JSON, metrics, records). Often run
 * as root, into directories others may write, it never writes through a symbolic link another
 * user owns (root's and the user's own are followed) nor by a name another user can predict:
 * a report or metrics file is written to a fresh temporary file beside it (mkstemp: O_EXCL, a
 * random name) and renamed over it, which replaces a link planted meanwhile instead of following
 * it; records are appended only to a regular file with one link, opened without following one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report/report.h"

static int copy_path(char *out, size_t len, const char *path, char *err, size_t errlen)
{
	if (snprintf(out, len, "%s", path) < (int)len)
		return 0;
	snprintf(err, errlen, "path too long");
	return -1;
}

/* The path to write: path itself, or where a link owned by us or root leads, followed one link at
 * a time (each must be ours or root's) to a file that may not exist yet, or to a device. -1 with a
 * reason. */
static int resolve_at(const char *path, char *out, size_t len, char *err, size_t errlen, int depth)
{
	struct stat st;
	char text[PATH_MAX], next[PATH_MAX];
	if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
		return copy_path(out, len, path, err, errlen);
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen, "it is a symbolic link owned by another user (uid %u)", (unsigned)st.st_uid);
		return -1;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return copy_path(out, len, path, err, errlen); /* /dev/stdout: opened through the link */
	ssize_t n = readlink(path, text, sizeof text - 1);
	if (n <= 0 || depth >= 8) {
		snprintf(err, errlen, "%s", n <= 0 ? strerror(errno) : "too many levels of symbolic links");
		return -1;
	}
	text[n] = 0;
	const char *slash = strrchr(path, '/');
	int w = text[0] == '/' || !slash ? snprintf(next, sizeof next, "%s", text)
					: snprintf(next, sizeof next, "%.*s/%.*s", (int)(slash - path), path,
						   (int)(sizeof next / 2), text);
	if (w >= (int)sizeof next)
		return snprintf(err, errlen, "path too long"), -1;
	return resolve_at(next, out, len, err, errlen, depth + 1);
}

static int resolve(const char *path, char *out, size_t len, char *err, size_t errlen)
{
	return resolve_at(path, out, len, err, errlen, 0);
}

int sl_out_open(struct sl_outfile *o, const char *path, char *err, size_t errlen)
{
	char target[PATH_MAX];
	struct stat st;
	memset(o, 0, sizeof *o);
	if (!strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	if (resolve(path, target, sizeof target, err, errlen) < 0)
		return -1;
	if (stat(target, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* a device or a pipe (/dev/null, /dev/stdout): written in place, never replaced */
		int fd = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
			snprintf(err, errlen, "%s", strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		return 0;
	}
	const char *slash = strrchr(target, '/');
	int dirlen = slash ? (int)(slash - target) : 0;
	if (asprintf(&o->tmp, "%.*s%s.%s.XXXXXX", dirlen, target, slash ? "/" : "", slash ? slash + 1 : target) < 0 ||
	    !(o->path = strdup(target))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	mode_t mask = umask(0);
	umask(mask);
	int fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0666 & ~mask) != 0 || !(o->f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(o->tmp);
		}
		free(o->tmp);
		free(o->path);
		o->tmp = o->path = NULL;
		return -1;
	}
	return 0;
}

int sl_out_close(struct sl_outfile *o)
{
	int r = 0, e = 0;
	if (!o->f || o->f == stdout)
		r = o->f && fflush(o->f) != 0 ? -1 : 0;
	else if (fclose(o->f) != 0)
		r = -1;
	e = errno;
	if (o->tmp && r == 0 && rename(o->tmp, o->path) != 0) {
		r = -1;
		e = errno;
	}
	if (o->tmp && r < 0)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof *o);
	errno = e;
	return r;
}

void sl_out_abort(struct sl_outfile *o)
{
	if (o->f && o->f != stdout)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof *o);
}

FILE *sl_out_append(const char *path, char *err, size_t errlen)
{
	char target[PATH_MAX];
	struct stat st;
	if (resolve(path, target, sizeof target, err, errlen) < 0)
		return NULL;
	int fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	const char *why = NULL;
	if (S_ISREG(st.st_mode) && st.st_nlink != 1)
		why = "it has other hard links (appending could write into another file)";
	else if (S_ISDIR(st.st_mode))
		why = "it is a directory";
	FILE *f = why ? NULL : fdopen(fd, "a");
	if (!f) {
		snprintf(err, errlen, "%s", why ? why : strerror(errno));
		close(fd);
	}
	return f;
}
