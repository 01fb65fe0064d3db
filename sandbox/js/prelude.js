// The web platform subset of cairn's sandbox. Well-kept npm packages do the
// work: whatwg-url (URL, URLSearchParams: the WHATWG reference implementation),
// whatwg-fetch (Headers, Request, Response: GitHub's polyfill), base-64
// (atob, btoa: Mathias Bynens'). esbuild bundles this file at build time; the
// host runs the bundle in each new context and calls install() with its
// natives. console, crypto, structuredClone and queueMicrotask are natives.
import { TextEncoder, TextDecoder, bindText } from "./text.js";

import { Headers, Request as PolyRequest, Response as PolyResponse } from "whatwg-fetch";
import base64 from "base-64";

let natives = null;

// whatwg-fetch decodes ArrayBuffer bodies as Latin-1; text() is UTF-8 here.
// Without Blob it cannot turn a text body into bytes at all.
function utf8Text(body) {
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
}

class Request extends PolyRequest {
  constructor(input, init) { super(input, init); utf8Text(this); }
}
class Response extends PolyResponse {
  constructor(body, init) { super(body, init); utf8Text(this); }
  static json(data, init = {}) {
    const headers = new Headers(init.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(JSON.stringify(data), { ...init, headers });
  }
}

function headerList(h) {
  const out = [];
  h.forEach((value, name) => out.push([name, value]));
  return out;
}

async function fetch(input, init) {
  const req = new Request(input, init);
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
  const r = await natives.fetch(req.url, req.method, headerList(req.headers), body);
  const nullBody = r.status === 101 || r.status === 204 || r.status === 205 || r.status === 304;
  const resp = new Response(nullBody ? null : r.body, { status: r.status, statusText: r.statusText, headers: r.headers });
  Object.defineProperty(resp, "url", { value: r.url, enumerable: true });
  return resp;
}

// whatwg-url builds large Unicode tables when it loads (tr46): it loads on the
// first use of URL or URLSearchParams in a context, not in every context.
// (Until the prelude lives in a V8 startup snapshot.)
let whatwgUrl = null;
function lazyGlobal(name) {
  Object.defineProperty(globalThis, name, {
    configurable: true,
    enumerable: false,
    get() {
      whatwgUrl ??= require("whatwg-url");
      define(name, whatwgUrl[name]);
      return whatwgUrl[name];
    },
    set(v) { define(name, v); },
  });
}

function define(name, value) {
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
}

// The host's side of Worker-style fetch handlers.
function makeRequest(url, method, headers, body) {
  return new Request(url, { method, headers, body: method === "GET" || method === "HEAD" ? undefined : body });
}
async function readResponse(value) {
  if (!(value instanceof PolyResponse)) throw new TypeError("the fetch handler must return a Response");
  const body = await value.arrayBuffer();
  return { status: value.status, statusText: value.statusText, headers: headerList(value.headers), body };
}
function runFetch(self, handler, request, env) {
  return Promise.resolve(handler.call(self, request, env)).then(readResponse);
}

export function install(n) {
  natives = n;
  bindText(n);
  lazyGlobal("URL");
  lazyGlobal("URLSearchParams");
  define("Headers", Headers);
  define("Request", Request);
  define("Response", Response);
  define("fetch", fetch);
  define("atob", (s) => base64.decode(String(s)));
  define("btoa", (s) => base64.encode(String(s)));
  return Object.freeze({ makeRequest, runFetch });
}

// The host takes the installer and deletes it before any guest code runs.
Object.defineProperty(globalThis, "__cairn_install", { value: install, configurable: true });
