// Every checker's keywords, defaults and cascade as keepalived 2.2.7 reads them.
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, parseConfigText } from '../../src/config/index.js';
import type { Checker } from '../../src/config/model.js';

function load(rsBody: string, vsExtra = '', top = '') {
  const text = `${top}\nvirtual_server 10.0.0.100 80 {\n  protocol TCP\n  delay_loop 7\n${vsExtra}\n  real_server 10.0.0.2 80 {\n${rsBody}\n  }\n}\n`;
  const r = parseConfigText(text, 'k.conf');
  return { r, checkers: r.config.virtualServers[0]?.realServers[0]?.checkers ?? [], msgs: r.diagnostics.map(formatDiagnostic) };
}
const one = (rsBody: string, vsExtra = '', top = ''): { c: Checker; msgs: string[]; errors: number } => {
  const { r, checkers, msgs } = load(rsBody, vsExtra, top);
  return { c: checkers[0]!, msgs, errors: r.errorCount };
};

describe('checker defaults and cascade (check_data.c:1347-1385)', () => {
  it('retry: 1, MISC_CHECK 0, DNS_CHECK 3, unless the real or virtual server sets it', () => {
    expect(one('TCP_CHECK {}').c.retry).toBe(1);
    expect(one('MISC_CHECK { misc_path /bin/true }').c.retry).toBe(0);
    expect(one('DNS_CHECK {}').c.retry).toBe(3);
    expect(one('retry 5\nMISC_CHECK { misc_path /bin/true }').c.retry).toBe(5);
    expect(one('DNS_CHECK {}', 'retry 2').c.retry).toBe(2);
    expect(one('retry 5\nDNS_CHECK { retry 4 }').c.retry).toBe(4);
  });
  it('delay_before_retry: 1 s, HTTP/SSL_GET 3 s, DNS_CHECK delay_loop; delay_loop and connect_timeout cascade', () => {
    expect(one('TCP_CHECK {}').c.delayBeforeRetry).toBe(1);
    expect(one('HTTP_GET { url { path / } }').c.delayBeforeRetry).toBe(3);
    expect(one('SSL_GET { url { path / } }', 'delay_before_retry 2').c.delayBeforeRetry).toBe(2);
    expect(one('DNS_CHECK {}').c.delayBeforeRetry).toBe(7);
    expect(one('DNS_CHECK { delay_loop 4 }').c.delayBeforeRetry).toBe(4);
    const c = one('connect_timeout 2\nTCP_CHECK {}').c;
    expect([c.delayLoop, c.connectTimeout]).toEqual([7, 2]);
  });
});

describe('HTTP_GET / SSL_GET (check_http.c:427-923)', () => {
  it('urls, digests, status codes and ranges, virtualhost at every level, protocol, fast_recovery', () => {
    const { c, msgs, errors } = one(`virtualhost rs.example
    HTTP_GET {
      http_protocol 1.0C
      virtualhost chk.example
      fast_recovery
      url { path /a
        digest 9B3A0C85A887A256D6939DA88AABD8CD
        status_code 200 301-302
        status_code 404
        virtualhost url.example }
      url { path /b }
      nb_get_retry 4
    }`, 'virtualhost vs.example');
    expect(errors, msgs.join('\n')).toBe(0);
    if (c.type !== 'HTTP_GET') throw new Error(c.type);
    expect(c.httpProtocol).toBe('1.0C');
    expect(c.virtualhost).toBe('chk.example');
    expect(c.fastRecovery).toBe(true);
    expect(c.retry).toBe(4);
    expect(c.urls[0]).toMatchObject({ path: '/a', digest: '9b3a0c85a887a256d6939da88aabd8cd', statusCodes: [[200, 200], [301, 302], [404, 404]], virtualhost: 'url.example' });
    expect(c.urls[1]).toMatchObject({ path: '/b', digest: null, statusCodes: [[200, 299]] });
    expect(msgs.some((m) => m.includes("'nb_get_retry' is deprecated"))).toBe(true);
    const { r } = load('virtualhost rs.example\nHTTP_GET { url { path / } }');
    expect(r.config.virtualServers[0]!.realServers[0]!.virtualhost).toBe('rs.example');
  });
  it('errors: no url, a url without path, a bad digest, a bad status code, a bad protocol', () => {
    expect(one('HTTP_GET { }').msgs.join('\n')).toMatch(/HTTP_GET has no url block/);
    expect(one('HTTP_GET { url { digest 00 } }').msgs.join('\n')).toMatch(/url has no path/);
    expect(one('HTTP_GET { url { path / \n digest 123 } }').msgs.join('\n')).toMatch(/digest '123' is not 32 hex digits/);
    expect(one('HTTP_GET { url { path / \n status_code 600 } }').msgs.join('\n')).toMatch(/status_code '600' is not valid/);
    expect(one('HTTP_GET { http_protocol 2 \n url { path / } }').msgs.join('\n')).toMatch(/http_protocol '2' is not valid/);
  });
  it('regex with options and offsets; an invalid one is an error', () => {
    const { c, errors } = one('HTTP_GET { url { path /\n regex "status: (ok|OK)"\n regex_options caseless multiline\n regex_no_match\n regex_min_offset 4\n regex_max_offset 100 } }');
    expect(errors).toBe(0);
    if (c.type !== 'HTTP_GET') throw new Error();
    expect(c.urls[0]!.regex).toEqual({ pattern: 'status: (ok|OK)', flags: 'im', noMatch: true, minOffset: 4, maxOffset: 100 });
    expect(one('HTTP_GET { url { path /\n regex "(unclosed" } }').errors).toBe(1);
    expect(one('HTTP_GET { url { path /\n regex_no_match } }').msgs.join('\n')).toMatch(/regex parameters specified without regex/);
  });
  it('SSL_GET: enable_sni, sni_name (turns SNI on), tls_compliant; the global SSL block', () => {
    const { r, checkers } = load('SSL_GET { sni_name sni.example\n tls_compliant\n url { path / } }', '', 'SSL {\n  ca /etc/ssl/ca.pem\n  certificate /etc/ssl/c.pem\n  key /etc/ssl/k.pem\n  password secret\n}');
    const c = checkers[0]!;
    if (c.type !== 'SSL_GET') throw new Error();
    expect([c.enableSni, c.sniName, c.tlsCompliant]).toEqual([true, 'sni.example', true]);
    expect(r.config.ssl).toMatchObject({ ca: '/etc/ssl/ca.pem', certificate: '/etc/ssl/c.pem', key: '/etc/ssl/k.pem', password: 'secret' });
  });
});

describe('MISC_CHECK, SMTP, DNS, UDP, PING, FILE, BFD', () => {
  it('MISC_CHECK: misc_path with arguments, misc_timeout, misc_dynamic, user', () => {
    const { c, errors } = one('MISC_CHECK { misc_path "/usr/local/bin/check.sh --port 80"\n misc_timeout 5\n misc_dynamic\n user nobody nogroup }');
    expect(errors).toBe(0);
    expect(c).toMatchObject({ type: 'MISC_CHECK', miscPath: '/usr/local/bin/check.sh --port 80', miscTimeout: 5, miscDynamic: true, user: 'nobody nogroup' });
    expect(one('MISC_CHECK { misc_timeout 5 }').msgs.join('\n')).toMatch(/MISC_CHECK has no misc_path/);
  });
  it('SMTP_CHECK: helo_name (default smtpchecker.keepalived.org), deprecated host blocks make more checkers', () => {
    expect(one('SMTP_CHECK {}').c).toMatchObject({ heloName: 'smtpchecker.keepalived.org' });
    const { checkers } = load('SMTP_CHECK { helo_name x.example\n host { connect_ip 10.0.0.5\n connect_port 2525 }\n host { connect_ip 10.0.0.6 } }');
    expect(checkers.map((c) => (c.type === 'SMTP_CHECK' ? [c.connectIp, c.connectPort, c.heloName] : null))).toEqual([['10.0.0.5', 2525, 'x.example'], ['10.0.0.6', null, 'x.example']]);
    // Connection options at the checker level keep the checker itself, the hosts come on top.
    expect(load('SMTP_CHECK { connect_timeout 9\n host { connect_ip 10.0.0.5 } }').checkers).toHaveLength(2);
  });
  it('DNS_CHECK: type (default SOA), name (default "."), unknown types and empty labels are errors', () => {
    expect(one('DNS_CHECK {}').c).toMatchObject({ dnsType: 'SOA', dnsName: '.' });
    expect(one('DNS_CHECK { type aaaa\n name www.example.com }').c).toMatchObject({ dnsType: 'AAAA', dnsName: 'www.example.com' });
    expect(one('DNS_CHECK { type SRV }').errors).toBe(1);
    expect(one('DNS_CHECK { name a..b }').errors).toBe(1);
  });
  it('UDP_CHECK: payload and require_reply in hex (X wildcards), lengths', () => {
    const { c, msgs } = one('UDP_CHECK { payload 01 02 0a0B\n require_reply 4fX4\n min_reply_length 2\n max_reply_length 1 }');
    expect(c).toMatchObject({ payload: [1, 2, 10, 11], requireReply: true, replyData: [0x4f, 0x04], replyMask: [0, 0xf0], minReplyLength: 2, maxReplyLength: 1 });
    expect(msgs.join('\n')).toMatch(/min_reply_length 2 > max_reply_length 1: this check always fails/);
    expect(one('UDP_CHECK { payload zz }').errors).toBe(1);
  });
  it('PING_CHECK, FILE_CHECK (needs its track_file), BFD_CHECK refused', () => {
    expect(one('PING_CHECK { connect_ip 10.0.0.9 }').c).toMatchObject({ type: 'PING_CHECK', connectIp: '10.0.0.9' });
    const f = one('FILE_CHECK { track_file tf\n weight 5 reverse }', '', 'track_file tf {\n  file /run/tf\n  weight 2\n}');
    expect(f.errors, f.msgs.join('\n')).toBe(0);
    expect(f.c).toMatchObject({ type: 'FILE_CHECK', trackFile: 'tf', weight: 5, weightReverse: true });
    expect(one('FILE_CHECK { track_file nope }').msgs.join('\n')).toMatch(/FILE_CHECK track_file nope is not defined/);
    const b = one('BFD_CHECK { name b1 }');
    expect(b.errors).toBe(1);
    expect(b.msgs.join('\n')).toMatch(/BFD_CHECK is not run by hakeep yet \(hakeep has no BFD\)/);
  });
  it('bind_if and fwmark (sockets hakeep cannot set up): a warning at the line, for every checker that reads them', () => {
    for (const t of ['TCP_CHECK {', 'HTTP_GET { url { path / }', 'SMTP_CHECK {', 'DNS_CHECK {', 'UDP_CHECK {', 'PING_CHECK {']) {
      const type = t.split(' ')[0];
      const r = one(`${t}\n bind_if eth1\n fwmark 7 }`);
      expect(r.errors, r.msgs.join('\n')).toBe(0);
      expect(r.msgs.join('\n')).toContain(`${type} bind_if eth1 is not supported by hakeep; the check connects without it`);
      expect(r.msgs.join('\n')).toContain(`${type} fwmark 7 is not supported by hakeep; the check's packets are not marked`);
    }
    expect(one('TCP_CHECK { connect_port 81 }').msgs.join('\n')).not.toMatch(/not supported/);
  });
  it('no other checker is refused', () => {
    for (const body of ['TCP_CHECK {}', 'HTTP_GET { url { path / } }', 'SSL_GET { url { path / } }', 'MISC_CHECK { misc_path /bin/true }', 'SMTP_CHECK {}', 'DNS_CHECK {}', 'UDP_CHECK {}', 'PING_CHECK {}']) {
      const r = one(body);
      expect(r.errors, `${body}: ${r.msgs.join('\n')}`).toBe(0);
    }
  });
});
