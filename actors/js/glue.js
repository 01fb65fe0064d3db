// "cloudflare:workers" as cairn provides it to JavaScript actors, and the glue
// between an actor's JS object and its host. The host compiles this module in
// each class's context and calls install(natives) once, before any of the
// class's own code runs; everything an actor reaches (ctx, ctx.storage, env
// stubs) is made here over a handful of natives that take the actor's handle.

let N = null;

export class DurableObject {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}
export class WorkerEntrypoint {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}
export class RpcTarget {}

// The host names an actor's own id when it learns the name after the object
// was made (an alarm woke it, then a call by name reached it).
let nameId;

class DurableObjectId {
  #hex;
  #name;
  constructor(hex, name) {
    this.#hex = hex;
    this.#name = name;
  }
  toString() { return this.#hex; }
  get name() { return this.#name; }
  equals(other) { return other instanceof DurableObjectId && other.#hex === this.#hex; }
  static { nameId = (id, name) => { id.#name = name; }; }
}

// ---- SQL --------------------------------------------------------------------------------

function rowObject(columns, row) {
  const o = {};
  for (let i = 0; i < columns.length; i++) o[columns[i]] = row[i];
  return o;
}

class SqlStorageCursor {
  #columns;
  #rows;
  #next = 0;
  #read;
  #written;
  constructor(r) {
    this.#columns = r.columns;
    this.#rows = r.rows;
    this.#read = r.rowsRead;
    this.#written = r.rowsWritten;
  }
  get columnNames() { return this.#columns.slice(); }
  get rowsRead() { return this.#read; }
  get rowsWritten() { return this.#written; }
  next() {
    if (this.#next >= this.#rows.length) return { done: true, value: undefined };
    return { done: false, value: rowObject(this.#columns, this.#rows[this.#next++]) };
  }
  [Symbol.iterator]() { return this; }
  toArray() {
    const out = [];
    for (const row of this) out.push(row);
    return out;
  }
  one() {
    const rest = this.toArray();
    if (rest.length === 0) throw new Error("Expected exactly one result from SQL query, but got no results.");
    if (rest.length > 1) throw new Error("Expected exactly one result from SQL query, but got multiple results.");
    return rest[0];
  }
  raw() {
    const cursor = this;
    const rows = this.#rows;
    return {
      next() {
        if (cursor.#next >= rows.length) return { done: true, value: undefined };
        return { done: false, value: rows[cursor.#next++].slice() };
      },
      [Symbol.iterator]() { return this; },
      toArray() {
        const out = [];
        for (const row of this) out.push(row);
        return out;
      },
      get columnNames() { return cursor.columnNames; },
    };
  }
}

class SqlStorage {
  #h;
  constructor(h) { this.#h = h; }
  exec(query, ...bindings) { return new SqlStorageCursor(N.sqlExec(this.#h, String(query), bindings)); }
  get databaseSize() { return N.databaseSize(this.#h); }
}

// ---- key-value --------------------------------------------------------------------------

function keyList(keys) {
  return keys.map((k) => String(k));
}

class SyncKvStorage {
  #h;
  constructor(h) { this.#h = h; }
  get(key) { return N.kvGet(this.#h, String(key)); }
  put(key, value) { N.kvPut(this.#h, [String(key)], [value]); }
  delete(key) { return N.kvDelete(this.#h, [String(key)]) > 0; }
  list(options = {}) { return N.kvList(this.#h, options ?? {})[Symbol.iterator](); }
}

const txnAbandoned =
  "storage.transaction() was rolled back: its callback awaited something other than storage " +
  "(a transaction cannot span such an await; blockConcurrencyWhile() holds other events instead)";
let endTxn;  // (txn, commit) -> whether it was open, for transaction()

// What transaction(fn) hands fn: the storage methods, while it is open.
class DurableObjectTransaction {
  #storage;
  #h;
  #id;
  #ended = false;
  constructor(storage, h, id) {
    this.#storage = storage;
    this.#h = h;
    this.#id = id;
  }
  #live() {
    if (this.#ended) throw new Error("this transaction has ended");
    if (!N.txnOpen(this.#h, this.#id)) throw new Error(txnAbandoned);
  }
  async get(keys) { this.#live(); return this.#storage.get(keys); }
  async put(keyOrEntries, value) { this.#live(); return this.#storage.put(keyOrEntries, value); }
  async delete(keys) { this.#live(); return this.#storage.delete(keys); }
  async list(options) { this.#live(); return this.#storage.list(options); }
  async getAlarm() { this.#live(); return this.#storage.getAlarm(); }
  async setAlarm(when) { this.#live(); return this.#storage.setAlarm(when); }
  async deleteAlarm() { this.#live(); return this.#storage.deleteAlarm(); }
  rollback() {
    this.#live();
    this.#ended = true;
    N.txnEnd(this.#h, this.#id, false);
  }
  static {
    endTxn = (txn, commit) => {
      if (txn.#ended) return true;
      txn.#ended = true;
      return N.txnEnd(txn.#h, txn.#id, commit);
    };
  }
}

class DurableObjectStorage {
  #h;
  constructor(h) {
    this.#h = h;
    this.sql = new SqlStorage(h);
    this.kv = new SyncKvStorage(h);
  }
  // The async methods run at once (storage is local): their promises are
  // settled when they return, and no other event runs in between.
  async get(keys) {
    if (Array.isArray(keys)) return new Map(N.kvGetMany(this.#h, keyList(keys)));
    return N.kvGet(this.#h, String(keys));
  }
  async put(keyOrEntries, value) {
    if (typeof keyOrEntries === "object" && keyOrEntries !== null) {
      const keys = Object.keys(keyOrEntries);
      N.kvPut(this.#h, keys, keys.map((k) => keyOrEntries[k]));
    } else {
      N.kvPut(this.#h, [String(keyOrEntries)], [value]);
    }
  }
  async delete(keys) {
    if (Array.isArray(keys)) return N.kvDelete(this.#h, keyList(keys));
    return N.kvDelete(this.#h, [String(keys)]) > 0;
  }
  async list(options = {}) { return new Map(N.kvList(this.#h, options ?? {})); }
  async deleteAll() { N.kvDeleteAll(this.#h); }
  async getAlarm() { return N.getAlarm(this.#h); }
  async setAlarm(when) {
    const ms = when instanceof Date ? when.getTime() : Number(when);
    if (!Number.isFinite(ms)) throw new TypeError("setAlarm() takes a Date or a number of milliseconds since the epoch");
    N.setAlarm(this.#h, ms);
  }
  async deleteAlarm() { N.deleteAlarm(this.#h); }
  // Settles once the writes made so far are durable (what the actor sends
  // after a write waits for that anyway: the output gate); already settled
  // when nothing waits.
  sync() { return N.storageSync(this.#h); }
  transactionSync(fn) { return N.transactionSync(this.#h, fn); }
  // Atomic: what fn wrote is rolled back if it throws (or calls
  // txn.rollback()). It must finish within the slice: awaiting storage is
  // fine, awaiting another actor rolls it back.
  async transaction(fn) {
    if (typeof fn !== "function") throw new TypeError("transaction() takes a function");
    const txn = new DurableObjectTransaction(this, this.#h, N.txnBegin(this.#h));
    let v;
    try {
      v = await fn(txn);
    } catch (e) {
      endTxn(txn, false);
      throw e;
    }
    if (!endTxn(txn, true)) throw new Error(txnAbandoned);
    return v;
  }
}

// ---- WebSockets (hibernatable) ----------------------------------------------------------

// The JS objects of each actor's sockets, by socket id, so that one socket is
// one object within an instance (the host forgets an actor when it goes).
const socketsOf = new Map();

function socketObject(h, id) {
  let mine = socketsOf.get(h);
  if (!mine) socketsOf.set(h, (mine = new Map()));
  let ws = mine.get(id);
  if (!ws) {
    ws = new WebSocket(kServer);
    ws[kBind](h, id);
    mine.set(id, ws);
  }
  return ws;
}

const kServer = Symbol("server");
const kBind = Symbol("bind");
const kSocket = Symbol("socket");
const kId = Symbol("id");
const kUpgrade = Symbol("upgrade");

export class WebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  #h = 0;
  #id = 0;
  #side;
  constructor(side) {
    if (side !== kServer && side !== "client") throw new TypeError("WebSockets come from a WebSocketPair");
    this.#side = side;
  }
  [kBind](h, id) { this.#h = h; this.#id = id; }
  get [kSocket]() { return this.#side === kServer ? this : null; }
  get [kId]() { return this.#id; }
  get readyState() { return this.#id === 0 ? 0 : N.wsOpen(this.#h, this.#id) ? 1 : 3; }
  #check(what) {
    if (this.#side !== kServer) throw new TypeError(what + "(): this is the client end; the client has it");
    if (this.#id === 0) throw new TypeError(what + "(): the socket was not accepted (ctx.acceptWebSocket)");
  }
  send(data) { this.#check("send"); N.wsSend(this.#h, this.#id, data); }
  close(code, reason) { this.#check("close"); N.wsClose(this.#h, this.#id, code ?? 1000, reason ?? ""); }
  serializeAttachment(value) { this.#check("serializeAttachment"); N.wsSetAttachment(this.#h, this.#id, value); }
  deserializeAttachment() { this.#check("deserializeAttachment"); return N.wsGetAttachment(this.#h, this.#id); }
  accept() { throw new TypeError("accept(): a Durable Object accepts with ctx.acceptWebSocket(ws), which keeps it across hibernation"); }
  static [kBind](h, server, id) {
    server[kBind](h, id);
    let mine = socketsOf.get(h);
    if (!mine) socketsOf.set(h, (mine = new Map()));
    mine.set(id, server);
  }
}

export class WebSocketPair {
  constructor() {
    this[0] = new WebSocket("client");
    this[1] = new WebSocket(kServer);
  }
}

export class WebSocketRequestResponsePair {
  #request;
  #response;
  constructor(request, response) {
    this.#request = String(request);
    this.#response = String(response);
  }
  get request() { return this.#request; }
  get response() { return this.#response; }
}

// ---- the state object (ctx) -----------------------------------------------------------

const blocksOf = new Map();  // actor handle -> its blockConcurrencyWhile() calls not settled

class DurableObjectState {
  #h;
  constructor(h, id) {
    this.#h = h;
    this.id = id;
    this.storage = new DurableObjectStorage(h);
  }
  blockConcurrencyWhile(fn) {
    N.block(this.#h);
    let p;
    try {
      p = Promise.resolve(fn());
    } catch (e) {
      p = Promise.reject(e);
    }
    const h = this.#h;
    // A callback that fails leaves the object in a state nobody checked: it is reset.
    const done = p.then(
      (v) => { N.unblock(h, false); return v; },
      (e) => { N.unblock(h, true); throw e; });
    // The event that made the object waits for the ones its constructor started.
    let mine = blocksOf.get(h);
    if (!mine) blocksOf.set(h, (mine = new Set()));
    mine.add(done);
    const drop = () => mine.delete(done);
    done.then(drop, drop);
    return done;
  }
  waitUntil(promise) { Promise.resolve(promise).catch(() => {}); }
  abort(reason) { N.abort(this.#h, reason === undefined ? undefined : String(reason)); }
  acceptWebSocket(ws, tags = []) {
    if (!(ws instanceof WebSocket) || !ws[kSocket]) throw new TypeError("acceptWebSocket() takes the server end of a WebSocketPair");
    if (ws.readyState !== 0) throw new TypeError("acceptWebSocket(): this socket was accepted already");
    const id = N.wsAccept(this.#h, Array.from(tags, String));
    WebSocket[kBind](this.#h, ws, id);
  }
  getWebSockets(tag) {
    return N.wsList(this.#h, tag === undefined ? "" : String(tag)).map((id) => socketObject(this.#h, id));
  }
  getTags(ws) {
    if (!(ws instanceof WebSocket) || ws.readyState === 0) throw new TypeError("getTags() takes an accepted WebSocket");
    return N.wsTags(this.#h, ws[kId]);
  }
  setWebSocketAutoResponse(pair) {
    if (pair === undefined) return N.wsAutoResponse(this.#h, "", "");
    if (!(pair instanceof WebSocketRequestResponsePair)) throw new TypeError("setWebSocketAutoResponse() takes a WebSocketRequestResponsePair");
    N.wsAutoResponse(this.#h, pair.request, pair.response);
  }
}

// ---- stubs of other actors (env bindings) ---------------------------------------------

function headerList(headers) {
  const out = [];
  headers.forEach((value, name) => out.push([name, value]));
  return out;
}

async function stubFetch(ns, hex, name, input, init) {
  const req = new Request(input, init);
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
  const r = await N.fetch(ns, hex, req.url, req.method, headerList(req.headers), body, name);
  if (r.status === 101 && r.webSocketUpgrade) {
    // The actor accepted a socket: handing this Response on hands the socket on.
    const client = new WebSocket("client");
    client[kUpgrade] = r.webSocketUpgrade;
    return new Response(null, { status: 101, webSocket: client, headers: r.headers });
  }
  const nullBody = r.status === 101 || r.status === 204 || r.status === 205 || r.status === 304;
  return new Response(nullBody ? null : r.body, { status: r.status, headers: r.headers });
}

function makeStub(ns, id) {
  const hex = id.toString();
  const name = id.name;  // the target learns it as its ctx.id.name
  return new Proxy(Object.create(null), {
    get(_, prop) {
      if (typeof prop !== "string" || prop === "then") return undefined;
      if (prop === "id") return id;
      if (prop === "name") return id.name;
      if (prop === "fetch") return (input, init) => stubFetch(ns, hex, name, input, init);
      return (...args) => N.call(ns, hex, prop, args, name);
    },
    set() { return false; },
  });
}

function makeNamespace(ns) {
  const self = {
    idFromName(name) { return new DurableObjectId(N.idFromName(ns, String(name)), String(name)); },
    newUniqueId() { return new DurableObjectId(N.newUniqueId(ns)); },
    idFromString(hex) { return new DurableObjectId(N.idFromString(ns, String(hex))); },
    get(id) {
      if (!(id instanceof DurableObjectId)) throw new TypeError("get() takes a DurableObjectId (from idFromName, newUniqueId or idFromString)");
      return makeStub(ns, id);
    },
    getByName(name) { return makeStub(ns, self.idFromName(name)); },
  };
  return Object.freeze(self);
}

// ---- the host's side ---------------------------------------------------------------

const idOf = new Map();  // actor handle -> its ctx.id

export function __cairn_install(natives) {
  if (N) throw new Error("already installed");
  N = natives;
  // WebSocketPair and WebSocketRequestResponsePair are globals in workerd.
  for (const [name, value] of [["WebSocketPair", WebSocketPair], ["WebSocketRequestResponsePair", WebSocketRequestResponsePair]])
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  return Object.freeze({
    state: (h, hex, name) => {
      const state = new DurableObjectState(h, new DurableObjectId(hex, name));
      idOf.set(h, state.id);
      return state;
    },
    named: (h, name) => { const id = idOf.get(h); if (id) nameId(id, name); },
    namespace: makeNamespace,
    socket: socketObject,
    forget: (h) => { socketsOf.delete(h); idOf.delete(h); blocksOf.delete(h); },
    // What the event that made the object awaits first: its constructor's blocks.
    blocking: (h) => { const m = blocksOf.get(h); return m && m.size ? Promise.all(m) : undefined; },
    upgradeOf: (ws) => (ws instanceof WebSocket ? ws[kUpgrade] ?? 0 : 0),
    // The host awaits `p` (an event's result) under the number `id`.
    watch: (p, id) => { p.then((v) => N.settled(id, v), (e) => N.settled(-id, e)); },
  });
}
