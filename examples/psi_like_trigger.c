// SPDX-License-Identifier: GPL-2.0
/*
 * psi_like_trigger.c - kernlife example, part 2 of 2: the "trigger" object.
 *
 * A self-written reproduction of the bug shape fixed upstream in kernel/sched/psi.c by
 * "sched/psi: Fix use-after-free in ep_remove_wait_queue()" (Linux 6.2 cycle): a trigger
 * embeds the waitqueue that pollers sleep on, and the trigger is freed from the file's
 * ->release while an epoll instance may still hold an entry on that waitqueue.
 *
 * The cgroup side (psi_like_cgroup.c) stores the trigger behind of->priv. Here we only
 * know about `struct demo_trigger *`; kernlife's summaries map these effects back onto
 * of->priv->trigger in the callers:
 *
 *   demo_trigger_poll()    pollWait(&of->priv->trigger->event_wait)
 *   demo_trigger_destroy() wake(&of->priv->trigger->event_wait); rcuWait(); free(of->priv->trigger)
 *
 * A plain wake_up*() does not detach epoll's wait entries; once the memory is gone, epoll
 * later unlinks its entry from freed memory (ep_remove_wait_queue -> remove_wait_queue).
 * wake_up_pollfree(&t->event_wait) followed by an RCU grace period fixes only that epoll
 * half: select()/poll() entries ignore POLLFREE and poll_freewait() still touches the head.
 * The real fix for a kernfs/cgroup file is to poll the kernfs open node, whose lifetime
 * follows the open files (kernfs_generic_poll() and kernfs_notify()).
 */
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/wait.h>

struct demo_trigger {
	/* pollers sleep here: embedded, so it dies with the trigger */
	wait_queue_head_t event_wait;
	/* set by the (omitted) monitor when the threshold is crossed */
	int event;
	u64 threshold_us;
	u64 window_us;
};

struct demo_trigger *demo_trigger_create(char *buf, size_t nbytes)
{
	struct demo_trigger *t;
	u64 threshold_us, window_us;

	if (sscanf(buf, "some %llu %llu", &threshold_us, &window_us) != 2)
		return ERR_PTR(-EINVAL);

	t = kmalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return ERR_PTR(-ENOMEM);

	t->event = 0;
	t->threshold_us = threshold_us;
	t->window_us = window_us;
	init_waitqueue_head(&t->event_wait);
	return t;
}

/* Called from the monitor when the threshold is crossed. */
void demo_trigger_fire(struct demo_trigger *t)
{
	if (cmpxchg(&t->event, 0, 1) == 0)
		wake_up_interruptible(&t->event_wait);
}

void demo_trigger_destroy(struct demo_trigger *t)
{
	if (!t)
		return;

	/*
	 * BUG (the shape kernlife looks for): this wakes pollers but leaves their entries
	 * on t->event_wait, which the kfree() below frees under them.
	 */
	wake_up_interruptible(&t->event_wait);

	/* readers found t through an RCU-published pointer: let them finish */
	synchronize_rcu();

	kfree(t);
}

__poll_t demo_trigger_poll(void **trigger_ptr, struct file *file, poll_table *wait)
{
	__poll_t ret = DEFAULT_POLLMASK;
	struct demo_trigger *t;

	t = smp_load_acquire(trigger_ptr);
	if (!t)
		return DEFAULT_POLLMASK | EPOLLERR | EPOLLPRI;

	/* registers an entry on t->event_wait that outlives this call (epoll) */
	poll_wait(file, &t->event_wait, wait);

	if (cmpxchg(&t->event, 1, 0) == 1)
		ret |= EPOLLPRI;

	return ret;
}
