/*
 * fiber.c - stackful fibers for the pool's sequences: a stack (mmap, with a guard page below
 * it) and a context switch.
 *
 * On x86_64 the switch is a few instructions of assembly: push the callee-saved registers and
 * the SSE/x87 control words, swap stack pointers, pop (about the cost of a function call;
 * swapcontext would add a sigprocmask system call per switch). Elsewhere it falls back to
 * ucontext. The sanitizers are told about every switch: AddressSanitizer tracks the stack in
 * use (__sanitizer_start/finish_switch_fiber), ThreadSanitizer keeps a state per fiber
 * (__tsan_create/switch_to/destroy_fiber).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rt_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define LT__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LT__ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define LT__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LT__TSAN 1
#endif
#endif

#ifdef LT__ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
				     size_t *size_old);
#endif
#ifdef LT__TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

#ifdef LT__FIBER_ASM
/*
 * lt__ctx_switch(from, to) - saves the callee-saved registers, MXCSR and the x87 control word
 * on the current stack, stores the stack pointer in *from, loads `to` and restores what that
 * stack holds. A new fiber's stack is laid out so that the first switch to it "returns" into
 * lt__ctx_start with the entry function in r12 and its argument in r13.
 */
void lt__ctx_switch(void **from, void *to);
void lt__ctx_start(void);
__asm__(".text\n"
	".globl lt__ctx_switch\n"
	".hidden lt__ctx_switch\n"
	".type lt__ctx_switch,@function\n"
	"lt__ctx_switch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size lt__ctx_switch, .-lt__ctx_switch\n"
	".globl lt__ctx_start\n"
	".hidden lt__ctx_start\n"
	".type lt__ctx_start,@function\n"
	"lt__ctx_start:\n"
	"	movq %r13, %rdi\n"
	"	callq *%r12\n"
	"	ud2\n"
	".size lt__ctx_start, .-lt__ctx_start\n");
#endif

size_t lt__fiber_default_stack(void)
{
	size_t sz = LT_POOL_DEFAULT_STACK;

#if defined(LT__ASAN) || defined(LT__TSAN)
	/* Instrumented code takes several times the stack (redzones, fake frames). */
	sz *= 4;
#endif
	return sz;
}

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (size_t)p : 4096;
}

/* fiber_entry - the first frame on a fiber's stack: tells the sanitizers, runs the body. */
static void fiber_entry(void *arg)
{
	struct lt__fiber *f = arg;

#ifdef LT__ASAN
	__sanitizer_finish_switch_fiber(NULL, &f->from_bottom, &f->from_size);
#endif
	f->fn(f->arg);
	/* The body ends with lt__fiber_exit; it never returns here. */
	abort();
}

#ifndef LT__FIBER_ASM
static void uctx_entry(unsigned hi, unsigned lo)
{
	fiber_entry((void *)(((uintptr_t)hi << 32) | lo));
}

/* uctx_make - the fiber's first context (a function of its own: getcontext returns twice). */
static __attribute__((noinline)) int uctx_make(struct lt__fiber *f)
{
	if (getcontext(&f->uc) != 0)
		return -1;
	f->uc.uc_stack.ss_sp = f->stack;
	f->uc.uc_stack.ss_size = f->stack_size;
	f->uc.uc_link = NULL;
	makecontext(&f->uc, (void (*)(void))uctx_entry, 2, (unsigned)((uintptr_t)f >> 32),
		    (unsigned)(uintptr_t)f);
	return 0;
}
#endif

enum lt_err lt__fiber_init(struct lt__fiber *f, size_t stack_size, void (*fn)(void *), void *arg)
{
	size_t pg = page_size();
	size_t sz = (stack_size + pg - 1) & ~(pg - 1);
	char *mem;

	memset(f, 0, sizeof(*f));
	/* Rounding wraps to 0 near SIZE_MAX; the guard page must fit too. */
	if (sz == 0 || sz > SIZE_MAX - pg)
		return LT_EINVAL;
	mem = mmap(NULL, sz + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
		   -1, 0);
	if (mem == MAP_FAILED)
		return LT_ENOMEM;
	/* The guard page: an overflow faults instead of corrupting the neighbour mapping. */
	if (mprotect(mem, pg, PROT_NONE) != 0) {
		munmap(mem, sz + pg);
		return LT_ESYS;
	}
	f->map = mem;
	f->map_size = sz + pg;
	f->stack = mem + pg;
	f->stack_size = sz;
	f->fn = fn;
	f->arg = arg;
#ifdef LT__FIBER_ASM
	{
		uintptr_t top = ((uintptr_t)f->stack + sz) & ~(uintptr_t)15;
		uint64_t *sp = (uint64_t *)top;

		/* After `ret` into lt__ctx_start the stack pointer is 16-byte aligned. */
		*--sp = 0;                                 /* padding */
		*--sp = 0;                                 /* padding */
		*--sp = (uintptr_t)lt__ctx_start;          /* return address of the first switch */
		*--sp = 0;                                 /* rbp */
		*--sp = 0;                                 /* rbx */
		*--sp = (uintptr_t)fiber_entry;            /* r12 */
		*--sp = (uintptr_t)f;                      /* r13 */
		*--sp = 0;                                 /* r14 */
		*--sp = 0;                                 /* r15 */
		*--sp = 0x1f80 | (UINT64_C(0x037f) << 32); /* MXCSR, x87 control word */
		f->sp = sp;
	}
#else
	if (uctx_make(f) != 0) {
		munmap(mem, sz + pg);
		return LT_ESYS;
	}
#endif
#ifdef LT__TSAN
	f->tsan = __tsan_create_fiber(0);
#endif
	return LT_OK;
}

void lt__fiber_fini(struct lt__fiber *f)
{
#ifdef LT__TSAN
	if (f->tsan)
		__tsan_destroy_fiber(f->tsan);
	f->tsan = NULL;
#endif
	if (f->map)
		munmap(f->map, f->map_size);
	f->map = NULL;
}

void lt__fiber_resume(struct lt__fiber_host *h, struct lt__fiber *f)
{
#ifdef LT__ASAN
	void *fake = NULL;

	__sanitizer_start_switch_fiber(&fake, f->stack, f->stack_size);
#endif
#ifdef LT__TSAN
	if (!h->tsan)
		h->tsan = __tsan_get_current_fiber();
	__tsan_switch_to_fiber(f->tsan, 0);
#endif
	f->host = h;
#ifdef LT__FIBER_ASM
	lt__ctx_switch(&h->sp, f->sp);
#else
	swapcontext(&h->uc, &f->uc);
#endif
#ifdef LT__ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

/* to_host - switches from fiber `f` back to the thread that resumed it. */
static void to_host(struct lt__fiber *f, int exiting)
{
	struct lt__fiber_host *h = f->host;

#ifdef LT__ASAN
	void *fake = NULL;

	/* An exiting fiber's fake stack is freed (NULL save slot). */
	__sanitizer_start_switch_fiber(exiting ? NULL : &fake, f->from_bottom, f->from_size);
#endif
#ifdef LT__TSAN
	__tsan_switch_to_fiber(h->tsan, 0);
#endif
#ifdef LT__FIBER_ASM
	lt__ctx_switch(&f->sp, h->sp);
#else
	swapcontext(&f->uc, &h->uc);
#endif
	(void)exiting;
#ifdef LT__ASAN
	/* Resumed, maybe by another thread: learn that thread's stack for the next switch. */
	__sanitizer_finish_switch_fiber(fake, &f->from_bottom, &f->from_size);
#endif
}

void lt__fiber_suspend(struct lt__fiber *f)
{
	to_host(f, 0);
}

void lt__fiber_exit(struct lt__fiber *f)
{
	to_host(f, 1);
	abort(); /* never resumed */
}
