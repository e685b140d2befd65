/** How the gossip wire tests name a decoder's refusal. */
import { GossipWireError, type GossipWireErrorCode } from '../../../src/gossip/wire/index.js';

/**
 * The GossipWireError code `fn` throws, or 'none' when it returns; any other
 * exception is passed on (a bug, not a refusal).
 */
export function codeOf(fn: () => unknown): GossipWireErrorCode | 'none' {
  try {
    fn();
    return 'none';
  } catch (err) {
    if (err instanceof GossipWireError) return err.code;
    throw err;
  }
}

/** The GossipWireError code `work` rejects with, or 'none' when it resolves; other rejections pass on. */
export async function codeOfAsync(work: Promise<unknown>): Promise<GossipWireErrorCode | 'none'> {
  try {
    await work;
    return 'none';
  } catch (err) {
    if (err instanceof GossipWireError) return err.code;
    throw err;
  }
}
