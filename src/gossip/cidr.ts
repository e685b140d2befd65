/** CIDR matching for Config.cidrsAllowed. */
import { ipToBytes } from './node.js';

/** True when the raw address `addr` (4 or 16 bytes) lies in `cidr` ("198.18.0.0/15", "2001:db8::/32"). */
export function cidrContains(cidr: string, addr: Buffer): boolean {
  const slash = cidr.indexOf('/');
  const net = ipToBytes(slash < 0 ? cidr : cidr.slice(0, slash));
  if (!net || net.length !== addr.length) return false;
  const bits = slash < 0 ? net.length * 8 : Number(cidr.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > net.length * 8) return false;
  for (let i = 0; i < net.length; i++) {
    const take = Math.min(8, Math.max(0, bits - i * 8));
    const mask = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
    if ((net[i]! & mask) !== (addr[i]! & mask)) return false;
  }
  return true;
}
