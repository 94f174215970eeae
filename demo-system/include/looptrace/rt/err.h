/*
 * looptrace/rt/err.h - error codes and common types of liblooptrace-rt.
 *
 * Every runtime call that can fail returns an `enum lt_err`: 0 is success, every error is a
 * positive value. lt_strerror() turns one into a static, human-readable string.
 *
 * Thread safety: everything here may be used from any thread.
 */
#ifndef LOOPTRACE_RT_ERR_H
#define LOOPTRACE_RT_ERR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum lt_err {
	LT_OK = 0,
	LT_ECLOSED = 1,   /* the channel (or every channel of a select) is closed */
	LT_EAGAIN = 2,    /* a try_ call would have blocked (full / empty) */
	LT_ETIMEDOUT = 3, /* the deadline passed first */
	LT_ENOMEM = 4,    /* out of memory */
	LT_EINVAL = 5,    /* bad argument or call not allowed in this state / from this thread */
	LT_EINTR = 6,     /* a select wait was interrupted by lt_select_interrupt() */
	LT_EBUSY = 7,     /* the object is in use (already started, already registered, ...) */
	LT_ESYS = 8,      /* a system call failed (errno tells more) */
	LT_EPROTO = 9,    /* an IPC stream broke its framing (bad header, EOF inside a frame) */
	LT_EMSGSIZE = 10, /* an IPC frame larger than LT_IPC_MAX_PAYLOAD */
};

/* lt_strerror - a static description of `err` ("unknown error" for values outside the enum). */
const char *lt_strerror(enum lt_err err);

/* A function that frees one message a container owns (channel free functions). */
typedef void (*lt_free_fn)(void *msg);

/*
 * What the runtime knows about one message that crossed a channel. Message and flow ids are
 * allocated by liblooptrace (lt_message_new); they are what the trace calls `msg` and `flow`.
 */
struct lt_msg_info {
	uint64_t id;   /* message id (>= 1), allocated when the message was sent */
	uint64_t flow; /* flow the sender gave; 0 = this message starts its own flow */
	uint32_t chan; /* trace id of the channel it crossed (0 for a file-descriptor route) */
};

/*
 * lt_msg_reply_flow - the flow id a reply to the message described by `info` should carry:
 * the request's flow, or the request's own id when it started a flow.
 */
static inline uint64_t lt_msg_reply_flow(const struct lt_msg_info *info)
{
	return info->flow ? info->flow : info->id;
}

#ifdef __cplusplus
}
#endif

#endif /* LOOPTRACE_RT_ERR_H */
