// The same unmodified Durable Objects examples (examples/js_counter/counter.js,
// examples/js_websocket/server.js) on `cairn serve` and on workerd from npm,
// driven by the same client: every response must be the same on both.
// Run by ctest (entry `workerd_compat`) with CAIRN_SERVER, WORKERD and
// CAIRN_SOURCE set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';

const STEP_MS = 20_000;
const source = process.env.CAIRN_SOURCE;
const children = [];
let scratch;
let cairn;   // {counter, websocket}: base URLs
let workerd;

function bounded(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function freePort() {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  await once(s, 'close');
  return port;
}

function start(binary, args, cwd) {
  const p = spawn(binary, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  p.output = () => out;
  return p;
}

async function until(url, what) {
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what} did not answer at ${url}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

before(async () => {
  assert.ok(process.env.CAIRN_SERVER && process.env.WORKERD && source, 'CAIRN_SERVER, WORKERD and CAIRN_SOURCE are set');
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cairn-compat-'));
  // cairn: the examples' config, run from the source folder (its paths are relative to it).
  const port = await freePort();
  const c = start(process.env.CAIRN_SERVER, ['serve', '--port', String(port), '--data-dir', path.join(scratch, 'cairn'),
                                             '--config', path.join(source, 'examples/js/cairn.json')], source);
  cairn = { counter: `http://127.0.0.1:${port}/js/counter`, websocket: `127.0.0.1:${port}/js/websocket` };
  // workerd: the same modules from examples/js/workerd.capnp.
  const [p1, p2] = [await freePort(), await freePort()];
  const store = path.join(scratch, 'workerd');
  rmSync(store, { recursive: true, force: true });
  await import('node:fs').then((fs) => fs.mkdirSync(store));
  start(process.env.WORKERD, ['serve', path.join(source, 'examples/js/workerd.capnp'),
                              '--socket-addr', `counter=127.0.0.1:${p1}`, '--socket-addr', `websocket=127.0.0.1:${p2}`,
                              '--directory-path', `do-storage=${store}`], source);
  workerd = { counter: `http://127.0.0.1:${p1}`, websocket: `127.0.0.1:${p2}` };
  await until(cairn.counter + '/', 'cairn serve');
  await until(workerd.counter + '/', 'workerd');
});

after(async () => {
  for (const p of children) {
    if (p.exitCode === null) {
      p.kill('SIGTERM');
      await bounded(once(p, 'exit'), 'a server to stop').catch(() => p.kill('SIGKILL'));
    }
  }
  rmSync(scratch, { recursive: true, force: true });
});

async function get(base, pathAndQuery) {
  const r = await bounded(fetch(base + pathAndQuery), pathAndQuery);
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
}

test('the documented counter answers the same on both', async () => {
  const steps = ['/increment?name=A', '/increment?name=A', '/decrement?name=B', '/?name=A', '/?name=C', '/',
                 '/nope?name=A', '/increment?name=%C3%A9t%C3%A9'];
  for (const s of steps) {
    const [a, b] = [await get(cairn.counter, s), await get(workerd.counter, s)];
    assert.deepEqual(a, b, `GET ${s}`);
  }
  assert.equal((await get(cairn.counter, '/?name=A')).body, "Durable Object 'A' count: 2");
});

/// A connected client with a queue of received messages.
async function connect(hostAndPath) {
  const ws = new WebSocket(`ws://${hostAndPath}`);
  const queue = [];
  const waiting = [];
  ws.on('message', (d) => {
    const text = d.toString();
    if (waiting.length) waiting.shift()(text); else queue.push(text);
  });
  ws.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  await bounded(once(ws, 'open'), `the socket ${hostAndPath} to open`);
  ws.next = () => bounded(queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r)), 'a message');
  ws.ask = (text) => { ws.send(text); return ws.next(); };
  return ws;
}

async function conversation(host) {
  const seen = [];
  const plain = await get('http://' + host, '/websocket');
  seen.push(`plain GET: ${plain.status} ${plain.body}`);
  seen.push(`root: ${(await get('http://' + host, '/')).body}`);
  const a = await connect(host + '/websocket');
  seen.push(await a.ask('hello'));
  const b = await connect(host + '/websocket');
  seen.push(await b.ask('from b'));
  seen.push(await a.ask('again'));
  a.close(1000, 'bye');
  seen.push(`a closed: ${await a.closed}`);
  // The server has seen a's close once a round trip on b comes back after it.
  let reply = await b.ask('still here');
  for (let i = 0; i < 50 && !reply.endsWith('connections: 1'); ++i) {
    await new Promise((r) => setTimeout(r, 20));
    reply = await b.ask('still here');
  }
  seen.push(reply);
  b.close(1000);
  await b.closed;
  return seen;
}

test('the documented WebSocket hibernation server answers the same on both', async () => {
  const [a, b] = [await conversation(cairn.websocket), await conversation(workerd.websocket)];
  assert.deepEqual(a, b);
  assert.deepEqual(a.slice(2, 5), ['[Durable Object] message: hello, connections: 1',
                                   '[Durable Object] message: from b, connections: 2',
                                   '[Durable Object] message: again, connections: 2']);
});
