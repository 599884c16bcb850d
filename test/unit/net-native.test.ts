// The addon's argument checking, errors and sd_notify against a real AF_UNIX datagram socket
// (python3 is the receiver: Node cannot bind one, and python3 is already needed to build the addon).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../src/net/native.js';
import { interfaceMac, primaryIpv4 } from '../../src/net/iface.js';

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
p = sys.argv[1]
s.bind("\\0" + p[1:] if p.startswith("@") else p)
print("ready", flush=True)
s.settimeout(10)
print(s.recv(4096).decode(), flush=True)
`;

/** Bind a datagram socket at `path`, run `send` once it is bound, resolve with what arrived. */
async function receiveOne(path: string, send: () => boolean): Promise<{ sent: boolean; got: string }> {
  const py = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  const spawnFailed = new Promise<never>((_, reject) =>
    py.on('error', (e) => reject(new Error(`python3 is needed for this test: apt-get install -y python3 (${e.message})`))),
  );
  let out = '';
  let sent = false;
  py.stdout.setEncoding('utf8');
  const got = new Promise<string>((resolve, reject) => {
    py.stdout.on('data', (d: string) => {
      out += d;
      if (out.startsWith('ready\n') && !sent) {
        sent = true;
        try {
          if (!send()) reject(new Error('sdNotify returned false'));
        } catch (e) {
          reject(e as Error);
        }
      }
    });
    py.on('close', () => resolve(out.slice('ready\n'.length).trim()));
  });
  try {
    return { sent, got: await Promise.race([got, spawnFailed]) };
  } finally {
    if (py.exitCode === null && py.pid) process.kill(py.pid, 'SIGKILL');
  }
}

describe('native addon', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hkn-sd-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads and exposes sendGarp, sdNotify, ifaceInfo, addrChange, addrChangeBatch', () => {
    const n = native();
    expect(typeof n.sendGarp).toBe('function');
    expect(typeof n.sdNotify).toBe('function');
    expect(typeof n.ifaceInfo).toBe('function');
    expect(typeof n.addrChange).toBe('function');
    expect(typeof n.addrChangeBatch).toBe('function');
  });

  // Only calls that fail before reaching the kernel, or name a device that does not exist:
  // nothing here changes the host's addresses (test/netns/vip.test.ts does that in a namespace).
  it('addrChange checks its arguments before talking to the kernel', () => {
    const n = native();
    const call = (...a: unknown[]) => () => (n.addrChange as (...x: unknown[]) => number)(...a);
    expect(call('add', 'lo', 4, '10.0.0.1')).toThrow(/needs 5 arguments/);
    expect(call('replace', 'lo', 4, '10.0.0.1', 32)).toThrow("addrChange: op must be 'add' or 'del'");
    expect(call('add', 7, 4, '10.0.0.1', 32)).toThrow('addrChange: interface name must be a string');
    expect(call('add', 'a-very-long-interface', 4, '10.0.0.1', 32)).toThrow(/interface name is longer than 15/);
    expect(call('add', 'lo', 5, '10.0.0.1', 32)).toThrow('addrChange: family must be 4 or 6');
    expect(call('add', 'lo', 4, '2001:db8::1', 32)).toThrow("addrChange: '2001:db8::1' is not an IPv4 address");
    expect(call('add', 'lo', 6, '10.0.0.1', 64)).toThrow("addrChange: '10.0.0.1' is not an IPv6 address");
    expect(call('add', 'lo', 4, '10.0.0.1', 33)).toThrow('addrChange: prefix length 33 of 10.0.0.1 is not 0-32');
    expect(call('add', 'lo', 4, '10.0.0.1', 1.5)).toThrow(/must be an integer/);
    expect(call('add', 'lo', 4, '10.0.0.1', 32, 'x')).toThrow('addrChange: options must be an object');
    expect(call('add', 'lo', 4, '10.0.0.1', 32, { brd: 'nope' })).toThrow("addrChange: brd 'nope' is not an IPv4 address (nor + or -)");
    expect(call('add', 'lo', 6, '2001:db8::1', 64, { brd: '+' })).toThrow(/broadcast address exists only for IPv4/);
    expect(call('add', 'lo', 4, '10.0.0.1', 32, { scope: 'galaxy' })).toThrow(/scope must be global, site, link, host, nowhere or a number 0-255/);
    expect(call('add', 'lo', 4, '10.0.0.1', 32, { scope: 256 })).toThrow(/scope must be/);
    expect(call('add', 'lo', 4, '10.0.0.1', 32, { label: 'vip1' })).toThrow(
      "addrChange: label 'vip1' must start with the interface name 'lo' (e.g. lo:1)",
    );
    expect(call('add', 'lo', 4, '10.0.0.1', 32, { label: 'lo:0123456789abcdef' })).toThrow(/longer than 15 characters/);
    expect(call('add', 'lo', 4, '10.0.0.1', 32, { peer: '2001:db8::2' })).toThrow("addrChange: peer '2001:db8::2' is not an IPv4 address");
    expect(call('add', 'lo', 4, '10.0.0.1', 32, { noDad: 'yes' })).toThrow(/must be booleans/);
    let err: (Error & { code?: string }) | null = null;
    try { call('add', 'lo', 4, 'x', 32)(); } catch (e) { err = e as Error; }
    expect(err).toBeInstanceOf(TypeError);
    expect(err?.code).toBe('EINVAL');
  });

  it('addrChange returns ENODEV (not a throw) for a device that does not exist', () => {
    expect(native().addrChange('add', 'hkl-missing0', 4, '10.234.1.1', 32, { scope: 'link', brd: '+' })).toBe(19);
    expect(native().addrChange('del', 'hkl-missing0', 6, 'fd00:234::1', 128)).toBe(19);
  });

  it('addrChangeBatch answers each request in order; a wrong one does not stop the rest', () => {
    const n = native();
    const r = n.addrChangeBatch([
      { op: 'add', ifname: 'hkl-missing0', family: 4, address: '10.234.1.1', prefixLen: 32 },
      { op: 'add', ifname: 'hkl-missing0', family: 4, address: '10.234.1.2', prefixLen: 32, label: 'eth0:x' },
      { op: 'del', ifname: 'hkl-missing1', family: 6, address: 'fd00:234::1', prefixLen: 128, noDad: true },
      7 as unknown as Parameters<typeof n.addrChangeBatch>[0][number],
    ]);
    expect(r).toEqual([
      { errno: 19, code: 'ENODEV', message: 'No such device' },
      { errno: 22, code: 'EINVAL', message: "label 'eth0:x' must start with the interface name 'hkl-missing0' (e.g. hkl-missing0:1)" },
      { errno: 19, code: 'ENODEV', message: 'No such device' },
      { errno: 22, code: 'EINVAL', message: 'request 3 is not an object' },
    ]);
    expect(n.addrChangeBatch([])).toEqual([]);
    expect(() => (n.addrChangeBatch as (x: unknown) => unknown)('nope')).toThrow(/needs an array/);
  });

  it('ifaceInfo reports loopback, and throws ENODEV naming a missing interface', () => {
    expect(native().ifaceInfo('lo')).toEqual({ index: 1, mac: '00:00:00:00:00:00', hwType: 772 });
    expect(() => native().ifaceInfo('hkn-missing0')).toThrow(/interface hkn-missing0: No such device \(ENODEV\)/);
  });

  it('sendGarp validates its arguments', () => {
    const n = native();
    expect(() => n.sendGarp('lo', 'not-an-ip')).toThrow(TypeError);
    expect(() => n.sendGarp('lo', '2001:db8::1')).toThrow(/not an IPv4 address/);
    expect(() => n.sendGarp('a-very-long-interface-name', '10.0.0.1')).toThrow(/too long/);
    expect(() => n.sendGarp('lo', '10.0.0.1', 0)).toThrow(/count must be an integer/);
    expect(() => n.sendGarp('lo', '10.0.0.1', 1.5)).toThrow(/count must be an integer/);
    expect(() => (n.sendGarp as (...a: unknown[]) => void)(7, '10.0.0.1')).toThrow(/interface name must be a string/);
  });

  it('sendGarp errors name the interface, the VIP and the errno', () => {
    let err: (Error & { code?: string; errno?: number }) | null = null;
    try {
      native().sendGarp('hkn-missing0', '10.0.0.1');
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toBe('cannot send gratuitous ARP for 10.0.0.1: interface hkn-missing0 does not exist: No such device (ENODEV)');
    expect(err?.code).toBe('ENODEV');
    expect(err?.errno).toBe(19);
    expect(() => native().sendGarp('lo', '10.0.0.1')).toThrow(/on lo: not an Ethernet interface/);
  });

  it('sdNotify returns false when NOTIFY_SOCKET is unset', () => {
    const saved = process.env.NOTIFY_SOCKET;
    delete process.env.NOTIFY_SOCKET;
    try {
      expect(native().sdNotify('READY=1')).toBe(false);
    } finally {
      if (saved !== undefined) process.env.NOTIFY_SOCKET = saved;
    }
  });

  it('sdNotify sends one datagram to $NOTIFY_SOCKET (filesystem path)', async () => {
    const path = join(dir, 'notify.sock');
    const saved = process.env.NOTIFY_SOCKET;
    process.env.NOTIFY_SOCKET = path;
    try {
      const r = await receiveOne(path, () => native().sdNotify('READY=1\nSTATUS=hakeep running'));
      expect(r.got).toBe('READY=1\nSTATUS=hakeep running');
    } finally {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
    }
  });

  it('sdNotify reaches an abstract socket (@name) given explicitly', async () => {
    const path = `@hkn-notify-${process.pid}`;
    const r = await receiveOne(path, () => native().sdNotify('STOPPING=1', path));
    expect(r.got).toBe('STOPPING=1');
  });

  it('sdNotify throws with the socket path when nobody listens', () => {
    expect(() => native().sdNotify('READY=1', join(dir, 'nobody.sock'))).toThrow(/nobody\.sock: sendto failed: No such file or directory \(ENOENT\)/);
  });
});

describe('iface helpers', () => {
  it('read loopback', () => {
    expect(primaryIpv4('lo')).toBe('127.0.0.1');
    expect(primaryIpv4('lo', ['127.0.0.1'])).toBeNull();
    expect(interfaceMac('lo')).toBe('00:00:00:00:00:00');
    expect(primaryIpv4('hkn-missing0')).toBeNull();
    expect(interfaceMac('hkn-missing0')).toBeNull();
  });
});
