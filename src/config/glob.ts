// Minimal glob for `include`: `*`, `?`, `[...]` per path segment and csh-style `{a,b}` braces
// (keepalived globs with GLOB_BRACE). Node 20 has no fs.globSync, and this is all we need.
import { readdirSync, existsSync } from 'node:fs';
import { join, sep } from 'node:path';

/** Expand `{a,b}` alternatives (nested allowed) into plain patterns. */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let start = -1;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        const body = pattern.slice(start + 1, i);
        const parts = splitTopLevel(body);
        if (parts.length < 2) continue; // `{x}` is literal, as in csh
        const head = pattern.slice(0, start);
        const tail = pattern.slice(i + 1);
        return parts.flatMap((p) => expandBraces(head + p + tail));
      }
    }
  }
  return [pattern];
}

function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of body) {
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

const MAGIC = /[*?[]/;

function segmentRegex(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) { re += '\\['; continue; }
      let cls = seg.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Absolute pattern → sorted list of existing paths (files or folders) that match. */
export function expandGlob(absPattern: string): string[] {
  const results = new Set<string>();
  for (const pattern of expandBraces(absPattern)) {
    if (!MAGIC.test(pattern)) {
      if (existsSync(pattern)) results.add(pattern);
      continue;
    }
    const segs = pattern.split(sep);
    let paths = [segs[0] === '' ? sep : segs[0]!];
    for (const seg of segs.slice(1)) {
      if (seg === '') continue;
      const next: string[] = [];
      for (const base of paths) {
        if (!MAGIC.test(seg)) {
          const p = join(base, seg);
          if (existsSync(p)) next.push(p);
          continue;
        }
        const re = segmentRegex(seg);
        let entries: string[] = [];
        try {
          entries = readdirSync(base);
        } catch {
          continue;
        }
        for (const e of entries.sort()) {
          // Like the shell, `*` does not match hidden files unless the pattern asks for them.
          if (e.startsWith('.') && !seg.startsWith('.')) continue;
          if (re.test(e)) next.push(join(base, e));
        }
      }
      paths = next;
    }
    for (const p of paths) results.add(p);
  }
  return [...results].sort();
}
