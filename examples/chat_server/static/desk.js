// The agent desk: one WebSocket to /ws/agent; conversations handed off by the bot, with transcripts.
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const name = params.get("name") || localStorage.getItem("kefu.agent") || "客服";
  localStorage.setItem("kefu.agent", name);
  const list = document.getElementById("conversations");
  const transcript = document.getElementById("transcript");
  const reply = document.getElementById("reply");
  const state = document.getElementById("state");
  const load = document.getElementById("load");
  const queue = document.getElementById("queue");
  const conversations = new Map();  // session id -> {reason, turns, online, unread, item}
  let selected = null;
  let socket = null;
  let retry = 1000;
  // The message sent and not yet answered. Its text stays in the input until the server's
  // `sent` frame says it went out: a refused one (too_long, too_large, rate_limited, any
  // error) is then still there to shorten or send again, and nothing is put back from
  // memory. One at a time: the server reads an agent's frames in order and answers each
  // message with `sent` or an error frame, so whichever comes next is this message's
  // answer (error frames carry no message id, and may overtake a `sent` in the outbox).
  let pending = null;  // the text sent

  function enableButtons() {
    const usable = Boolean(selected) && pending === null;  // no other frame while one is unanswered
    [document.getElementById("send"), document.getElementById("release")].forEach((el) => { el.disabled = !usable; });
  }

  function settle() {
    pending = null;
    enableButtons();
  }

  function bubble(kind, text, who) {
    const div = document.createElement("div");
    div.className = "msg " + kind;
    if (who) {
      const span = document.createElement("span");
      span.className = "who";
      span.textContent = who;
      div.appendChild(span);
    }
    div.appendChild(document.createTextNode(text));
    transcript.appendChild(div);
    transcript.scrollTop = transcript.scrollHeight;
  }

  function show(turn) {
    if (turn.user) bubble("visitor", turn.user, "访客");
    if (!turn.bot) return;
    if (turn.label.startsWith("agent:")) bubble("agent", turn.bot, turn.label.slice(6));
    else bubble("bot", turn.bot, "机器人 · " + turn.label);
  }

  function renderItem(id) {
    const c = conversations.get(id);
    c.item.className = (id === selected ? "selected " : "") + (c.online ? "online" : "offline");
    c.item.replaceChildren();
    const label = document.createElement("span");
    label.className = "id";
    label.textContent = id.slice(0, 10);
    c.item.appendChild(label);
    if (c.unread) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = c.unread;
      c.item.appendChild(badge);
    }
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = (c.online ? "在线" : "离线") + " · " + c.reason;
    c.item.appendChild(meta);
  }

  function select(id) {
    const previous = selected;
    selected = id;
    if (previous && conversations.has(previous)) renderItem(previous);
    transcript.replaceChildren();
    reply.disabled = !id;
    enableButtons();
    if (!id) {
      const p = document.createElement("p");
      p.id = "empty";
      p.textContent = "暂无转人工的会话";
      transcript.appendChild(p);
      return;
    }
    const c = conversations.get(id);
    c.unread = 0;
    c.turns.forEach(show);
    renderItem(id);
    reply.focus();
  }

  function add(id, turn) {
    const c = conversations.get(id);
    if (!c) return;
    c.turns.push(turn);
    if (id === selected) show(turn);
    else { c.unread += 1; renderItem(id); }
  }

  function drop(id) {
    const c = conversations.get(id);
    if (!c) return;
    c.item.remove();
    conversations.delete(id);
    if (selected === id) select(conversations.size ? conversations.keys().next().value : null);
  }

  const handlers = {
    welcome(f) {
      retry = 1000;  // on the welcome, not on open: see widget.js
      state.textContent = f.agent + " · 在线";
    },
    assigned(f) {
      const item = document.createElement("li");
      item.dataset.session = f.session;
      item.addEventListener("click", () => select(f.session));
      const old = conversations.get(f.session);
      if (old) old.item.remove();
      conversations.set(f.session, { reason: f.reason, turns: [], online: f.visitor_online, unread: 0, item: item });
      list.appendChild(item);
      renderItem(f.session);
      if (!selected || selected === f.session) select(f.session);
    },
    transcript(f) { f.turns.forEach((t) => add(f.session, t)); },
    visitor_message(f) { add(f.session, { user: f.text, bot: "", label: "" }); },
    sent(f) {
      // The server may have replaced broken characters: compare what the agent typed.
      if (pending !== null && reply.value.trim() === pending) reply.value = "";
      settle();
      add(f.session, { user: "", bot: f.text, label: "agent:" + name });
    },
    visitor(f) {
      const c = conversations.get(f.session);
      if (c) { c.online = f.online; renderItem(f.session); }
    },
    released(f) { drop(f.session); },
    ended(f) { drop(f.session); },
    desk(f) {
      // Conversations waiting while this agent is connected means every desk is full.
      load.textContent = f.chats + " / " + f.max_chats;
      load.className = f.chats >= f.max_chats ? "full" : "";
      queue.hidden = !f.waiting;
      queue.textContent = "排队中 " + f.waiting + " 个会话：所有客服都已接满，有空位时按顺序分配";
    },
    error(f) {
      state.textContent = f.message;
      settle();  // the refused text is still in the input
    },
    pong() {},
  };

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const query = "?name=" + encodeURIComponent(name) + (params.get("token") ? "&token=" + encodeURIComponent(params.get("token")) : "");
    socket = new WebSocket(scheme + location.host + "/ws/agent" + query);
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      (handlers[frame.type] || (() => {}))(frame);
    };
    socket.onclose = (event) => {
      state.textContent = "连接断开（" + event.code + "），正在重连…";
      conversations.forEach((c) => c.item.remove());
      conversations.clear();
      pending = null;  // unanswered: its text stays in the input
      select(null);
      load.textContent = "";
      queue.hidden = true;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  function send(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  document.getElementById("compose").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = reply.value.trim();
    if (!text || !selected || pending !== null || !send({ type: "message", session: selected, text: text })) return;
    pending = text;
    enableButtons();
  });
  document.getElementById("release").addEventListener("click", () => {
    if (selected && pending === null) send({ type: "release", session: selected });
  });

  connect();
})();
