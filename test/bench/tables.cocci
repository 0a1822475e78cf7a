// Peer for `kernlife tables`: every initialised `struct file_operations` variable.
// Run by test/bench/bench.mjs as
//   spatch --sp-file test/bench/tables.cocci --very-quiet --no-includes -j N --dir DIR
// Prints one line per table: FILE:LINE:NAME (LINE is the line of NAME).
// The standard isomorphisms make this also match `static`, `const` and `__maybe_unused`
// declarations. It does not see tables built by macros (DEFINE_SHOW_ATTRIBUTE, ...) or
// arrays of file_operations; kernlife's count is split the same way in the report.

@r@
identifier I;
position p;
@@
struct file_operations I@p = { ... };

@script:python@
I << r.I;
p << r.p;
@@
print("%s:%s:%s" % (p[0].file, p[0].line, I))
