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

  it('loads and exposes sendGarp, sdNotify, ifaceInfo', () => {
    const n = native();
    expect(typeof n.sendGarp).toBe('function');
    expect(typeof n.sdNotify).toBe('function');
    expect(typeof n.ifaceInfo).toBe('function');
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
