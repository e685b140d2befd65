/** What the store tests share: two stores that exchange everything they write, as gossip would (eventually). */
import { OverlayStore } from '../../src/cluster/store.js';

export function pair() {
  const a = new OverlayStore('a', '198.18.0.1');
  const b = new OverlayStore('b', '198.18.0.2');
  for (const s of [a, b]) {
    s.setMember('a', 'alive', '198.18.0.1');
    s.setMember('b', 'alive', '198.18.0.2');
  }
  const sync = () => {
    a.merge(b.allEntries());
    b.merge(a.allEntries());
  };
  return { a, b, sync };
}
