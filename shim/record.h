/* record.h - the recording API: what the wrappers tell the log (sl__record_*). */
#ifndef SL_RECORD_H
#define SL_RECORD_H

#include "shim.h"

enum sl_dir { SL_DIR_OUT = 0, SL_DIR_IN = 1 };

/* One data or blocking call in progress on a tracked socket. */
struct sl_call_ctx {
	struct sl_slot *slot;
	uint32_t gen;
	uint16_t call;
	uint8_t dir;
	uint8_t inflight;
	int fd;
	uint64_t t0;
	uint64_t site;
};

/* The slot an fd maps to, classifying an fd seen for the first time. NULL if not a tracked socket. */
struct sl_slot *sl__slot_for(int fd);
/* Starts timing a call; returns 0 when fd is not a tracked socket (then just call the real one).
 * Keeps errno. sl__record_connect and sl__record_accept, like sl__call_end, leave errno == err. */
int sl__call_begin(struct sl_call_ctx *c, int fd, uint16_t call, uint8_t dir, void *site);
/* Accounts for a finished data call; ret < 0 means it failed with err. Leaves errno == err,
 * so callers pass errno as it is after the real call, success or not. */
void sl__call_end(struct sl_call_ctx *c, long ret, int err, int peek);

struct sl_slot *sl__record_socket(int fd, int family, int type, int protocol, int role);
void sl__record_connect(struct sl_call_ctx *c, const struct sockaddr *sa, socklen_t len, int ret, int err);
void sl__record_accept(struct sl_call_ctx *c, int ret, int err, int flags,
		       const struct sockaddr *sa, const socklen_t *len);
void sl__record_bind(int fd, const struct sockaddr *sa, socklen_t len, int ret);
void sl__record_listen(int fd, int ret, int err);
void sl__record_shutdown(int fd, int how, int ret);
void sl__record_setsockopt(int fd, int level, int name, const void *val, socklen_t len, int ret, int err);
void sl__record_getsockopt(int fd, int level, int name, const void *val, const socklen_t *len, int ret);
void sl__record_flags(int fd, int nonblock, int cloexec); /* -1 = unchanged */
void sl__record_guarded(int fd);
void sl__record_close(int fd);
void sl__record_close_range(unsigned first, unsigned last, int cloexec_only);
void sl__record_dup(int oldfd, int newfd);
void sl__record_received_fds(const struct msghdr *msg);
void sl__thread_reset(void);
void sl__record_exit(int status);
/* Every other sl__record_* may change errno: wrappers save it around them. */

#endif
