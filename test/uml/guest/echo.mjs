// Long-lived TCP connections for the UML sync-daemon scenario, driven by stdin (one answer line per
// command):
//   listen IP PORT NAME     (real server) accept connections; every line received is answered with
//                           "NAME SEQ" on the same connection, which stays open
//   open ID IP PORT         (client) open a connection and send "SEQ" every 100 ms on it
//   report ID               (client) JSON: { localPort, sent, answered, by: {NAME: n}, lastAnswerAt, error, closedAt }
//   close ID                (client) close it; answers its final report
// Times are Date.now(), the clock the scenario driver stamps its events with.
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

const conns = new Map();

function listen(ip, port, name) {
  return new Promise((resolve) => {
    const srv = createServer((c) => {
      c.setEncoding('utf8');
      let buf = '';
      c.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const seq = buf.slice(0, i);
          buf = buf.slice(i + 1);
          c.write(`${name} ${seq}\n`);
        }
      });
      c.on('error', () => undefined);
    });
    srv.on('error', (e) => resolve(`error ${e.code ?? e.message}`));
    srv.listen({ host: ip, port }, () => resolve(`ok listening ${ip}:${port}`));
  });
}

function open(id, ip, port) {
  return new Promise((resolve) => {
    const st = { localPort: null, sent: 0, answered: 0, by: {}, openedAt: null, lastAnswerAt: null, error: null, closedAt: null, timer: null, sock: null };
    conns.set(id, st);
    const s = connect({ host: ip, port });
    st.sock = s;
    s.setEncoding('utf8');
    let buf = '';
    s.on('connect', () => {
      st.openedAt = Date.now();
      st.localPort = s.localPort;
      st.timer = setInterval(() => { st.sent++; s.write(`${st.sent}\n`); }, 100);
      resolve(`ok open ${id}`);
    });
    s.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const name = buf.slice(0, i).split(' ')[0];
        buf = buf.slice(i + 1);
        st.answered++;
        st.by[name] = (st.by[name] ?? 0) + 1;
        st.lastAnswerAt = Date.now();
      }
    });
    const end = (why) => {
      if (st.closedAt === null) st.closedAt = Date.now();
      if (why && st.error === null) st.error = why;
      clearInterval(st.timer);
      resolve(`error ${why}`);
    };
    s.on('error', (e) => end(e.code ?? e.message));
    s.on('end', () => end('EOF'));
    s.on('close', () => end(null));
  });
}

const report = (id) => {
  const st = conns.get(id);
  if (!st) return JSON.stringify({ error: 'unknown connection' });
  const { timer: _t, sock: _s, ...rest } = st;
  return JSON.stringify(rest);
};

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, a, b, c] = line.trim().split(/\s+/);
  let answer;
  if (cmd === 'listen') answer = await listen(a, Number(b), c);
  else if (cmd === 'open') answer = await open(a, b, Number(c));
  else if (cmd === 'report') answer = report(a);
  else if (cmd === 'close') {
    const st = conns.get(a);
    if (st) { clearInterval(st.timer); st.sock.destroy(); }
    answer = report(a);
  } else answer = `error unknown command ${cmd}`;
  process.stdout.write(`${answer}\n`);
}
