#!/usr/bin/env node
/**
 * `overlayd-cni`: the CNI plugin (src/cni/). A runtime runs it with CNI_*
 * variables and the network configuration on stdin; it prints a result or a
 * CNI error object and exits 0 or 1. `overlayctl cni install` puts it where
 * runtimes look.
 */
import { runPlugin } from '../cni/plugin.js';

/** All of stdin as text. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const out = await runPlugin(process.env, readStdin);
// Exit once stdout is flushed: the HTTP agent's idle keep-alive socket must not hold the runtime up.
if (out.stdout === '') process.exit(out.exitCode);
else process.stdout.write(out.stdout, () => process.exit(out.exitCode));
