// The visitor widget: one WebSocket to /ws/visitor, the conversation id kept in localStorage.
"use strict";
(function () {
  const KEY = "kefu.session";
  const history = document.getElementById("history");
  const live = document.getElementById("live");
  const log = document.getElementById("messages");
  const input = document.getElementById("input");
  const state = document.getElementById("state");
  const sendButton = document.getElementById("send");
  let socket = null;
  let sent = 0;
  let retry = 1000;
  let stopped = false;
  let maxLength = null;  // the bot's max_input_length, from the welcome frame
  // The message sent and not yet answered: {id, text, bubble}. It shows at once as sent; a
  // reply with its id settles it, and an error frame puts its text back into the input, so a
  // refused message (too_long, rate_limited, unavailable, ...) is never lost. One at a time:
  // the server reads a visitor's messages in order and answers each one, so an error frame
  // without an id (too_large: the frame was not readable) is also this message's.
  let pending = null;

  function settle() {
    pending = null;
    sendButton.disabled = false;
  }

  function restore() {
    pending.bubble.classList.add("failed");
    pending.bubble.title = "未发送";
    if (!input.value.trim()) input.value = pending.text;  // never over something typed since
    settle();
  }

  function bubble(parent, kind, text, who) {
    const div = document.createElement("div");
    div.className = "msg " + kind;
    if (who) {
      const span = document.createElement("span");
      span.className = "who";
      span.textContent = who;
      div.appendChild(span);
    }
    div.appendChild(document.createTextNode(text));
    parent.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function turn(t) {
    if (t.user) bubble(history, "me", t.user);
    if (!t.bot) return;
    if (t.label.startsWith("agent:")) bubble(history, "agent", t.bot, "人工客服 " + t.label.slice(6));
    else bubble(history, "bot", t.bot);
  }

  const handlers = {
    welcome(f) {
      // Back-off resets on the welcome, not on open: a server that accepts and then closes
      // (its session store down) is retried ever more slowly, not every second.
      retry = 1000;
      localStorage.setItem(KEY, f.session);
      document.getElementById("title").textContent = f.bot + " · 在线客服";
      history.replaceChildren();
      live.replaceChildren();
      bubble(history, "bot", f.text);
      state.textContent = f.handoff ? "人工客服" : "在线";
      maxLength = f.max_length || null;
    },
    history(f) { f.turns.forEach(turn); },
    reply(f) {
      if (pending && f.reply_to === pending.id) settle();
      if (!f.text) return;
      if (f.from === "agent") bubble(live, "agent", f.text, "人工客服 " + f.agent);
      else bubble(live, "bot", f.text);
    },
    status(f) {
      bubble(live, "status", f.text).dataset.state = f.state;
      state.textContent = f.state === "agent" ? "人工客服 " + f.agent : f.state === "waiting" ? "等待人工" : "在线";
    },
    error(f) {
      bubble(live, "error", f.message).dataset.code = f.code;
      if (pending && (!f.id || f.id === pending.id)) restore();
    },
    pong() {},
  };

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const saved = localStorage.getItem(KEY);
    const query = saved ? "?session=" + encodeURIComponent(saved) : "";
    socket = new WebSocket(scheme + location.host + "/ws/visitor" + query);
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      (handlers[frame.type] || (() => {}))(frame);
    };
    socket.onclose = (event) => {
      if (pending) restore();  // unanswered: the visitor decides whether to send it again
      if (event.code === 4001) {
        stopped = true;
        state.textContent = "已在其他窗口打开";
        return;
      }
      if (event.code === 4002) {  // its stored data cannot be read: a new conversation
        localStorage.removeItem(KEY);
        state.textContent = "之前的对话无法读取，已为您开始新的对话";
        retry = 1000;
        setTimeout(connect, 0);
        return;
      }
      state.textContent = "连接断开，正在重连…";
      if (!stopped) setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  document.getElementById("compose").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || pending || !socket || socket.readyState !== WebSocket.OPEN) return;
    // Characters as the server counts them (code points: an emoji is one, not two).
    if (maxLength && Array.from(text).length > maxLength) {
      // The server would refuse it the same way; the text stays in the input to shorten.
      bubble(live, "error", "消息过长：每条最多 " + maxLength + " 个字符，请分成几条发送").dataset.code = "too_long";
      return;
    }
    sent += 1;
    socket.send(JSON.stringify({ type: "message", text: text, id: "m" + sent }));
    pending = { id: "m" + sent, text: text, bubble: bubble(live, "me", text) };
    sendButton.disabled = true;
    input.value = "";
  });

  connect();
})();
