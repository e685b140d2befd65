/**
 * ESP throughput on one core: the C core (native/esp/esp.c through NativeEspSa,
 * in place, no allocation per packet) against src/crypto/esp.ts (node:crypto,
 * a cipher object and a Buffer per packet), sealing and opening 1450- and
 * 64-byte payloads with AES-128-GCM and AES-256-GCM, ESN on. Open runs over a
 * ring of pre-sealed packets, resetting the replay window after each lap.
 * "C core" loops inside one native call (sealRepeat/openRepeat: what a
 * worker thread gets); "per call" pays one JavaScript → C call per packet.
 * Prints a markdown table of Mpps and Gbit/s (payload bits).
 *
 *   npx tsx bench/esp-native.ts [--seconds S] [--trials N]   (S per trial, default 1; best of N, default 3)
 */
import { randomBytes } from 'node:crypto';
import {
  ESP_GCM_PREFIX_LENGTH,
  openEsp,
  ReplayWindow,
  SecurityAssociation,
  sealedLength,
  sealEsp,
} from '../src/crypto/index.js';
import { NativeEspSa } from '../src/dataplane/native-esp.js';

const argValue = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = argValue('--seconds', 1);
/** Each cell is measured this many times and the best kept: the machine is shared, so slower runs measure the neighbours. */
const TRIALS = argValue('--trials', 3);
const RING = 4096;
const SIZES = [1450, 64] as const;
const KEY_SIZES = [16, 32] as const;

/** The best of TRIALS measurements. */
function best(measure: () => number): number {
  let top = 0;
  for (let t = 0; t < TRIALS; t++) top = Math.max(top, measure());
  return top;
}

/** Calls `step(i)` for i = 0, 1, … until `SECONDS` pass (clock read every 256 calls); returns calls per second (best trial). */
function rate(step: (i: number) => void): number {
  return best(() => rateOnce(step));
}

function rateOnce(step: (i: number) => void): number {
  for (let i = 0; i < 2000; i++) step(i); // warm-up
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(SECONDS * 1e9));
  let i = 0;
  let elapsed = 0n;
  for (;;) {
    for (let j = 0; j < 256; j++) step(i++);
    elapsed = process.hrtime.bigint() - start;
    if (elapsed >= budget) break;
  }
  return i / (Number(elapsed) / 1e9);
}

/** Runs `loop(count)` (returning the seconds taken) for about `SECONDS`; returns packets per second (best trial). */
function loopRate(loop: (count: number) => number): number {
  const probe = 2000;
  const perPacket = loop(probe) / probe;
  const count = Math.max(probe, Math.min(0xffff_ffff, Math.round(SECONDS / perPacket)));
  return best(() => count / loop(count));
}

interface Cell {
  op: string;
  /** The C core in a loop inside one native call (what a worker thread gets). */
  core: number;
  /** One JavaScript → C call per packet. */
  native: number;
  node: number;
}

function benchSize(keySize: 16 | 32, size: number): Cell[] {
  const params = { spi: 0x1234_5678, key: randomBytes(keySize), salt: randomBytes(4) };
  const sa = new SecurityAssociation(params);
  const native = new NativeEspSa({ ...params, windowSize: RING });
  const payload = randomBytes(size);

  // Seal: native in place (payload behind 16 bytes of headroom), TypeScript as the agent calls it.
  const buf = Buffer.alloc(sealedLength(size));
  const view = buf.subarray(ESP_GCM_PREFIX_LENGTH, ESP_GCM_PREFIX_LENGTH + size);
  let nativeSeq = 0;
  const sealNative = rate(() => {
    payload.copy(view); // the previous round encrypted it in place
    native.sealInto(++nativeSeq, view, buf);
  });
  const sealCore = loopRate((count) => {
    const seconds = native.sealRepeat(nativeSeq + 1, buf, size, count);
    nativeSeq += count;
    return seconds;
  });
  let tsSeq = 0;
  const sealNode = rate(() => {
    sealEsp(sa, ++tsSeq, payload);
  });

  // Open: a ring of packets with numbers 1..RING; the window restarts after each lap.
  const ring = Array.from({ length: RING }, (_, i) => sealEsp(sa, i + 1, payload));
  const out = Buffer.alloc(sealedLength(size));
  const openNative = rate((i) => {
    const k = i % RING;
    if (k === 0) native.resetWindow();
    if (native.openInto(ring[k]!, out) !== size) throw new Error('native open failed');
  });
  const openCore = loopRate((count) => native.openRepeat(ring[0]!, count));
  const window = new ReplayWindow(RING);
  const openNode = rate((i) => {
    const k = i % RING;
    if (k === 0) window.reset();
    if (typeof openEsp(sa, window, ring[k]!) === 'string') throw new Error('openEsp failed');
  });
  return [
    { op: 'seal', core: sealCore, native: sealNative, node: sealNode },
    { op: 'open', core: openCore, native: openNative, node: openNode },
  ];
}

const fmt = (v: number, d = 2): string => v.toFixed(d);
const lines = [
  '| key | payload | op | C core Mpps | C core Gbit/s | native per call Mpps | Gbit/s | node:crypto Mpps | Gbit/s | core ÷ node | per call ÷ node |',
  '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const keySize of KEY_SIZES) {
  for (const size of SIZES) {
    for (const c of benchSize(keySize, size)) {
      const gbit = (pps: number): number => (pps * size * 8) / 1e9;
      lines.push(
        `| AES-${keySize * 8} | ${size} B | ${c.op} | ${fmt(c.core / 1e6, 3)} | ${fmt(gbit(c.core))} | ${fmt(c.native / 1e6, 3)} | ${fmt(gbit(c.native))} | ` +
          `${fmt(c.node / 1e6, 3)} | ${fmt(gbit(c.node))} | ${fmt(c.core / c.node, 1)} | ${fmt(c.native / c.node, 1)} |`,
      );
    }
  }
}
console.log(`ESP AES-GCM, ESN, one core, best of ${TRIALS} × ${SECONDS} s per cell (Gbit/s counts payload bits)\n`);
console.log(lines.join('\n'));
