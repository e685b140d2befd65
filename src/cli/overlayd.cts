#!/usr/bin/env node
/**
 * `overlayd`'s entry. The TypeScript path's TAP reads each hold a thread of
 * libuv's pool while they wait, so the agent needs a pool larger than the
 * default four (four networks would take every thread, and TAP writes and
 * file I/O would wait for a frame to arrive). The pool's size is read when
 * it starts, and the ES module loader starts it while it loads the first
 * module: so this entry is CommonJS, sets the size before anything runs, and
 * then loads the agent.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
void import('./overlayd-agent.js');
