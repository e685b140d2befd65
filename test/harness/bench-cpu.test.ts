/**
 * bench/lib/cpu.ts: /proc/PID/stat and /proc/stat parsing, and the live
 * readings it builds on them (this process's own CPU time, a wrapped
 * child's real pid). Nothing here needs root.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import {
  CLOCK_TICKS,
  descendants,
  findTunnelProcess,
  isProgram,
  measureCpu,
  parseProcStat,
  parseSoftirqTicks,
  processCpuSeconds,
  softirqCpuSeconds,
} from '../../bench/lib/cpu.js';

// A real /proc/PID/stat line (wireguard-go), with the name changed to one holding a space and a parenthesis.
const STAT_LINE =
  '4242 (wg (go) x) S 4200 4242 4200 0 -1 4194560 1630 0 0 0 731 1244 0 0 20 0 9 0 123456 1298108416 2048 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n';

const PROC_STAT = `cpu  264418 1127 98077 4631220 2862 0 7311 0 0 0
cpu0 132000 600 49000 2315000 1400 0 3655 0 0 0
cpu1 132418 527 49077 2316220 1462 0 3656 0 0 0
intr 1 2 3
ctxt 99
`;

describe('bench CPU accounting', () => {
  it('reads utime and stime after the last parenthesis of a stat line', () => {
    expect(parseProcStat(STAT_LINE)).toEqual({ pid: 4242, comm: 'wg (go) x', ppid: 4200, utime: 731, stime: 1244 });
  });

  it('rejects what is not a stat line', () => {
    expect(() => parseProcStat('no parentheses here')).toThrow(/not a \/proc\/PID\/stat line/);
  });

  it('takes the softirq column of the aggregate cpu line, not of one CPU', () => {
    expect(parseSoftirqTicks(PROC_STAT)).toBe(7311);
    expect(() => parseSoftirqTicks('cpu0 1 2 3 4 5 6 7\n')).toThrow(/aggregate cpu line/);
  });

  it('sees this process use CPU while it spins, and softirq time as a cumulative figure', async () => {
    expect(CLOCK_TICKS).toBeGreaterThan(0);
    expect(softirqCpuSeconds()).toBeGreaterThanOrEqual(0);
    // Spin until the process has used 0.2 s of CPU (however long a shared, busy machine takes, up to 20 s).
    const start = processCpuSeconds(process.pid);
    const usage = await measureCpu(() => processCpuSeconds(process.pid), async () => {
      const end = performance.now() + 20_000;
      while (processCpuSeconds(process.pid) - start < 0.2 && performance.now() < end) {
        for (let i = 0; i < 100_000; i++) Math.sqrt(i);
      }
    });
    expect(usage.cpuSeconds).toBeGreaterThanOrEqual(0.2 - 1 / CLOCK_TICKS);
    expect(usage.wallSeconds).toBeGreaterThan(0);
    expect(usage.cores).toBeCloseTo(usage.cpuSeconds / usage.wallSeconds, 6);
  });

  it('finds the real process under a wrapper that forks (a shell) and the process itself when it is no wrapper', async () => {
    const wrapper = spawn('sh', ['-c', 'sleep 30; true'], { stdio: 'ignore' });
    try {
      const pid = wrapper.pid ?? -1;
      let sleeper: number | undefined;
      for (let i = 0; i < 50 && sleeper === undefined; i++) {
        sleeper = descendants(pid)[0];
        if (sleeper === undefined) await new Promise((r) => setTimeout(r, 20));
      }
      expect(findTunnelProcess(pid, isProgram('sleep'), 'sleep')).toBe(sleeper);
      expect(findTunnelProcess(sleeper, isProgram('sleep'), 'sleep')).toBe(sleeper);
      expect(() => findTunnelProcess(pid, isProgram('nebula'), 'nebula')).toThrow(/no nebula process at or under pid/);
      expect(() => findTunnelProcess(undefined, isProgram('sleep'), 'sleep')).toThrow(/no sleep process/);
    } finally {
      for (const child of descendants(wrapper.pid ?? -1)) process.kill(child, 'SIGKILL'); // before the shell: then they are still its children
      wrapper.kill('SIGKILL');
    }
  });

  it('matches a program by name or by path, not by a longer name', () => {
    expect(isProgram('nebula')(['nebula', '-config', 'x'])).toBe(true);
    expect(isProgram('nebula')(['/usr/bin/nebula'])).toBe(true);
    expect(isProgram('nebula')(['nebula-cert', 'ca'])).toBe(false);
    expect(isProgram('nebula')(['ip', 'netns', 'exec', 'n', 'nebula'])).toBe(false);
  });
});
