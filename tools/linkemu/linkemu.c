/*
 * linkemu: a netem-like link emulator in userspace, for kernels without the
 * netem qdisc. It serves iptables NFQUEUE queues in a router network
 * namespace: every packet forwarded through a queue is held as if it crossed
 * one direction of a slow, long, lossy link, then re-injected (NF_ACCEPT).
 * scripts/netlab.ts builds and runs it; see tools/linkemu/README.md.
 *
 * What it models, for each queue (one queue = one direction):
 *   1. random loss with probability --loss (Bernoulli, per packet);
 *   2. a bottleneck of --rate bit/s with a tail-drop FIFO of --buffer bytes;
 *      a packet's serialisation time counts its IP length plus --overhead
 *      bytes of L2 header (14 by default, as tc counts it):
 *        start = max(now, link_free); link_free = start + bytes * 8 / rate
 *   3. a fixed one-way delay --delay ms, plus optional uniform --jitter ms,
 *      clamped so that packets are never reordered.
 * Each queue has its own settings, so the two directions may differ.
 * Packets are handled at MTU size: the kernel splits GSO super-packets before
 * queueing them, so loss, pacing and the buffer act per packet as on a wire.
 * With --gso, a queue that only delays (no loss, rate or jitter) takes GSO
 * super-packets whole instead (up to 64 KiB, one verdict each): a fixed delay
 * acts on a super-packet as on each of its segments, and the emulator and
 * the kernel's segmenting no longer take CPU from the ends (at 150 MB/s over
 * RTT 20 ms, the emulator's share of a core went from 15% to 7.5%).
 * Held in the router's forwarding path, packets no longer count against the
 * sender's socket (TCP Small Queues), so TCP sees only the link.
 *
 * What it does not model: reordering, duplication, corruption, burst
 * (Gilbert-Elliott) loss, AQM (codel, RED) or ECN marks, MTU changes.
 * Accuracy: the added delay comes out 0.3-1 ms high (timer wakeups); packets
 * may leave up to --slack early so that wakeups are batched.
 *
 * It fails closed: packets held when it dies are dropped, and a queue with no
 * reader drops everything, so a dead emulator is a dead link, never a fast
 * one. Held packets leave in the order they came (their due times never
 * decrease), so one batch verdict (NF_ACCEPT for every id <= N) releases
 * them, and only the first 64 bytes of a packet are copied to userspace.
 *
 * Options are sticky: each applies to every -q after it, e.g.
 *   linkemu -d 20 -l 0.01 -r 1mbit -q 0 -r 0 -q 1
 * serves queue 0 (20 ms, 1 % loss, 1 Mbit/s) and queue 1 (20 ms, 1 % loss, no
 * rate limit). Prints "ready" on stdout once every queue is bound. SIGUSR1
 * prints one "stats" line per queue on stdout; SIGINT and SIGTERM (and, with
 * --stdin-lifeline, the end of stdin: the parent died) release what is held,
 * print the counters and exit.
 *
 * Build: cc -O2 -Wall -o linkemu linkemu.c -lnetfilter_queue -lnfnetlink
 * (Debian: gcc libnetfilter-queue-dev; at run time iptables, iproute2.)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <libnfnetlink/libnfnetlink.h>
#include <linux/netfilter.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif

/* Most queues one process serves. */
#define MAX_QUEUES 16
/* Bytes of each packet copied to userspace: enough for the IP header. */
#define COPY_BYTES 64
/* Netlink messages read before held packets are released again. */
#define RECV_BATCH 256

/* A packet waiting for its time: its queue id and when it may leave. */
struct held {
	uint32_t id;
	uint64_t due;
};

/* One direction of the link: its settings, state and counters. */
struct link {
	int num;
	struct nfq_q_handle *qh;
	/* settings */
	uint64_t delay_ns, jitter_ns, rate_bps, buffer_bytes, overhead;
	double loss;
	int gso;
	/* state: when the bottleneck is free again, the last due time */
	uint64_t link_free, last_due;
	struct held *ring;
	uint32_t cap, head, count;
	/* counters */
	uint64_t rx, rx_bytes, lost, qdrop, ringdrop, tx, maxheld;
};

static struct link links[MAX_QUEUES];
static int nlinks;
static volatile sig_atomic_t stop, want_stats;
static uint64_t slack_ns = 200000;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: fast, and good enough for loss and jitter. */
static uint64_t rnd64(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static double rnd01(void)
{
	return (double)(rnd64() >> 11) * (1.0 / 9007199254740992.0);
}

static void die_usage(const char *what, const char *value)
{
	fprintf(stderr, "linkemu: bad %s \"%s\" (see linkemu --help)\n", what, value);
	exit(2);
}

/* A number >= 0, all of `s`. */
static double parse_number(const char *what, const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= 0)) die_usage(what, s);
	return v;
}

/* Bits per second; suffixes k, m, g (decimal, as tc) and "bit" optional. */
static uint64_t parse_rate(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || !(v >= 0)) die_usage("rate", s);
	switch (*end) {
	case 'k': case 'K': v *= 1e3; end++; break;
	case 'm': case 'M': v *= 1e6; end++; break;
	case 'g': case 'G': v *= 1e9; end++; break;
	}
	if (*end && strcasecmp(end, "bit") && strcasecmp(end, "bit/s"))
		die_usage("rate (use e.g. 1mbit, 100mbit or bits per second)", s);
	return (uint64_t)v;
}

static void print_stats(const char *tag)
{
	for (int i = 0; i < nlinks; i++) {
		struct link *q = &links[i];
		printf("%s q%d rx=%llu rx_bytes=%llu tx=%llu lost=%llu qdrop=%llu ringdrop=%llu held=%u maxheld=%llu\n",
		       tag, q->num, (unsigned long long)q->rx,
		       (unsigned long long)q->rx_bytes, (unsigned long long)q->tx,
		       (unsigned long long)q->lost, (unsigned long long)q->qdrop,
		       (unsigned long long)q->ringdrop, q->count,
		       (unsigned long long)q->maxheld);
	}
	fflush(stdout);
}

static void on_signal(int s)
{
	if (s == SIGUSR1)
		want_stats = 1;
	else
		stop = 1;
}

/* The length the packet has on the wire, from its IP header. */
static uint64_t ip_length(const unsigned char *p, int n)
{
	if (n >= 20 && (p[0] >> 4) == 4) return ((uint64_t)p[2] << 8) | p[3];
	if (n >= 40 && (p[0] >> 4) == 6) return 40 + (((uint64_t)p[4] << 8) | p[5]);
	return n > 0 ? (uint64_t)n : 0;
}

/* Called for each queued packet: drop it now, or give it a due time. */
static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg,
		     struct nfq_data *nfa, void *data)
{
	(void)msg;
	struct link *q = data;
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	if (!ph) return 0;
	uint32_t id = ntohl(ph->packet_id);
	unsigned char *payload = NULL;
	int n = nfq_get_payload(nfa, &payload);
	uint64_t len = ip_length(payload, n);
	uint64_t now = now_ns();
	q->rx++;
	q->rx_bytes += len;

	if (q->loss > 0 && rnd01() < q->loss) {
		q->lost++;
		return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
	}
	uint64_t due = now;
	if (q->rate_bps) {
		uint64_t start = q->link_free > now ? q->link_free : now;
		uint64_t backlog = (uint64_t)((double)(start - now) * (double)q->rate_bps / 8e9);
		if (backlog + len > q->buffer_bytes) {
			q->qdrop++;
			return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
		}
		q->link_free = start + (uint64_t)((double)(len + q->overhead) * 8e9 / (double)q->rate_bps);
		due = q->link_free;
	}
	due += q->delay_ns;
	if (q->jitter_ns) due += rnd64() % (q->jitter_ns + 1);
	if (due < q->last_due) due = q->last_due; /* never reorder */
	q->last_due = due;
	if (q->count == q->cap) {
		q->ringdrop++;
		return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
	}
	struct held *h = &q->ring[(q->head + q->count) % q->cap];
	h->id = id;
	h->due = due;
	q->count++;
	if (q->count > q->maxheld) q->maxheld = q->count;
	return 0;
}

/* Accepts every held packet due by `now` (all of them with `all`). */
static void release(uint64_t now, int all)
{
	for (int i = 0; i < nlinks; i++) {
		struct link *q = &links[i];
		uint32_t k = 0;
		while (k < q->count && (all || q->ring[(q->head + k) % q->cap].due <= now)) k++;
		if (!k) continue;
		uint32_t last = q->ring[(q->head + k - 1) % q->cap].id;
		if (nfq_set_verdict_batch(q->qh, last, NF_ACCEPT) < 0)
			perror("linkemu: nfq_set_verdict_batch");
		q->head = (q->head + k) % q->cap;
		q->count -= k;
		q->tx += k;
	}
}

/* The earliest due time of a held packet, or UINT64_MAX. */
static uint64_t next_due(void)
{
	uint64_t next = UINT64_MAX;
	for (int i = 0; i < nlinks; i++)
		if (links[i].count && links[i].ring[links[i].head].due < next)
			next = links[i].ring[links[i].head].due;
	return next;
}

static void usage(int code)
{
	fprintf(stderr,
		"usage: linkemu [options] -q NUM [[options] -q NUM ...]\n"
		"options apply to every -q after them:\n"
		"  -d, --delay MS        one-way delay in ms                      [0]\n"
		"  -j, --jitter MS       extra uniform delay 0..MS, no reordering [0]\n"
		"  -l, --loss P          drop probability 0..1 (0.01 = 1%%)        [0]\n"
		"  -r, --rate RATE       bottleneck, e.g. 1mbit, 100mbit; 0 = none [0]\n"
		"  -b, --buffer BYTES    bottleneck buffer (tail drop)            [150000]\n"
		"  -o, --overhead BYTES  L2 bytes added to each packet's length   [14]\n"
		"  -q, --queue-num NUM   serve NFQUEUE NUM with the options so far\n"
		"global:\n"
		"  -m, --maxlen N        most packets held per queue              [262144]\n"
		"  -s, --seed N          random seed                     [pid and time]\n"
		"  -S, --slack US        release up to US early, batching wakeups [200]\n"
		"  -G, --gso             take GSO super-packets whole on delay-only queues\n"
		"  -L, --stdin-lifeline  exit when stdin ends (the parent died)\n");
	exit(code);
}

/* Binds every queue; exits with a message if the kernel refuses. */
static struct nfq_handle *bind_queues(uint32_t maxlen)
{
	struct nfq_handle *h = nfq_open();
	if (!h) {
		perror("linkemu: nfq_open (is nfnetlink_queue in the kernel, and are we root?)");
		exit(1);
	}
	for (int i = 0; i < nlinks; i++) {
		struct link *q = &links[i];
		q->cap = maxlen;
		q->ring = calloc(q->cap, sizeof *q->ring);
		q->qh = nfq_create_queue(h, (uint16_t)q->num, on_packet, q);
		if (!q->ring || !q->qh) {
			fprintf(stderr, "linkemu: cannot bind NFQUEUE %d: %s\n", q->num, strerror(errno));
			exit(1);
		}
		if (nfq_set_mode(q->qh, NFQNL_COPY_PACKET, COPY_BYTES) < 0) {
			perror("linkemu: nfq_set_mode");
			exit(1);
		}
		if (nfq_set_queue_maxlen(q->qh, maxlen) < 0) perror("linkemu: nfq_set_queue_maxlen");
		/* A delay alone acts the same on a whole GSO super-packet as on each
		 * of its segments: take it unsplit, one verdict for up to 64 KiB. */
		if (q->gso && !q->loss && !q->rate_bps && !q->jitter_ns &&
		    nfq_set_queue_flags(q->qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO) < 0)
			perror("linkemu: nfq_set_queue_flags (GSO)");
		fprintf(stderr, "linkemu q%d: delay=%.3fms jitter=%.3fms loss=%g rate=%llubit/s buffer=%lluB\n",
			q->num, (double)q->delay_ns / 1e6, (double)q->jitter_ns / 1e6, q->loss,
			(unsigned long long)q->rate_bps, (unsigned long long)q->buffer_bytes);
	}
	nfnl_rcvbufsiz(nfq_nfnlh(h), 64 << 20);
	int one = 1;
	setsockopt(nfq_fd(h), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
	return h;
}

static void parse_args(int argc, char **argv, uint32_t *maxlen, int *lifeline)
{
	struct link cur = { .buffer_bytes = 150000, .overhead = 14 };
	static const struct option opts[] = {
		{"delay", 1, 0, 'd'}, {"jitter", 1, 0, 'j'}, {"loss", 1, 0, 'l'},
		{"rate", 1, 0, 'r'}, {"buffer", 1, 0, 'b'}, {"overhead", 1, 0, 'o'},
		{"queue-num", 1, 0, 'q'}, {"maxlen", 1, 0, 'm'}, {"seed", 1, 0, 's'},
		{"slack", 1, 0, 'S'}, {"stdin-lifeline", 0, 0, 'L'}, {"gso", 0, 0, 'G'}, {"help", 0, 0, 'h'},
		{0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "d:j:l:r:b:o:q:m:s:S:LGh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': cur.delay_ns = (uint64_t)(parse_number("delay", optarg) * 1e6); break;
		case 'j': cur.jitter_ns = (uint64_t)(parse_number("jitter", optarg) * 1e6); break;
		case 'l':
			cur.loss = parse_number("loss", optarg);
			if (cur.loss > 1) die_usage("loss (a probability, 0..1)", optarg);
			break;
		case 'r': cur.rate_bps = parse_rate(optarg); break;
		case 'b': cur.buffer_bytes = (uint64_t)parse_number("buffer", optarg); break;
		case 'o': cur.overhead = (uint64_t)parse_number("overhead", optarg); break;
		case 'q': {
			double num = parse_number("queue number", optarg);
			if (num > 65535 || nlinks == MAX_QUEUES) die_usage("queue number", optarg);
			links[nlinks] = cur;
			links[nlinks].num = (int)num;
			nlinks++;
			break;
		}
		case 'm': {
			double m = parse_number("maxlen", optarg);
			if (m < 1 || m > 16777216) die_usage("maxlen", optarg);
			*maxlen = (uint32_t)m;
			break;
		}
		case 's': rng_state = (uint64_t)parse_number("seed", optarg) | 1; break;
		case 'S': slack_ns = (uint64_t)(parse_number("slack", optarg) * 1e3); break;
		case 'L': *lifeline = 1; break;
		case 'G': cur.gso = 1; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (!nlinks || optind != argc) usage(2);
}

int main(int argc, char **argv)
{
	uint32_t maxlen = 262144;
	int lifeline = 0;
	rng_state ^= (uint64_t)getpid() << 32 ^ now_ns();
	parse_args(argc, argv, &maxlen, &lifeline);
	struct nfq_handle *h = bind_queues(maxlen);
	int fd = nfq_fd(h);

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	printf("ready\n");
	fflush(stdout);

	static char buf[65536] __attribute__((aligned));
	struct pollfd pfd[2] = {{ .fd = fd, .events = POLLIN }, { .fd = 0, .events = POLLIN }};
	while (!stop) {
		if (want_stats) {
			want_stats = 0;
			print_stats("stats");
		}
		uint64_t now = now_ns(), next = next_due();
		struct timespec ts, *tp = NULL;
		if (next != UINT64_MAX) {
			uint64_t d = next > now ? next - now : 0;
			ts.tv_sec = (time_t)(d / 1000000000ull);
			ts.tv_nsec = (long)(d % 1000000000ull);
			tp = &ts;
		}
		int r = ppoll(pfd, lifeline ? 2 : 1, tp, NULL);
		if (r < 0 && errno != EINTR) {
			perror("linkemu: ppoll");
			break;
		}
		if (r > 0 && lifeline && pfd[1].revents) {
			char drain[256];
			if (read(0, drain, sizeof drain) <= 0) stop = 1; /* parent gone */
		}
		if (r > 0 && pfd[0].revents) {
			/* a bounded batch, so that releases are not starved */
			for (int k = 0; k < RECV_BATCH; k++) {
				ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
				if (n < 0) {
					if (errno != EAGAIN && errno != EINTR && errno != ENOBUFS)
						perror("linkemu: recv");
					break;
				}
				nfq_handle_packet(h, buf, (int)n);
			}
		}
		release(now_ns() + slack_ns, 0);
	}
	release(0, 1);
	print_stats("final");
	for (int i = 0; i < nlinks; i++) nfq_destroy_queue(links[i].qh);
	nfq_close(h);
	return 0;
}
