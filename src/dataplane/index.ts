/** Picks a forwarding path by name (`--datapath native|js`). */
import type { Datapath, DatapathOptions } from './datapath.js';
import { JsDatapath } from './js-datapath.js';

export async function createDatapath(kind: 'native' | 'js', options: DatapathOptions): Promise<Datapath> {
  if (kind === 'js') return new JsDatapath(options);
  const { NativeDatapath } = await import('./native.js');
  return new NativeDatapath(options);
}

export * from './capture-spec.js';
export * from './datapath.js';
export * from './esp-plan.js';
