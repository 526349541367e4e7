// sse.ts — server-sent events read as they arrive: chunks in, the `data` of each complete event
// out (an event cut by a chunk boundary waits for the rest), as the HTML standard frames them.
// https://html.spec.whatwg.org/multipage/server-sent-events.html

/** Most text one unfinished event may hold: a stream that never ends an event is not kept whole. */
const maxPending = 1 << 20;

/** SseReader turns the chunks of one event stream into the data of its events. */
export class SseReader {
  #pending = '';
  #cr = '';

  /** push takes the next chunk and gives the data of every event it completed (events without data are left out). */
  push(chunk: Buffer | string): string[] {
    // Lines end in \n, \r\n or \r: read as \n. A \r that ends a chunk waits, as its \n may follow.
    let text = this.#cr + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    this.#cr = text.endsWith('\r') ? '\r' : '';
    if (this.#cr !== '') text = text.slice(0, -1);
    this.#pending += text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
    const out: string[] = [];
    let from = 0;
    for (let end = this.#pending.indexOf('\n\n'); end >= 0; end = this.#pending.indexOf('\n\n', from)) {
      const data = dataOf(this.#pending, from, end);
      if (data !== undefined) out.push(data);
      from = end + 2;
    }
    this.#pending = this.#pending.slice(from);
    if (this.#pending.length > maxPending) this.#pending = '';
    return out;
  }
}

// dataOf gives the data lines of the event in text[from, end), joined by newlines.
function dataOf(text: string, from: number, end: number): string | undefined {
  let data: string | undefined;
  for (const line of text.slice(from, end).split('\n')) {
    if (!line.startsWith('data:')) continue;
    const value = line.slice(line.charCodeAt(5) === 32 ? 6 : 5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data;
}
