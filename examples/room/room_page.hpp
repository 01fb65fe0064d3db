#pragma once
// The page of examples/room: connects to its room's WebSocket, shows who is
// here and what they say, reconnects when the connection drops.
#include <string_view>

namespace examples {

inline constexpr std::string_view room_page = R"html(<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cairn room</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  #log { border: 1px solid #ccc; height: 22rem; overflow-y: auto; padding: .5rem; }
  #log p { margin: .2rem 0; } .who { font-weight: 600; } .at { color: #888; font-size: 80%; }
  form { display: flex; gap: .5rem; margin-top: .5rem; } #text { flex: 1; }
  #status { color: #888; }
</style>
<h1 id="title"></h1>
<p>Here: <span id="users"></span> <span id="status"></span></p>
<div id="log"></div>
<form id="say"><input id="text" autocomplete="off" placeholder="say something" maxlength="2000"><button>Send</button></form>
<script>
  const room = decodeURIComponent(location.pathname.split('/')[2] || '');
  document.getElementById('title').textContent = 'Room ' + room;
  let user = localStorage.getItem('cairn-user');
  while (!user || user.length > 32) user = (prompt('Your name (at most 32 characters)') || '').trim();
  localStorage.setItem('cairn-user', user);
  const log = document.getElementById('log'), status = document.getElementById('status');
  function line(m) {
    const p = document.createElement('p');
    const who = document.createElement('span'); who.className = 'who'; who.textContent = m.user + ': ';
    const at = document.createElement('span'); at.className = 'at'; at.textContent = ' ' + new Date(m.at).toLocaleTimeString();
    p.append(who, document.createTextNode(m.text), at);
    log.append(p); log.scrollTop = log.scrollHeight;
  }
  let ws, delay = 250;
  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    ws = new WebSocket(scheme + location.host + location.pathname + '?user=' + encodeURIComponent(user));
    ws.onopen = () => { status.textContent = ''; delay = 250; };
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === 'state') {
        document.getElementById('users').textContent = m.users.join(', ');
        log.replaceChildren(); m.messages.forEach(line);
      } else if (m.type === 'message') line(m);
    };
    ws.onclose = () => { status.textContent = '(reconnecting)'; setTimeout(connect, delay); delay = Math.min(delay * 2, 5000); };
  }
  connect();
  document.getElementById('say').onsubmit = (e) => {
    e.preventDefault();
    const t = document.getElementById('text');
    if (t.value && ws.readyState === WebSocket.OPEN) { ws.send(t.value); t.value = ''; }
  };
</script>
)html";

}  // namespace examples
