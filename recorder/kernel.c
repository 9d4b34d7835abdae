/* kernel.c - what the kernel knows of a socket, asked through the front end's probe: TCP_INFO
 * (state, RTT, retransmissions, bytes), a listener's accept queue, data left unread at close. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include "recorder.h"

/* The kernel's struct tcp_info goes on where glibc's ends (at tcpi_total_retrans); the fields we
 * read from the rest are at these fixed places of the kernel ABI (linux/tcp.h). */
struct sl_tcp_info {
	struct tcp_info base;
	uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	uint32_t segs_out, segs_in;
	uint32_t notsent_bytes, min_rtt, data_segs_in, data_segs_out;
	uint64_t delivery_rate, busy_time, rwnd_limited, sndbuf_limited;
	uint32_t delivered, delivered_ce;
	uint64_t bytes_sent, bytes_retrans;
	uint32_t dsack_dups, reord_seen;
	uint32_t rcv_ooopack, snd_wnd;
};

#define HAS(len, field) ((len) >= offsetof(struct sl_tcp_info, field) + sizeof(((struct sl_tcp_info *)0)->field))

/* When the peer's FIN came, for a socket the kernel has in CLOSE_WAIT: at its last ACK (a FIN
 * carries one, and rcv_tstamp moves with every acceptable ACK), which is the FIN's own time when
 * the program sent nothing after it, else later; so what close-wait says of the time the socket
 * was held after it is never more than the truth. (The last data bounds it from the other side:
 * a server closing at once on a client's FIN after a long idle keep-alive must not be said to have
 * held it all that time.) */
static uint64_t fin_time(const struct sl_slot *s, const struct sl_tcp_info *ti, uint64_t now)
{
	uint64_t ack = (uint64_t)ti->base.tcpi_last_ack_recv * 1000000ull, t = ack < now ? now - ack : now;
	return t > s->last_in_cns ? t : s->last_in_cns;
}

/* The payload sent that the peer has not acknowledged (bytes_sent counts retransmitted bytes again,
 * bytes_acked the SYN); -1 when the kernel does not say. */
static int64_t unacked(const struct sl_tcp_info *ti, socklen_t len)
{
	if (!HAS(len, bytes_retrans) || ti->bytes_sent < ti->bytes_retrans)
		return -1;
	uint64_t sent = ti->bytes_sent - ti->bytes_retrans, acked = ti->bytes_acked ? ti->bytes_acked - 1 : 0;
	return sent > acked ? (int64_t)(sent - acked) : 0;
}

/* A front end that sees no data calls (the tracer) takes the bytes, segments and last moves each
 * way, and a FIN, from the kernel. */
static void kernel_counts(struct sl_slot *s, const struct sl_tcp_info *ti, socklen_t len, int fin)
{
	uint64_t now = sl_now();
	s->bytes_in = s->tcp_bytes_received;
	/* bytes_sent counts retransmitted bytes again; bytes_acked counts the SYN (a kernel without
	 * bytes_sent): the payload is what is left */
	if (HAS(len, bytes_retrans) && ti->bytes_sent)
		s->bytes_out = ti->bytes_sent - ti->bytes_retrans;
	else
		s->bytes_out = ti->bytes_acked ? ti->bytes_acked - 1 : 0;
	if (HAS(len, data_segs_out)) {
		s->calls_out = ti->data_segs_out;
		s->calls_in = ti->data_segs_in;
	}
	/* (once a request is known unanswered, the last moves each way stay the exchange's, not the
	 * goodbyes that followed: SL_SF_RT_UNANSWERED) */
	if (s->bytes_out && !(s->flags & SL_SF_RT_UNANSWERED))
		s->last_out_cns = now - (uint64_t)ti->base.tcpi_last_data_sent * 1000000ull;
	if (s->bytes_in && !(s->flags & SL_SF_RT_UNANSWERED))
		s->last_in_cns = now - (uint64_t)ti->base.tcpi_last_data_recv * 1000000ull;
	if (fin && !(s->flags & SL_SF_EOF)) {
		s->eof_cns = fin_time(s, ti, now);
		sl_slot_flag(s, SL_SF_EOF);
	}
}

void sl_rec_kernel_view(struct sl_rec *r, struct sl_slot *s, int fd, int closing)
{
	struct sl_tcp_info ti;
	socklen_t len = sizeof ti;
	if (!sl_rec_is_tcp(s) || s->role == SL_ROLE_LISTENER || s->connect_state == SL_CONN_NONE)
		return; /* never connected, accepted or connecting: the kernel has nothing to say */
	memset(&ti, 0, sizeof ti);
	if (r->probe->sockopt(r->arg, fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return;
	s->tcp_state = ti.base.tcpi_state;
	s->tcp_rtt_us = ti.base.tcpi_rtt;
	s->tcp_rttvar_us = ti.base.tcpi_rttvar;
	s->tcp_retrans = ti.base.tcpi_total_retrans;
	s->tcp_lost = ti.base.tcpi_lost;
	/* the count runs on sequence numbers, and a FIN takes one */
	int fin = ti.base.tcpi_state == TCP_CLOSE_WAIT || ti.base.tcpi_state == TCP_LAST_ACK ||
		  ti.base.tcpi_state == TCP_CLOSING || ti.base.tcpi_state == TCP_TIME_WAIT;
	if (HAS(len, segs_out)) {
		s->tcp_bytes_received = ti.bytes_received - (fin && ti.bytes_received ? 1 : 0);
		s->tcp_segs_out = ti.segs_out;
	}
	if (HAS(len, dsack_dups))
		s->tcp_dsack_dups = ti.dsack_dups;
	uint64_t out_before = s->bytes_out;
	if (r->kernel_counts)
		kernel_counts(s, &ti, len, fin && ti.base.tcpi_state != TCP_TIME_WAIT);
	else if (closing && ti.base.tcpi_state == TCP_CLOSE_WAIT && !(s->flags & SL_SF_EOF))
		s->eof_cns = fin_time(s, &ti, sl_now()); /* a FIN the program never read */
	sl_slot_flag(s, SL_SF_TCPINFO);
	int64_t pending = unacked(&ti, len);
	/* TCP_CLOSE is also where an orderly end leads once the program has shut down its side (both
	 * FINs exchanged: FIN_WAIT_2 -> TIME_WAIT, or LAST_ACK acknowledged): an abort then shows only as
	 * the error the kernel holds for the program until a call reports it (read here, as the fd is
	 * being closed, it is one the program will never be told) */
	int err = 0;
	socklen_t elen = sizeof err;
	if (closing && ti.base.tcpi_state == TCP_CLOSE && (s->flags & (SL_SF_SHUT_WR | SL_SF_EOF)) &&
	    r->probe->sockopt(r->arg, fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 &&
	    (err == ECONNRESET || err == EPIPE || err == ETIMEDOUT))
		sl_slot_flag(s, SL_SF_RESET_PENDING);
	/* ... and when a read told the program already (the tracer sees no reads): after the program's
	 * FIN went first, the orderly end leaves a TIME_WAIT socket behind, an abort none */
	else if (closing && ti.base.tcpi_state == TCP_CLOSE && r->probe->timewait &&
		 (s->flags & (SL_SF_SHUT_WR | SL_SF_EOF | SL_SF_FIN_FIRST)) == SL_SF_SHUT_WR &&
		 ti.base.tcpi_last_ack_recv < 50000 /* (a TIME_WAIT socket lasts 60 s) */ &&
		 r->probe->timewait(r->arg, &s->local, &s->peer) == 0)
		sl_slot_flag(s, SL_SF_RESET_PENDING);
	/* TCP_CLOSE with no FIN read and no shutdown: a reset. EPIPE pending says it came after the
	 * peer's FIN, answering what the program sent once the peer had closed: a request on a
	 * connection the server had closed (a stale pooled connection), or, 31 bytes at most, a
	 * goodbye crossing the peer's (a TLS close_notify) */
	else if (closing && ti.base.tcpi_state == TCP_CLOSE && !(s->flags & (SL_SF_SHUT_WR | SL_SF_EOF)) &&
		 r->probe->sockopt(r->arg, fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == EPIPE) {
		s->flags2 |= SL_SF2_RESET_AFTER_FIN;
		if (pending >= 0 && pending <= 31)
			s->flags2 |= SL_SF2_GOODBYE_ONLY;
	}
	/* ... and before the peer's FIN: the peer closed with the program's goodbye come and unread,
	 * its kernel resetting (two TLS closes crossing). The goodbye: the program's last send, just
	 * before this close, 31 bytes at most (since the last look, or what the peer never
	 * acknowledged: a connection too short to have been looked at since its request), sent by its
	 * TLS library's close (its close_notify, not a request); the kernel sent it, so the connection
	 * was whole when the program began to close it (a write that met the reset fails) */
	else if (closing && ti.base.tcpi_state == TCP_CLOSE && !(s->flags & (SL_SF_SHUT_WR | SL_SF_EOF)) &&
		 r->kernel_counts && ti.base.tcpi_last_data_sent < 100 &&
		 ((s->bytes_out > out_before && s->bytes_out - out_before <= 31) ||
		  (ti.bytes_acked && pending > 0 && pending <= 31)) &&
		 r->probe->tls_closing && r->probe->tls_closing(r->arg) == 1)
		s->flags2 |= SL_SF2_GOODBYE_ONLY;
	/* data the peer sent that nobody read, as the kernel counts it (SIOCINQ: exact, whichever
	 * process read the rest, and a FIN not counted); asked only when the counters say there
	 * may be some */
	int n = 0;
	unsigned char head[5];
	if (closing && (r->kernel_counts || s->tcp_bytes_received > s->bytes_in) &&
	    r->probe->unread(r->arg, fd, &n, head, sizeof head) == 0 && n > 0) {
		s->unread_at_close = (uint32_t)n;
		/* one whole TLS record of 31 bytes at most (its 5-byte header, looked at and left): the
		 * peer's close_notify, come as the program closed (an alert: type 21, or 23 encrypted in
		 * TLS 1.3), not a request it dropped */
		if (n <= 31 && (head[0] == 21 || head[0] == 23) && head[1] == 3 && head[2] <= 4 &&
		    (head[3] << 8 | head[4]) == n - 5)
			s->flags2 |= SL_SF2_GOODBYE_UNREAD;
	}
}

/* A listener's accept queue as the kernel says (TCP_INFO on a listener: unacked is the queue's
 * length, sacked its limit, the backlog asked for capped by net.core.somaxconn of the socket's
 * network namespace); the fullest seen is kept. */
void sl_rec_listener_view(struct sl_rec *r, struct sl_slot *ls, int fd, int just_accepted)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	if (!sl_rec_is_tcp(ls) || r->probe->sockopt(r->arg, fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return;
	uint32_t queue = ti.tcpi_unacked + (just_accepted ? 1 : 0); /* the one accepted was in it too */
	if (queue > ls->accept_queue_max)
		ls->accept_queue_max = queue;
	if (ti.tcpi_sacked)
		ls->listen_limit = ti.tcpi_sacked;
}

void sl_rec_sample(struct sl_rec *r, struct sl_slot *s, int fd, uint64_t now)
{
	s->sample_epoch = (uint32_t)(now >> SL_SAMPLE_SHIFT);
	sl_rec_kernel_view(r, s, fd, 0);
}
