// status-page.ts — the live status page of the admin port: one HTML file (status-page.html) with
// its style and script inline, read once. It holds no data: its script reads /admin/status and
// /metrics, with the admin token when one is set, so the page itself needs no token. The content
// security policy allows that one script and style and same-origin fetches only (and the empty
// data: icon that spares a /favicon.ico request): no external asset can load even if one were added.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { HttpReply } from '../types.ts';

const html = readFileSync(new URL('./status-page.html', import.meta.url), 'utf8');

const hashOf = (tag: string): string => {
  const body = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html)?.[1];
  if (body === undefined) throw new Error(`status-page.html has no <${tag}>`);
  return `'sha256-${createHash('sha256').update(body).digest('base64')}'`;
};

const policy = `default-src 'none'; script-src ${hashOf('script')}; style-src ${hashOf('style')}; connect-src 'self'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`;

/** statusPage is the reply for GET / on the admin port (and GET /admin). */
export function statusPage(): HttpReply {
  return {
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': policy, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' },
    body: html,
  };
}
