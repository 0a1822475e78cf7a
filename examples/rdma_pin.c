// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_pin.c - kernlife example: a long-term page pin that outlives its file.
 *
 * A small self-written misc device in the style of RDMA/accelerator drivers: user space
 * hands a buffer to RP_IOC_PIN, the driver pins it with FOLL_LONGTERM (the device will
 * DMA into it at any time) and keeps the pages array in the open file's private data.
 *
 * The bug: rp_release() frees the pages array but never unpins the pages. Every open/
 * pin/close cycle leaks pinned pages (they can never be migrated, compacted or reclaimed),
 * and for file-backed memory the pin outlives any lease the process held.
 *
 * What kernlife shows:
 *   rp_do_pin()   alloc(ctx->pages), pin(ctx->pages, longterm)
 *   rp_ioctl()    the same, via rp_do_pin, on file->private_data->pages (case RP_IOC_PIN)
 *   rp_release()  free(file->private_data->pages) with no unpin() on that path
 *
 * Try:  node dist/cli.js facts examples/rdma_pin.c
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#define RP_IOC_PIN	_IOW('r', 1, struct rp_pin_req)
#define RP_IOC_UNPIN	_IO('r', 2)

struct rp_pin_req {
	__u64 addr;
	__u64 len;
};

struct rp_ctx {
	struct mutex lock;
	struct page **pages;
	unsigned long npages;
};

static int rp_open(struct inode *inode, struct file *file)
{
	struct rp_ctx *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	mutex_init(&ctx->lock);
	file->private_data = ctx;
	return 0;
}

static long rp_do_pin(struct rp_ctx *ctx, struct rp_pin_req __user *ureq)
{
	struct rp_pin_req req;
	struct page **pages;
	unsigned long n;
	int pinned;

	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	if (ctx->pages)
		return -EBUSY;

	n = DIV_ROUND_UP(req.len, PAGE_SIZE);
	pages = kvcalloc(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;

	/* the device keeps DMA-ing into these pages: a long-term pin */
	pinned = pin_user_pages_fast(req.addr, n, FOLL_WRITE | FOLL_LONGTERM, pages);
	if (pinned < 0) {
		kvfree(pages);
		return pinned;
	}

	ctx->pages = pages;
	ctx->npages = pinned;
	return 0;
}

static void rp_do_unpin(struct rp_ctx *ctx)
{
	unpin_user_pages(ctx->pages, ctx->npages);
	kvfree(ctx->pages);
	ctx->pages = NULL;
	ctx->npages = 0;
}

static long rp_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct rp_ctx *ctx = file->private_data;
	long ret = -ENOTTY;

	mutex_lock(&ctx->lock);
	switch (cmd) {
	case RP_IOC_PIN:
		ret = rp_do_pin(ctx, (struct rp_pin_req __user *)arg);
		break;
	case RP_IOC_UNPIN:
		if (ctx->pages)
			rp_do_unpin(ctx);
		ret = 0;
		break;
	}
	mutex_unlock(&ctx->lock);
	return ret;
}

static int rp_release(struct inode *inode, struct file *file)
{
	struct rp_ctx *ctx = file->private_data;

	/*
	 * BUG: the pages pinned by RP_IOC_PIN are still pinned here. This should be
	 * rp_do_unpin(ctx) (unpin_user_pages + kvfree), not just the kvfree.
	 */
	kvfree(ctx->pages);
	kfree(ctx);
	return 0;
}

static const struct file_operations rp_fops = {
	.owner		= THIS_MODULE,
	.open		= rp_open,
	.unlocked_ioctl	= rp_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.release	= rp_release,
	.llseek		= noop_llseek,
};

static struct miscdevice rp_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "rdma_pin_demo",
	.fops	= &rp_fops,
};

static int __init rp_init(void)
{
	return misc_register(&rp_misc);
}

static void __exit rp_exit(void)
{
	misc_deregister(&rp_misc);
}

module_init(rp_init);
module_exit(rp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kernlife example: long-term pin leaked by release");
