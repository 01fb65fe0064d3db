// WebSockets into actors, driven by an independent client (Node's `ws`) and
// by raw TCP for malformed frames, against test/ws/ws_server.cpp.
// Run by ctest (entry `websocket`) with CAIRN_WS_SERVER set to the binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import WebSocket from 'ws';

const STEP_MS = 20_000;  // no single wait may take longer
let server;
let port;
let dataDir;
let roomCount = 0;

/// A promise that fails after STEP_MS, naming what it waited for.
function bounded(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

before(async () => {
  const binary = process.env.CAIRN_WS_SERVER;
  assert.ok(binary, 'CAIRN_WS_SERVER names the test server');
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-ws-'));
  server = spawn(binary, [dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  port = await bounded(new Promise((resolve, reject) => {
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/port (\d+)/);
      if (m) resolve(Number(m[1]));
    });
    server.on('exit', (code) => reject(new Error(`the server exited early (${code})`)));
  }), 'the server to listen');
});

after(async () => {
  if (server.exitCode === null) {
    server.kill('SIGKILL');
    await once(server, 'exit');
  }
  rmSync(dataDir, { recursive: true, force: true });
});

/// A fresh room name per test, so tests do not see each other's sockets.
function newRoom() {
  return `room-${process.pid}-${++roomCount}`;
}

/// A connected client with a queue of received messages.
class client {
  static async open(room, query = '') {
    const c = new client(new WebSocket(`ws://127.0.0.1:${port}/room/${room}${query}`));
    await bounded(once(c.ws, 'open'), 'the handshake');
    return c;
  }
  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    ws.on('message', (data, isBinary) => {
      const m = isBinary ? data : data.toString();
      const w = this.waiters.shift();
      if (w) w(m); else this.queue.push(m);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => {});  // a refused handshake or a reset ends in 'close' too
  }
  next() {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    return bounded(new Promise((resolve) => this.waiters.push(resolve)), 'a message');
  }
  async ask(text) {
    this.ws.send(text);
    return this.next();
  }
  close(code, reason) {
    this.ws.close(code, reason);
    return bounded(this.closed, 'the close');
  }
}

async function get(pathAndQuery, method = 'GET') {
  const res = await bounded(fetch(`http://127.0.0.1:${port}${pathAndQuery}`, { method }), pathAndQuery);
  return { status: res.status, text: await res.text() };
}
async function stats(room) {
  return JSON.parse((await get(`/admin/stats?room=${room}`)).text);
}
async function hibernate() {
  assert.equal((await get('/admin/hibernate', 'POST')).status, 200);
}
/// The status of a refused handshake.
async function refusedStatus(url) {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  const [, res] = await bounded(once(ws, 'unexpected-response'), 'the refusal');
  ws.terminate();
  return res.statusCode;
}

test('upgrade, echo of text and binary, and a plain request answered by fetch', async () => {
  const room = newRoom();
  const c = await client.open(room);
  assert.equal(await c.ask('echo:hello'), 'hello');
  const bytes = crypto.randomBytes(70_000);
  c.ws.send(bytes);
  assert.deepEqual(await c.next(), bytes);
  assert.equal((await get(`/room/${room}`)).status, 426);
  await c.close(1000);
});

test('tags: given at accept, listed, used to select a broadcast; limits refused with 400', async () => {
  const room = newRoom();
  const a = await client.open(room, '?tags=red,big');
  const b = await client.open(room, '?tags=blue');
  const n = await client.open(room);
  assert.equal(await a.ask('tags'), 'tags:red,big');
  assert.equal(await n.ask('tags'), 'tags:');
  assert.equal(await n.ask('count'), 'count:3');
  assert.equal(await n.ask('count:red'), 'count:1');
  n.ws.send('tag:blue:for blue');
  assert.equal(await b.next(), 'for blue');
  assert.equal(await a.ask('echo:after'), 'after');  // a got nothing in between
  assert.equal(await n.ask('echo:after'), 'after');

  const eleven = Array.from({ length: 11 }, (_, i) => `t${i}`).join(',');
  assert.equal(await refusedStatus(`ws://127.0.0.1:${port}/room/${room}?tags=${eleven}`), 400);
  assert.equal(await refusedStatus(`ws://127.0.0.1:${port}/room/${room}?tags=${'x'.repeat(257)}`), 400);
  const ten = Array.from({ length: 10 }, (_, i) => `t${i}`).join(',');
  const ok = await client.open(room, `?tags=${ten}&attach=${'y'.repeat(16 * 1024)}`);
  assert.equal(await ok.ask('count'), 'count:4');
  assert.equal((await ok.ask('attachment')).length, 'attachment:'.length + 16 * 1024);
  assert.equal(await refusedStatus(`ws://127.0.0.1:${port}/room/${room}?attach=${'y'.repeat(16 * 1024 + 1)}`), 400);
  assert.equal(await ok.ask(`attach:${'z'.repeat(16 * 1024 + 1)}`), 'attachment too big');
  assert.equal(await ok.ask('attachment'), `attachment:${'y'.repeat(16 * 1024)}`);  // unchanged
  for (const c of [a, b, n, ok]) await c.close(1000);
});

test('broadcast to all, and to all but the sender', async () => {
  const room = newRoom();
  const clients = [];
  for (let i = 0; i < 4; ++i) clients.push(await client.open(room));
  clients[0].ws.send('all:to everyone');
  for (const c of clients) assert.equal(await c.next(), 'to everyone');
  clients[1].ws.send('others:not to 1');
  for (const [i, c] of clients.entries()) if (i !== 1) assert.equal(await c.next(), 'not to 1');
  assert.equal(await clients[1].ask('echo:mine'), 'mine');  // the sender got nothing before its own echo
  for (const c of clients) await c.close(1000);
});

test('hibernation: sockets stay open; tags and attachments are intact when the next message wakes the actor', async () => {
  const room = newRoom();
  const a = await client.open(room, '?tags=left&attach=from-accept');
  const b = await client.open(room, '?tags=right');
  assert.equal(await b.ask('attach:set-later'), 'attached');
  assert.equal((await stats(room)).activations, 1);

  await hibernate();
  assert.equal((await stats(room)).activations, 1);  // nothing woke it yet
  assert.equal(await a.ask('attachment'), 'attachment:from-accept');
  assert.equal((await stats(room)).activations, 2);  // the message woke a new instance
  assert.equal(await b.ask('attachment'), 'attachment:set-later');
  assert.equal(await b.ask('tags'), 'tags:right');
  assert.equal(await a.ask('count:left'), 'count:1');

  await hibernate();
  a.ws.send('all:after a second hibernation');
  assert.equal(await a.next(), 'after a second hibernation');
  assert.equal(await b.next(), 'after a second hibernation');
  assert.equal((await stats(room)).activations, 3);
  await a.close(1000);
  await b.close(1000);
});

test('auto-response and protocol pings are answered without waking the actor', async () => {
  const room = newRoom();
  const c = await client.open(room);
  assert.equal(await c.ask('auto:ping?:pong!'), 'auto set');
  await hibernate();
  const before = (await stats(room)).activations;
  assert.equal(await c.ask('ping?'), 'pong!');
  assert.equal(await c.ask('ping?'), 'pong!');
  c.ws.ping('are you there');
  const [payload] = await bounded(once(c.ws, 'pong'), 'the pong');
  assert.equal(payload.toString(), 'are you there');
  assert.equal((await stats(room)).activations, before);
  assert.equal(await c.ask('echo:awake'), 'awake');  // an ordinary message does wake it
  assert.equal((await stats(room)).activations, before + 1);
  await c.close(1000);
});

test('a message over 32 MiB closes with 1009; one of exactly 32 MiB arrives', async () => {
  const room = newRoom();
  const c = await client.open(room);
  const max = Buffer.alloc(32 * 1024 * 1024, 7);
  c.ws.send(max);
  const echoed = await c.next();
  assert.equal(echoed.length, max.length);
  c.ws.send(Buffer.alloc(32 * 1024 * 1024 + 1, 7));
  assert.equal((await bounded(c.closed, 'the close')).code, 1009);
  const other = await client.open(room);  // the server goes on
  assert.equal(await other.ask('echo:still here'), 'still here');
  await other.close(1000);
});

test('close: by the actor with its code and reason; by the client, heard by the actor', async () => {
  const room = newRoom();
  const a = await client.open(room);
  a.ws.send('close:4001:bye now');
  assert.deepEqual(await bounded(a.closed, 'the close'), { code: 4001, reason: 'bye now' });

  const b = await client.open(room);
  await b.close(4002, 'client leaves');
  const deadline = Date.now() + STEP_MS;
  while ((await stats(room)).close !== '4002 client leaves') {
    assert.ok(Date.now() < deadline, 'the actor heard the close');
    await new Promise((r) => setTimeout(r, 20));
  }
});

test('a handler that throws closes its socket with 1011; other sockets go on', async () => {
  const room = newRoom();
  const a = await client.open(room);
  const b = await client.open(room);
  a.ws.send('throw');
  assert.equal((await bounded(a.closed, 'the close')).code, 1011);
  assert.equal(await b.ask('echo:fine'), 'fine');
  await b.close(1000);
});

test('a message after a durable write arrives (through the output gate)', async () => {
  const c = await client.open(newRoom());
  assert.equal(await c.ask('store:kept'), 'stored:kept');
  await c.close(1000);
});

test('the example room: clients stay in sync, through a hibernation of the room', async () => {
  const name = newRoom();
  const join = async (user) => {
    const c = new client(new WebSocket(`ws://127.0.0.1:${port}/chat/${name}?user=${user}`));
    await bounded(once(c.ws, 'open'), 'the handshake');
    return c;
  };
  const json = async (c) => JSON.parse(await c.next());
  const page = await get(`/chat/${name}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /<title>cairn room<\/title>/);

  const ann = await join('ann');
  assert.deepEqual(await json(ann), { type: 'state', users: ['ann'], messages: [] });
  const bob = await join('bob');
  for (const c of [ann, bob]) assert.deepEqual((await json(c)).users, ['ann', 'bob']);
  ann.ws.send('hello bob');
  for (const c of [ann, bob]) {
    const m = await json(c);
    assert.equal(m.type, 'message');
    assert.equal(m.user, 'ann');
    assert.equal(m.text, 'hello bob');
  }

  await hibernate();
  bob.ws.send('hi ann, after a nap');
  for (const c of [ann, bob]) assert.equal((await json(c)).text, 'hi ann, after a nap');
  const cy = await join('cy');
  const state = await json(cy);
  assert.deepEqual(state.users, ['ann', 'bob', 'cy']);
  assert.deepEqual(state.messages.map((m) => `${m.user}: ${m.text}`), ['ann: hello bob', 'bob: hi ann, after a nap']);
  for (const c of [ann, bob]) assert.deepEqual((await json(c)).users, ['ann', 'bob', 'cy']);
  await cy.close(1000);
  for (const c of [ann, bob]) assert.deepEqual((await json(c)).users, ['ann', 'bob']);
  assert.equal(await refusedStatus(`ws://127.0.0.1:${port}/chat/${name}`), 400);  // no user
  await ann.close(1000);
  await bob.close(1000);
});

// ---- malformed frames, over raw TCP ----

/// A raw connection that completed the opening handshake.
async function rawSocket(room) {
  const sock = net.connect(port, '127.0.0.1');
  await bounded(once(sock, 'connect'), 'the connection');
  const key = crypto.randomBytes(16).toString('base64');
  sock.write(`GET /room/${room} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
             `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let buf = Buffer.alloc(0);
  await bounded(new Promise((resolve) => {
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        assert.match(buf.subarray(0, end).toString(), /^HTTP\/1\.1 101/);
        sock.off('data', onData);
        sock.rest = buf.subarray(end + 4);
        resolve();
      }
    };
    sock.on('data', onData);
  }), 'the 101');
  return sock;
}

/// The close code in the server's close frame, or null if the connection ended without one.
async function closeCodeFrom(sock) {
  let buf = sock.rest;
  const ended = new Promise((resolve) => sock.on('close', resolve));
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); });
  await bounded(ended, 'the server to end the connection');
  if (buf.length >= 4 && buf[0] === 0x88) return buf.readUInt16BE(2);
  return null;
}

/// A client frame: FIN + opcode, masked (unless told not to).
function frame(opcode, payload, { masked = true, fin = true } = {}) {
  const head = [(fin ? 0x80 : 0) | opcode];
  const mask = masked ? crypto.randomBytes(4) : Buffer.alloc(0);
  if (payload.length < 126) head.push((masked ? 0x80 : 0) | payload.length);
  else head.push((masked ? 0x80 : 0) | 126, payload.length >> 8, payload.length & 0xff);
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; ++i) body[i] ^= mask[i % 4];
  return Buffer.concat([Buffer.from(head), mask, body]);
}

test('invalid frames get the right close code; the server keeps serving', async () => {
  const room = newRoom();
  const cases = [
    ['an unmasked client frame', frame(0x1, Buffer.from('hi'), { masked: false }), 1002],
    ['a reserved opcode', frame(0x3, Buffer.from('hi')), 1002],
    ['a fragmented control frame', frame(0x9, Buffer.from('hi'), { fin: false }), 1002],
    ['a control frame over 125 bytes', frame(0x9, Buffer.alloc(126)), 1002],
    ['a continuation with nothing to continue', frame(0x0, Buffer.from('hi')), 1002],
    ['text that is not UTF-8', frame(0x1, Buffer.from([0xc3, 0x28])), 1007],
  ];
  for (const [what, bytes, code] of cases) {
    const sock = await rawSocket(room);
    const closing = closeCodeFrom(sock);
    sock.write(bytes);
    assert.equal(await closing, code, what);
  }
  const c = await client.open(room);
  assert.equal(await c.ask('echo:unharmed'), 'unharmed');
  await c.close(1000);
});

test('abrupt disconnects mid-frame and mid-handshake leave the server serving', async () => {
  const room = newRoom();
  const half = await rawSocket(room);
  half.write(frame(0x1, Buffer.from('a message cut short')).subarray(0, 6));
  half.destroy();
  const sock = net.connect(port, '127.0.0.1');
  await bounded(once(sock, 'connect'), 'the connection');
  sock.write('GET /room/x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
  sock.destroy();
  const c = await client.open(room);
  assert.equal(await c.ask('count'), 'count:1');  // the cut socket left the list
  await c.close(1000);
});

test('a graceful stop closes open sockets with 1001', async () => {
  const c = await client.open(newRoom());
  assert.equal(await c.ask('echo:last'), 'last');
  server.kill('SIGTERM');
  assert.equal((await bounded(c.closed, 'the close')).code, 1001);
  const [code] = await bounded(once(server, 'exit'), 'the server to exit');
  assert.equal(code, 0);
});
