import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CidrSet, IpAllow, parseAddress, parseCidr } from '../../src/ingress/ip-allow.ts';

const addr = (s: string) => {
  const a = parseAddress(s);
  assert.ok(a, `${s} parses`);
  return a;
};

describe('parseAddress', () => {
  it('holds IPv4 as IPv4-mapped IPv6, so both spellings are the same address', () => {
    assert.deepEqual(addr('1.2.3.4'), addr('::ffff:1.2.3.4'));
    assert.deepEqual(addr('1.2.3.4'), addr('::ffff:102:304'));
    assert.deepEqual(addr('1.2.3.4'), addr('0000:0000:0000:0000:0000:ffff:0102:0304'));
  });
  it('expands IPv6 with ::, brackets and zone ids', () => {
    assert.deepEqual(Array.from(addr('2001:db8::1')), [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(addr('[::1]'), addr('0:0:0:0:0:0:0:1'));
    assert.deepEqual(addr('fe80::1%eth0'), addr('fe80::1'));
    assert.deepEqual(addr('::'), new Uint8Array(16));
    assert.deepEqual(Array.from(addr('1::')).slice(0, 2), [0, 1]);
  });
  it('refuses what is not an address', () => {
    for (const bad of ['', 'x', '1.2.3', '1.2.3.256', '1:2:3:4:5:6:7:8:9', '::g', 'localhost'])
      assert.equal(parseAddress(bad), undefined, bad);
  });
});

describe('parseCidr', () => {
  it('rejects bad prefixes and addresses', () => {
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/x', 'nope/8', '10.0.0.0/-1'])
      assert.throws(() => parseCidr(bad), /not an IP|invalid prefix/, bad);
  });
});

describe('CidrSet', () => {
  const table: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['192.168.1.0/24', '192.168.1.255', true],
    ['192.168.1.0/24', '192.168.2.0', false],
    ['192.168.1.128/25', '192.168.1.127', false],
    ['192.168.1.128/25', '192.168.1.128', true],
    ['172.16.0.0/12', '172.31.255.255', true],
    ['172.16.0.0/12', '172.32.0.0', false],
    ['1.2.3.4', '1.2.3.4', true],
    ['1.2.3.4', '1.2.3.5', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::/33', '2001:db8:8000::1', false],
    ['2001:db8::/33', '2001:db8:7fff::1', true],
    ['::1', '::1', true],
    ['::1', '127.0.0.1', false],
    ['::/0', '2001:db8::1', true],
    ['::ffff:10.0.0.0/104', '10.9.9.9', true],
    ['::ffff:10.0.0.0/104', '11.0.0.0', false],
  ];
  for (const [cidr, ip, expected] of table) {
    it(`${ip} ${expected ? 'is' : 'is not'} in ${cidr}`, () =>
      assert.equal(new CidrSet([cidr]).has(addr(ip)), expected));
  }
  it('accepts 4-byte binary addresses as IPv4', () => {
    assert.equal(new CidrSet(['10.0.0.0/8']).has(new Uint8Array([10, 1, 1, 1])), true);
    assert.equal(new CidrSet(['10.0.0.0/8']).has(undefined), false);
  });
});

describe('IpAllow', () => {
  const proxy = addr('127.0.0.1');
  const stranger = addr('203.0.113.9');
  it('allows everything without an allowlist', () => {
    const guard = new IpAllow([], []);
    assert.equal(guard.allowsAll, true);
    assert.equal(guard.allows(stranger, ''), true);
  });
  it('ignores X-Forwarded-For from peers that are not trusted proxies', () => {
    const guard = new IpAllow(['10.0.0.0/8'], ['127.0.0.1']);
    assert.equal(guard.allows(stranger, '10.1.1.1'), false);
    assert.equal(guard.allows(addr('10.0.0.1'), '203.0.113.9'), true);
  });
  it('uses the right-most untrusted X-Forwarded-For address from a trusted proxy', () => {
    const guard = new IpAllow(['10.0.0.0/8'], ['127.0.0.1', '192.168.0.0/16']);
    assert.equal(guard.allows(proxy, '10.1.1.1'), true);
    // A client can prepend anything; only the hop the trusted proxy saw counts.
    assert.equal(guard.allows(proxy, '10.1.1.1, 203.0.113.9'), false);
    assert.equal(guard.allows(proxy, '203.0.113.9, 10.1.1.1, 192.168.0.5'), true);
    assert.equal(guard.allows(proxy, '10.1.1.1:4567'), true);
    assert.equal(guard.allows(proxy, 'garbage'), false);
    assert.equal(guard.allows(proxy, ''), false);
  });
  it('handles IPv6 hops and proxies', () => {
    const guard = new IpAllow(['2001:db8::/32'], ['::1']);
    assert.equal(guard.allows(addr('::1'), '[2001:db8::5]:443'), true);
    assert.equal(guard.allows(addr('::1'), '2001:db8::5'), true);
    assert.equal(guard.allows(addr('::1'), '2001:db9::5'), false);
  });
  it('bounds the walk over a long forwarded chain', () => {
    const guard = new IpAllow(['10.0.0.0/8'], ['127.0.0.1']);
    const chain = ['10.0.0.1', ...new Array(1000).fill('127.0.0.1')].join(',');
    assert.equal(guard.allows(proxy, chain), false);
  });
});
