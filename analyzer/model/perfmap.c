/* perfmap.c - V8's perf map for a Node.js process under socklens (the shim turns it on, see
 * shim/langrt.c): where it is (/tmp/perf-<pid>.map, or the copy socklens run keeps beside the log
 * as p<pid>.<seq>.v8map, since the file outlives the process but not a later process given the same
 * pid), the copy made when the run ends, and which runtime's frames a process has. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "model/model.h"

static void tmp_map_path(char *out, size_t len, int pid)
{
	snprintf(out, len, "/tmp/perf-%d.map", pid);
}

/* "dir/p12.0.sllog" -> "dir/p12.0.v8map" */
static int copy_path(const char *log, char *out, size_t len)
{
	size_t n = strlen(log);
	if (n < 6 || strcmp(log + n - 6, ".sllog") || n + 1 > len)
		return -1;
	snprintf(out, len, "%.*s.v8map", (int)(n - 6), log);
	return 0;
}

void sl_jitmap_attach(struct sl_image *img)
{
	char path[4096];
	img->jit = NULL;
	if (!(img->h.flags & SL_HDR_V8_MAP))
		return;
	if (copy_path(img->path, path, sizeof path) == 0 && (img->jit = sl_jitmap_read(path, 0)))
		return;
	tmp_map_path(path, sizeof path, img->h.pid);
	img->jit = sl_jitmap_read(path, (long)(img->h.start_real_ns / 1000000000ull) - 1);
}

/* Copies the lines of V8's map that name the addresses of one log's stacks beside it; removes
 * V8's map when socklens asked for it. */
static void keep_one(const char *log)
{
	struct sl_image img;
	char err[256], copy[4096], tmp[64];
	if (sl_image_load(&img, log, err, sizeof err) < 0)
		return;
	tmp_map_path(tmp, sizeof tmp, img.h.pid);
	struct sl_jitmap *m = img.jit;
	if (m && copy_path(log, copy, sizeof copy) == 0 && access(copy, F_OK) != 0) {
		int fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
		char line[600];
		for (uint32_t s = 0; out && s < img.nstacks; s++)
			for (uint32_t i = 0; img.stacks[s].commit == 2 && i < img.stacks[s].nframes && i < SL_MAX_FRAMES; i++)
				if (sl_jitmap_line(m, img.stacks[s].ip[i], line, sizeof line) == 0)
					fprintf(out, "%s\n", line);
		if (out)
			fclose(out);
		else if (fd >= 0)
			close(fd);
		if (img.h.flags & SL_HDR_V8_MAP_OURS)
			unlink(tmp);
	}
	sl_image_release(&img);
}

void sl_jitmap_keep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 6, ".sllog"))
			continue;
		struct sl_log_header h;
		char err[256];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (sl_header_read(path, &h, err, sizeof err) == 0 && (h.flags & SL_HDR_V8_MAP))
			keep_one(path);
	}
	if (d)
		closedir(d);
}

/* The language frames of a process: which runtime, and "read" or "unavailable" with why; NULL
 * when it ran no runtime socklens reads (or was asked not to). */
const char *sl_lang_state(const struct sl_image_info *ii, const char **runtime, const char **why)
{
	uint32_t fl = ii->h.flags;
	*why = NULL;
	if (fl & (SL_HDR_PY_FRAMES | SL_HDR_PY_UNREAD)) {
		*runtime = "python";
		if (fl & SL_HDR_PY_FRAMES)
			return "read";
		static char msg[96];
		unsigned v = ii->h.lang_why;
		if (v >= 0x0300 && v < 0x0400)
			snprintf(msg, sizeof msg, "CPython %u.%u; socklens reads the frames of 3.11 to 3.13", v >> 8, v & 0xff);
		else
			snprintf(msg, sizeof msg, "socklens reads the frames of CPython 3.11 to 3.13");
		*why = msg;
		return "unavailable";
	}
	if (fl & (SL_HDR_JAVA_FRAMES | SL_HDR_JAVA_UNREAD)) {
		*runtime = "java";
		if (fl & SL_HDR_JAVA_FRAMES)
			return "read";
		*why = ii->h.lang_why == SL_WHY_NO_CAPS ? "the JVM refused JVMTI's line-number capabilities"
							 : "the JVM gave no JVMTI environment";
		return "unavailable";
	}
	if (fl & (SL_HDR_JS_ORIGINS | SL_HDR_JS_UNREAD | SL_HDR_V8_MAP)) {
		char path[4096];
		struct stat st;
		*runtime = "javascript";
		if (fl & SL_HDR_JS_UNREAD) {
			*why = "socklens-node.js was not found beside libsocklens.so";
			return "unavailable";
		}
		if (!(fl & SL_HDR_V8_MAP))
			return "read";
		if (copy_path(ii->path, path, sizeof path) == 0 && stat(path, &st) == 0)
			return "read";
		tmp_map_path(path, sizeof path, ii->h.pid);
		if (stat(path, &st) == 0 && st.st_mtime >= (time_t)(ii->h.start_real_ns / 1000000000ull) - 1)
			return "read";
		*why = "V8's perf map (/tmp/perf-<pid>.map) is gone";
		return "unavailable";
	}
	return NULL;
}
