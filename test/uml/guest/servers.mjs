// Real TCP servers for UML guests, driven by commands on stdin so one node process (node starts
// slowly in the guest) serves many addresses and ports:
//   open IP PORT NAME   listen; every connection gets "NAME\n" and is closed
//   close IP PORT       stop listening (new connections are refused)
//   range IP FIRST COUNT NAME   open COUNT consecutive ports (benchmarks)
//   closerange IP FIRST COUNT
//   count               connections accepted so far (benchmarks count real checks this way)
// Each command is answered with one line: "ok …" or "error …".
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

const servers = new Map();
let accepted = 0;

function open(ip, port, name) {
  return new Promise((resolve) => {
    const key = `${ip}:${port}`;
    if (servers.has(key)) return resolve(`ok ${key} already open`);
    const srv = createServer((c) => {
      accepted++;
      c.on('error', () => undefined);
      c.end(`${name}\n`);
    });
    srv.on('error', (e) => resolve(`error ${key} ${e.code ?? e.message}`));
    srv.listen({ host: ip, port, backlog: 1024 }, () => {
      servers.set(key, srv);
      resolve(`ok ${key} open`);
    });
  });
}

function close(ip, port) {
  const key = `${ip}:${port}`;
  const srv = servers.get(key);
  if (!srv) return Promise.resolve(`ok ${key} not open`);
  servers.delete(key);
  return new Promise((resolve) => srv.close(() => resolve(`ok ${key} closed`)));
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const [cmd, ip, a, b, c] = line.trim().split(/\s+/);
  let answer;
  if (cmd === 'count') answer = `ok ${accepted}`;
  else if (cmd === 'open') answer = await open(ip, Number(a), b ?? 'server');
  else if (cmd === 'close') answer = await close(ip, Number(a));
  else if (cmd === 'range' || cmd === 'closerange') {
    const first = Number(a);
    const count = Number(b);
    const results = [];
    for (let i = 0; i < count; i += 500) {
      const batch = [];
      for (let p = first + i; p < first + Math.min(count, i + 500); p++) batch.push(cmd === 'range' ? open(ip, p, `${c ?? 'rs'}-${p}`) : close(ip, p));
      results.push(...(await Promise.all(batch)));
    }
    const bad = results.filter((r) => r.startsWith('error'));
    answer = bad.length ? `error ${bad.length} failed, first: ${bad[0]}` : `ok ${count} ports`;
  } else answer = `error unknown command ${cmd}`;
  process.stdout.write(`${answer}\n`);
}
