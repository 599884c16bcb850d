// A client for UML guests that keeps fetching one address, driven by stdin:
//   start IP PORT INTERVAL_MS TIMEOUT_MS   open a new connection every INTERVAL_MS (without waiting
//                                          for the previous one), answer "ok started"
//   stop                                   stop starting connections, wait for those in flight, and
//                                          answer one JSON line {reqs: [[startMs, durationMs, result]]}
//   burst IP PORT COUNT                    COUNT connections one after another; answers
//                                          {answers: {NAME: n}, errors: {CODE: n}}
// A result is the name the server sent (its first line) or an error code: ECONNREFUSED (a SYN
// answered with a reset: the address is up on a host with nothing behind it), TIMEOUT (nobody
// answered within TIMEOUT_MS), EHOSTUNREACH (no ARP answer), … startMs is Date.now(), the clock
// the scenario driver stamps its own events with.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

function once(ip, port, timeoutMs) {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    let data = '';
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish('TIMEOUT'), timeoutMs);
    s.setEncoding('utf8');
    s.on('data', (d) => { data += d; });
    s.on('end', () => finish(data.trim() || 'EMPTY'));
    s.on('error', (e) => finish(e.code ?? e.message));
  });
}

let ticker = null;
let inflight = new Set();
let reqs = [];

function start(ip, port, intervalMs, timeoutMs) {
  reqs = [];
  const fire = () => {
    const t0 = Date.now();
    const entry = [t0, null, null];
    reqs.push(entry);
    const p = once(ip, port, timeoutMs).then((r) => {
      entry[1] = Date.now() - t0;
      entry[2] = r;
      inflight.delete(p);
    });
    inflight.add(p);
  };
  fire();
  ticker = setInterval(fire, intervalMs);
}

async function stop() {
  if (ticker) clearInterval(ticker);
  ticker = null;
  await Promise.all([...inflight]);
  inflight = new Set();
  return reqs;
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const [cmd, ip, a, b, c] = line.trim().split(/\s+/);
  if (cmd === 'start') {
    start(ip, Number(a), Number(b), Number(c));
    process.stdout.write('ok started\n');
  } else if (cmd === 'stop') {
    process.stdout.write(`${JSON.stringify({ reqs: await stop() })}\n`);
  } else if (cmd === 'burst') {
    const answers = {};
    const errors = {};
    for (let i = 0; i < Number(b); i++) {
      const r = await once(ip, Number(a), 2000);
      if (/^[A-Z]+$/.test(r)) errors[r] = (errors[r] ?? 0) + 1;
      else answers[r] = (answers[r] ?? 0) + 1;
    }
    process.stdout.write(`${JSON.stringify({ answers, errors })}\n`);
  } else {
    process.stdout.write(`${JSON.stringify({ error: `unknown command ${cmd}` })}\n`);
  }
}
