/**
 * Built-in knowledge of Linux 6.1 APIs, as data. Every row names the header (path in the
 * linux-source-6.1 tree) that declares it; the corpus test checks each name appears there.
 */
import type { ApiRow, DefinerRow, Knowledge, OpsStructRow, TableMacroRow, ValueRow } from './types';

const SLAB = 'include/linux/slab.h';
const WAIT = 'include/linux/wait.h';
const WQ = 'include/linux/workqueue.h';
const TIMER = 'include/linux/timer.h';
const IRQ = 'include/linux/interrupt.h';
const RCU = 'include/linux/rcupdate.h';
const MM = 'include/linux/mm.h';
const FS = 'include/linux/fs.h';
const FILE = 'include/linux/file.h';
const KERNFS = 'include/linux/kernfs.h';
const SPIN = 'include/linux/spinlock.h';

const rows = (header: string, base: Omit<ApiRow, 'name' | 'header'>, ...names: string[]): ApiRow[] =>
  names.map((name) => ({ name, header, ...base }));

export const API_ROWS: ApiRow[] = [
  // Allocation: the object is the value the call returns.
  ...rows(SLAB, { effect: 'alloc', arg: 'ret' }, 'kmalloc', 'kzalloc', 'kcalloc', 'kmalloc_array', 'kvmalloc', 'kvzalloc', 'kvcalloc', 'kmalloc_node', 'kzalloc_node', 'kmem_cache_alloc', 'kmem_cache_zalloc', 'krealloc'),
  ...rows('include/linux/vmalloc.h', { effect: 'alloc', arg: 'ret' }, 'vmalloc', 'vzalloc'),
  ...rows('include/linux/device.h', { effect: 'alloc', arg: 'ret' }, 'devm_kzalloc', 'devm_kmalloc', 'devm_kcalloc'),
  ...rows('include/linux/string.h', { effect: 'alloc', arg: 'ret' }, 'kstrdup', 'kmemdup'),

  // Frees.
  ...rows(SLAB, { effect: 'free', mode: 'now' }, 'kfree', 'kvfree', 'kfree_sensitive'),
  { name: 'kmem_cache_free', header: SLAB, effect: 'free', mode: 'now', arg: 1 },
  { name: 'vfree', header: 'include/linux/vmalloc.h', effect: 'free', mode: 'now' },
  { name: 'devm_kfree', header: 'include/linux/device.h', effect: 'free', mode: 'now', arg: 1 },
  ...rows(RCU, { effect: 'free', mode: 'rcu' }, 'kfree_rcu', 'kvfree_rcu', 'kfree_rcu_mightsleep'),
  { name: 'call_rcu', header: RCU, effect: 'free', mode: 'rcu', owner: true, callbackArg: 1 },
  { name: 'synchronize_rcu', header: RCU, effect: 'rcuWait' },
  { name: 'synchronize_rcu_expedited', header: 'include/linux/rcutree.h', effect: 'rcuWait' },
  { name: 'rcu_barrier', header: 'include/linux/rcutree.h', effect: 'rcuBarrier' },

  // Waitqueues and poll.
  { name: 'init_waitqueue_head', header: WAIT, effect: 'initWq' },
  { name: 'poll_wait', header: 'include/linux/poll.h', effect: 'pollWait', arg: 1 },
  { name: 'kernfs_generic_poll', header: KERNFS, effect: 'genericPoll' },
  ...rows(WAIT, { effect: 'wake' }, 'wake_up', 'wake_up_all', 'wake_up_nr', 'wake_up_interruptible', 'wake_up_interruptible_all', 'wake_up_interruptible_nr', 'wake_up_poll', 'wake_up_interruptible_poll', 'wake_up_interruptible_sync', 'wake_up_interruptible_sync_poll', 'wake_up_locked', 'wake_up_locked_poll', 'wake_up_all_locked'),
  { name: 'wake_up_pollfree', header: WAIT, effect: 'wakePollfree' },
  { name: 'kernfs_notify', header: KERNFS, effect: 'notify' },
  { name: 'cgroup_file_notify', header: 'include/linux/cgroup.h', effect: 'notify' },
  { name: 'sysfs_notify', header: 'include/linux/sysfs.h', effect: 'notify' },

  // File references.
  { name: 'get_file', header: FS, effect: 'getFile' },
  ...rows(FILE, { effect: 'getFile', arg: 'ret' }, 'fget', 'fget_raw'),
  ...rows(FILE, { effect: 'fput' }, 'fput', 'fdput', '__fput_sync'),
  { name: 'filp_close', header: FS, effect: 'fput' },

  // Deferred execution: bind, arm, cancel.
  ...rows(WQ, { effect: 'asyncInit', callbackArg: 1, mechanism: 'work' }, 'INIT_WORK', 'INIT_WORK_ONSTACK'),
  { name: 'INIT_DELAYED_WORK', header: WQ, effect: 'asyncInit', callbackArg: 1, mechanism: 'delayed_work' },
  { name: 'timer_setup', header: TIMER, effect: 'asyncInit', callbackArg: 1, mechanism: 'timer' },
  { name: 'tasklet_init', header: IRQ, effect: 'asyncInit', callbackArg: 1, mechanism: 'tasklet' },
  { name: 'tasklet_setup', header: IRQ, effect: 'asyncInit', callbackArg: 1, mechanism: 'tasklet' },
  { name: 'hrtimer_init', header: 'include/linux/hrtimer.h', effect: 'asyncInit', mechanism: 'hrtimer' },
  { name: 'schedule_work', header: WQ, effect: 'asyncArm', mechanism: 'work' },
  { name: 'queue_work', header: WQ, effect: 'asyncArm', arg: 1, mechanism: 'work' },
  { name: 'schedule_delayed_work', header: WQ, effect: 'asyncArm', mechanism: 'delayed_work' },
  ...rows(WQ, { effect: 'asyncArm', arg: 1, mechanism: 'delayed_work' }, 'queue_delayed_work', 'mod_delayed_work'),
  ...rows(TIMER, { effect: 'asyncArm', mechanism: 'timer' }, 'mod_timer', 'add_timer', 'timer_reduce'),
  { name: 'hrtimer_start', header: 'include/linux/hrtimer.h', effect: 'asyncArm', mechanism: 'hrtimer' },
  ...rows(IRQ, { effect: 'asyncArm', mechanism: 'tasklet' }, 'tasklet_schedule', 'tasklet_hi_schedule'),
  ...rows(IRQ, { effect: 'asyncArm', arg: 4, callbackArg: 1, mechanism: 'irq' }, 'request_irq', 'devm_request_irq'),
  { name: 'request_threaded_irq', header: IRQ, effect: 'asyncArm', arg: 5, callbackArg: 1, mechanism: 'irq' },
  ...rows(WQ, { effect: 'asyncCancel', mechanism: 'work' }, 'cancel_work_sync', 'flush_work'),
  ...rows(WQ, { effect: 'asyncCancel', mechanism: 'delayed_work' }, 'cancel_delayed_work_sync', 'flush_delayed_work'),
  ...rows(WQ, { effect: 'asyncCancel', mechanism: 'workqueue' }, 'flush_workqueue', 'destroy_workqueue', 'drain_workqueue'),
  ...rows(TIMER, { effect: 'asyncCancel', mechanism: 'timer' }, 'del_timer_sync', 'timer_delete_sync', 'timer_shutdown_sync'),
  { name: 'hrtimer_cancel', header: 'include/linux/hrtimer.h', effect: 'asyncCancel', mechanism: 'hrtimer' },
  { name: 'tasklet_kill', header: IRQ, effect: 'asyncCancel', mechanism: 'tasklet' },
  { name: 'free_irq', header: IRQ, effect: 'asyncCancel', arg: 1, mechanism: 'irq' },
  { name: 'devm_free_irq', header: IRQ, effect: 'asyncCancel', arg: 2, mechanism: 'irq' },
  { name: 'kthread_run', header: 'include/linux/kthread.h', effect: 'asyncArm', arg: 1, callbackArg: 0, mechanism: 'kthread' },
  { name: 'kthread_stop', header: 'include/linux/kthread.h', effect: 'asyncCancel', mechanism: 'kthread' },

  // Page pins (FOLL_PIN) and references (FOLL_GET). The pages array is the pin's store.
  ...rows(MM, { effect: 'pin', arg: 3, flagsArg: 2 }, 'pin_user_pages', 'pin_user_pages_fast'),
  { name: 'pin_user_pages_remote', header: MM, effect: 'pin', arg: 4, flagsArg: 3 },
  { name: 'pin_user_pages_unlocked', header: MM, effect: 'pin', arg: 2, flagsArg: 3 },
  ...rows(MM, { effect: 'pin', arg: 3, flagsArg: 2, gup: true }, 'get_user_pages', 'get_user_pages_fast'),
  { name: 'get_user_pages_remote', header: MM, effect: 'pin', arg: 4, flagsArg: 3, gup: true },
  { name: 'get_user_pages_unlocked', header: MM, effect: 'pin', arg: 2, flagsArg: 3, gup: true },
  ...rows(MM, { effect: 'unpin' }, 'unpin_user_page', 'unpin_user_pages', 'unpin_user_pages_dirty_lock', 'unpin_user_page_range_dirty_lock'),
  { name: 'put_page', header: MM, effect: 'putPage' },
  { name: 'ib_umem_get', header: 'include/rdma/ib_umem.h', effect: 'pin', arg: 'ret', longterm: true },
  { name: 'ib_umem_release', header: 'include/rdma/ib_umem.h', effect: 'unpin' },
  // libibverbs (user space): a memory registration is a long-term pin of the range.
  // The pinned range is the address argument; the registration (the mr) is what unpins it.
  // (an on-demand-paging registration pins nothing: the HCA faults pages in through an mmu notifier)
  ...rows('infiniband/verbs.h (rdma-core)', { effect: 'pin', arg: 1, retAsValue: true, longterm: true, flagsArg: 3, unlessFlag: 'IBV_ACCESS_ON_DEMAND' }, 'ibv_reg_mr', 'ibv_reg_mr_iova'),
  { name: 'ibv_reg_mr_iova2', header: 'infiniband/verbs.h (rdma-core)', effect: 'pin', arg: 1, retAsValue: true, longterm: true, flagsArg: 4, unlessFlag: 'IBV_ACCESS_ON_DEMAND' },
  // the device context is a file (/dev/infiniband/uverbsN); its release destroys the registrations
  { name: 'ibv_open_device', header: 'infiniband/verbs.h (rdma-core)', effect: 'getFile', arg: 'ret' },
  { name: 'ibv_close_device', header: 'infiniband/verbs.h (rdma-core)', effect: 'fput' },
  ...rows('stdlib.h (libc)', { effect: 'exit' }, 'exit', '_exit', '_Exit', 'abort'),
  { name: 'ibv_reg_dmabuf_mr', header: 'infiniband/verbs.h (rdma-core)', effect: 'pin', arg: 'ret', longterm: true },
  { name: 'ibv_dereg_mr', header: 'infiniband/verbs.h (rdma-core)', effect: 'unpin' },
  // user space: open(2) makes an open file description, close(2) drops the fd's reference to it,
  // mmap(2) of an fd maps the file (the mapping holds its own reference, mm/mmap.c), munmap(2) drops it
  ...rows('fcntl.h (libc)', { effect: 'getFile', arg: 'ret' }, 'open', 'openat', 'creat'),
  { name: 'close', header: 'unistd.h (libc)', effect: 'fput' },
  { name: 'mmap', header: 'sys/mman.h (libc)', effect: 'mapFile', arg: 4, retAsValue: true },
  { name: 'munmap', header: 'sys/mman.h (libc)', effect: 'unmap' },

  // Leases. fcntl rows are for user-space inputs: F_UNLCK first, it is the more specific.
  { name: 'fcntl', header: 'fcntl.h (libc)', effect: 'dropLease', when: [{ arg: 1, equals: 'F_SETLEASE' }, { arg: 2, equals: 'F_UNLCK' }] },
  { name: 'fcntl', header: 'fcntl.h (libc)', effect: 'setLease', when: [{ arg: 1, equals: 'F_SETLEASE' }] },
  { name: 'vfs_setlease', header: FS, effect: 'dropLease', when: [{ arg: 1, equals: 'F_UNLCK' }] },
  ...rows(FS, { effect: 'setLease' }, 'vfs_setlease', 'generic_setlease'),
  { name: 'fcntl_setlease', header: FS, effect: 'dropLease', arg: 1, when: [{ arg: 2, equals: 'F_UNLCK' }] },
  { name: 'fcntl_setlease', header: FS, effect: 'setLease', arg: 1 },
  { name: 'locks_remove_file', header: FS, effect: 'dropLease' },

  // RCU publication.
  { name: 'rcu_assign_pointer', header: RCU, effect: 'publish', valueArg: 1 },
  { name: 'RCU_INIT_POINTER', header: RCU, effect: 'publish', valueArg: 1 },
  { name: 'rcu_replace_pointer', header: RCU, effect: 'publish', valueArg: 1 },

  // kernfs active protection and locks.
  { name: 'smp_store_release', header: 'include/asm-generic/barrier.h', effect: 'publish', pointerArg: true, valueArg: 1 },
  { name: 'kernfs_break_active_protection', header: KERNFS, effect: 'breakActive' },
  { name: 'kernfs_unbreak_active_protection', header: KERNFS, effect: 'unbreakActive' },
  { name: 'cgroup_kn_lock_live', header: 'kernel/cgroup/cgroup-internal.h', effect: 'breakActive', also: ['lock'] },
  { name: 'cgroup_kn_unlock', header: 'kernel/cgroup/cgroup-internal.h', effect: 'unlock', also: ['unbreakActive'] },
  ...rows('include/linux/mutex.h', { effect: 'lock' }, 'mutex_lock', 'mutex_lock_interruptible', 'mutex_lock_killable', 'mutex_lock_nested'),
  { name: 'mutex_unlock', header: 'include/linux/mutex.h', effect: 'unlock' },
  { name: 'cgroup_lock', header: 'include/linux/cgroup.h', effect: 'lock' },
  { name: 'cgroup_unlock', header: 'include/linux/cgroup.h', effect: 'unlock' },
  ...rows(SPIN, { effect: 'lock' }, 'spin_lock', 'spin_lock_irq', 'spin_lock_irqsave', 'spin_lock_bh'),
  ...rows(SPIN, { effect: 'unlock' }, 'spin_unlock', 'spin_unlock_irq', 'spin_unlock_irqrestore', 'spin_unlock_bh'),

  // Severing: open files outlive the node; their ->release may run now.
  ...rows(KERNFS, { effect: 'sever' }, 'kernfs_remove', 'kernfs_remove_by_name', 'kernfs_remove_by_name_ns', 'kernfs_remove_self'),
  { name: 'kernfs_show', header: KERNFS, effect: 'sever', when: [{ arg: 1, equals: 'false' }] },
  { name: 'cgroup_file_show', header: 'include/linux/cgroup.h', effect: 'sever', when: [{ arg: 1, equals: 'false' }] },
  ...rows('include/linux/debugfs.h', { effect: 'sever' }, 'debugfs_remove', 'debugfs_remove_recursive'),
  { name: 'proc_remove', header: 'include/linux/proc_fs.h', effect: 'sever' },
  ...rows('include/linux/proc_fs.h', { effect: 'sever', arg: 0 }, 'remove_proc_entry', 'remove_proc_subtree'),

  // Registration of ops tables with the kernel.
  ...rows('include/linux/debugfs.h', { effect: 'register', arg: 4, registry: 'debugfs' }, 'debugfs_create_file', 'debugfs_create_file_unsafe'),
  { name: 'debugfs_create_file_size', header: 'include/linux/debugfs.h', effect: 'register', arg: 4, registry: 'debugfs' },
  { name: 'proc_create', header: 'include/linux/proc_fs.h', effect: 'register', arg: 3, registry: 'procfs' },
  { name: 'proc_create_data', header: 'include/linux/proc_fs.h', effect: 'register', arg: 3, registry: 'procfs' },
  { name: 'misc_register', header: 'include/linux/miscdevice.h', effect: 'register', registry: 'misc' },
  { name: 'misc_deregister', header: 'include/linux/miscdevice.h', effect: 'unregister', registry: 'misc' },
  { name: 'cdev_init', header: 'include/linux/cdev.h', effect: 'register', arg: 1, registry: 'cdev' },
  { name: 'cdev_del', header: 'include/linux/cdev.h', effect: 'unregister', registry: 'cdev' },
  // __register_chrdev copies fops->owner into its cdev: without .owner nothing pins the module
  { name: 'register_chrdev', header: 'include/linux/fs.h', effect: 'register', arg: 2, registry: 'cdev' },
  { name: '__register_chrdev', header: 'include/linux/fs.h', effect: 'register', arg: 4, registry: 'cdev' },
  ...rows('include/linux/anon_inodes.h', { effect: 'register', arg: 1, registry: 'anon_inode' }, 'anon_inode_getfd', 'anon_inode_getfile'),
  { name: '__platform_driver_register', header: 'include/linux/platform_device.h', effect: 'register', registry: 'driver' },
  { name: 'platform_driver_register', header: 'include/linux/platform_device.h', effect: 'register', registry: 'driver' },
  { name: 'pci_register_driver', header: 'include/linux/pci.h', effect: 'register', registry: 'driver' },
  { name: 'usb_register', header: 'include/linux/usb.h', effect: 'register', registry: 'driver' },

  // Module references.
  { name: 'try_module_get', header: 'include/linux/module.h', effect: 'moduleGet' },
  { name: 'module_put', header: 'include/linux/module.h', effect: 'modulePut' },
];

export const VALUE_ROWS: ValueRow[] = [
  { name: 'READ_ONCE', arg: 0, header: 'include/asm-generic/rwonce.h' },
  { name: 'smp_load_acquire', arg: 0, load: true, header: 'include/asm-generic/barrier.h' },
  ...['rcu_dereference', 'rcu_dereference_protected', 'rcu_dereference_raw', 'rcu_dereference_check', 'rcu_access_pointer'].map(
    (name) => ({ name, arg: 0, header: RCU }),
  ),
  { name: 'srcu_dereference', arg: 0, header: 'include/linux/srcu.h' },
  // container_of(ptr, type, member) and friends: the object that embeds ptr
  ...['container_of'].map((name) => ({ name, arg: 0, container: { typeArg: 1 }, header: 'include/linux/container_of.h' })),
  ...['list_entry'].map((name) => ({ name, arg: 0, container: { typeArg: 1 }, header: 'include/linux/list.h' })),
  { name: 'hlist_entry', arg: 0, container: { typeArg: 1 }, header: 'include/linux/list.h' },
  // from_timer(var, timer, field): the type is var's, which the call does not spell
  { name: 'from_timer', arg: 1, container: {}, header: TIMER },
  { name: 'from_tasklet', arg: 1, container: {}, header: IRQ },
];

const FOPS_ORDER =
  'owner llseek read write read_iter write_iter iopoll iterate iterate_shared poll unlocked_ioctl compat_ioctl mmap mmap_supported_flags open flush release fsync fasync lock sendpage get_unmapped_area check_flags flock splice_write splice_read splice_eof setlease fallocate show_fdinfo mmap_capabilities copy_file_range remap_file_range fadvise uring_cmd uring_cmd_iopoll'.split(' ');

const roles = (o: Record<string, string>): OpsStructRow['roles'] => {
  const out: OpsStructRow['roles'] = {};
  for (const [role, fields] of Object.entries(o)) for (const f of fields.split(' ')) out[f] = role as never;
  return out;
};

export const OPS_STRUCTS: OpsStructRow[] = [
  {
    struct: 'file_operations', kind: 'file_operations', semantics: 'vfs', header: FS, order: FOPS_ORDER,
    roles: roles({
      owner: 'owner', open: 'open', release: 'release', flush: 'flush', poll: 'poll', mmap: 'mmap', fasync: 'fasync',
      io: 'llseek read write read_iter write_iter iopoll iterate iterate_shared unlocked_ioctl compat_ioctl fsync splice_write splice_read uring_cmd',
    }),
  },
  {
    struct: 'proc_ops', kind: 'proc_ops', semantics: 'procfs', header: 'include/linux/proc_fs.h',
    order: 'proc_flags proc_open proc_read proc_read_iter proc_write proc_lseek proc_release proc_poll proc_ioctl proc_compat_ioctl proc_mmap proc_get_unmapped_area'.split(' '),
    roles: roles({
      open: 'proc_open', release: 'proc_release', poll: 'proc_poll', mmap: 'proc_mmap',
      io: 'proc_read proc_read_iter proc_write proc_lseek proc_ioctl proc_compat_ioctl',
    }),
  },
  {
    struct: 'kernfs_ops', kind: 'kernfs_ops', semantics: 'kernfs', header: KERNFS,
    order: 'open release seq_show seq_start seq_next seq_stop read atomic_write_len prealloc write poll mmap'.split(' '),
    roles: roles({ open: 'open', release: 'release', poll: 'poll', mmap: 'mmap', io: 'seq_show seq_start seq_next seq_stop read write' }),
  },
  {
    // cgroup wraps every cftype into kernfs_ops (cgroup_kf_ops): kernfs severing applies.
    struct: 'cftype', kind: 'cftype', semantics: 'cgroup', header: 'include/linux/cgroup-defs.h',
    order: 'name private max_write_len flags file_offset ss node kf_ops open release read_u64 read_s64 seq_show seq_start seq_next seq_stop write_u64 write_s64 write poll'.split(' '),
    roles: roles({
      name: 'name', open: 'open', release: 'release', poll: 'poll', ops: 'kf_ops',
      io: 'read_u64 read_s64 seq_show seq_start seq_next seq_stop write_u64 write_s64 write',
    }),
  },
  {
    struct: 'vm_operations_struct', kind: 'vm_operations_struct', semantics: 'vma', header: MM,
    order: 'open close may_split mremap mprotect fault huge_fault map_pages pagesize page_mkwrite pfn_mkwrite access name set_policy get_policy find_special_page'.split(' '),
    roles: roles({ vmOpen: 'open', vmClose: 'close', fault: 'fault huge_fault map_pages page_mkwrite pfn_mkwrite access' }),
  },
  {
    struct: 'platform_driver', kind: 'platform_driver', semantics: 'driver', header: 'include/linux/platform_device.h',
    order: 'probe remove remove_new shutdown suspend resume driver id_table prevent_deferred_probe driver_managed_dma'.split(' '),
    roles: roles({ probe: 'probe', remove: 'remove remove_new', shutdown: 'shutdown' }),
  },
  {
    struct: 'pci_driver', kind: 'pci_driver', semantics: 'driver', header: 'include/linux/pci.h',
    order: 'node name id_table probe remove suspend resume shutdown sriov_configure sriov_set_msix_vec_count sriov_get_vf_total_msix err_handler groups dev_groups driver dynids driver_managed_dma'.split(' '),
    roles: roles({ name: 'name', probe: 'probe', remove: 'remove', shutdown: 'shutdown' }),
  },
  {
    struct: 'usb_driver', kind: 'usb_driver', semantics: 'driver', header: 'include/linux/usb.h',
    order: 'name probe disconnect unlocked_ioctl suspend resume reset_resume pre_reset post_reset id_table dev_groups dynids driver'.split(' '),
    roles: roles({ name: 'name', probe: 'probe', remove: 'disconnect', io: 'unlocked_ioctl' }),
  },
  {
    struct: 'miscdevice', kind: 'miscdevice', semantics: 'misc', header: 'include/linux/miscdevice.h',
    order: 'minor name fops list parent this_device groups nodename mode'.split(' '),
    roles: roles({ name: 'name', fops: 'fops' }),
  },
  {
    // VFIO IOMMU backends (vfio_iommu_type1, spapr_tce): the container calls ->open(arg) on
    // VFIO_SET_IOMMU and keeps what it returns as container->iommu_data (container.c:308-324);
    // every later call passes it back as the first argument (->ioctl at 359, VFIO_IOMMU_MAP_DMA
    // included), and ->release(iommu_data) runs once, when the container's last group detaches
    // (__vfio_group_unset_container, container.c:502-506) or SET_IOMMU fails (317).
    struct: 'vfio_iommu_driver_ops', kind: 'vfio_iommu_driver_ops', semantics: 'object', header: 'drivers/vfio/vfio.h',
    order: 'name owner open release ioctl attach_group detach_group pin_pages unpin_pages register_device unregister_device dma_rw group_iommu_domain notify'.split(' '),
    roles: roles({ owner: 'owner', name: 'name', open: 'open', release: 'release', io: 'ioctl' }),
    object: { noun: 'container IOMMU object', params: { release: 0, ioctl: 0 }, lifetime: '->release(iommu_data) once, when the container\'s last group detaches (drivers/vfio/container.c:502-506)' },
  },
  {
    // RDMA provider methods, one user memory registration as the object: uverbs calls
    // ->reg_user_mr for REG_MR (uverbs_cmd.c:727, ib_reg_user_mr in verbs.c:2161) and keeps the
    // ib_mr in a uobject of the uverbs file; ->dereg_mr(mr, udata) runs once, on DEREG_MR or
    // when the uverbs file is released (ib_uverbs_close -> uverbs_destroy_ufile_hw, uverbs_main.c:967,
    // rdma_core.c:924) or its device goes away (uverbs_main.c:1196), through uverbs_free_mr ->
    // ib_dereg_mr_user (uverbs_std_types_mr.c:43, verbs.c:2206). The other object pairs of the
    // struct (create_cq/destroy_cq, create_qp/destroy_qp, ...) are not modelled.
    struct: 'ib_device_ops', kind: 'ib_device_ops', semantics: 'object', header: 'include/rdma/ib_verbs.h',
    order: ['owner', 'driver_id', 'uverbs_abi_ver'],
    roles: roles({ owner: 'owner', open: 'reg_user_mr', release: 'dereg_mr' }),
    object: { noun: 'memory registration', params: { dereg_mr: 0 }, lifetime: '->dereg_mr once per registration: DEREG_MR, or the uverbs file\'s release / device removal destroying its objects (uverbs_main.c:967, 1196)' },
  },
];

const SEQ = 'include/linux/seq_file.h';
const DEBUGFS = 'include/linux/debugfs.h';
const simpleAttr = (macro: string, header: string, read: string, write: string): TableMacroRow => ({
  macro, header, struct: 'file_operations', name: '{0}',
  fields: { owner: 'THIS_MODULE', open: '{0}_open', release: 'simple_attr_release', read, write, llseek: 'no_llseek' },
});

export const TABLE_MACROS: TableMacroRow[] = [
  {
    macro: 'DEFINE_SHOW_ATTRIBUTE', header: SEQ, struct: 'file_operations', name: '{0}_fops',
    fields: { owner: 'THIS_MODULE', open: '{0}_open', read: 'seq_read', llseek: 'seq_lseek', release: 'single_release' },
  },
  {
    macro: 'DEFINE_SEQ_ATTRIBUTE', header: SEQ, struct: 'file_operations', name: '{0}_fops',
    fields: { owner: 'THIS_MODULE', open: '{0}_open', read: 'seq_read', llseek: 'seq_lseek', release: 'seq_release' },
  },
  {
    macro: 'DEFINE_PROC_SHOW_ATTRIBUTE', header: SEQ, struct: 'proc_ops', name: '{0}_proc_ops',
    fields: { proc_open: '{0}_open', proc_read_iter: 'seq_read_iter', proc_lseek: 'seq_lseek', proc_release: 'single_release' },
  },
  simpleAttr('DEFINE_SIMPLE_ATTRIBUTE', FS, 'simple_attr_read', 'simple_attr_write'),
  simpleAttr('DEFINE_SIMPLE_ATTRIBUTE_SIGNED', FS, 'simple_attr_read', 'simple_attr_write_signed'),
  simpleAttr('DEFINE_DEBUGFS_ATTRIBUTE', DEBUGFS, 'debugfs_attr_read', 'debugfs_attr_write'),
  simpleAttr('DEFINE_DEBUGFS_ATTRIBUTE_SIGNED', DEBUGFS, 'debugfs_attr_read', 'debugfs_attr_write_signed'),
];

/** Blanked before parsing: they carry no lifecycle meaning and derail tree-sitter-c. */
const ANNOTATIONS =
  '__init __exit __initdata __exitdata __initconst __ref __refdata __rcu __user __iomem __percpu __force __must_check __maybe_unused __always_unused __ro_after_init __read_mostly __cacheline_aligned __cacheline_aligned_in_smp ____cacheline_aligned ____cacheline_aligned_in_smp __always_inline noinline __noreturn notrace __cold __hot __weak __visible asmlinkage __kprobes __nocfi __randomize_layout __latent_entropy __noinitretpoline __init_or_module __meminit __meminitdata __cpuinit __sched __used __pure __safe __private __nocast __bitwise __user_ro __nonstring noinstr __always_unused __exit_p __fastpath __no_kcsan __no_sanitize_address __no_kasan_or_inline __flatten __attribute_const__ __init_memblock __cpuidle __softirq_entry __no_caller_saved_registers __irq_entry __lockfunc __net_init __net_exit __net_initdata __head __page_aligned_bss __page_aligned_data __initdata_or_module __ksym __weak_alias fallthrough';
const ANNOTATIONS_WITH_ARGS =
  '__printf __scanf __releases __acquires __must_hold __section __aligned __alias __cond_lock __malloc __alloc_size __assume_aligned __diag_ignore __counted_by __guarded_by __pt_guarded_by __nonnull __realloc_size __designated_init __no_sanitize_or_inline';

/** `NAME0` .. `NAME<max>`: the arities of a function-defining macro. */
function definers(macro: string, max: number, returns: string, prefix: string, header: string): DefinerRow[] {
  return Array.from({ length: max + 1 }, (_, n) => ({ macro: `${macro}${n}`, returns, prefix, header }));
}

/** System calls and BPF helpers: their bodies are functions, and tree-sitter reads the macro as a call. */
const DEFINERS: DefinerRow[] = [
  ...definers('SYSCALL_DEFINE', 6, 'long', 'sys_', 'include/linux/syscalls.h'),
  ...definers('COMPAT_SYSCALL_DEFINE', 6, 'long', 'compat_sys_', 'include/linux/compat.h'),
  ...definers('BPF_CALL_', 5, 'u64', '', 'include/linux/filter.h'),
];

export const KERNEL_KNOWLEDGE: Knowledge = {
  apis: API_ROWS,
  values: VALUE_ROWS,
  structs: OPS_STRUCTS,
  macros: TABLE_MACROS,
  annotations: [...new Set(ANNOTATIONS.split(' '))],
  annotationsWithArgs: [...new Set(ANNOTATIONS_WITH_ARGS.split(' '))],
  definers: DEFINERS,
};

/**
 * What providers do around a table's handlers, as the simulator models it (names only: the
 * semantics live in sim/build.ts). cgroup: cgroup_file_open kzallocs the per-open context
 * into of->priv before cft->open, cgroup_file_release kfrees it after cft->release
 * (kernel/cgroup/cgroup.c); kernfs polls on the open node when ops->poll is NULL
 * (fs/kernfs/file.c kernfs_fop_poll); procfs releases open files early only for entries
 * some path removes (fs/proc/generic.c).
 */
export const PROVIDER_GLUE = {
  cgroupOpen: { fn: 'cgroup_file_open', alloc: 'kzalloc' },
  cgroupRelease: { fn: 'cgroup_file_release', free: 'kfree' },
  /** cgroup removes (cgroup_rmdir -> cgroup_destroy_locked) and hides (cgroup_file_show) files under this lock */
  cgroupSeverLock: 'cgroup_mutex',
  /** Calls whose lock is implied, not an argument: the lock each one takes or drops. */
  impliedLocks: { cgroup_lock: 'cgroup_mutex', cgroup_unlock: 'cgroup_mutex', cgroup_kn_lock_live: 'cgroup_mutex', cgroup_kn_unlock: 'cgroup_mutex' } as Record<string, string>,
  /**
   * Locks that fail once the cgroup is dead: cgroup_kn_lock_live() takes cgroup_mutex, sees
   * cgroup_is_dead() after cgroup_destroy_locked() and returns NULL (kernel/cgroup/cgroup.c);
   * its callers return at once.
   */
  liveLocks: ['cgroup_kn_lock_live'],
  /** A cftype field without which cgroup_file_show() cannot hide the file (it needs the struct cgroup_file). */
  cgroupFileHandle: 'file_offset',
  kernfsDefaultPoll: 'kernfs_generic_poll',
  procfsRemovers: ['remove_proc_entry', 'proc_remove', 'remove_proc_subtree'],
  /** allocators that return zeroed memory */
  zeroing: /zalloc|calloc/,
};
