// The web platform subset of cairn's sandbox. Well-kept npm packages do the
// work: whatwg-url (URL, URLSearchParams: the WHATWG reference implementation),
// whatwg-fetch (Headers, Request, Response: GitHub's polyfill), base-64
// (atob, btoa: Mathias Bynens'). esbuild bundles this file at build time; the
// host runs the bundle in each new context and calls install() with its
// natives. console, crypto, structuredClone and queueMicrotask are natives.
// Nothing here runs in a new context: the host runs this bundle the first
// time the worker reads one of the globals it provides (see `globals` below)
// or needs a helper, and each package loads on first use of its globals. A
// worker that never touches URL or Request never pays for whatwg-url's
// Unicode tables or whatwg-fetch's classes.

let natives = null;

let text = null;
function textApi() {
  if (!text) {
    text = require("./text.js");
    text.bindText(natives);
  }
  return text;
}

let fetchClasses = null;
function fetchApi() {
  if (fetchClasses) return fetchClasses;
  // install() defined fetch first, so whatwg-fetch leaves the globals alone.
  const { Headers, Request: PolyRequest, Response: PolyResponse } = require("whatwg-fetch");
  // whatwg-fetch decodes ArrayBuffer bodies as Latin-1; text() is UTF-8 here.
  // Without Blob it cannot turn a text body into bytes at all.
  const utf8Text = (body) => {
    const polyArrayBuffer = body.arrayBuffer;
    body.arrayBuffer = function () {
      if (this._bodyArrayBuffer !== undefined || this._bodyText === undefined) return polyArrayBuffer.call(this);
      return this.text().then((t) => new TextEncoder().encode(t).buffer);
    };
    if (body._bodyArrayBuffer !== undefined) {
      body.text = function () { return this.arrayBuffer().then((b) => new TextDecoder().decode(b)); };
      body.json = function () { return this.text().then(JSON.parse); };
    }
    return body;
  };
  class Request extends PolyRequest {
    constructor(input, init) { super(input, init); utf8Text(this); }
  }
  class Response extends PolyResponse {
    constructor(body, init) {
      // 101 with a webSocket is how a Durable Object hands over an accepted
      // socket (whatwg-fetch takes 200-599 only).
      const upgrade = init != null && init.status === 101 && init.webSocket != null;
      super(body, upgrade ? { ...init, status: 200 } : init);
      utf8Text(this);
      if (upgrade) {
        this.status = 101;
        this.ok = false;
        Object.defineProperty(this, "webSocket", { value: init.webSocket, enumerable: true });
      }
    }
    static json(data, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return new Response(JSON.stringify(data), { ...init, headers });
    }
  }
  fetchClasses = { Headers, Request, Response, PolyResponse };
  return fetchClasses;
}

let whatwgUrl = null;
function urlApi() {
  if (!whatwgUrl) {
    memoiseDomainToASCII();
    memoiseAbsoluteURLParse();
    whatwgUrl = require("whatwg-url");
  }
  return whatwgUrl;
}

// A server parses the same URLs again and again (`new URL(request.url)`):
// whatwg-url's state machine runs once per distinct absolute URL (no base,
// no setter), and each parse gets its own copy of the record, since URL
// setters change it in place.
function memoiseAbsoluteURLParse() {
  const usm = require("whatwg-url/lib/url-state-machine");
  const original = usm.basicURLParse;
  const seen = new Map();
  const copy = (r) => ({ ...r, path: Array.isArray(r.path) ? r.path.slice() : r.path,
                         host: Array.isArray(r.host) ? r.host.slice() : r.host });
  usm.basicURLParse = (input, options) => {
    const plain = typeof input === "string" && (options === undefined || (options.baseURL == null &&
      options.url === undefined && options.stateOverride === undefined && options.encodingOverride === undefined));
    if (!plain) return original(input, options);
    let r = seen.get(input);
    if (r === undefined) {
      r = original(input, options);
      if (seen.size >= 4096) seen.clear();
      seen.set(input, r);
    }
    return r === null ? null : copy(r);
  };
}

// whatwg-url runs UTS #46 processing (tr46) over the host of every URL it
// parses: most of the time of `new URL(request.url)` in a server, where the
// host is the same request after request. The result depends only on the
// domain and the options, so it is remembered (a bounded table, emptied when
// full). whatwg-url looks tr46.toASCII up at each call, on the same module.
function memoiseDomainToASCII() {
  const tr46 = require("tr46");
  const original = tr46.toASCII;
  const seen = new Map();
  tr46.toASCII = (domain, options) => {
    const key = (options && options.checkHyphens ? "1" : "0") + domain;
    let r = seen.get(key);
    if (r === undefined) {
      r = original(domain, options);
      if (seen.size >= 512) seen.clear();
      seen.set(key, r);
    }
    return r;
  };
}

let base64 = null;
function base64Api() {
  base64 ??= require("base-64");
  return base64;
}

function headerList(h) {
  const out = [];
  h.forEach((value, name) => out.push([name, value]));
  return out;
}

async function fetch(input, init) {
  const { Request, Response } = fetchApi();
  const req = new Request(input, init);
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
  const r = await natives.fetch(req.url, req.method, headerList(req.headers), body);
  const nullBody = r.status === 101 || r.status === 204 || r.status === 205 || r.status === 304;
  const resp = new Response(nullBody ? null : r.body, { status: r.status, statusText: r.statusText, headers: r.headers });
  Object.defineProperty(resp, "url", { value: r.url, enumerable: true });
  return resp;
}

// env.NAME of an actor grant: stubs whose methods call the hidden host
// function `call(key, isId, method, ...args)`.
function actorNamespace(call, methods) {
  const stub = (key, isId) => {
    const s = Object.create(null);
    for (const m of methods) s[m] = (...args) => call(key, isId, m, ...args);
    return Object.freeze(s);
  };
  const ns = Object.create(null);
  ns.getByName = (name) => stub(String(name), false);
  ns.get = (id) => stub(String(id), true);
  return Object.freeze(ns);
}

// The host's side of Worker-style fetch handlers.
function makeRequest(url, method, headers, body) {
  const { Request } = fetchApi();
  return new Request(url, { method, headers, body: method === "GET" || method === "HEAD" ? undefined : body });
}
async function readResponse(value) {
  if (!(value instanceof fetchApi().PolyResponse)) throw new TypeError("the fetch handler must return a Response");
  // A body given as a string (most handlers) goes to the host as it is: the
  // host encodes it to UTF-8, without a trip through TextEncoder and promises.
  const text = !value.bodyUsed && value._bodyArrayBuffer === undefined && typeof value._bodyText === "string";
  if (text) value.bodyUsed = true;
  const body = text ? value._bodyText : await value.arrayBuffer();
  return { status: value.status, statusText: value.statusText, headers: headerList(value.headers), body,
           webSocket: value.webSocket ?? null };
}
// A module Worker's third argument. waitUntil's promise runs on in the
// isolate after the response (nothing waits for it); there is no origin to
// pass through to, so passThroughOnException() changes nothing.
const executionContext = Object.freeze({
  waitUntil(promise) { Promise.resolve(promise).catch(() => {}); },
  passThroughOnException() {},
});
function runFetch(self, handler, request, env) {
  return Promise.resolve(handler.call(self, request, env, executionContext)).then(readResponse);
}

// The globals this file provides, each made on first use. The host defines
// them as lazy data properties of the global object whose first read calls
// global(name): a worker that touches none of them never runs this bundle.
const globals = {
  TextEncoder: () => textApi().TextEncoder,
  TextDecoder: () => textApi().TextDecoder,
  DOMException: () => textApi().DOMException,
  URL: () => urlApi().URL,
  URLSearchParams: () => urlApi().URLSearchParams,
  Headers: () => fetchApi().Headers,
  Request: () => fetchApi().Request,
  Response: () => fetchApi().Response,
  fetch: () => fetch,
  atob: () => (s) => base64Api().decode(String(s)),
  btoa: () => (s) => base64Api().encode(String(s)),
};
function global(name) {
  return Object.hasOwn(globals, name) ? globals[name]() : undefined;
}

export function install(n) {
  natives = n;
  return Object.freeze({ makeRequest, runFetch, actorNamespace, global });
}

// The host takes the installer and deletes it before any guest code runs.
Object.defineProperty(globalThis, "__cairn_install", { value: install, configurable: true });
