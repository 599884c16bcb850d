// HTTP servers for the checker UML scenario, driven by commands on stdin (one answer line each):
//   open IP PORT          listen; answer every request with the current status and body
//   status IP PORT CODE   the status line's code from now on (200, 500 …)
//   body IP PORT TEXT     the body from now on
// Responses are HTTP/1.0 with Content-Length, and the connection is closed after each one.
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

const servers = new Map();

function open(ip, port) {
  return new Promise((resolve) => {
    const key = `${ip}:${port}`;
    const st = { code: 200, body: `page of ${key}\n` };
    const srv = createServer((c) => {
      c.on('error', () => undefined);
      let buf = '';
      c.on('data', (d) => {
        buf += d.toString('latin1');
        if (!buf.includes('\r\n\r\n')) return;
        const body = Buffer.from(st.body);
        c.end(Buffer.concat([Buffer.from(`HTTP/1.0 ${st.code} ${st.code === 200 ? 'OK' : 'Error'}\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
      });
    });
    srv.on('error', (e) => resolve(`error ${key} ${e.code ?? e.message}`));
    srv.listen({ host: ip, port, backlog: 1024 }, () => {
      servers.set(key, st);
      resolve(`ok ${key} open`);
    });
  });
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const [cmd, ip, port, ...rest] = line.trim().split(/\s+/);
  const st = servers.get(`${ip}:${port}`);
  let answer;
  if (cmd === 'open') answer = await open(ip, Number(port));
  else if (!st) answer = `error ${ip}:${port} not open`;
  else if (cmd === 'status') { st.code = Number(rest[0]); answer = `ok ${ip}:${port} status ${st.code}`; }
  else if (cmd === 'body') { st.body = `${rest.join(' ')}\n`; answer = `ok ${ip}:${port} body`; }
  else answer = `error unknown command ${cmd}`;
  process.stdout.write(`${answer}\n`);
}
