// Preloaded (NODE_OPTIONS=--require, so it runs in worker threads too, where the checkpointer
// opens SQLite) by every Node process of a test run on a Node.js whose ABI is not the one
// `npm ci` built better-sqlite3 for (test/run.ts, test/setup/node.sh): when that process loads
// node_modules/better-sqlite3's compiled module, it gets the build made for its own ABI
// instead. node_modules is left as it is, so the machine's node goes on using its own. Any
// other process (another Node that inherits NODE_OPTIONS) is left alone.
'use strict';
const module_ = require('node:module');
const { pathToFileURL } = require('node:url');

const binding = process.env.SNAPLINK_TEST_SQLITE_BINDING;
const abi = process.env.SNAPLINK_TEST_SQLITE_ABI;
const BUILT = /\/node_modules\/better-sqlite3\/build\/Release\/better_sqlite3\.node$/;

if (binding && abi === process.versions.modules && typeof module_.registerHooks === 'function') {
  const to = pathToFileURL(binding).href;
  module_.registerHooks({
    resolve(specifier, context, next) {
      const resolved = next(specifier, context);
      return BUILT.test(resolved.url) ? { ...resolved, url: to, shortCircuit: true } : resolved;
    },
  });
}
