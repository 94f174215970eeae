/*
 * ipc.c - IPC endpoints: messages with their ids as frames on a byte stream to another
 * process (the wire format and guarantees are in router.h).
 *
 * The sending side is here (lt_ipc_*): a frame is written whole under the endpoint's mutex, so
 * frames of concurrent senders never interleave, and a short write, EINTR or a full socket
 * (EAGAIN; the fd is non-blocking so that the wait is a recorded poll) just resumes where it
 * stopped. The receiving side's reassembly (lt__ipc_fill / lt__ipc_next) is used by the
 * router's IPC routes: bytes are read into a buffer that grows to hold the largest frame seen,
 * and whole frames are cut out of it; whatever belongs to the next frame stays for the next
 * read.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <looptrace/rt/router.h>
#include <looptrace/trace.h>

#include "rt_internal.h"

#define READ_CHUNK (64u * 1024u) /* bytes: the reader's first buffer */

struct lt_ipc {
	int fd;             /* not owned */
	uint32_t chan;      /* trace id of the endpoint's channel */
	int not_socket;     /* a pipe: writev (no MSG_NOSIGNAL) */
	enum lt_err broken; /* under mu: a send failed mid-frame; every later send fails so */
	pthread_mutex_t mu; /* one frame at a time */
};

struct wire_header {
	uint32_t magic;
	uint32_t len;
	uint64_t msg;
	uint64_t flow;
};

_Static_assert(sizeof(struct wire_header) == LT_IPC_HEADER, "IPC header is 24 bytes");

enum lt_err lt_ipc_create(int fd, const char *chan_name, struct lt_ipc **out)
{
	struct lt_ipc *ep;
	int type, fl;
	socklen_t tlen = sizeof(type);

	if (!out || fd < 0 || !chan_name)
		return LT_EINVAL;
	*out = NULL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return errno == EBADF ? LT_EINVAL : LT_ESYS;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return LT_ENOMEM;
	ep->fd = fd;
	ep->not_socket = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0;
	pthread_mutex_init(&ep->mu, NULL);
	ep->chan = lt_channel_declare(chan_name, 0);
	*out = ep;
	return LT_OK;
}

void lt_ipc_destroy(struct lt_ipc *ep)
{
	if (!ep)
		return;
	pthread_mutex_destroy(&ep->mu);
	free(ep);
}

uint32_t lt_ipc_chan(const struct lt_ipc *ep)
{
	return ep ? ep->chan : 0;
}

int lt_ipc_fd(const struct lt_ipc *ep)
{
	return ep ? ep->fd : -1;
}

/* wait_writable - waits (recorded as an io block) until fd takes more bytes or fails. */
static void wait_writable(struct lt_ipc *ep)
{
	struct pollfd p = {.fd = ep->fd, .events = POLLOUT};

	lt_block_begin(LT_BLOCK_IO, ep);
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	lt_block_end();
}

/*
 * write_all - writes the iovecs whole (under ep->mu): resumes after short writes and EINTR,
 * waits on EAGAIN. Returns LT_OK, LT_ECLOSED (the reader is gone) or LT_ESYS.
 */
static enum lt_err write_all(struct lt_ipc *ep, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w;

		if (ep->not_socket) {
			w = writev(ep->fd, iov, n);
		} else {
			struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};

			w = sendmsg(ep->fd, &mh, MSG_NOSIGNAL);
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				wait_writable(ep);
				continue;
			}
			return errno == EPIPE || errno == ECONNRESET ? LT_ECLOSED : LT_ESYS;
		}
		/* Skip what was written: whole iovecs, then part of the next one. */
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return LT_OK;
}

enum lt_err lt_ipc_send(struct lt_ipc *ep, const void *data, uint32_t len, uint64_t flow,
			uint64_t *id_out)
{
	struct wire_header h;
	struct iovec iov[2];
	enum lt_err err;

	if (!ep || (len && !data))
		return LT_EINVAL;
	if (len > LT_IPC_MAX_PAYLOAD)
		return LT_EMSGSIZE;
	h.magic = LT_IPC_MAGIC;
	h.len = len;
	h.msg = lt_message_new();
	h.flow = flow;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;
	if (pthread_mutex_trylock(&ep->mu) != 0) {
		lt_block_begin(LT_BLOCK_MUTEX, &ep->mu);
		pthread_mutex_lock(&ep->mu);
		lt_block_end();
	}
	err = ep->broken;
	if (err == LT_OK) {
		/* Before the first byte: the peer cannot record its recv before this send. */
		lt_send(ep->chan, h.msg, flow, 0);
		err = write_all(ep, iov, len ? 2 : 1);
		ep->broken = err;
	}
	pthread_mutex_unlock(&ep->mu);
	if (err == LT_OK && id_out)
		*id_out = h.msg;
	return err;
}

/* ---- the receiving side (router.c) --------------------------------------------------------- */

enum lt_err lt__ipc_fill(struct lt__ipc_reader *rd, int fd)
{
	ssize_t n;

	if (!rd->buf) {
		rd->buf = malloc(READ_CHUNK);
		if (!rd->buf)
			return LT_ENOMEM;
		rd->cap = READ_CHUNK;
	}
	if (rd->off) {
		memmove(rd->buf, rd->buf + rd->off, rd->len);
		rd->off = 0;
	}
	if (rd->len == rd->cap)
		return LT_OK; /* lt__ipc_next grows the buffer for a frame that needs it */
	do
		n = read(fd, rd->buf + rd->len, rd->cap - rd->len);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		rd->len += (size_t)n;
		return LT_OK;
	}
	if (n == 0 || errno == ECONNRESET) /* reset: the peer closed with bytes unread */
		return LT_ECLOSED;
	return errno == EAGAIN || errno == EWOULDBLOCK ? LT_OK : LT_ESYS;
}

enum lt_err lt__ipc_next(struct lt__ipc_reader *rd, struct lt__ipc_frame *f)
{
	struct wire_header h;
	size_t total;

	if (rd->len < sizeof(h))
		return LT_EAGAIN;
	memcpy(&h, rd->buf + rd->off, sizeof(h));
	if (h.magic != LT_IPC_MAGIC)
		return LT_EPROTO;
	if (h.len > LT_IPC_MAX_PAYLOAD)
		return LT_EMSGSIZE;
	total = sizeof(h) + h.len;
	if (rd->len < total) {
		if (rd->cap < total) {
			unsigned char *b;

			memmove(rd->buf, rd->buf + rd->off, rd->len);
			rd->off = 0;
			b = realloc(rd->buf, total);
			if (!b)
				return LT_ENOMEM;
			rd->buf = b;
			rd->cap = total;
		}
		return LT_EAGAIN;
	}
	f->data = malloc(h.len ? h.len : 1);
	if (!f->data)
		return LT_ENOMEM;
	memcpy(f->data, rd->buf + rd->off + sizeof(h), h.len);
	f->len = h.len;
	f->msg = h.msg;
	f->flow = h.flow;
	rd->off += total;
	rd->len -= total;
	return LT_OK;
}

void lt__ipc_reader_fini(struct lt__ipc_reader *rd)
{
	free(rd->buf);
	rd->buf = NULL;
	rd->cap = rd->off = rd->len = 0;
}
