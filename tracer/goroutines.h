/* goroutines.h - the goroutines of a running Go program parked on the network, read from outside
 * with process_vm_readv (the program is never stopped): which fd each waits on, reading or
 * writing, the deadline in force, and the goroutine's own stack. Used by the tracer (sampled while
 * the program runs) and by `socklens stuck PID` (any Go process the caller may read). */
#ifndef SL_GOROUTINES_H
#define SL_GOROUTINES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "socklens/log.h"

/* A goroutine parked in the netpoller. */
struct sl_gowait {
	uint64_t g;                  /* its address (stable: g's are never freed) */
	uint64_t goid;
	int fd;
	int write;                   /* 0: reading (or accepting), 1: writing (or connecting) */
	int64_t deadline;            /* 0: none; > 0: CLOCK_MONOTONIC ns; < 0: expired */
	int ctx_bounded;             /* no deadline, but the wait ends at the program's bound: a
				      * context closes the connection when it ends (a TLS handshake's
				      * interrupter goroutine), or a net/http round trip waiting for the
				      * response is cancelled (its Client.Timeout, its request's context) */
	int bound_unseen;            /* a net/http round trip whose bound, if it has one, cannot be seen
				      * (a stripped program's context deadline, Go 1.21+) */
	int cancel_only;             /* ... whose bound is a context with no deadline, cancelled by the
				      * program's own logic (not a Client.Timeout) */
	uint64_t seq;                /* the descriptor's rseq/wseq: a new wait on the same fd changes it */
	uint64_t pc[SL_MAX_FRAMES];  /* return addresses, innermost first (runtime frames included) */
	uint32_t npc;
	/* net/http's client reads a response in a goroutine of its own (persistConn.readLoop); the
	 * program's goroutine waiting for it in a round trip, when it could be told (0: none) */
	uint64_t caller_goid;
	uint64_t call;               /* ... and which of its calls: the channels its select waits on
				      * (a request's own, a gRPC stream's headerChan), summed */
	uint64_t ctx_timer;          /* ... the timerCtx whose deadline bounds its call (0: none seen) */
	uint64_t caller_pc[SL_MAX_FRAMES];
	uint32_t caller_npc;
	int pool;                    /* net/http waiting for a peer's close, not a call: a client's readLoop
				      * no round trip waits on (idle in the pool), a server's background
				      * read while a handler runs, an HTTP/2 client connection's reader */
	int idle_reader;             /* ... a client's: the connection is idle in a pool */
	int grpc_call;               /* a gRPC call waits on this connection's reader (caller_*) */
};

struct sl_goproc;
/* Opens pid for reading; NULL with why set when it cannot be read: not a Go program, a Go release
 * whose layouts are not known (1.19 to 1.24 are), or no permission (ptrace rules). */
struct sl_goproc *sl_go_open(pid_t pid, char *why, size_t len);
/* "go1.22.12" */
const char *sl_go_version(const struct sl_goproc *gp);
/* The goroutines parked on the network now (malloc'd, *n of them); 0, or -1 with why set. */
int sl_go_waits(struct sl_goproc *gp, struct sl_gowait **out, size_t *n, char *why, size_t len);
void sl_go_close(struct sl_goproc *gp);
/* Whether the deadline of a timerCtx (sl_gowait.ctx_timer) ran out: its error is
 * context.DeadlineExceeded (1), it is not (0: not yet, or cancelled first), or cannot be told (-1;
 * a stripped program). Its memory may be another object's once the call is over: only the exact
 * itab counts. */
int sl_go_deadline_passed(const struct sl_goproc *gp, uint64_t timer);
/* ... and when that deadline is (CLOCK_MONOTONIC ns, into *mono): 0, or -1 when it cannot be read
 * (a stripped program, a deadline without a monotonic reading) */
int sl_go_ctx_deadline(struct sl_goproc *gp, uint64_t timer, uint64_t *mono);
/* Walks the frame pointers of a goroutine's stack, n bytes read from sp, from bp: the return
 * addresses into pcs (up to SL_MAX_FRAMES, *npc so far); 1 when the chain goes on past what was
 * read. Any bp at all is safe (a stack may change as it is read). */
int sl_go_walk(const unsigned char *stack, size_t n, uint64_t sp, uint64_t bp, uint64_t *pcs, uint32_t *npc);
/* The id of the goroutine at g (0 when it cannot be read): g's are reused, ids are not. */
uint64_t sl_go_id(const struct sl_goproc *gp, uint64_t g);
/* Whether a stack (return addresses) is net/http's Transport dialing a connection (SL_GO_DIAL_HTTP)
 * or gRPC's (SL_GO_DIAL_GRPC), or neither (0). */
enum { SL_GO_DIAL_HTTP = 1, SL_GO_DIAL_GRPC };
int sl_go_dialing(const struct sl_goproc *gp, const uint64_t *pcs, uint32_t n);
/* ... crypto/tls closing a connection (its close_notify sent, the socket's close under way) */
int sl_go_tls_closing(const struct sl_goproc *gp, const uint64_t *pcs, uint32_t n);
/* The goroutine that asked for the connection the goroutine at g dials (dialing: what
 * sl_go_dialing said): the program's request, waiting for it in Transport.getConn (its creator,
 * from Go 1.21; before, the one waiting there if there is only one), or a gRPC call waiting to
 * pick a connection or a blocking Dial (the one, or the same many). Its frames into pcs; 0, or -1
 * when it cannot be told. */
int sl_go_asker(struct sl_goproc *gp, int dialing, uint64_t g, uint64_t *pcs, uint32_t *npc);
/* Whether a stack is net's resolver asking a DNS server one question (tryOneName). */
int sl_go_resolving(const struct sl_goproc *gp, const uint64_t *pcs, uint32_t n);
/* The goroutine the lookup that the goroutine at g asks for was made for: the program's, waiting in
 * the resolver (by creators from Go 1.21; before, the one waiting in a lookup if only one does).
 * Its frames into pcs, its g into who; 0, or -1 when it cannot be told. */
int sl_go_lookup_asker(struct sl_goproc *gp, uint64_t g, uint64_t *pcs, uint32_t *npc, uint64_t *who);
/* The goroutine whose cgo call a thread is running C code for (the thread's stack pointer rsp is
 * on that goroutine's M's system stack): its frames, from where asmcgocall left it, and its g;
 * 0, or -1. */
int sl_go_cgo_caller(struct sl_goproc *gp, uint64_t rsp, uint64_t *pcs, uint32_t *npc, uint64_t *g);
/* Whether such frames are a cgo build's lookup through glibc (run in a goroutine of its own, for
 * the program's waiting in the lookup: sl_go_lookup_asker finds it). */
int sl_go_cgo_resolving(const struct sl_goproc *gp, const uint64_t *pcs, uint32_t n);
/* The program's goroutine waiting for the cgo lookup goroutine g: its creator (Go 1.21+), past
 * singleflight's helper; before, the one goroutine waiting in cgoLookupIP; 0, or -1. */
int sl_go_cgo_asker(struct sl_goproc *gp, uint64_t g, uint64_t *pcs, uint32_t *npc);

#endif
