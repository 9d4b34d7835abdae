/* kview.c - what the kernel says now of a running program's connections, asked from outside: the
 * preload reads TCP_INFO only when the program closes a socket (it may not touch an fd the program
 * did not hand it), so a server that never reads nor closes a connection its client closed leaves
 * nothing in its log while the socket sits in CLOSE_WAIT. The analyzer asks the kernel itself
 * (sock_diag: one dump of the TCP sockets in CLOSE_WAIT, with their TCP_INFO), matches them to the
 * process's live records by both addresses, and where it can read /proc/PID/fd, by the socket's
 * inode too. Only from the program's network namespace; the tracer's programs are sampled already. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "model/model.h"

/* A socket: its family, then each end's port (2 bytes, network order) and address (4 or 16). */
#define KEY 38
struct sl_kview {
	uint8_t key[KEY];
	uint32_t inode;
	uint32_t last_ack_ms;        /* since the last ACK the peer sent (its FIN carried one) */
	uint32_t rtt_us, rttvar_us, retrans, lost;
};

static int kview_cmp(const void *a, const void *b)
{
	return memcmp(a, b, KEY); /* (key is the first member) */
}

/* The port and address of a record's sockaddr (struct sl_addr: after the family field). */
static int addr_key(const struct sl_addr *a, uint8_t out[18])
{
	memset(out, 0, 18);
	if (a->family == AF_INET && a->len >= 6) {
		memcpy(out, a->data, 6);
		return 0;
	}
	if (a->family == AF_INET6 && a->len >= 22) {
		memcpy(out, a->data, 2);
		memcpy(out + 2, a->data + 6, 16);
		return 0;
	}
	return -1;
}

static void diag_key(int family, uint16_t port, const uint32_t addr[4], uint8_t out[18])
{
	memset(out, 0, 18);
	memcpy(out, &port, 2);
	memcpy(out + 2, addr, family == AF_INET ? 4 : 16);
}

static void make_key(uint8_t key[KEY], uint16_t family, const uint8_t local[18], const uint8_t peer[18])
{
	memcpy(key, &family, 2);
	memcpy(key + 2, local, 18);
	memcpy(key + 20, peer, 18);
}

/* Appends the family's TCP sockets in CLOSE_WAIT to *v; 0, or -1. */
static int dump(int family, struct sl_kview **v, size_t *n, size_t *cap)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -1;
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {
		.nh = {.nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
		.r = {.sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
		      .idiag_ext = 1 << (INET_DIAG_INFO - 1), .idiag_states = 1u << TCP_CLOSE_WAIT},
	};
	int rc = -1, done = 0;
	if (send(fd, &req, sizeof req, 0) != (ssize_t)sizeof req)
		goto out;
	static long buf[8192 / sizeof(long)];
	for (int rounds = 0; !done && rounds < 100000; rounds++) {
		ssize_t len = recv(fd, buf, sizeof buf, 0);
		if (len <= 0)
			goto out;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				goto out;
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 64;
				struct sl_kview *nv = realloc(*v, nc * sizeof *nv);
				if (!nv)
					goto out;
				*v = nv;
				*cap = nc;
			}
			struct sl_kview *k = &(*v)[*n];
			uint8_t local[18], peer[18];
			memset(k, 0, sizeof *k);
			k->inode = m->idiag_inode;
			diag_key(m->idiag_family, m->id.idiag_sport, m->id.idiag_src, local);
			diag_key(m->idiag_family, m->id.idiag_dport, m->id.idiag_dst, peer);
			make_key(k->key, m->idiag_family, local, peer);
			k->last_ack_ms = UINT32_MAX;
			int alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
			for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
				if (a->rta_type == INET_DIAG_INFO && RTA_PAYLOAD(a) >= sizeof(struct tcp_info)) {
					const struct tcp_info *ti = RTA_DATA(a);
					k->last_ack_ms = ti->tcpi_last_ack_recv;
					k->rtt_us = ti->tcpi_rtt;
					k->rttvar_us = ti->tcpi_rttvar;
					k->retrans = ti->tcpi_total_retrans;
					k->lost = ti->tcpi_lost;
				}
			(*n)++;
		}
	}
	rc = done ? 0 : -1;
out:
	close(fd);
	return rc;
}

/* Whether pid's network namespace is ours (the kernel only tells us of our own sockets). */
static int same_netns(int pid)
{
	char path[64];
	struct stat a, b;
	snprintf(path, sizeof path, "/proc/%d/ns/net", pid);
	return stat("/proc/self/ns/net", &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* The inode of the socket pid has at fd, 0 if it cannot be read. */
static uint32_t fd_inode(int pid, int fd)
{
	char path[64], link[64];
	snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
	ssize_t n = readlink(path, link, sizeof link - 1);
	unsigned long ino = 0;
	if (n <= 0)
		return 0;
	link[n] = 0;
	return sscanf(link, "socket:[%lu]", &ino) == 1 ? (uint32_t)ino : 0;
}

void sl_live_kernel_view(struct sl_run *run, struct sl_proc *p, struct sl_image *img)
{
	if (!p->alive || (img->h.flags & SL_HDR_PTRACE) || !same_netns(p->pid))
		return;
	if (!run->kview_state) {
		size_t cap = 0;
		int v4 = dump(AF_INET, &run->kview, &run->nkview, &cap), v6 = dump(AF_INET6, &run->kview, &run->nkview, &cap);
		run->kview_state = v4 == 0 || v6 == 0 ? 1 : -1; /* (a kernel without IPv6 answers for IPv4) */
		if (run->nkview)
			qsort(run->kview, run->nkview, sizeof *run->kview, kview_cmp);
	}
	if (run->kview_state < 0 || !run->nkview)
		return;
	for (uint32_t i = 0; i < img->nslots; i++) {
		struct sl_slot *s = &img->slots[i];
		uint8_t local[18], peer[18];
		struct sl_kview want;
		if (s->state != SL_SLOT_LIVE || s->type != SOCK_STREAM || (s->flags & (SL_SF_EOF | SL_SF_TCPINFO)) ||
		    (s->role != SL_ROLE_CLIENT && s->role != SL_ROLE_SERVER && s->role != SL_ROLE_INHERITED) ||
		    addr_key(&s->local, local) < 0 || addr_key(&s->peer, peer) < 0)
			continue;
		make_key(want.key, s->family, local, peer);
		const struct sl_kview *kv = bsearch(&want, run->kview, run->nkview, sizeof *run->kview, kview_cmp);
		uint32_t ino = kv ? fd_inode(p->pid, s->fd) : 0;
		if (!kv || (ino && ino != kv->inode))
			continue; /* not in CLOSE_WAIT, or the fd is another socket now */
		s->tcp_state = TCP_CLOSE_WAIT;
		s->flags |= SL_SF_TCPINFO;
		s->tcp_rtt_us = kv->rtt_us;
		s->tcp_rttvar_us = kv->rttvar_us;
		s->tcp_retrans = kv->retrans;
		s->tcp_lost = kv->lost;
		/* the FIN's time, from its ACK; never before the last data */
		uint64_t ack = (uint64_t)kv->last_ack_ms * 1000000ull;
		uint64_t fin = kv->last_ack_ms != UINT32_MAX && ack < run->now_ns ? run->now_ns - ack : 0;
		s->eof_cns = fin > s->last_in_cns ? fin : s->last_in_cns;
	}
}
