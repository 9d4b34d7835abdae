/* langrt.c - Node.js and Java frames in the stacks the shim captures (Python's: pyframes.c).
 *
 * Node.js (V8): JIT and interpreted JavaScript run from code V8 generated, with no ELF object
 * behind it. V8 can name that code itself in a perf map (/tmp/perf-<pid>.map: start, size,
 * name), and with --interpreted-frames-native-stack every interpreted function runs from its own
 * copy of the interpreter's entry, so its frames have addresses the map names too. Asked to
 * (socklens run --js-perf-map: V8 then holds two more fds), the shim sets those flags through
 * V8's own API (v8::V8::SetFlagsFromString) in its constructor, before the program's main starts
 * V8: the environment and argv stay as the program was given them. The unwinder already crosses JIT frames by frame pointer (V8 keeps them); the
 * analyzer names the addresses from the map, which socklens run copies into the run directory.
 *
 * Node.js defers the system calls a program's function asks for (net.connect, server.listen) to
 * its event loop, so at connect() the thread's stack holds Node's own frames only. To name the
 * function that asked, socklens-node.js (beside the shim) is loaded into Node.js programs with
 * --require: where net.connect and listen are called (Node's own diagnostics channels publish
 * there) it describes the JavaScript stack (V8's call sites: function, file, exact line) to the
 * shim, which interns it like any stack, and around the handle's deferred connect, bind and
 * listen it names that stack again; the shim uses it for the sockets those calls make. The script
 * describes through setenv() of a variable that is never set, and names through getpriority()
 * with pids no process can have (above pid_max's 2^22 limit): both answered so only in a process
 * where the shim loaded the script. NODE_OPTIONS is extended in the process's own
 * environment before Node reads it, and the script puts it back as it was before the program runs.
 *
 * Java (HotSpot): the JVM's own JVMTI, from the running VM (JNI_GetCreatedJavaVMs, GetEnv), asked
 * for the calling thread's stack (GetStackTrace) when a capture happens in a JNI method of the
 * JDK's networking libraries: that thread is then in native code, where JVMTI may be called. A
 * call made from inside the JVM itself (libjvm.so) is never asked about. Each (method, bytecode
 * index) is named once (class, method, source file, line) into the log's language table.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "real.h"
#include "record.h"

/* ---- Node.js: V8's perf map ---- */

/* Set before V8 starts, --perf-basic-prof also opens V8's own log, isolate-*-v8.log in the
 * program's working directory: it goes to /dev/null instead. */
static const char v8_flags[] =
	"--perf-basic-prof-only-functions --interpreted-frames-native-stack --logfile=/dev/null";

/* Whether the program asked for a perf map itself (its argv or NODE_OPTIONS). */
static int asked_for_map(const struct sl_log_header *h)
{
	const char *opt = getenv("NODE_OPTIONS");
	if (opt && (strstr(opt, "perf-basic-prof") || strstr(opt, "perf_basic_prof")))
		return 1;
	for (uint32_t i = 0; i < h->argv_len && i < SL_ARGV_MAX; i += (uint32_t)strnlen(h->argv + i, SL_ARGV_MAX - i) + 1)
		if (strstr(h->argv + i, "perf-basic-prof") || strstr(h->argv + i, "perf_basic_prof"))
			return 1;
	return 0;
}

SL_TLS uint32_t sl_t_origin;  /* a stack id Node's script handed over for the calls under way */
static int node_origins;      /* the script was loaded: getpriority's private pids are ours */
static const char node_script[] = "socklens-node.js";

/* NODE_OPTIONS += --require "<dir of the shim>/socklens-node.js", if that file is there. */
static void load_node_script(void)
{
	Dl_info info;
	char path[4096];
	if (!dladdr((void *)&sl_v8_init, &info) || !info.dli_fname)
		return;
	const char *slash = strrchr(info.dli_fname, '/');
	size_t dir = slash ? (size_t)(slash - info.dli_fname) : 0;
	if (dir + sizeof node_script + 2 > sizeof path || strchr(info.dli_fname, '"'))
		return;
	memcpy(path, info.dli_fname, dir);
	path[dir] = '/';
	memcpy(path + dir + 1, node_script, sizeof node_script);
	if (access(path, R_OK) != 0)
		return;
	const char *old = getenv("NODE_OPTIONS");
	size_t oldlen = old ? strlen(old) : 0;
	char *opts = malloc(oldlen + strlen(path) + 16);
	if (!opts)
		return;
	strcpy(opts, old ? old : "");
	strcat(opts, old ? " --require \"" : "--require \"");
	strcat(opts, path);
	strcat(opts, "\"");
	if (REAL(setenv)("NODE_OPTIONS", opts, 1) == 0)
		node_origins = 1;
	free(opts);
}

int sl_node_origins(void)
{
	return node_origins;
}

#define ORIGIN_TAKE 0x7E000000u   /* answer the id of the stack the script has just described */
#define ORIGIN_SET 0x7F000000u    /* + id: the calls that follow on this thread are that stack's; + 0: no more */
static const char origin_var[] = "SOCKLENS_NODE_ORIGIN";
static SL_TLS uint32_t t_described; /* the stack the script described last on this thread */

/* FNV-1a over a frame's text */
static uint64_t frame_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
	return h | 1;
}

/* One "function\tfile\tline" line as a language record, named once per process. */
static int64_t js_frame(const char *p, size_t n)
{
	uint64_t key = frame_hash(p, n);
	int64_t known = sl_lang_cached(key);
	if (known >= 0)
		return known;
	char func[SL_LANG_FUNC], file[SL_LANG_FILE];
	const char *t1 = memchr(p, '\t', n), *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(p + n - t1 - 1)) : NULL;
	if (!t2)
		return -1;
	int line = 0;
	for (const char *q = t2 + 1; q < p + n && *q >= '0' && *q <= '9' && line < 100000000; q++)
		line = line * 10 + (*q - '0');
	size_t fl = (size_t)(t1 - p), il = (size_t)(t2 - t1 - 1);
	fl = fl < sizeof func - 1 ? fl : sizeof func - 1;
	il = il < sizeof file - 1 ? il : sizeof file - 1;
	memcpy(func, p, fl);
	func[fl] = 0;
	memcpy(file, t1 + 1, il);
	file[il] = 0;
	return sl_lang_remember(key, sl_lang_add(&sl_g.log, SL_LANG_JS, key, func, file, line ? line : -1));
}

/* The script describes the JavaScript stack where the program asked for a socket, a frame per
 * line, innermost first, as the value of a variable it never keeps: the stack is interned here
 * and the variable is not set. */
SL_EXPORT int setenv(const char *name, const char *value, int overwrite)
{
	if (!node_origins || !name || strcmp(name, origin_var) || !sl_g.ready)
		return REAL(setenv)(name, value, overwrite); /* glibc's own EINVAL for a NULL name */
	if (!sl__log_need())
		return 0; /* the variable is never set, log or not */
	uint64_t ip[SL_MAX_FRAMES];
	uint32_t n = 0;
	int e = errno, inserted;
	for (const char *p = value, *nl; *p && n < SL_MAX_FRAMES; p = *nl ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		int64_t id = js_frame(p, (size_t)(nl - p));
		if (id >= 0)
			ip[n++] = SL_LANG_IP | (uint64_t)id;
	}
	t_described = n ? sl_stack_intern(&sl_g.log, ip, n, &inserted) : 0;
	errno = e;
	return 0;
}

SL_EXPORT int getpriority(__priority_which_t which, id_t who)
{
	if (!node_origins || which != PRIO_PROCESS || who < ORIGIN_TAKE || !sl_g.ready)
		return REAL(getpriority)(which, who);
	if (who >= ORIGIN_SET) {
		sl_t_origin = who - ORIGIN_SET;
		return 0;
	}
	if (who != ORIGIN_TAKE)
		return REAL(getpriority)(which, who);
	uint32_t id = t_described;
	t_described = 0;
	return (int)(id & 0xffffff);
}

SL_START void sl_v8_init(void)
{
	void (*set_n)(const char *, size_t) =
		(void (*)(const char *, size_t))dlsym(RTLD_DEFAULT, "_ZN2v82V818SetFlagsFromStringEPKcm");
	void (*set)(const char *) = (void (*)(const char *))dlsym(RTLD_DEFAULT, "_ZN2v82V818SetFlagsFromStringEPKc");
	struct sl_log_header *h = sl_g.log.hdr;
	if (!set_n && !set)
		return; /* no V8 in this program */
	if (dlsym(RTLD_DEFAULT, "_ZN4node5StartEiPPc")) { /* Node.js itself: it takes --require */
		load_node_script();
		h->flags |= node_origins ? SL_HDR_JS_ORIGINS : SL_HDR_JS_UNREAD;
	}
	/* V8's perf map names every JIT frame, but V8 holds its file (and its log's) open for the
	 * process's life, without close-on-exec: asked for only (socklens run --js-perf-map) */
	if (!sl_g.params.v8_perf_map)
		return;
	uint32_t ours = asked_for_map(h) ? 0 : SL_HDR_V8_MAP_OURS;
	if (set_n)
		set_n(v8_flags, sizeof v8_flags - 1);
	else
		set(v8_flags);
	h->flags |= SL_HDR_V8_MAP | ours;
}

/* ---- Java: JVMTI ---- */

#ifdef SL_NO_JAVA
uint32_t sl_java_frames(uint64_t *ip, uint32_t n, uint32_t cap)
{
	(void)ip;
	(void)cap;
	return n;
}
int sl_java_active(void)
{
	return 0;
}
#else
#include <jvmti.h>

static struct {
	int state;                 /* 0 not tried, 1 readable, -1 not */
	JavaVM *vm;
	jvmtiEnv *ti;
} jv;


int sl_java_active(void)
{
	return jv.state == 1;
}

/* The JDK's JNI libraries whose native methods make socket calls. */
static int jni_net_ip(uint64_t ip)
{
	static const char *const libs[] = {"/libnio.so", "/libnet.so", "/libjava.so", "/libextnet.so"};
	struct dl_find_object obj;
	if (_dl_find_object((void *)(uintptr_t)(ip - 1), &obj) != 0 || !obj.dlfo_link_map || !obj.dlfo_link_map->l_name)
		return 0;
	const char *name = obj.dlfo_link_map->l_name;
	size_t len = strlen(name);
	for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
		size_t l = strlen(libs[i]);
		if (len >= l && !strcmp(name + len - l, libs[i]))
			return 1;
	}
	return 0;
}

static int java_setup(void)
{
	jint (*created)(JavaVM **, jsize, jsize *) =
		(jint (*)(JavaVM **, jsize, jsize *))dlsym(RTLD_DEFAULT, "JNI_GetCreatedJavaVMs");
	jsize nvm = 0;
	jvmtiCapabilities caps;
	jv.state = -1;
	if (!created || created(&jv.vm, 1, &nvm) != JNI_OK || nvm < 1 ||
	    (*jv.vm)->GetEnv(jv.vm, (void **)&jv.ti, JVMTI_VERSION_1_2) != JNI_OK) {
		sl_g.log.hdr->lang_why = SL_WHY_NO_JVMTI;
		sl_g.log.hdr->flags |= SL_HDR_JAVA_UNREAD;
		return -1;
	}
	memset(&caps, 0, sizeof caps);
	caps.can_get_line_numbers = 1;
	caps.can_get_source_file_name = 1;
	if ((*jv.ti)->AddCapabilities(jv.ti, &caps) != JVMTI_ERROR_NONE) {
		sl_g.log.hdr->lang_why = SL_WHY_NO_CAPS;
		sl_g.log.hdr->flags |= SL_HDR_JAVA_UNREAD;
		return -1;
	}
	jv.state = 1;
	sl_g.log.hdr->flags |= SL_HDR_JAVA_FRAMES;
	return 0;
}

/* "Lcom/example/Main;" as "com.example.Main" */
static size_t class_name(const char *sig, char *out, size_t len)
{
	size_t n = 0;
	if (*sig == 'L')
		sig++;
	for (; *sig && *sig != ';' && n + 1 < len; sig++)
		out[n++] = *sig == '/' ? '.' : *sig;
	out[n] = 0;
	return n;
}

static void release(void *p)
{
	if (p)
		(*jv.ti)->Deallocate(jv.ti, (unsigned char *)p);
}

/* Names (method, location) into the language table once; -1 when it cannot. */
static int64_t name_method(JNIEnv *jni, jmethodID m, jlocation loc)
{
	/* (method, location) hashed: a 64-bit collision is ignored */
	uint64_t key = (uint64_t)(uintptr_t)m ^ ((uint64_t)loc * 0x9e3779b97f4a7c15ull);
	int64_t known = sl_lang_cached(key);
	if (known >= 0)
		return known;
	char func[SL_LANG_FUNC] = "", file[SL_LANG_FILE] = "";
	char *sig = NULL, *name = NULL, *src = NULL;
	jclass klass = NULL;
	jint nlines = 0;
	jvmtiLineNumberEntry *lines = NULL;
	int line = -1;
	size_t n = 0;
	if ((*jv.ti)->GetMethodDeclaringClass(jv.ti, m, &klass) == JVMTI_ERROR_NONE) {
		if ((*jv.ti)->GetClassSignature(jv.ti, klass, &sig, NULL) == JVMTI_ERROR_NONE && sig)
			n = class_name(sig, func, sizeof func);
		/* the package as a path, as a source tree lays it out: com/example/Main.java */
		const char *dot = n ? memrchr(func, '.', n) : NULL;
		int pkg = dot ? (int)(dot - func) : 0;
		if ((*jv.ti)->GetSourceFileName(jv.ti, klass, &src) == JVMTI_ERROR_NONE && src) {
			snprintf(file, sizeof file, "%.*s%s%s", pkg, func, pkg ? "/" : "", src);
			for (int i = 0; i < pkg && i < (int)sizeof file; i++)
				if (file[i] == '.')
					file[i] = '/';
		}
	}
	if ((*jv.ti)->GetMethodName(jv.ti, m, &name, NULL, NULL) == JVMTI_ERROR_NONE && name)
		snprintf(func + n, sizeof func - n, "%s%s", n ? "." : "", name);
	if ((*jv.ti)->GetLineNumberTable(jv.ti, m, &nlines, &lines) == JVMTI_ERROR_NONE) {
		jlocation best = -1;
		for (jint i = 0; i < nlines; i++)
			if (lines[i].start_location <= loc && lines[i].start_location > best) {
				best = lines[i].start_location;
				line = lines[i].line_number;
			}
	}
	release(sig);
	release(name);
	release(src);
	release(lines);
	if (klass && jni)
		(*jni)->DeleteLocalRef(jni, klass);
	return sl_lang_remember(key, sl_lang_add(&sl_g.log, SL_LANG_JAVA, key, func, file, line));
}

#define JAVA_TOP 10 /* a stack deeper than the room keeps its innermost frames and its outermost */

/* The record standing for the frames of a deep stack left out between the two ends. */
static int64_t elided(void)
{
	const uint64_t key = 0x5ec1e57a11f7a11full;
	int64_t id = sl_lang_cached(key);
	return id >= 0 ? id : sl_lang_remember(key, sl_lang_add(&sl_g.log, SL_LANG_JAVA, key, "(frames left out)", "", -1));
}

uint32_t sl_java_frames(uint64_t *ip, uint32_t n, uint32_t cap)
{
	/* only under a JNI method of the JDK's networking code, a few frames in */
	uint32_t jni = n;
	if (sl_g.params.no_lang_frames)
		return n;
	for (uint32_t i = 0; i < n && i < 4 && jni == n; i++)
		if (jni_net_ip(ip[i]))
			jni = i;
	if (jni == n || jv.state < 0 || (jv.state == 0 && java_setup() < 0))
		return n;
	while (jni + 1 < n && jni_net_ip(ip[jni + 1]))
		jni++;
	JNIEnv *env = NULL;
	jvmtiFrameInfo frames[SL_MAX_FRAMES];
	jint total = 0, top = 0, bottom = 0;
	uint32_t room = cap > jni + 1 ? cap - (jni + 1) : 0;
	if (room < JAVA_TOP + 2 || room > SL_MAX_FRAMES || (*jv.vm)->GetEnv(jv.vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK ||
	    (*jv.ti)->GetStackTrace(jv.ti, NULL, 0, (jint)room, frames, &top) != JVMTI_ERROR_NONE || top <= 0)
		return n;
	/* a deep stack (frameworks, CompletableFuture chains): the innermost frames, then the
	 * outermost, where the program's own code that started it all is */
	if (top == (jint)room && (*jv.ti)->GetFrameCount(jv.ti, NULL, &total) == JVMTI_ERROR_NONE && total > (jint)room) {
		top = JAVA_TOP;
		if ((*jv.ti)->GetStackTrace(jv.ti, NULL, -(jint)(room - JAVA_TOP - 1), (jint)(room - JAVA_TOP - 1),
					    frames + top, &bottom) != JVMTI_ERROR_NONE)
			bottom = 0;
	}
	/* the native frames down to the JNI method, then the thread's Java frames; the JVM's own
	 * frames below them (its interpreter, its thread start) are left out */
	uint32_t out = jni + 1;
	for (jint i = 0; i < top + bottom && out < cap; i++) {
		int64_t id = i == top ? elided() : -1;
		if (id >= 0)
			ip[out++] = SL_LANG_IP | (uint64_t)id;
		if (out < cap && (id = name_method(env, frames[i].method, frames[i].location)) >= 0)
			ip[out++] = SL_LANG_IP | (uint64_t)id;
	}
	return out > jni + 1 ? out : n;
}
#endif
