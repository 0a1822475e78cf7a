// SPDX-License-Identifier: GPL-2.0
/*
 * psi_like_cgroup.c - kernlife example, part 1 of 2: a cgroup interface file.
 *
 * Self-written, after the shape of the "*.pressure" files in kernel/cgroup/cgroup.c.
 * Writing a trigger spec to "demo.pressure" creates a trigger (psi_like_trigger.c) and
 * publishes it in the open file's cgroup context, of->priv. poll() waits on the trigger's
 * embedded waitqueue; release() destroys the trigger.
 *
 * Two bugs on purpose (kernlife check examples): the trigger's waitqueue is freed by
 * ->release while select() may still be queued on it, and demo_pressure_write() reads
 * of->priv before cgroup_kn_lock_live(), which gives up the file's active protection, so a
 * removal can release the context before the write stores into it.
 *
 * Why release() matters more than it looks: when the cgroup is removed (rmdir), kernfs
 * drains the files that are still open and calls ->release for them right away
 * (kernfs_drain_open_files), while user space still holds the file and its epoll entry.
 * So ->release can free memory that a live poller is registered on. The upstream cure is to
 * poll the kernfs open node instead (kernfs_generic_poll(of, pt), kernfs_notify(of->kn)).
 *
 * Try:  node dist/cli.js tables examples
 *       node dist/cli.js facts examples --function demo_pressure_release
 */
#include <linux/cgroup.h>
#include <linux/kernfs.h>
#include <linux/poll.h>
#include <linux/slab.h>

struct demo_trigger;
struct demo_trigger *demo_trigger_create(char *buf, size_t nbytes);
void demo_trigger_destroy(struct demo_trigger *t);
__poll_t demo_trigger_poll(void **trigger_ptr, struct file *file, poll_table *wait);

/*
 * of->priv is cgroup's: cgroup_file_open() allocates a struct cgroup_file_ctx there and
 * cgroup_file_release() frees it. Like the real pressure files, this one can be hidden.
 */
struct demo_cgroup { struct cgroup_file pressure_file; };
struct cgroup_file_ctx {
	struct demo_trigger *trigger;
};

static int demo_pressure_show(struct seq_file *seq, void *v)
{
	seq_puts(seq, "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	return 0;
}

static ssize_t demo_pressure_write(struct kernfs_open_file *of, char *buf,
				   size_t nbytes, loff_t off)
{
	struct cgroup_file_ctx *ctx = of->priv;
	struct demo_trigger *new;
	struct cgroup *cgrp;

	cgrp = cgroup_kn_lock_live(of->kn, false);
	if (!cgrp)
		return -ENODEV;

	/* one trigger per open file */
	if (ctx->trigger) {
		cgroup_kn_unlock(of->kn);
		return -EBUSY;
	}

	new = demo_trigger_create(buf, nbytes);
	if (IS_ERR(new)) {
		cgroup_kn_unlock(of->kn);
		return PTR_ERR(new);
	}

	/* pairs with smp_load_acquire() in demo_trigger_poll() */
	smp_store_release(&ctx->trigger, new);
	cgroup_kn_unlock(of->kn);

	return nbytes;
}

static __poll_t demo_pressure_poll(struct kernfs_open_file *of, poll_table *pt)
{
	struct cgroup_file_ctx *ctx = of->priv;

	return demo_trigger_poll((void **)&ctx->trigger, of->file, pt);
}

static void demo_pressure_release(struct kernfs_open_file *of)
{
	struct cgroup_file_ctx *ctx = of->priv;

	/* frees the waitqueue demo_pressure_poll() registered pollers on */
	demo_trigger_destroy(ctx->trigger);
	ctx->trigger = NULL;
}

static struct cftype demo_pressure_files[] = {
	{
		.name = "demo.pressure",
		.flags = CFTYPE_NOT_ON_ROOT,
		.seq_show = demo_pressure_show,
		.write = demo_pressure_write,
		.poll = demo_pressure_poll,
		.release = demo_pressure_release,
		/* cgroup_file_show(&dcg->pressure_file, false) hides it (cf. cgroup.pressure) */
		.file_offset = offsetof(struct demo_cgroup, pressure_file),
	},
	{ }	/* terminate */
};
