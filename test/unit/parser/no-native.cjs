// `node --require test/unit/parser/no-native.cjs ...`: the native tree-sitter binding fails to
// load, as on a system whose libstdc++ is too old for it (worker threads inherit --require).
// The message is the one such a system gives.
const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'tree-sitter' || request === 'tree-sitter-c') {
    throw new Error("/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.31' not found (simulated by test/unit/parser/no-native.cjs)");
  }
  return load.call(this, request, ...rest);
};
