// TextEncoder and TextDecoder (UTF-8 only, as in Workers) over V8's own UTF-8
// codec, reached through natives bound by install(); and DOMException.
// prelude.js loads this module on the first use of one of them.
let natives = null;
export function bindText(n) { natives = n; }

const utf8Labels = new Set(["utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8"]);

export class TextEncoder {
  get encoding() { return "utf-8"; }
  encode(input = "") { return natives.utf8Encode(String(input)); }
  encodeInto(input, dest) {
    const bytes = natives.utf8Encode(String(input));
    // Whole characters only: back off to the start of a UTF-8 sequence.
    let n = Math.min(bytes.length, dest.length);
    if (n < bytes.length) while (n > 0 && (bytes[n] & 0xc0) === 0x80) n--;
    dest.set(bytes.subarray(0, n));
    const read = natives.utf8Decode(bytes.subarray(0, n), false, true).length;
    return { read, written: n };
  }
}

export class TextDecoder {
  #fatal; #ignoreBOM;
  constructor(label = "utf-8", options = {}) {
    if (!utf8Labels.has(String(label).trim().toLowerCase()))
      throw new RangeError(`TextDecoder: the encoding '${label}' is not supported (only utf-8)`);
    this.#fatal = Boolean(options && options.fatal);
    this.#ignoreBOM = Boolean(options && options.ignoreBOM);
  }
  get encoding() { return "utf-8"; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }
  decode(input, options) {
    if (input === undefined) return "";
    let view;
    if (input instanceof ArrayBuffer) view = new Uint8Array(input);
    else if (ArrayBuffer.isView(input)) view = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    else throw new TypeError("TextDecoder.decode: the input is not an ArrayBuffer or a view of one");
    return natives.utf8Decode(view, this.#fatal, this.#ignoreBOM);
  }
}

// whatwg-fetch probes for DOMException when it loads (a failed probe makes V8
// re-parse the whole bundle to word its error message).
export class DOMException extends Error {
  constructor(message = "", name = "Error") {
    super(message);
    Object.defineProperty(this, "name", { value: String(name), configurable: true, writable: true });
  }
}
