/* perfmap.c - V8's perf map for a Node.js process under socklens (the shim turns it on, see
 * shim/langrt.c): where it is (/tmp/perf-<pid>.map, or the copy socklens run keeps beside the log
 * as p<pid>.<seq>.v8map, since the file outlives the process but not a later process given the same
 * pid), and which runtime's frames a process has. The copy is made by run.c when the run ends. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "model/model.h"

void sl_perfmap_tmp_path(char *out, size_t len, int pid)
{
	snprintf(out, len, "/tmp/perf-%d.map", pid);
}

/* "dir/p12.0.sllog" and ".v8map" -> "dir/p12.0.v8map" */
int sl_log_beside(const char *log, const char *ext, char *out, size_t len)
{
	size_t n = strlen(log);
	if (n < 6 || strcmp(log + n - 6, ".sllog") || n - 6 + strlen(ext) + 1 > len)
		return -1;
	snprintf(out, len, "%.*s%s", (int)(n - 6), log, ext);
	return 0;
}

int sl_perfmap_copy_path(const char *log, char *out, size_t len)
{
	return sl_log_beside(log, ".v8map", out, len);
}

void sl_jitmap_attach(struct sl_image *img)
{
	char path[4096];
	img->jit = NULL;
	if (!(img->h.flags & SL_HDR_V8_MAP))
		return;
	if (sl_perfmap_copy_path(img->path, path, sizeof path) == 0 && (img->jit = sl_jitmap_read(path, 0)))
		return;
	sl_perfmap_tmp_path(path, sizeof path, img->h.pid);
	img->jit = sl_jitmap_read(path, (long)(img->h.start_real_ns / 1000000000ull) - 1);
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
	if (fl & (SL_HDR_GOROUTINES | SL_HDR_GO_UNREAD)) {
		*runtime = "go";
		if (fl & SL_HDR_GOROUTINES)
			return "read";
		static char gomsg[96];
		unsigned v = ii->h.lang_why;
		if ((v & ~0xffu) == SL_WHY_GO_RELEASE)
			snprintf(gomsg, sizeof gomsg, "Go 1.%u; socklens reads the goroutines of Go 1.19 to 1.24", v & 0xff);
		else
			snprintf(gomsg, sizeof gomsg, "%s", v == SL_WHY_GO_MEMORY ? "its memory could not be read"
										: "its goroutines could not be read");
		*why = gomsg;
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
		if (sl_perfmap_copy_path(ii->path, path, sizeof path) == 0 && stat(path, &st) == 0)
			return "read";
		sl_perfmap_tmp_path(path, sizeof path, ii->h.pid);
		if (stat(path, &st) == 0 && st.st_mtime >= (time_t)(ii->h.start_real_ns / 1000000000ull) - 1)
			return "read";
		*why = "V8's perf map (/tmp/perf-<pid>.map) is gone";
		return "unavailable";
	}
	return NULL;
}
