// A minimal SMTP client for e-mail alerts: keepalived's own dialogue (keepalived/core/smtp.c), over
// one net.Socket. It is written here rather than taken from a mail library because what keepalived
// sends is small and fixed (HELO, MAIL FROM, one RCPT TO per recipient, DATA, QUIT; no EHLO, no
// TLS, no authentication, no MIME) and alert mail filters match its exact headers; a library would
// change the dialogue (EHLO, STARTTLS attempts) and the headers, and add a dependency to a daemon
// that runs as root.
//
// keepalived facts used (read for behaviour only):
//   - the expected replies: 220 greeting, 250 HELO, 250 MAIL, 250 each RCPT, 354 DATA, 250 after
//     the message, 221 QUIT (smtp.c:87-99); a multi-line reply ("250-…") counts by its last line
//     (smtp.c:330-352); another code is logged as "Error processing %s cmd on SMTP server %s. SMTP
//     status code = %d" and the dialogue ends with QUIT (smtp.c:367-376);
//   - one timeout (smtp_connect_timeout) for the connection and for each reply (smtp.c:157-158,
//     202-207, 233-236);
//   - HELO's argument is smtp_helo_name, else the host name, else "localhost" (smtp.c:386-390,
//     global_data.c:284-295);
//   - the message (smtp.h:99-105, smtp.c:414-426): "Date: <RFC 822 local time>\r\nFrom: <from>\r\n
//     Subject: <subject>\r\nX-Mailer: Keepalived\r\nTo: <a>, <b>\r\n\r\n<body>\r\n" then "\r\n.\r\n".
//   - the server is named [address]:port in log lines (FMT_SMTP_HOST, smtp.h:109).
import { connect, isIP, type Socket } from 'node:net';

export interface SmtpTarget {
  /** An IP address or a host name (resolved by the connection, each time). */
  host: string;
  port: number;
  /** HELO argument. */
  heloName: string;
  /** For the connection and for each reply. */
  timeoutMs: number;
}

export interface SmtpMail {
  /** Envelope sender (MAIL FROM) and From: header. */
  from: string;
  /** Envelope recipients (RCPT TO each, in order) and the To: header. */
  to: readonly string[];
  subject: string;
  body: string;
  /** Date: header; now by default. */
  date?: Date;
}

/** Where the dialogue stopped, for rate-limited logging by kind. */
export type SmtpStage = 'connect' | 'greeting' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA' | 'BODY' | 'QUIT' | 'aborted';

export class SmtpError extends Error {
  constructor(readonly stage: SmtpStage, message: string, readonly code?: number) {
    super(message);
    this.name = 'SmtpError';
  }
}

/** keepalived's SMTP_BUFFER_MAX is 1024 per read; a reply larger than this is not an SMTP reply. */
const MAX_REPLY = 16 * 1024;

/** `[127.0.0.1]:25`, as keepalived names the server in its log lines. */
export function smtpHostName(host: string, port: number): string {
  return `[${host}]:${port}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** strftime("%a, %d %b %Y %H:%M:%S %z") in local time, as keepalived writes its Date: header. */
export function rfc822Date(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `${DAYS[d.getDay()]}, ${two(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()} `
    + `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`;
}

/** A header value on one line: names come from the config, but a line break must never end the header block. */
const oneLine = (s: string): string => s.replace(/[\r\n]+/g, ' ');

/**
 * The DATA part of the message as keepalived builds it, dot-stuffed (a line starting with '.' gets
 * another; keepalived's fixed bodies never have one) and ended by the lone dot.
 */
export function messageData(mail: SmtpMail): string {
  const headers = `Date: ${rfc822Date(mail.date ?? new Date())}\r\nFrom: ${oneLine(mail.from)}\r\nSubject: ${oneLine(mail.subject)}\r\n`
    + `X-Mailer: Keepalived\r\nTo: ${oneLine(mail.to.join(', '))}\r\n\r\n`;
  const body = mail.body.replace(/\r?\n/g, '\r\n');
  const text = `${headers}${body}\r\n`.split('\r\n').map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n');
  return `${text}\r\n.\r\n`;
}

/**
 * Send one message with keepalived's dialogue. Resolves when the server accepted it (250 after the
 * data; QUIT's reply is waited for, but a server that closes instead is fine); rejects with an
 * SmtpError worded like keepalived's log line otherwise. Never throws synchronously.
 */
export function sendMail(target: SmtpTarget, mail: SmtpMail, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let name = smtpHostName(target.host, target.port);
    let sock: Socket;
    let settled = false;
    let stage: SmtpStage = 'connect';
    let buf = '';
    let waiting: ((code: number) => void) | null = null;
    let accepted = false;

    const finish = (err: SmtpError | null): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (err && !accepted) reject(err);
      else resolve();
    };
    const fail = (err: SmtpError): void => {
      sock.destroy();
      finish(err);
    };
    const onAbort = (): void => fail(new SmtpError('aborted', `SMTP alert to ${name} abandoned: hakeep is stopping`));

    try {
      sock = connect({ host: target.host, port: target.port });
    } catch (e) {
      finish(new SmtpError('connect', `SMTP connection ERROR to ${name}: ${(e as Error).message}.`));
      return;
    }
    if (signal?.aborted) { onAbort(); return; }
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.setNoDelay(true);
    sock.setTimeout(target.timeoutMs);
    sock.setEncoding('latin1');

    sock.on('timeout', () => {
      fail(new SmtpError(stage, stage === 'connect'
        ? `Timeout connecting SMTP server ${name}.`
        : `Timeout reading data to remote SMTP server ${name}.`));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      fail(new SmtpError(stage, stage === 'connect'
        ? `SMTP connection ERROR to ${name} (${e.code ?? e.message}).`
        : `Error reading data from remote SMTP server ${name} (${e.code ?? e.message}).`));
    });
    sock.on('close', () => {
      if (accepted) { finish(null); return; }
      finish(new SmtpError(stage, `Remote SMTP server ${name} has closed the connection.`));
    });
    sock.on('connect', () => {
      if (sock.remoteAddress && isIP(target.host) === 0) name = `${smtpHostName(sock.remoteAddress, target.port)} (${target.host})`;
      stage = 'greeting';
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REPLY) {
        fail(new SmtpError(stage, `Received buffer from remote SMTP server ${name} overflow our get read buffer length.`));
        return;
      }
      // A reply is complete at a line whose fourth character is not '-' (smtp.c:330-352).
      for (;;) {
        const eol = buf.indexOf('\n');
        if (eol < 0) return;
        const line = buf.slice(0, eol).replace(/\r$/, '');
        buf = buf.slice(eol + 1);
        if (line[3] === '-') continue;
        const code = /^\d{3}/.test(line) ? Number(line.slice(0, 3)) : -1;
        const w = waiting;
        waiting = null;
        if (w) w(code);
      }
    });

    const expect = (want: number, what: SmtpStage, next: () => void): void => {
      stage = what;
      waiting = (code) => {
        if (code === want) { next(); return; }
        const label = what === 'greeting' ? '(E)SMTP' : what;
        const err = new SmtpError(what, `Error processing ${label} cmd on SMTP server ${name}. SMTP status code = ${code}`, code);
        // keepalived ends with QUIT after a wrong code; the result is the error either way.
        sock.write('QUIT\r\n', () => { sock.end(); });
        finish(err);
        setTimeout(() => sock.destroy(), target.timeoutMs).unref();
      };
    };
    const send = (line: string): void => { sock.write(line); };

    const rcpts = [...mail.to];
    const rcpt = (): void => {
      const to = rcpts.shift();
      if (to === undefined) {
        send('DATA\r\n');
        expect(354, 'DATA', () => {
          send(messageData(mail));
          expect(250, 'BODY', () => {
            accepted = true;
            send('QUIT\r\n');
            expect(221, 'QUIT', () => { sock.end(); finish(null); });
          });
        });
        return;
      }
      send(`RCPT TO:<${oneLine(to)}>\r\n`);
      expect(250, 'RCPT', rcpt);
    };

    expect(220, 'greeting', () => {
      send(`HELO ${oneLine(target.heloName)}\r\n`);
      expect(250, 'HELO', () => {
        send(`MAIL FROM:<${oneLine(mail.from)}>\r\n`);
        expect(250, 'MAIL', rcpt);
      });
    });
    // The greeting is awaited from the moment of connection; stage is 'connect' until then.
    stage = 'connect';
  });
}
