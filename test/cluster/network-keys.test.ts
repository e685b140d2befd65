import { describe, expect, it } from 'vitest';
import { OverlayStore } from '../../src/cluster/store.js';
import { newEncryption, pendingKey, rotated, sendingKey, wellFormedEncryption, type NetworkEncryptionEntry } from '../../src/cluster/network-keys.js';

const tags = (e: NetworkEncryptionEntry): number[] => e.keys.map((k) => k.tag);

describe('the key ring of an encrypted network', () => {
  it('starts with a sending key and the next one distributed ahead', () => {
    const e = newEncryption({}, 1000);
    expect(e).toMatchObject({ carrier: 'ip', keySize: 16, esn: true });
    expect(e.keys).toHaveLength(2);
    expect(e.sendTag).toBe(e.keys[0].tag);
    expect(pendingKey(e)?.tag).toBe(e.keys[1].tag);
    expect(new Set(e.keys.map((k) => k.material)).size).toBe(2);
    expect(Buffer.from(e.keys[0].material, 'base64')).toHaveLength(32);
  });

  it('promotes only a key distributed one step earlier, keeps the old sender for packets in flight, holds at most three', () => {
    let e = newEncryption({ carrier: 'udp', keySize: 32, esn: false }, 0);
    const [k1, k2] = tags(e);
    e = rotated(e, 10);
    const k3 = e.keys[2].tag;
    expect(tags(e)).toEqual([k1, k2, k3]);
    expect(e.sendTag).toBe(k2);
    e = rotated(e, 20);
    const k4 = e.keys[2].tag;
    expect(tags(e)).toEqual([k2, k3, k4]);
    expect(e.sendTag).toBe(k3);
    expect(sendingKey(e).created).toBe(10); // made one step before it sends
    expect(new Set([k1, k2, k3, k4]).size).toBe(4);
    expect(e).toMatchObject({ carrier: 'udp', keySize: 32, esn: false });
  });

  it('two nodes rotating at once promote the same key: they differ only in a key nobody sends with yet', () => {
    const e = newEncryption({}, 0);
    const x = rotated(e, 1);
    const y = rotated(e, 1);
    expect(x.sendTag).toBe(y.sendTag);
    expect(x.keys[2].tag).not.toBe(y.keys[2].tag);
    // Whichever wins, the other's sending key is in its ring.
    expect(tags(y)).toContain(x.sendTag);
  });

  it('refuses malformed gossiped rings', () => {
    const good = newEncryption({}, 5);
    expect(wellFormedEncryption(good)).toBe(true);
    const bad: unknown[] = [
      null,
      { ...good, carrier: 'esp' },
      { ...good, keySize: 24 },
      { ...good, esn: 'yes' },
      { ...good, sendTag: 7 },
      { ...good, keys: [] },
      { ...good, keys: [...good.keys, ...good.keys] },
      { ...good, keys: [good.keys[0], { ...good.keys[0] }] },
      { ...good, keys: [{ ...good.keys[0], material: 'c2hvcnQ=' }] },
      { ...good, keys: [{ ...good.keys[0], material: '!!!' }] },
      { ...good, keys: [{ ...good.keys[0], tag: -1 }] },
      { ...good, keys: [{ ...good.keys[0], created: 'now' }] },
    ];
    for (const b of bad) expect(wellFormedEncryption(b)).toBe(false);
  });
});

describe('encrypted networks in the replicated store', () => {
  const store = (name: string, vtep: string) => new OverlayStore(name, vtep);
  const create = (s: OverlayStore) =>
    s.commitNetwork(s.prepareNetwork({ name: 'red', subnets: ['198.19.9.0/24'], mtu: 1416, encrypted: true, encryption: { carrier: 'udp' } }));

  it('carries the ring with the network; a rotation anywhere reaches everyone; a tombstone drops the keys', () => {
    const a = store('a', '198.18.0.1');
    const b = store('b', '198.18.0.2');
    const net = create(a);
    expect(net.encryption?.carrier).toBe('udp');
    b.merge(a.allEntries());
    expect(b.network('red').encryption).toEqual(net.encryption);
    const r = b.commitKeyRotation('red');
    a.merge(b.allEntries());
    expect(a.network('red').encryption?.sendTag).toBe(r.encryption?.sendTag);
    expect(a.network('red').encryption?.sendTag).toBe(net.encryption?.keys[1].tag);
    a.commitNetworkRemoval('red');
    const tomb = a.allEntries().find((e) => e.kind === 'network');
    expect(tomb).toMatchObject({ deleted: true });
    expect(tomb).not.toHaveProperty('encryption');
    b.merge(a.allEntries());
    expect(b.findNetwork('red')).toBeUndefined();
  });

  it('refuses an encrypted network without keys, keys on a plain network, and a bad ring — counted as malformed', () => {
    const a = store('a', '198.18.0.1');
    const b = store('b', '198.18.0.2');
    const net = create(a);
    const { encryption, ...bare } = net;
    b.merge([{ ...bare, name: 'x1' }, { ...net, name: 'x2', vni: 9001, encrypted: false }, { ...net, name: 'x3', vni: 9002, encryption: { ...encryption, sendTag: 1 } }]);
    expect(b.networks()).toEqual([]);
    expect(b.rejected.malformed).toBe(3);
  });

  it('rotating a plain network is refused', () => {
    const a = store('a', '198.18.0.1');
    a.commitNetwork(a.prepareNetwork({ name: 'plain', subnets: ['198.19.8.0/24'], mtu: 1450 }));
    expect(() => a.commitKeyRotation('plain')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});
