// A module as an LLM might write it for `cairn eval` or the coder agent:
// plain data in, plain data out, nothing but the web platform subset.
export default async function (input) {
  const items = input?.items ?? [];
  const total = items.reduce((a, b) => a + b, 0);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(items)));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  console.log(`summing ${items.length} items`);
  return { total, mean: items.length ? total / items.length : null, sha256: hex.slice(0, 16) };
}
